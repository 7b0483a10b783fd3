"""Scale-out: wall time, speed-up and peak memory per worker of a scenario run on 1 and 2 worker processes.

Scenario (built in code): starlink-gen1 (4,408 satellites, +Grid ISLs), the 100 most populous default
cities as terminals, the default gateways and PoPs, user routing (RTT from every city to its best PoP)
every second for one simulated hour (3,600 steps); coverage and availability on, what-ifs, named pairs,
path dynamics and cost off. Chunks of 60 steps; local worker processes (``--backend processes``, the
``leosim run --workers N`` default). The assembly (streaming the Parquet tables, summaries) is timed apart.

Targets (issue 7, on this 2-core machine): speed-up >= 1.7 from 1 to 2 workers; a full day (86,400
steps) projected under 15 minutes on 2 workers; peak memory per worker < 2 GiB.

Run: python bench/bench_scale.py [--minutes 60] [--workers 1 2] [--backend processes|dask] [--profile]
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import shutil
import tempfile
import time
from pathlib import Path

import _common
from leosim.ground.sites import default_cities
from leosim.scenario import Scenario
from leosim.scenario.backends import make_backend
from leosim.scenario.engine import ChunkEngine
from leosim.scenario.parts import Job
from leosim.scenario.runner import assemble, run_chunks

DAY_STEPS = 86_400
TARGET_SPEEDUP = 1.7
TARGET_DAY_S = 15 * 60
TARGET_PEAK_MIB = 2048


def bench_scenario(minutes: float) -> Scenario:
    """starlink-gen1 + 100 cities, RTT to the best PoP every second for ``minutes``."""
    cities = default_cities(100)
    sites = [{"id": str(i), "name": str(n), "lat": float(lat), "lon": float(lon)}
             for i, n, lat, lon in zip(cities.ids, cities.names, cities.lat_deg, cities.lon_deg, strict=True)]
    return Scenario({
        "scenario": {"name": "bench-scale: starlink-gen1, 100 cities, RTT to best PoP"},
        "constellation": {"preset": "starlink-gen1"},
        "time": {"start": "2024-10-25T00:00:00Z", "duration_s": minutes * 60.0, "step_s": 1.0},
        "network": {"routing": "user", "isl": "plus-grid"},
        "policy": {"default_state": "active"},
        "sites": sites,
        "analyses": {"whatif": False, "cost": False, "path_dynamics": False, "latency": False},
        "output": {"report": False},
    })


def run_once(scenario: Scenario, backend_name: str, workers: int, chunk_steps: int) -> dict:
    plan = scenario.plan
    folder = Path(tempfile.mkdtemp(prefix="leosim-bench-scale-"))
    try:
        backend = make_backend(backend_name, workers=workers)
        start = time.perf_counter()
        done = run_chunks([Job("baseline", plan)], folder / "parts", backend=backend, chunk_steps=chunk_steps)
        chunks_s = time.perf_counter() - start
        start = time.perf_counter()
        assemble(plan, folder / "parts", folder / "out")
        assemble_s = time.perf_counter() - start
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    peaks: dict[int, float] = {}
    for d in done:
        peaks[d.pid] = max(peaks.get(d.pid, 0.0), d.peak_rss_mib)
    return {"workers": workers, "chunks_s": chunks_s, "assemble_s": assemble_s, "peaks": peaks}


def profile_engine(scenario: Scenario, steps: int = 60) -> str:
    """Where one chunk's time goes (cProfile of ChunkEngine.run, warm engine)."""
    plan = scenario.plan
    engine = ChunkEngine(plan)
    engine.run(plan.times[:steps])  # warm-up: routers, caches
    profiler = cProfile.Profile()
    profiler.enable()
    engine.run(plan.times[steps:2 * steps])
    profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(12)
    return out.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=60.0, help="simulated minutes (default 60)")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--backend", default="processes", choices=["processes", "dask"])
    parser.add_argument("--chunk-steps", type=int, default=60)
    parser.add_argument("--profile", action="store_true", help="also profile one chunk of ChunkEngine.run")
    args = parser.parse_args()
    scenario = bench_scenario(args.minutes)
    steps = len(scenario.plan.times)
    print(f"starlink-gen1 ({len(scenario.plan.constellation)} satellites) + 100 cities, user routing, "
          f"{steps} steps of 1 s, chunks of {args.chunk_steps}, backend {args.backend}")
    results = []
    for workers in args.workers:
        r = run_once(scenario, args.backend, workers, args.chunk_steps)
        results.append(r)
        per_step_ms = r["chunks_s"] / steps * 1000
        day_s = r["chunks_s"] * DAY_STEPS / steps + r["assemble_s"] * DAY_STEPS / steps
        peak = max(r["peaks"].values())
        print(f"  {workers} worker(s): chunks {r['chunks_s']:7.1f} s ({per_step_ms:5.1f} ms/step wall), "
              f"assembly {r['assemble_s']:5.1f} s, peak RSS per worker "
              f"{', '.join(f'{v:.0f}' for v in sorted(r['peaks'].values()))} MiB "
              f"[{'ok' if peak < TARGET_PEAK_MIB else 'MISS'} < {TARGET_PEAK_MIB}]; "
              f"full day projected {day_s / 60:5.1f} min [{'ok' if day_s < TARGET_DAY_S else 'MISS'} < 15]")
    by = {r["workers"]: r for r in results}
    if 1 in by and 2 in by:
        speedup = by[1]["chunks_s"] / by[2]["chunks_s"]
        print(f"  speed-up 1 -> 2 workers: {speedup:.2f}x [{'ok' if speedup >= TARGET_SPEEDUP else 'MISS'} "
              f">= {TARGET_SPEEDUP}]")
    print(f"  driver peak RSS {_common.peak_rss_mib():.0f} MiB")
    if args.profile:
        print(profile_engine(scenario))


if __name__ == "__main__":
    main()
