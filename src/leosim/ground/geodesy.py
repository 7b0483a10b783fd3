"""WGS84 geodetic coordinates <-> Earth-fixed Cartesian (ECEF/ITRS) and local horizon frames.

Angles in degrees at this boundary, lengths in km. Vectorised: any leading shape broadcasts.
"""

from __future__ import annotations

import numpy as np

from ..constants import MEAN_EARTH_RADIUS_KM, WGS84_A_KM, WGS84_B_KM, WGS84_E2

_EP2 = (WGS84_A_KM**2 - WGS84_B_KM**2) / WGS84_B_KM**2
"""Second eccentricity squared of WGS84."""


def geodetic_to_ecef(lat_deg, lon_deg, alt_km) -> np.ndarray:
    """ECEF position in km, shape ``(..., 3)``, of WGS84 latitude/longitude (deg) and ellipsoidal height (km)."""
    lat = np.radians(np.asarray(lat_deg, dtype=np.float64))
    lon = np.radians(np.asarray(lon_deg, dtype=np.float64))
    alt_km = np.asarray(alt_km, dtype=np.float64)
    sin_lat = np.sin(lat)
    n_km = WGS84_A_KM / np.sqrt(1.0 - WGS84_E2 * sin_lat**2)
    r_xy = (n_km + alt_km) * np.cos(lat)
    return np.stack(np.broadcast_arrays(r_xy * np.cos(lon), r_xy * np.sin(lon),
                                        (n_km * (1.0 - WGS84_E2) + alt_km) * sin_lat), axis=-1)


def ecef_to_geodetic(xyz_km) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """WGS84 ``(lat_deg, lon_deg, alt_km)`` of ECEF positions in km, shape ``(..., 3)``.

    Bowring's parametric latitude, refined three times: the error is far below a millimetre from the
    Earth's centre region to beyond geostationary altitude (checked against the round trip in tests).
    NaN positions give NaN.
    """
    xyz_km = np.asarray(xyz_km, dtype=np.float64)
    x, y, z = xyz_km[..., 0], xyz_km[..., 1], xyz_km[..., 2]
    p = np.hypot(x, y)
    lon = np.arctan2(y, x)
    beta = np.arctan2(z * WGS84_A_KM, p * WGS84_B_KM)
    for _ in range(3):
        lat = np.arctan2(z + _EP2 * WGS84_B_KM * np.sin(beta) ** 3,
                         p - WGS84_E2 * WGS84_A_KM * np.cos(beta) ** 3)
        beta = np.arctan2(WGS84_B_KM * np.sin(lat), WGS84_A_KM * np.cos(lat))
    sin_lat, cos_lat = np.sin(lat), np.cos(lat)
    n_km = WGS84_A_KM / np.sqrt(1.0 - WGS84_E2 * sin_lat**2)
    # Height from whichever of p and z is better conditioned at this latitude.
    alt_km = np.where(np.abs(cos_lat) > 0.5,
                      p / np.where(cos_lat == 0, 1.0, cos_lat) - n_km,
                      z / np.where(sin_lat == 0, 1.0, sin_lat) - n_km * (1.0 - WGS84_E2))
    return np.degrees(lat), np.degrees(lon), alt_km


def enu_basis(lat_deg, lon_deg) -> np.ndarray:
    """Unit vectors East, North, Up (geodetic) in ECEF, shape ``(..., 3, 3)``: ``basis[..., 0, :]`` is East."""
    lat = np.radians(np.asarray(lat_deg, dtype=np.float64))
    lon = np.radians(np.asarray(lon_deg, dtype=np.float64))
    sin_lat, cos_lat, sin_lon, cos_lon = np.sin(lat), np.cos(lat), np.sin(lon), np.cos(lon)
    zero = np.zeros_like(sin_lat * sin_lon)
    east = np.stack(np.broadcast_arrays(-sin_lon, cos_lon, zero), axis=-1)
    north = np.stack(np.broadcast_arrays(-sin_lat * cos_lon, -sin_lat * sin_lon, cos_lat), axis=-1)
    up = np.stack(np.broadcast_arrays(cos_lat * cos_lon, cos_lat * sin_lon, sin_lat), axis=-1)
    return np.stack([east, north, up], axis=-2)


def great_circle_km(lat1_deg, lon1_deg, lat2_deg, lon2_deg, radius_km: float = MEAN_EARTH_RADIUS_KM):
    """Great-circle distance in km between points given in degrees (haversine, sphere of ``radius_km``).
    Broadcasts over array inputs."""
    p1, p2 = np.radians(lat1_deg), np.radians(lat2_deg)
    dlat = p2 - p1
    dlon = np.radians(np.asarray(lon2_deg, dtype=np.float64) - np.asarray(lon1_deg, dtype=np.float64))
    h = np.sin(dlat / 2.0) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dlon / 2.0) ** 2
    return 2.0 * radius_km * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0)))
