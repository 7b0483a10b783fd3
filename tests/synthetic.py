"""Synthetic Walker-delta shells on ideal circular orbits, straight from the orbit formulas (no SGP4).

A test helper (``from synthetic import walker_ecef_km``), also used by bench/bench_network.py; the physical
layer (``leosim.orbits``) owns real constellations. Satellites are numbered plane-major
(id = plane * sats_per_plane + slot), as Hypatia does.
"""

from __future__ import annotations

import numpy as np

from leosim.constants import WGS72_MU_KM3_S2, WGS84_A_KM

EARTH_ROTATION_RAD_S = 7.2921150e-5
"""Earth's mean angular velocity, rad/s (IERS Conventions 2010, sec. 1.2)."""


def walker_ecef_km(n_planes: int, sats_per_plane: int, altitude_km: float, inclination_deg: float,
                   t_s=0.0, *, phasing: int = 1, radius_km: float = WGS84_A_KM):
    """Earth-fixed positions, km, of a Walker-delta shell i:T/P/F on circular orbits of radius
    ``radius_km + altitude_km``, at times ``t_s`` (s; scalar -> ``(N, 3)``, ``(T,)`` -> ``(T, N, 3)``).

    Plane ``p`` has right ascension ``360 p / P`` deg; slot ``s`` has argument of latitude
    ``360 s / S + 360 F p / T`` deg at t = 0, advancing at the two-body mean motion. The Earth-fixed frame
    is the inertial one rotated by ``EARTH_ROTATION_RAD_S * t`` (aligned at t = 0).
    Also returns ``(plane, slot)`` int64 ``(N,)``.
    """
    t = np.asarray(t_s, dtype=np.float64)
    r = radius_km + altitude_km
    n_rad_s = np.sqrt(WGS72_MU_KM3_S2 / r**3)
    total = n_planes * sats_per_plane
    plane = np.repeat(np.arange(n_planes), sats_per_plane)
    slot = np.tile(np.arange(sats_per_plane), n_planes)
    raan = 2 * np.pi * plane / n_planes
    u0 = 2 * np.pi * slot / sats_per_plane + 2 * np.pi * phasing * plane / total
    inc = np.radians(inclination_deg)
    u = u0 + n_rad_s * t[..., None]
    theta = EARTH_ROTATION_RAD_S * t[..., None]
    lon = raan - theta  # node longitude in the Earth-fixed frame
    cu, su = np.cos(u), np.sin(u)
    x = r * (np.cos(lon) * cu - np.sin(lon) * su * np.cos(inc))
    y = r * (np.sin(lon) * cu + np.cos(lon) * su * np.cos(inc))
    z = r * su * np.sin(inc)
    return np.stack([x, y, z], axis=-1), plane.astype(np.int64), slot.astype(np.int64)
