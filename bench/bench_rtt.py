"""Per-step routing time on the real presets, and peak memory of a one-hour run at one-second steps.

(a) starlink-550 (Hypatia's shell, 1,584 satellites) + the 100 most populous default cities, all 4,950
    pairs, ISL mode (+Grid), 25° mask. Target: <= 30 ms per step (Hypatia: ~9 s per step on this machine).
(b) starlink-gen1 (4,408) + the 1,000 most populous default cities, RTT from every city to its best PoP
    (user mode: satellites, ISLs, ~135 gateways, 23 PoPs). Target: <= 100 ms per step.
(c) peak memory of `leosim rtt` for (a) over one hour at 1 s (3,600 steps, 17.8 M rows written to Parquet).
    Target: < 2 GiB. Skipped unless --memory is given (it takes a few minutes).
(d) --real: the real constellation of ../shared/data/starlink-2025-12-06.tle (~9,000 satellites; the ~7,500
    operational ones after inference, +Grid on the inferred planes) + the same 1,000 cities to the best PoP,
    as (b). Target: <= 2x the per-step time of (b).

Positions are propagated before timing (a, b): this is links + graph + Dijkstra + paths.
Run: python bench/bench_rtt.py [--steps 30] [--memory] [--real]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

import _common
from leosim.ground.sites import Sites, default_cities, default_ground_infrastructure
from leosim.network.links import plus_grid_isls
from leosim.network.routing import Router
from leosim.orbits.constellation import Constellation
from leosim.timebase import Times


def per_step_ms(router, positions, src, dst) -> np.ndarray:
    router.route(positions[0], src, dst)  # warm-up
    timings = []
    for k in range(len(positions)):
        start = time.perf_counter()
        router.route(positions[k], src, dst)
        timings.append(time.perf_counter() - start)
    return np.array(timings) * 1000


def report(label: str, timings_ms: np.ndarray, target_ms: float) -> None:
    print(f"{label}: median {np.median(timings_ms):.1f} ms/step, p95 {np.percentile(timings_ms, 95):.1f} ms "
          f"over {timings_ms.size} steps (target <= {target_ms:g} ms)")


def case_a(steps: int) -> None:
    sats = Constellation.preset("starlink-550")
    cities = default_cities(100)
    positions = sats.positions_km(Times.from_range(sats.epoch, steps, 1.0))
    router = Router(cities.ecef_km, cities.kinds, mode="isl", isls=plus_grid_isls(sats.shell, sats.plane, sats.slot),
                    site_up=cities.up, min_elevation_deg=25.0)
    src, dst = np.triu_indices(len(cities), k=1)
    report("(a) starlink-550 + 100 cities, 4,950 pairs, isl", per_step_ms(router, positions, src, dst), 30)


def case_b(steps: int) -> np.ndarray:
    sats = Constellation.preset("starlink-gen1")
    sites = Sites.concat([default_cities(1000), default_ground_infrastructure()])
    positions = sats.positions_km(Times.from_range("2024-10-25T00:00:00Z", steps, 1.0))
    router = Router(sites.ecef_km, sites.kinds, mode="user", isls=plus_grid_isls(sats.shell, sats.plane, sats.slot),
                    site_up=sites.up, min_elevation_deg=25.0)
    src = np.flatnonzero(sites.kinds == "city")
    timings = per_step_ms(router, positions, src, np.full(src.size, -1))
    report("(b) starlink-gen1 + 1,000 cities to best PoP, user", timings, 100)
    return timings


def case_d(steps: int, gen1_ms: np.ndarray) -> None:
    from leosim.network.links import default_isls
    from leosim.orbits.inference import infer_constellation

    path = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "starlink-2025-12-06.tle"
    if not path.is_file():
        print(f"(d) skipped: {path} not found")
        return
    start = time.perf_counter()
    sats = infer_constellation(Constellation.from_file(path))
    isls = default_isls(sats)
    setup_s = time.perf_counter() - start
    sites = Sites.concat([default_cities(1000), default_ground_infrastructure()])
    positions = sats.positions_km(Times.from_range("2025-12-06T12:00:00Z", steps, 1.0))
    router = Router(sites.ecef_km, sites.kinds, mode="user", isls=isls, site_up=sites.up, min_elevation_deg=25.0)
    src = np.flatnonzero(sites.kinds == "city")
    timings = per_step_ms(router, positions, src, np.full(src.size, -1))
    report(f"(d) real 2025-12-06 ({len(sats):,} operational satellites, {len(isls):,} ISLs; load + inference + "
           f"ISLs {setup_s:.1f} s) + 1,000 cities to best PoP, user", timings, 2 * float(np.median(gen1_ms)))
    print(f"    ratio to (b): {np.median(timings) / np.median(gen1_ms):.2f} (target <= 2)")


def case_c() -> None:
    from click.testing import CliRunner

    from leosim.cli import main

    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "rtt.parquet"
        start = time.perf_counter()
        result = CliRunner().invoke(main, ["rtt", "--constellation", "starlink-550", "--sites", "default-cities:100",
                                           "--all-pairs", "--start", "2000-01-01T00:00:00Z", "--duration", "3600",
                                           "--step", "1", "--out", str(out)])
        seconds = time.perf_counter() - start
        if result.exit_code != 0:
            raise SystemExit(result.output)
        print(f"(c) leosim rtt, starlink-550 + 100 cities, all pairs, 1 h at 1 s: {seconds:.0f} s wall, "
              f"{out.stat().st_size / 2**20:.0f} MiB Parquet, peak memory {_common.peak_rss_mib():.0f} MiB "
              f"(target < 2048 MiB)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--memory", action="store_true", help="also run (c), a one-hour run (minutes)")
    parser.add_argument("--real", action="store_true", help="also run (d), the real snapshot (../shared/data)")
    args = parser.parse_args()
    _common.pin_one_core()
    case_a(args.steps)
    gen1 = case_b(args.steps)
    if args.real:
        case_d(args.steps, gen1)
    if args.memory:
        case_c()
