"""CLI commands of the physical layer: presets, positions, visibility, and the demo."""

from __future__ import annotations

import math

import click

from ..constants import DEFAULT_MIN_ELEVATION_DEG, TABLE_CHUNK_BYTES
from ._options import constellation_options, load_constellation, make_times, progress, time_window_options

_DEMO_SITES = (("Kyiv", 50.4501, 30.5234), ("Taipei", 25.0330, 121.5654))
"""The demo's places: name, latitude (deg), longitude (deg)."""


def register(group) -> None:
    """Add this module's commands to the top-level ``leosim`` group."""
    for command in (constellations, constellation_info, positions, visible, demo):
        group.add_command(command)


@click.command()
def constellations():
    """List the constellation presets with their satellite counts."""
    from ..orbits.presets import get_preset, preset_names

    for name in preset_names():
        preset = get_preset(name)
        click.echo(f"{name:16s} {preset.size:6d} satellites  {len(preset.shells)} shell(s)")
        click.echo(f"{'':16s} {preset.description}")


@click.command("constellation-info")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help='JSON: {"shells": [{"inclination_deg", "altitude_km", '
              '"planes", "satellites", "operational", ...}], "status": {...}}.')
@click.option("--as-of", "as_of", default=None, help="Keep satellites launched on or before this date (YYYY-MM-DD).")
@click.option("--satellites", "sat_out", default=None, type=click.Path(dir_okay=False),
              help="Also write the per-satellite table (.csv or .parquet).")
def constellation_info(file, as_json, as_of, sat_out):
    """Shells, planes, slots and status inferred from an element file (TLE or OMM)."""
    import json

    import numpy as np

    from ..orbits.constellation import Constellation
    from ..orbits.inference import infer_constellation, launched_by
    from ..timebase import parse_utc

    sats = Constellation.from_file(file)
    if as_of is not None:
        sats = launched_by(sats, parse_utc(as_of, source="--as-of").astype("datetime64[D]"))
    inferred = infer_constellation(sats, keep_non_operational=True)
    st = inferred.structure
    statuses, counts = np.unique(st.status.astype(str), return_counts=True)
    if sat_out:
        from ..output import TableWriter, table_format

        table_format(sat_out)
        with TableWriter(sat_out) as writer:
            frame = st.table(inferred.sat_id, inferred.name)
            writer.write({name: frame[name].to_numpy() for name in frame.columns})
    if as_json:
        click.echo(json.dumps({"satellites": len(sats), "reference_epoch_utc": str(st.reference_epoch_utc)[:19] + "Z",
                               "status": {str(k): int(v) for k, v in zip(statuses, counts, strict=True)},
                               "shells": list(st.shells)}, indent=2))
        return
    click.echo(f"{file}: {len(sats)} satellites, reference epoch {str(st.reference_epoch_utc)[:19]}Z")
    click.echo(f"{'shell':>5s} {'incl_deg':>8s} {'alt_km':>7s} {'planes':>6s} {'sats/plane':>10s} "
               f"{'(min-max)':>9s} {'sats':>6s} {'operational':>11s}")
    for k, sh in enumerate(st.shells):
        click.echo(f"{k:5d} {sh['inclination_deg']:8.2f} {sh['altitude_km']:7.1f} {sh['planes']:6d} "
                   f"{sh['sats_per_plane']:10d} {sh['sats_per_plane_min']:>4d}-{sh['sats_per_plane_max']:<4d} "
                   f"{sh['satellites']:6d} {sh['operational']:11d}")
    click.echo("status: " + ", ".join(f"{k} {v}" for k, v in zip(statuses, counts, strict=True)))


@click.command()
@constellation_options
@time_window_options
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False),
              help="Output table, .csv or .parquet.")
def positions(constellation, tle, start, duration_s, step_s, out):
    """Earth-fixed (ITRS/ECEF, WGS84) positions of every satellite at every instant.

    Columns: time_utc, sat_id, name, x_km, y_km, z_km, lat_deg, lon_deg, alt_km.
    """
    import numpy as np

    from ..ground.geodesy import ecef_to_geodetic
    from ..orbits.propagate import chunk_steps
    from ..output import TableWriter, table_format

    table_format(out)
    sats = load_constellation(constellation, tle)
    times = make_times(start, duration_s, step_s, sats.epoch)
    n = len(sats)
    chunk = chunk_steps(n, TABLE_CHUNK_BYTES)
    with TableWriter(out) as writer:
        for states in progress(sats.iter_states(times, max_bytes=TABLE_CHUNK_BYTES),
                               total=math.ceil(len(times) / chunk), desc="positions"):
            xyz = states.position_km.reshape(-1, 3)
            lat, lon, alt = ecef_to_geodetic(xyz)
            steps = len(states.times)
            writer.write({
                "time_utc": np.repeat(states.times.utc, n), "sat_id": np.tile(sats.sat_id, steps),
                "name": np.tile(sats.name.astype(str), steps),
                "x_km": xyz[:, 0], "y_km": xyz[:, 1], "z_km": xyz[:, 2],
                "lat_deg": lat, "lon_deg": lon, "alt_km": alt})
    click.echo(f"wrote {writer.rows} rows ({len(times)} instants x {n} satellites) to {out}", err=True)


