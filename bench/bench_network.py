"""Per-step time of the network layer's routing core (issue 3, section 6 (a)).

Synthetic Walker 72 x 22 shell at 550 km / 53 deg (Starlink's first shell; circular orbits straight from
the formulas) with 100 random ground sites, all 4,950 pairs, ISL mode (+Grid ISLs), 25 deg elevation mask.
Satellite positions are computed before timing: this measures links + graph + dijkstra + paths only.

Run: .venv/bin/python bench/bench_network.py [--steps 60] [--sites 100]
Target (one core of the 2-core dev machine): <= 30 ms per step.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

from leosim.ground.geodesy import enu_basis, geodetic_to_ecef
from leosim.network.links import plus_grid_isls
from leosim.network.routing import Router


def walker_ecef_km(*args, **kwargs):
    """The network tests' synthetic Walker shell (tests/synthetic.py): one copy for the tests and this bench."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    from synthetic import walker_ecef_km as shell

    return shell(*args, **kwargs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--sites", type=int, default=100)
    parser.add_argument("--step-s", type=float, default=1.0)
    args = parser.parse_args()
    # One core: keep BLAS/OpenMP from spreading (scipy's dijkstra is single-threaded anyway).
    os.environ.setdefault("OMP_NUM_THREADS", "1")

    rng = np.random.default_rng(42)
    lat = np.degrees(np.arcsin(rng.uniform(np.sin(np.radians(-56)), np.sin(np.radians(56)), args.sites)))
    lon = rng.uniform(-180, 180, args.sites)
    site_ecef = geodetic_to_ecef(lat, lon, 0.0)
    site_up = enu_basis(lat, lon)[:, 2, :]
    times = np.arange(args.steps) * args.step_s
    pos, plane, slot = walker_ecef_km(72, 22, 550.0, 53.0, times)
    isls = plus_grid_isls(np.zeros_like(plane), plane, slot)
    router = Router(site_ecef, np.full(args.sites, "city"), mode="isl", isls=isls, site_up=site_up,
                    min_elevation_deg=25.0)
    src, dst = np.triu_indices(args.sites, k=1)

    router.route(pos[0], src, dst)  # warm-up
    per_step = []
    no_path = 0
    for k in range(args.steps):
        t0 = time.perf_counter()
        step = router.route(pos[k], src, dst)
        per_step.append(time.perf_counter() - t0)
        no_path += int(np.isnan(step.rtt_ms).sum())
    ms = np.array(per_step) * 1e3
    print(f"Walker 72x22 @ 550 km / 53 deg: {pos.shape[1]} satellites, {isls.shape[0]} ISLs, "
          f"{args.sites} sites, {src.size} pairs, ISL mode, {args.steps} steps")
    print(f"per step: median {np.median(ms):.1f} ms, p95 {np.percentile(ms, 95):.1f} ms, "
          f"max {ms.max():.1f} ms; pair-steps without path: {no_path}")


if __name__ == "__main__":
    main()
