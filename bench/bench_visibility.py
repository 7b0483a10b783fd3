"""Visibility per time step: 1,000 sites x starlink-gen1 (4,408 satellites), on one core.

Target (issue 2): under 20 ms per step. The sites are the 1,000 most populous default cities, the mask
25°. Run: ``python bench/bench_visibility.py``.
"""

from __future__ import annotations

import time

import numpy as np
from scipy.spatial import cKDTree

import _common
from leosim.geometry import visible_pairs
from leosim.ground.geodesy import enu_basis
from leosim.ground.sites import default_cities
from leosim.orbits.constellation import Constellation
from leosim.timebase import Times

if __name__ == "__main__":
    _common.pin_one_core()
    sats = Constellation.preset("starlink-gen1")
    cities = default_cities(1000)
    site = cities.ecef_km
    enu = enu_basis(cities.lat_deg, cities.lon_deg)
    tree = cKDTree(site)
    positions = sats.positions_km(Times.from_range("2024-10-25T00:00:00Z", 3600, 60))
    per_step, pairs = [], 0
    for k in range(len(positions)):
        start = time.perf_counter()
        result = visible_pairs(site, enu, positions[k], 25.0, site_tree=tree)
        per_step.append(time.perf_counter() - start)
        pairs += len(result[0])
    per_step_ms = np.array(per_step) * 1000
    print(f"visibility 1000 sites x {len(sats)} sats: median {np.median(per_step_ms):.1f} ms/step, "
          f"p95 {np.percentile(per_step_ms, 95):.1f} ms/step over {len(per_step)} steps "
          f"({pairs / len(per_step):.0f} visible pairs/step; target < 20 ms)")
