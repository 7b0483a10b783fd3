"""Demand cells: H3 cells (default resolution 5) with their centres in the Earth-fixed frame.

A :class:`CellTable` holds ``C`` cells: H3 index (uint64), centre latitude/longitude (deg, WGS84), ECEF
position (km, on the ellipsoid) and geodetic up vector, and optionally the territory of the centre.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from ..ground.geodesy import enu_basis, geodetic_to_ecef


def cells_of(lat_deg, lon_deg, resolution: int) -> np.ndarray:
    """H3 cell (uint64) of each point at ``resolution``. h3 v4 has no vectorised call: one C call per
    point (~1 µs); done once per scenario, not per slot."""
    import h3.api.basic_int as h3_int

    lat = np.asarray(lat_deg, dtype=np.float64).ravel()
    lon = np.asarray(lon_deg, dtype=np.float64).ravel()
    return np.fromiter((h3_int.latlng_to_cell(a, b, resolution) for a, b in zip(lat.tolist(), lon.tolist(),
                                                                                   strict=True)),
                       dtype=np.uint64, count=lat.size)


@dataclass(frozen=True)
class CellTable:
    """``C`` demand cells: ``cell`` uint64 H3 ids (sorted), ``lat_deg``, ``lon_deg`` centres, ``ecef_km``
    ``(C, 3)``, ``up`` ``(C, 3)`` geodetic up unit vectors, ``territory`` ``(C,)`` str ('' if unknown)."""

    cell: np.ndarray
    lat_deg: np.ndarray
    lon_deg: np.ndarray
    ecef_km: np.ndarray
    up: np.ndarray
    territory: np.ndarray

    def __len__(self) -> int:
        return int(self.cell.size)

    @classmethod
    def from_cells(cls, cells, territories=None) -> CellTable:
        """Table of the distinct ``cells`` (uint64 H3 ids), sorted; ``territories`` (a
        :class:`~leosim.territory.Territories`) labels each centre."""
        import h3.api.basic_int as h3_int

        cells = np.unique(np.asarray(cells, dtype=np.uint64))
        centres = np.array([h3_int.cell_to_latlng(int(c)) for c in cells.tolist()], dtype=np.float64).reshape(-1, 2)
        lat, lon = centres[:, 0], centres[:, 1]
        territory = (np.asarray(territories.lookup(lat, lon), dtype=str) if territories is not None
                     else np.full(cells.size, "", dtype=str))
        return cls(cell=cells, lat_deg=lat, lon_deg=lon, ecef_km=geodetic_to_ecef(lat, lon, 0.0).reshape(-1, 3),
                   up=enu_basis(lat, lon)[:, 2, :].reshape(-1, 3), territory=territory)

    @cached_property
    def tree(self):
        """``cKDTree`` of the cell centres (ECEF km), built once and reused at every slot."""
        from scipy.spatial import cKDTree

        return cKDTree(self.ecef_km)

    def index(self, cells) -> np.ndarray:
        """Row of each of ``cells`` in this table (-1 where absent)."""
        cells = np.asarray(cells, dtype=np.uint64)
        pos = np.clip(np.searchsorted(self.cell, cells), 0, max(self.cell.size - 1, 0))
        return np.where((self.cell.size > 0) & (self.cell[pos] == cells), pos, -1).astype(np.int64)


def locate_in_cells(lat_deg, lon_deg, resolution: int, territories=None) -> tuple[CellTable, np.ndarray]:
    """The :class:`CellTable` of the cells holding the points, and each point's row in it."""
    cells = cells_of(lat_deg, lon_deg, resolution)
    table = CellTable.from_cells(cells, territories)
    return table, table.index(cells)
