"""Territory lookup speed: 1 million random points (uniform on the sphere, and uniform over Europe).

Prints the index build time and points per second. Target: >= 1 million points/s.
Usage: ``python bench/bench_territory.py [N]``
"""

from __future__ import annotations

import sys
import time

import numpy as np

from leosim.territory import Territories


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    rng = np.random.default_rng(2024)
    t0 = time.perf_counter()
    territories = Territories.default()
    t1 = time.perf_counter()
    territories.lookup([0.0], [0.0])  # builds the grid index
    t2 = time.perf_counter()
    print(f"load {t1 - t0:.2f} s, index build {t2 - t1:.2f} s")
    cases = {
        "sphere (uniform area)": (np.degrees(np.arcsin(rng.uniform(-1, 1, n))), rng.uniform(-180, 180, n)),
        "Europe box 35-70 N, 10 W-45 E": (rng.uniform(35, 70, n), rng.uniform(-10, 45, n)),
    }
    for name, (lat, lon) in cases.items():
        start = time.perf_counter()
        codes = territories.lookup(lat, lon)
        elapsed = time.perf_counter() - start
        land = np.mean(codes != "")
        print(f"{name}: {n} points in {elapsed:.3f} s = {n / elapsed / 1e6:.2f} M points/s "
              f"({land:.0%} on land)")


if __name__ == "__main__":
    main()
