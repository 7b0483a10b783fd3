"""Exact point-in-polygon lookup sped up by a latitude/longitude grid (numeric core, plain arrays).

The grid has cells of ``cell_deg``. A cell that no polygon boundary touches lies wholly inside one
polygon or wholly outside all of them, so its answer is known for every point in it; only points in
cells that a boundary crosses ("mixed" cells) get the exact test (shapely STRtree, ``intersects``:
a point on an edge counts as inside). The answers are therefore the exact answers of the polygons.

Marking the mixed cells: every boundary is densified so that consecutive vertices are less than one
cell apart; every point of a segment is then within one cell of its first vertex, so marking the 3×3
block of cells around each vertex covers every cell the boundary crosses. The unmarked cells are
grouped into 4-connected components (scipy.ndimage.label); no boundary separates two cells of one
component, so one exact test per component labels all its cells.
"""

from __future__ import annotations

import numpy as np
import shapely
from scipy import ndimage

MIXED = -2
NONE = -1


class GridIndex:
    """Index of polygons (lon/lat degrees) for fast exact lookup; ``lookup`` returns polygon indices.

    ``geometries`` are in priority order: where polygons overlap (or share an edge), the lowest index
    wins.
    """

    def __init__(self, geometries, cell_deg: float = 0.25, tiles_deg: tuple[float, ...] = (10.0, 2.0)):
        self.geometries = np.asarray(geometries, dtype=object)
        self.cell_deg = float(cell_deg)
        self.n_lat = round(180.0 / self.cell_deg)
        self.n_lon = round(360.0 / self.cell_deg)
        pieces, owner = self.geometries, np.arange(self.geometries.size)
        for tile_deg in tiles_deg:
            pieces, owner = _split(pieces, owner, tile_deg)
        self.pieces, self.owner = pieces, owner.astype(np.int32)
        self.tree = shapely.STRtree(self.pieces)
        shapely.prepare(self.pieces)
        self.grid = self._build()

    def _cells(self, lat: np.ndarray, lon: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        row = np.clip(np.floor((lat + 90.0) / self.cell_deg).astype(np.int64), 0, self.n_lat - 1)
        col = np.clip(np.floor((lon + 180.0) / self.cell_deg).astype(np.int64), 0, self.n_lon - 1)
        return row, col

    def _build(self) -> np.ndarray:
        boundary = shapely.segmentize(shapely.boundary(self.geometries), 0.9 * self.cell_deg)
        coords = shapely.get_coordinates(boundary)
        mixed = np.zeros((self.n_lat, self.n_lon), dtype=bool)
        row, col = self._cells(coords[:, 1], coords[:, 0])
        mixed[row, col] = True
        mixed = ndimage.binary_dilation(mixed, structure=np.ones((3, 3), dtype=bool))
        labels, n_components = ndimage.label(~mixed)
        grid = np.full((self.n_lat, self.n_lon), MIXED, dtype=np.int32)
        if n_components:
            # One representative cell centre per component: the first cell of each label.
            flat = labels.ravel()
            order = np.argsort(flat, kind="stable")
            starts = np.searchsorted(flat[order], np.arange(1, n_components + 1))
            first = order[starts]
            r, c = np.unravel_index(first, labels.shape)
            lat = -90.0 + (r + 0.5) * self.cell_deg
            lon = -180.0 + (c + 0.5) * self.cell_deg
            answer = self.exact(lat, lon)
            per_label = np.concatenate([[MIXED], answer]).astype(np.int32)
            grid = per_label[labels]
        return grid

    def exact(self, lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
        """Exact lookup (no grid): index of the first polygon covering each point, or -1."""
        out = np.full(lat.shape, NONE, dtype=np.int32)
        if lat.size == 0:
            return out
        points = shapely.points(lon, lat)
        point_idx, piece_idx = self.tree.query(points, predicate="intersects")
        if point_idx.size:
            geom_idx = self.owner[piece_idx]
            # Lowest polygon index wins: write in descending order so the smallest is written last.
            order = np.lexsort((-geom_idx, point_idx))
            out[point_idx[order]] = geom_idx[order]
        return out

    def lookup(self, lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
        """Polygon index per point (-1 for none); ``lat`` in [-90, 90], ``lon`` wrapped to [-180, 180)."""
        row, col = self._cells(lat, lon)
        out = self.grid[row, col]
        mixed = np.flatnonzero(out == MIXED)
        if mixed.size:
            out[mixed] = self.exact(lat[mixed], lon[mixed])
        return out


def _split(geometries: np.ndarray, owner: np.ndarray, tile_deg: float) -> tuple[np.ndarray, np.ndarray]:
    """Cut polygons into pieces no larger than ``tile_deg`` squares (exact: box intersection).

    Small pieces make each exact point test cheap (few vertices) and let the STRtree discard most of
    a large country's outline. Returns the pieces and the index of the polygon each came from.
    """
    west = np.arange(-180.0, 180.0, tile_deg)
    south = np.arange(-90.0, 90.0, tile_deg)
    x0, y0 = np.meshgrid(west, south)
    x0, y0 = x0.ravel(), y0.ravel()
    boxes = shapely.box(x0, y0, np.minimum(x0 + tile_deg, 180.0), np.minimum(y0 + tile_deg, 90.0))
    geom_idx, box_idx = shapely.STRtree(boxes).query(geometries, predicate="intersects")
    pieces = shapely.intersection(geometries[geom_idx], boxes[box_idx])
    keep = ~shapely.is_empty(pieces)
    return pieces[keep], owner[geom_idx[keep]]
