"""Seconds per time step of ``write_dynamic_state`` (Hypatia's dynamic state), on one core.

Case: Hypatia's Starlink-550 shell (preset ``starlink-550``: 72 x 22, 53°, 15.19 rev/day), plus-grid ISLs in
satgenpy's order, the 100 most populous default cities as ground stations, Hypatia's maximum lengths from
``paper/satellite_networks_state/main_starlink_550.py`` (GSL: sqrt(940.7^2 + 550^2) km for a 25° mask,
ISL: the chord 80 km above a 6,378.135 km Earth), 200 s at 100 ms steps (2,000 steps). For comparison,
satgenpy 0.4.0 on this machine needs ~8.9 s per step for the same shell with 8 ground stations (Floyd-
Warshall in networkx plus PyEphem distances). Run: ``python bench/bench_hypatia_state.py [duration_s] [step_ms]``.
"""

from __future__ import annotations

import math
import os
import sys
import tempfile
import time

import numpy as np

import _common
from leosim.ground.sites import default_cities
from leosim.interop.hypatia import HypatiaNetwork, plus_grid_isls, write_dynamic_state
from leosim.orbits.constellation import Constellation

MAX_GSL_LENGTH_KM = math.sqrt(940.7**2 + 550.0**2)
"""Hypatia main_starlink_550.py: SATELLITE_CONE_RADIUS_M = 940,700 at ALTITUDE_M = 550,000 (25° mask)."""
MAX_ISL_LENGTH_KM = 2 * math.sqrt((6378.135 + 550.0) ** 2 - (6378.135 + 80.0) ** 2)
"""Hypatia main_starlink_550.py: ISLs may not dip below 80 km altitude (WGS72 radius 6,378.135 km)."""


def main(duration_s: float = 200.0, step_ms: float = 100.0) -> None:
    sats = Constellation.preset("starlink-550")
    cities = default_cities(100)
    network = HypatiaNetwork(sats, cities, plus_grid_isls(72, 22), MAX_GSL_LENGTH_KM, MAX_ISL_LENGTH_KM,
                             np.datetime64(sats.epoch, "ns"))
    steps = int(round(duration_s * 1000) // round(step_ms))
    all_cores = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else None
    for workers in (1, 2):
        if workers == 1:
            _common.pin_one_core()
        elif all_cores is not None:
            os.sched_setaffinity(0, all_cores)
        with tempfile.TemporaryDirectory() as out:
            start = time.perf_counter()
            folder = write_dynamic_state(network, out, duration_s, step_ms, workers=workers)
            seconds = time.perf_counter() - start
            size_mib = sum(p.stat().st_size for p in folder.iterdir()) / 2**20
        label = "one core" if workers == 1 else "2 workers"
        print(f"starlink-550 ({len(sats)} sats) + {len(cities)} cities, {steps} steps of {step_ms:g} ms, {label}: "
              f"{seconds:.1f} s, {seconds / steps * 1000:.1f} ms per step, {size_mib:.1f} MiB written")
    print(f"peak memory {_common.peak_rss_mib():.0f} MiB")


if __name__ == "__main__":
    main(*(float(a) for a in sys.argv[1:3]))
