"""Physical references for a pair of places: great-circle distance, and the RTT over ideal fibre and at
the speed of light in vacuum along it; the stretch of a measured RTT against each.

Great-circle distances use the haversine formula on a sphere of the IUGG mean Earth radius
(6371.0088 km) with geodetic latitudes taken as spherical ones. Against the WGS84 ellipsoidal geodesic
this is within about 0.5 % (the largest error is on north–south paths), which is far below the
differences these references are used to expose (satellite paths are tens of percent longer). It is not
a surveying-grade distance.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..constants import FIBRE_REFRACTIVE_INDEX, SPEED_OF_LIGHT_KM_S
from ..ground.geodesy import great_circle_km  # defined there (ground layer), re-exported here

MS_PER_S = 1000.0


def fibre_one_way_s(distance_km, refractive_index: float = FIBRE_REFRACTIVE_INDEX):
    """One-way delay in s over ``distance_km`` of fibre (light at c / ``refractive_index``)."""
    return np.asarray(distance_km, dtype=np.float64) * refractive_index / SPEED_OF_LIGHT_KM_S


def fibre_rtt_ms(distance_km, refractive_index: float = FIBRE_REFRACTIVE_INDEX):
    """Round-trip time in ms over ``distance_km`` of ideal fibre, there and back."""
    return 2.0 * MS_PER_S * fibre_one_way_s(distance_km, refractive_index)


def vacuum_rtt_ms(distance_km):
    """Round-trip time in ms at the speed of light in vacuum over ``distance_km``, there and back."""
    return 2.0 * MS_PER_S * np.asarray(distance_km, dtype=np.float64) / SPEED_OF_LIGHT_KM_S


def stretch(rtt_ms, reference_rtt_ms):
    """``rtt_ms / reference_rtt_ms``; NaN where either is NaN or the reference is not positive."""
    rtt_ms = np.asarray(rtt_ms, dtype=np.float64)
    ref = np.asarray(reference_rtt_ms, dtype=np.float64)
    rtt_b, ref_b = np.broadcast_arrays(rtt_ms, ref)
    out = np.full(rtt_b.shape, np.nan)
    ok = np.isfinite(rtt_b) & np.isfinite(ref_b) & (ref_b > 0)
    np.divide(rtt_b, ref_b, out=out, where=ok)
    return out


@dataclass(frozen=True)
class PairReferences:
    """References for pairs, each array ``(P,)``: great-circle distance km, RTT over ideal fibre along it
    (c / 1.468) ms, RTT at c in vacuum along it at ground level ms."""

    great_circle_km: np.ndarray
    fibre_rtt_ms: np.ndarray
    vacuum_rtt_ms: np.ndarray

    def stretch(self, rtt_ms) -> tuple[np.ndarray, np.ndarray]:
        """``(rtt / fibre_rtt, rtt / vacuum_rtt)`` for RTTs shaped ``(P,)`` or ``(T, P)``."""
        return stretch(rtt_ms, self.fibre_rtt_ms), stretch(rtt_ms, self.vacuum_rtt_ms)


def pair_references(site_lat_deg, site_lon_deg, src, dst) -> PairReferences:
    """:class:`PairReferences` for site index pairs ``src[p] -> dst[p]`` (int ``(P,)``; ``-1`` gives NaN),
    with site latitudes/longitudes ``(M,)`` in degrees."""
    lat = np.asarray(site_lat_deg, dtype=np.float64)
    lon = np.asarray(site_lon_deg, dtype=np.float64)
    src = np.asarray(src, dtype=np.int64)
    dst = np.asarray(dst, dtype=np.int64)
    ok = (src >= 0) & (dst >= 0)
    s, d = np.where(ok, src, 0), np.where(ok, dst, 0)
    gc = np.where(ok, great_circle_km(lat[s], lon[s], lat[d], lon[d]), np.nan)
    return PairReferences(great_circle_km=gc, fibre_rtt_ms=fibre_rtt_ms(gc), vacuum_rtt_ms=vacuum_rtt_ms(gc))
