"""Distance from a point at sea to the nearest land, for maritime rules ("beyond 12 nm of land").

Land is the union of the Natural Earth country polygons that :class:`~leosim.territory.Territories`
holds (simplified by 0.01°; see ``data/README.md``). Their boundaries are densified to at most
:data:`~leosim.constants.COAST_SAMPLE_KM` between points and put on the unit sphere in a k-d tree; the
distance of a point at sea is the great-circle distance (mean Earth radius) to the nearest boundary
point. Points on land (inside any country) are at 0. Internal borders are boundary points too, but a
point at sea is always nearer to the coast than to any border inland, so they never decide.

Error: up to half the point spacing (0.5 km) right at the coast, ~spacing²/(8·distance) farther out
(3 m at 12 nm); plus the polygons' own simplification (~1 km). Limitations: no maritime zones or
baselines (the legal 12 nm are measured from baselines that close bays; here from the drawn coast),
lakes count as land, islands smaller than the simplification may be missing.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from ..constants import COAST_SAMPLE_KM, MEAN_EARTH_RADIUS_KM
from ..ground.tracks import unit_vectors


class LandDistance:
    """Nearest-land distances for a set of land polygons (shapely, lon/lat degrees)."""

    def __init__(self, geometries, *, sample_km: float = COAST_SAMPLE_KM, on_land=None):
        import shapely
        from scipy.spatial import cKDTree

        shapes = np.array([g for g in geometries if g is not None and not g.is_empty], dtype=object)
        # Degrees of latitude per km; longitudes are densified at the same angular step (denser than
        # needed away from the equator, never sparser).
        step_deg = np.degrees(sample_km / MEAN_EARTH_RADIUS_KM)
        coords = shapely.get_coordinates(shapely.segmentize(shapely.boundary(shapes), step_deg))
        self._points = unit_vectors(coords[:, 1], coords[:, 0])
        self._tree = cKDTree(self._points, balanced_tree=False, compact_nodes=False)
        self._shapes = shapes
        self._on_land = on_land

    def on_land(self, lat_deg, lon_deg) -> np.ndarray:
        """Whether each point lies in (or on the edge of) a land polygon."""
        import shapely

        if self._on_land is not None:
            return np.asarray(self._on_land(lat_deg, lon_deg), dtype=bool)
        lat = np.asarray(lat_deg, dtype=np.float64)
        lon = np.asarray(lon_deg, dtype=np.float64)
        out = np.zeros(np.broadcast(lat, lon).shape, dtype=bool)
        for shape in self._shapes:
            out |= shapely.intersects_xy(shape, lon, lat)
        return out

    def distance_km(self, lat_deg, lon_deg) -> np.ndarray:
        """Great-circle distance (km) to the nearest land of each point, 0 on land, NaN for NaN input;
        any broadcastable shapes."""
        lat, lon = np.broadcast_arrays(np.asarray(lat_deg, dtype=np.float64), np.asarray(lon_deg, dtype=np.float64))
        out = np.full(lat.shape, np.nan)
        ok = np.isfinite(lat) & np.isfinite(lon)
        if not ok.any():
            return out
        la, lo = lat[ok], (lon[ok] + 180.0) % 360.0 - 180.0
        chord, _ = self._tree.query(unit_vectors(la, lo))
        km = 2.0 * np.arcsin(np.minimum(chord / 2.0, 1.0)) * MEAN_EARTH_RADIUS_KM
        out[ok] = np.where(self.on_land(la, lo), 0.0, km)
        return out


@lru_cache(maxsize=1)
def _default() -> LandDistance:
    from .territories import Territories

    territories = Territories.default()
    return LandDistance([territories.geometry(code) for code in territories.codes.tolist()],
                        on_land=lambda lat, lon: territories.locate(lat, lon).country != "")


def distance_to_land_km(lat_deg, lon_deg, land: LandDistance | None = None) -> np.ndarray:
    """Great-circle distance (km) from each point to the nearest land (Natural Earth countries by default;
    built once and cached, a few seconds), 0 on land. See the module docstring for accuracy."""
    return (land or _default()).distance_km(lat_deg, lon_deg)