@click.command()
@constellation_options
@click.option("--lat", "lat_deg", type=float, required=True, help="Latitude, degrees (WGS84).")
@click.option("--lon", "lon_deg", type=float, required=True, help="Longitude, degrees (WGS84).")
@click.option("--alt-m", "alt_m", type=float, default=0.0, show_default=True, help="Height, metres.")
@click.option("--min-elevation", "min_elevation_deg", type=float, default=DEFAULT_MIN_ELEVATION_DEG, show_default=True,
              help="Elevation mask, degrees.")
@time_window_options
@click.option("--out", "out", type=click.Path(dir_okay=False), help="Output table, .csv or .parquet.")
def visible(constellation, tle, lat_deg, lon_deg, alt_m, min_elevation_deg, start, duration_s, step_s, out):
    """Satellites in view of one place, per instant.

    Columns: time_utc, sat_id, elevation_deg, azimuth_deg, range_km. Without --out, prints a summary.
    """
    import numpy as np

    from ..errors import LeosimInputError
    from ..ground.geodesy import enu_basis, geodetic_to_ecef
    from ..output import table_format, write_table
    from ..visibility import visibility_table

    if out is not None:
        table_format(out)
    if not (-90.0 <= lat_deg <= 90.0) or not (-180.0 <= lon_deg <= 360.0):
        raise LeosimInputError(f"latitude must be within ±90 and longitude within -180..360, got "
                               f"{lat_deg}, {lon_deg}", field="--lat/--lon")
    if not math.isfinite(alt_m):
        raise LeosimInputError(f"must be a finite number of metres, got {alt_m}", field="--alt-m")
    if not (-90.0 <= min_elevation_deg <= 90.0):
        raise LeosimInputError(f"must be within -90..90 degrees, got {min_elevation_deg}",
                               field="--min-elevation")
    sats = load_constellation(constellation, tle)
    times = make_times(start, duration_s, step_s, sats.epoch)
    site = geodetic_to_ecef([lat_deg], [lon_deg], [alt_m / 1000.0])
    table = visibility_table(sats, times, site, enu_basis([lat_deg], [lon_deg]), min_elevation_deg)
    if out is not None:
        write_table(out, {k: v for k, v in table.items() if k != "site"})
        click.echo(f"wrote {len(table['sat_id'])} rows to {out}", err=True)
        return
    counts = np.bincount(np.searchsorted(times.utc, table["time_utc"]), minlength=len(times))
    click.echo(f"{len(sats)} satellites, mask {min_elevation_deg:g}°, place {lat_deg:.4f}, {lon_deg:.4f}")
    click.echo(f"{'time_utc':25s} {'in view':>7s} {'highest (sat_id el_deg az_deg range_km)':>42s}")
    for k, iso in enumerate(times.iso):
        rows = np.flatnonzero(np.searchsorted(times.utc, table["time_utc"]) == k)
        if rows.size:
            best = rows[np.argmax(table["elevation_deg"][rows])]
            top = (f"{table['sat_id'][best]:>8d} {table['elevation_deg'][best]:6.2f} "
                   f"{table['azimuth_deg'][best]:7.2f} {table['range_km'][best]:9.1f}")
        else:
            top = "-"
        click.echo(f"{iso:25s} {counts[k]:7d} {top:>42s}")


@click.command()
@click.option("--at", "at", default="now", show_default=True, help="Instant, ISO 8601 UTC or 'now'.")
@click.option("--constellation", "constellation", default="starlink-gen1", show_default=True,
              help="A preset name.")
def demo(at, constellation):
    """Starlink satellites in view over Kyiv and Taipei (the placeholder main job)."""
    import numpy as np

    from ..ground.geodesy import enu_basis, geodetic_to_ecef
    from ..orbits.constellation import Constellation
    from ..timebase import Times
    from ..visibility import visibility_table

    sats = Constellation.preset(constellation)
    times = Times.from_utc([at])
    names = [s[0] for s in _DEMO_SITES]
    lat = np.array([s[1] for s in _DEMO_SITES])
    lon = np.array([s[2] for s in _DEMO_SITES])
    mask_deg = DEFAULT_MIN_ELEVATION_DEG
    table = visibility_table(sats, times, geodetic_to_ecef(lat, lon, 0.0), enu_basis(lat, lon), mask_deg)
    click.echo(f"{constellation} ({len(sats)} satellites) at {times.iso[0]}, elevation mask {mask_deg:g}°")
    for k, name in enumerate(names):
        rows = np.flatnonzero(table["site"] == k)
        el = table["elevation_deg"][rows]
        best = f"highest at {el.max():.1f}° elevation" if rows.size else "none in view"
        click.echo(f"  {name:8s} {rows.size:3d} satellites in view; {best}")
