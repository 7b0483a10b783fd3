"""CLI commands of the network layer: ``leosim rtt``."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import click

from ..constants import DEFAULT_MIN_ELEVATION_DEG, RTT_CHUNK_BYTES
from ..errors import LeosimInputError
from ._options import make_times, progress

if TYPE_CHECKING:
    import numpy as np

RTT_COLUMNS = ("time_s", "time_utc", "src", "dst", "rtt_ms", "hops", "path")
"""The columns ``leosim rtt`` writes, in order (a contract)."""


def register(group) -> None:
    """Add this module's commands to the top-level ``leosim`` group."""
    group.add_command(rtt)


def _load_network(constellation, tle, hypatia):
    """``(constellation, hypatia_network or None)`` from exactly one of the three sources."""
    from ..orbits.constellation import Constellation

    given = [name for name, value in (("--constellation", constellation), ("--tle", tle), ("--hypatia", hypatia))
             if value is not None]
    if len(given) != 1:
        raise LeosimInputError("give exactly one of --constellation PRESET, --tle FILE or --hypatia DIR",
                               field="/".join(given) or "--constellation")
    if constellation is not None:
        return Constellation.preset(constellation), None
    if tle is not None:
        return Constellation.from_file(tle), None
    from ..interop.hypatia import read_satgenpy_folder

    network = read_satgenpy_folder(hypatia)
    return network.constellation, network


def _load_sites(spec: str, network, mode: str):
    """Sites from ``FILE``, ``default-cities:N`` or ``hypatia``; user mode adds the default gateways and PoPs."""
    import numpy as np

    from ..ground.sites import Sites, default_cities, default_ground_infrastructure

    if spec == "hypatia":
        if network is None:
            raise LeosimInputError("--sites hypatia needs --hypatia DIR", field="--sites")
        sites = network.sites
    elif spec.startswith("default-cities:"):
        count = spec.partition(":")[2]
        available = len(default_cities())
        if not count.isdigit() or not 1 <= int(count) <= available:
            raise LeosimInputError(f"expected default-cities:N with 1 <= N <= {available} (the shipped cities), "
                                   f"got {spec!r}", field="--sites")
        sites = default_cities(int(count))
    elif spec.startswith("hypatia:"):
        sites = Sites.from_hypatia(spec.partition(":")[2])
    else:
        sites = Sites.from_csv(spec)
    if mode == "user" and not (np.isin(sites.kinds, ("gateway",)).any() and np.isin(sites.kinds, ("pop",)).any()):
        sites = Sites.concat([sites, default_ground_infrastructure()])
    return sites


def _isls(isl: str | None, constellation, network):
    import numpy as np

    from ..network.links import load_isl_file, plus_grid_isls

    if isl is None:
        isl = "plus-grid"
    if isl == "none":
        return np.zeros((0, 2), dtype=np.int64)
    if isl == "plus-grid":
        if network is not None:
            return network.isls
        if (constellation.plane < 0).any():
            raise LeosimInputError("plus-grid ISLs need planes and slots, which element files do not give; "
                                   "use --isl none or --isl FILE", field="--isl")
        return plus_grid_isls(constellation.shell, constellation.plane, constellation.slot)
    return load_isl_file(isl, n_satellites=len(constellation))


def _pairs(sites, pair_args, all_pairs: bool, mode: str) -> tuple[np.ndarray, np.ndarray]:
    """Source and destination site indices; in user mode a destination ``pop`` means the best PoP (-1)."""
    import numpy as np

    src, dst = [], []
    for a, b in pair_args:
        src.append(sites.index_of(a))
        dst.append(-1 if mode == "user" and b.lower() in ("pop", "best-pop") else sites.index_of(b))
    if all_pairs:
        ends = np.flatnonzero(~np.isin(sites.kinds, ("gateway", "pop"))) if mode == "user" else np.arange(len(sites))
        if mode == "user":
            src.extend(ends.tolist())
            dst.extend([-1] * ends.size)
        else:
            i, j = np.triu_indices(ends.size, k=1)
            src.extend(ends[i].tolist())
            dst.extend(ends[j].tolist())
    if not src:
        raise LeosimInputError("give at least one --pair A B, or --all-pairs", field="--pair")
    return np.asarray(src, dtype=np.int64), np.asarray(dst, dtype=np.int64)


@click.command()
@click.option("--constellation", "constellation", help="A preset name (see `leosim constellations`).")
@click.option("--tle", "tle", type=click.Path(dir_okay=False), help="Element file: TLE or OMM.")
@click.option("--hypatia", "hypatia", type=click.Path(file_okay=False), help="A satgenpy output folder.")
@click.option("--sites", "sites_spec", required=True,
              help="Sites: a CSV file, hypatia:FILE (a Hypatia ground_stations(.basic).txt), "
                   "default-cities:N (the N most populous cities) or hypatia (the --hypatia folder's).")
