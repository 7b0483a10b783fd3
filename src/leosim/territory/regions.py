"""Custom regions that overlay countries: polygons (from GeoJSON) or sets of H3 cells.

A :class:`Region` answers "which of these points lie in me?" for arrays of latitudes and longitudes
in degrees (WGS 84 geodetic, longitude in any 360° range). Polygons follow RFC 7946: longitude first,
and a shape that crosses the antimeridian is either split there or written with longitudes beyond ±180
(both work: points are tested at λ, λ + 360° and λ − 360° where the region's extent needs it).
H3 regions hold cells at any resolution (h3 v4); a point is inside when its cell at that resolution is
listed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import h3
import h3.api.basic_int as h3_int
import numpy as np
import shapely

from ..errors import LeosimInputError

_POLYGONAL = ("Polygon", "MultiPolygon")


@dataclass(frozen=True, eq=False)
class Region:
    """A named custom region: a polygonal ``geometry`` (lon/lat degrees) or H3 ``cells``.

    Build one with :meth:`from_geometry`, :meth:`from_h3_cells` or :func:`regions_from_geojson`.
    """

    name: str
    geometry: shapely.Geometry | None = None
    cells_by_resolution: dict[int, frozenset[int]] = field(default_factory=dict)
    bounds: tuple[float, float, float, float] = (-180.0, -90.0, 180.0, 90.0)

    @classmethod
    def from_geometry(cls, name: str, geometry: shapely.Geometry) -> Region:
        """A region from a shapely (Multi)Polygon in lon/lat degrees."""
        name = _check_name(name)
        if geometry is None or geometry.geom_type not in _POLYGONAL or geometry.is_empty:
            raise LeosimInputError(f"region {name!r} needs a non-empty Polygon or MultiPolygon, got "
                                   f"{getattr(geometry, 'geom_type', geometry)!r}", field="geometry")
        if not geometry.is_valid:
            raise LeosimInputError(f"region {name!r} has an invalid polygon: "
                                   f"{shapely.is_valid_reason(geometry)}", field="geometry")
        shapely.prepare(geometry)
        return cls(name=name, geometry=geometry, bounds=tuple(float(b) for b in geometry.bounds))

    @classmethod
    def from_h3_cells(cls, name: str, cells) -> Region:
        """A region from H3 cells (hex strings or 64-bit integers, any mix of resolutions)."""
        name = _check_name(name)
        by_res: dict[int, set[int]] = {}
        lats, lons = [], []
        for cell in cells:
            try:
                value = h3.str_to_int(cell) if isinstance(cell, str) else int(cell)
                valid = h3_int.is_valid_cell(value)
            except (ValueError, TypeError, OverflowError):
                valid = False
            if not valid:
                raise LeosimInputError(f"{cell!r} is not a valid H3 cell (hex string such as "
                                       f"'851f1d4bfffffff' or a 64-bit integer)", field=f"region {name}")
            by_res.setdefault(h3_int.get_resolution(value), set()).add(value)
            boundary = np.asarray(h3_int.cell_to_boundary(value))
            lats.extend(boundary[:, 0])
            lons.extend(boundary[:, 1])
        if not by_res:
            raise LeosimInputError(f"region {name!r} has no H3 cells", field="cells")
        lons_a = np.asarray(lons)
        # A cell that straddles the antimeridian makes the longitude extent useless: test everything.
        if lons_a.max() - lons_a.min() > 180.0:
            bounds = (-180.0, float(min(lats)), 180.0, float(max(lats)))
        else:
            bounds = (float(lons_a.min()), float(min(lats)), float(lons_a.max()), float(max(lats)))
        # Cells near the poles: their boundary need not reach the pole, widen to be safe.
        bounds = (bounds[0], max(-90.0, bounds[1] - 1.0), bounds[2], min(90.0, bounds[3] + 1.0))
        return cls(name=name, cells_by_resolution={r: frozenset(c) for r, c in by_res.items()},
                   bounds=bounds)

    @property
    def is_h3(self) -> bool:
        return self.geometry is None

    def contains(self, lat_deg: np.ndarray, lon_deg: np.ndarray) -> np.ndarray:
        """Bool mask, shape of the inputs: which points lie in (or on the edge of) the region.

        ``lon_deg`` must already be wrapped to [-180, 180).
        """
        lat = np.asarray(lat_deg, dtype=np.float64)
        lon = np.asarray(lon_deg, dtype=np.float64)
        out = np.zeros(lat.shape, dtype=bool)
        west, south, east, north = self.bounds
        in_lat = (lat >= south) & (lat <= north)
        if self.is_h3:
            candidates = np.flatnonzero(in_lat & _in_lon_range(lon, west, east))
            for res, cells in self.cells_by_resolution.items():
                # h3 v4 has no vectorised latlng_to_cell; only the points inside the extent are looped.
                hits = [h3_int.latlng_to_cell(float(lat[i]), float(lon[i]), res) in cells
                        for i in candidates]
                out[candidates[np.asarray(hits, dtype=bool)]] = True
            return out
        for shift in (0.0, 360.0, -360.0):
            if shift == 360.0 and east <= 180.0:
                continue
            if shift == -360.0 and west >= -180.0:
                continue
            x = lon + shift
            candidates = np.flatnonzero(in_lat & (x >= west) & (x <= east) & ~out)
            if candidates.size:
                out[candidates] = shapely.intersects_xy(self.geometry, x[candidates], lat[candidates])
        return out


def _in_lon_range(lon: np.ndarray, west: float, east: float) -> np.ndarray:
    return (lon >= west) & (lon <= east)


def _check_name(name) -> str:
    if not isinstance(name, str) or not name.strip():
        raise LeosimInputError(f"a region needs a non-empty name, got {name!r}", field="name")
    name = name.strip()
    if ":" in name:
        raise LeosimInputError(f"region name {name!r} may not contain ':' (reserved for terminal:ID and "
                               f"fleet:NAME)", field="name")
    return name


def regions_from_geojson(path, *, name_property: str = "name") -> list[Region]:
    """Regions from a GeoJSON file: one per Feature (Polygon/MultiPolygon), named by ``name_property``.

    Features that share a name are merged into one region. Raises :class:`LeosimInputError` naming the
    file, the feature and what is wrong.
    """
    path = Path(path)
    source = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise LeosimInputError(f"not UTF-8 text: {error}", source=source) from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise LeosimInputError(f"not valid JSON: {error.msg} (column {error.colno})", source=source,
                               line=error.lineno) from None
    if not isinstance(data, dict) or "type" not in data:
        raise LeosimInputError("not GeoJSON: expected an object with a 'type' member "
                               "(FeatureCollection or Feature)", source=source)
    if data["type"] == "FeatureCollection":
        features = data.get("features")
        if not isinstance(features, list):
            raise LeosimInputError("FeatureCollection needs a 'features' array", source=source,
                                   field="features")
    elif data["type"] == "Feature":
        features = [data]
    else:
        raise LeosimInputError(f"GeoJSON type {data['type']!r} is not accepted; expected FeatureCollection "
                               f"or Feature with Polygon/MultiPolygon geometry", source=source, field="type")
    parts: dict[str, list] = {}
    for index, feature in enumerate(features):
        where = f"features[{index}]"
        if not isinstance(feature, dict) or feature.get("type") != "Feature":
            raise LeosimInputError("expected an object with \"type\": \"Feature\"", source=source, field=where)
        props = feature.get("properties") or {}
        name = props.get(name_property) if isinstance(props, dict) else None
        if not isinstance(name, str) or not name.strip():
            raise LeosimInputError(f"missing or empty property {name_property!r} (the region's name); "
                                   f"properties present: {sorted(props) if isinstance(props, dict) else []}",
                                   source=source, field=f"{where}.properties.{name_property}")
        geometry = feature.get("geometry")
        if not isinstance(geometry, dict) or geometry.get("type") not in _POLYGONAL:
            got = geometry.get("type") if isinstance(geometry, dict) else geometry
            raise LeosimInputError(f"geometry type {got!r} is not accepted; expected Polygon or "
                                   f"MultiPolygon", source=source, field=f"{where}.geometry")
        try:
            shape = shapely.from_geojson(json.dumps(geometry))
        except shapely.errors.GEOSException as error:
            raise LeosimInputError(f"bad coordinates: {error}", source=source,
                                   field=f"{where}.geometry.coordinates") from None
        if shape.is_empty:
            raise LeosimInputError("empty geometry", source=source, field=f"{where}.geometry")
        if not shape.is_valid:
            raise LeosimInputError(f"invalid polygon: {shapely.is_valid_reason(shape)}", source=source,
                                   field=f"{where}.geometry")
        lon_min, lat_min, lon_max, lat_max = shape.bounds
        if lat_min < -90 or lat_max > 90 or lon_min < -540 or lon_max > 540:
            raise LeosimInputError(f"coordinates out of range (lon {lon_min}..{lon_max}, lat {lat_min}.."
                                   f"{lat_max}); GeoJSON is [longitude, latitude] in degrees",
                                   source=source, field=f"{where}.geometry.coordinates")
        parts.setdefault(name.strip(), []).append(shape)
    if not parts:
        raise LeosimInputError("no features", source=source, field="features")
    regions = []
    for name, shapes in parts.items():
        geometry = shapes[0] if len(shapes) == 1 else shapely.union_all(shapes)
        try:
            regions.append(Region.from_geometry(name, geometry))
        except LeosimInputError as error:
            raise LeosimInputError(error.message, source=source, field=error.field) from None
    return regions
