"""Visibility over time: which satellites each site sees at each instant, as a long table.

The friendly layer over :func:`leosim.geometry.visible_pairs`: propagates in memory-bounded chunks and
stacks the per-instant pairs into columns.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree

from .constants import DEFAULT_MIN_ELEVATION_DEG, TABLE_CHUNK_BYTES
from .geometry import visible_pairs
from .timebase import Times


def visibility_table(constellation, times: Times, site_ecef_km, site_enu, min_elevation_deg=DEFAULT_MIN_ELEVATION_DEG,
                     *, max_bytes: int = TABLE_CHUNK_BYTES) -> dict[str, np.ndarray]:
    """Every (instant, site, satellite) with the satellite at or above the mask.

    Returns columns ``time_utc`` (datetime64[ns]), ``site`` (index), ``sat_id``, ``elevation_deg``,
    ``azimuth_deg``, ``range_km``, sorted by time, site, satellite.
    """
    tree = cKDTree(np.asarray(site_ecef_km, dtype=np.float64))
    parts: dict[str, list] = {key: [] for key in ("time_utc", "site", "sat_id", "elevation_deg",
                                                  "azimuth_deg", "range_km")}
    for states in constellation.iter_states(times, max_bytes=max_bytes):
        for k in range(len(states.times)):
            site_idx, sat_idx, el, az, rng = visible_pairs(site_ecef_km, site_enu, states.position_km[k],
                                                           min_elevation_deg, site_tree=tree)
            parts["time_utc"].append(np.full(site_idx.size, states.times.utc[k]))
            parts["site"].append(site_idx)
            parts["sat_id"].append(constellation.sat_id[sat_idx])
            parts["elevation_deg"].append(el)
            parts["azimuth_deg"].append(az)
            parts["range_km"].append(rng)
    empty = {"time_utc": np.zeros(0, "datetime64[ns]"), "site": np.zeros(0, np.int64),
             "sat_id": np.zeros(0, np.int64)}
    return {key: np.concatenate(values) if values else empty.get(key, np.zeros(0))
            for key, values in parts.items()}
