"""CLI commands of the network layer: ``leosim rtt``."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from ..constants import DEFAULT_MIN_ELEVATION_DEG, RTT_CHUNK_BYTES
from ..errors import LeosimInputError
from ._options import make_times, progress_bar

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

    from ..network.links import default_isls, load_isl_file

    if isl is None:
        isl = "plus-grid"
    if isl == "none":
        return np.zeros((0, 2), dtype=np.int64)
    if isl == "plus-grid":
        return default_isls(constellation, given=None if network is None else network.isls)
    return load_isl_file(isl, n_satellites=len(constellation))


def _pairs(sites, pair_args, all_pairs: bool, mode: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Source and destination site indices (in user mode a destination ``pop`` means the best PoP, -1), and
    the names written for them: what the user typed for ``--pair``, the site's name for ``--all-pairs``
    ('' for a best PoP: the PoP found is written then)."""
    src, dst, src_names, dst_names = [], [], [], []
    import numpy as np

    for a, b in pair_args:
        src.append(sites.index_of(a))
        best_pop = mode == "user" and b.lower() in ("pop", "best-pop")
        dst.append(-1 if best_pop else sites.index_of(b))
        src_names.append(a)
        dst_names.append("" if best_pop else b)
    if all_pairs:
        ends = np.flatnonzero(~np.isin(sites.kinds, ("gateway", "pop"))) if mode == "user" else np.arange(len(sites))
        names = np.asarray(sites.names, dtype=str)
        if mode == "user":
            src.extend(ends.tolist())
            dst.extend([-1] * ends.size)
            src_names.extend(names[ends].tolist())
            dst_names.extend([""] * ends.size)
        else:
            i, j = np.triu_indices(ends.size, k=1)
            src.extend(ends[i].tolist())
            dst.extend(ends[j].tolist())
            src_names.extend(names[ends[i]].tolist())
            dst_names.extend(names[ends[j]].tolist())
    if not src:
        raise LeosimInputError("give at least one --pair A B, or --all-pairs", field="--pair")
    return (np.asarray(src, dtype=np.int64), np.asarray(dst, dtype=np.int64),
            np.asarray(src_names, dtype=object), np.asarray(dst_names, dtype=object))


def _isl_note(isl_report, counts: dict[str, int]) -> None:
    """Add one instant's left-out ISLs to ``counts``, each link once: a link that is both too long and
    Earth-blocked (with the default length limit the two conditions coincide) counts once, under both names."""
    import numpy as np

    links, inverse = np.unique(isl_report.link_index, return_inverse=True)
    if links.size == 0:
        return
    reasons = sorted(set(isl_report.reason.tolist()))
    code = np.zeros(links.size, dtype=np.int64)
    for bit, reason in enumerate(reasons):
        hit = np.zeros(links.size, dtype=bool)
        hit[inverse[isl_report.reason == reason]] = True
        code |= hit.astype(np.int64) << bit
    for value, count in zip(*np.unique(code, return_counts=True), strict=True):
        label = " and ".join(r.replace("_", " ") for bit, r in enumerate(reasons) if value >> bit & 1)
        counts[label] = counts.get(label, 0) + int(count)


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
@click.option("--gateway-selection", "gateway_selection", type=click.Choice(["lowest-rtt", "nearest"]),
              default="lowest-rtt", show_default=True,
              help="User mode: where routes land: lowest-rtt (the gateway and PoP with the least RTT) or nearest "
                   "(the gateway with the least space-segment delay, then fibre to the PoP).")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False), help="Output, .csv or .parquet.")
def rtt(constellation, tle, hypatia, sites_spec, pair_args, all_pairs, start, duration_s, step_s, mode, isl,
        min_elevation_deg, fibre, gateway_selection, out):
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
    src, dst, src_names, dst_names = _pairs(sites, pair_args, all_pairs, mode)
    times = make_times(start, duration_s, step_s, sats.epoch if network is None else network.epoch)
    gsl = {"site_up": sites.up,
           "min_elevation_deg": DEFAULT_MIN_ELEVATION_DEG if min_elevation_deg is None else min_elevation_deg}
    if network is not None and min_elevation_deg is None:
        gsl = {"max_gsl_length_km": network.max_gsl_length_km}
    if fibre is not None and mode != "user":
        raise LeosimInputError("a fibre table applies to --mode user (gateway to PoP legs)", field="--fibre")
    if gateway_selection != "lowest-rtt" and mode != "user":
        raise LeosimInputError("a gateway selection applies to --mode user (routes that land at a gateway)",
                               field="--gateway-selection")
    if fibre is not None:
        from ..network.fibre import fibre_matrix_km

        gsl["fibre_km"] = fibre_matrix_km(fibre, sites)
    router = Router(sites.ecef_km, sites.kinds, mode=mode, isls=_isls(isl, sats, network),
                    max_isl_length_km=network.max_isl_length_km if network is not None else None,
                    gateway_selection=gateway_selection, **gsl)
    ids = np.asarray(sites.ids, dtype=str)
    left_out: dict[str, int] = {}  # ISLs not usable at an instant, by reason (too long, Earth-blocked, ...)
    update, close = progress_bar("rtt", unit="instant")
    done = 0
    try:
        writer = TableWriter(out)
        with writer:
            for states in sats.iter_states(times, max_bytes=RTT_CHUNK_BYTES):
                offsets = (states.times.utc - times.utc[0]).astype(np.int64) / 1e9
                for k in range(len(states.times)):
                    routes = router.route(states.position_km[k], src, dst)
                    _isl_note(routes.isl_report, left_out)
                    best = np.where(routes.dst >= 0, ids[np.maximum(routes.dst, 0)], "")
                    writer.write({"time_s": np.full(src.size, offsets[k]),
                                  "time_utc": np.full(src.size, states.times.utc[k]),
                                  "src": src_names, "dst": np.where(dst_names != "", dst_names, best),
                                  "rtt_ms": routes.rtt_ms, "hops": routes.hops.astype(np.int64),
                                  "path": path_strings(routes.paths)})
                    done += 1
                    if update is not None:
                        update(done, len(times))
    finally:
        close()
    click.echo(f"wrote {writer.rows} rows ({len(times)} instants x {src.size} pairs) to {out}", err=True)
    if left_out:
        listed = ", ".join(f"{count} {reason}" for reason, count in sorted(left_out.items()))
        click.echo(f"note: ISLs left out (link-instants): {listed}", err=True)