@click.option("--pair", "pair_args", nargs=2, multiple=True, metavar="A B",
              help="A pair of site ids or names (repeatable). In user mode B may be 'pop' (the best PoP).")
@click.option("--all-pairs", is_flag=True, help="Every pair of sites (user mode: every site to its best PoP).")
@click.option("--start", "start", help="First instant, ISO 8601 UTC. Defaults to the elements' epoch.")
@click.option("--duration", "duration_s", type=float, required=True, help="Length of the window, seconds.")
@click.option("--step", "step_s", type=float, required=True, help="Time step, seconds.")
@click.option("--mode", type=click.Choice(["isl", "bent-pipe", "ground-relay", "user"]), default="isl",
              show_default=True, help="Routing mode.")
@click.option("--isl", "isl", help="ISLs: plus-grid (default), none, or an isls.txt file.")
@click.option("--min-elevation", "min_elevation_deg", type=float,
              help=f"Elevation mask, degrees (default {DEFAULT_MIN_ELEVATION_DEG:g}; with --hypatia, Hypatia's max "
                   "GSL length is used unless this is given).")
@click.option("--fibre", "fibre", type=click.Path(dir_okay=False),
              help="User mode: CSV of measured gateway-to-PoP fibre (gateway, pop, distance_km); unlisted pairs "
                   "use the great circle.")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False), help="Output, .csv or .parquet.")
def rtt(constellation, tle, hypatia, sites_spec, pair_args, all_pairs, start, duration_s, step_s, mode, isl,
        min_elevation_deg, fibre, out):
    """Round-trip times between places over time.

    Columns: time_s, time_utc, src, dst, rtt_ms, hops, path (space-separated node ids: satellites
    0..N-1, then site j as N+j, Hypatia's numbering; empty when there is no path, with rtt_ms NaN).
    """
    import numpy as np

    from ..network.paths import path_strings
    from ..network.routing import Router
    from ..output import TableWriter, table_format

    table_format(out)
    if min_elevation_deg is not None and not 0.0 <= min_elevation_deg <= 90.0:
        raise LeosimInputError(f"must be within 0..90 degrees, got {min_elevation_deg}", field="--min-elevation")
    sats, network = _load_network(constellation, tle, hypatia)
    sites = _load_sites(sites_spec, network, mode)
    src, dst = _pairs(sites, pair_args, all_pairs, mode)
    times = make_times(start, duration_s, step_s, sats.epoch if network is None else network.epoch)
    gsl = {"site_up": sites.up,
           "min_elevation_deg": DEFAULT_MIN_ELEVATION_DEG if min_elevation_deg is None else min_elevation_deg}
    if network is not None and min_elevation_deg is None:
        gsl = {"max_gsl_length_km": network.max_gsl_length_km}
    if fibre is not None and mode != "user":
        raise LeosimInputError("a fibre table applies to --mode user (gateway to PoP legs)", field="--fibre")
    if fibre is not None:
        from ..network.fibre import fibre_matrix_km

        gsl["fibre_km"] = fibre_matrix_km(fibre, sites)
    router = Router(sites.ecef_km, sites.kinds, mode=mode, isls=_isls(isl, sats, network),
                    max_isl_length_km=network.max_isl_length_km if network is not None else None, **gsl)
    n_sat, ids = len(sats), np.asarray(sites.ids, dtype=str)
    from ..orbits.propagate import chunk_steps

    chunks = math.ceil(len(times) / chunk_steps(n_sat, RTT_CHUNK_BYTES))
    left_out: dict[str, int] = {}  # ISLs not usable at an instant, by reason (too long, Earth-blocked, ...)
    with TableWriter(out) as writer:
        for states in progress(sats.iter_states(times, max_bytes=RTT_CHUNK_BYTES), total=chunks, desc="rtt"):
            offsets = (states.times.utc - times.utc[0]).astype(np.int64) / 1e9
            for k in range(len(states.times)):
                routes = router.route(states.position_km[k], src, dst)
                for reason in routes.isl_report.reason.tolist():
                    left_out[reason] = left_out.get(reason, 0) + 1
                dst_ids = np.where(routes.dst >= 0, ids[np.maximum(routes.dst, 0)], "")
                writer.write({"time_s": np.full(src.size, offsets[k]),
                              "time_utc": np.full(src.size, states.times.utc[k]),
                              "src": ids[src], "dst": np.where(dst >= 0, ids[np.maximum(dst, 0)], dst_ids),
                              "rtt_ms": routes.rtt_ms, "hops": routes.hops.astype(np.int64),
                              "path": path_strings(routes.paths)})
    click.echo(f"wrote {writer.rows} rows ({len(times)} instants x {src.size} pairs) to {out}", err=True)
    if left_out:
        listed = ", ".join(f"{count} {reason.replace('_', ' ')}" for reason, count in sorted(left_out.items()))
        click.echo(f"note: ISLs left out (link-instants): {listed}", err=True)

