"""Which territory is a point in: countries (Natural Earth, German point of view) and custom regions.

Countries come from ``data/countries.geojson.gz`` (see ``data/README.md`` for its origin: Natural
Earth admin-0 1:10m, German point of view — Crimea within Ukraine, Taiwan its own polygon — simplified
by 0.01°, about 1.1 km). They are keyed by ISO 3166 alpha-3 (``ISO_A3_EH``), or Natural Earth's
``ADM0_A3`` where ISO has no code (Kosovo ``KOS``, Northern Cyprus ``CYN``, Somaliland ``SOL``, ...).

Custom regions (:class:`~leosim.territory.regions.Region`: GeoJSON polygons or H3 cells) overlay the
countries: :meth:`Territories.lookup` answers the first region that holds a point (in the order given),
else the country, else ``''`` (open sea). :meth:`Territories.locate` gives both layers.

Limitations: the polygons are simplified (boundaries can be off by ~1 km, islands smaller than a
few hundred metres may be missing); there are no maritime zones (territorial waters count as sea);
the point of view is one choice among several and can be overridden with custom regions.
"""

from __future__ import annotations

import difflib
import gzip
import json
from dataclasses import dataclass
from functools import cached_property, lru_cache
from importlib import resources

import numpy as np
import shapely

from ..errors import LeosimInputError
from ._grid import GridIndex
from .regions import Region, regions_from_geojson

#: Grid cell for the lookup index, degrees (see :mod:`leosim.territory._grid`).
GRID_CELL_DEG = 0.25
#: Tile sizes the polygons are cut into for the exact tests, degrees (coarse to fine).
PIECE_TILES_DEG = (10.0, 2.0)
#: Points this close to a pole (degrees of latitude) are moved onto the pole's latitude ±90 so that
#: every longitude there gives the same answer.
POLE_SNAP_DEG = 1e-9

_DATA_FILE = "countries.geojson.gz"


@dataclass(frozen=True)
class TerritoryHits:
    """Both layers for each point: ``country`` (alpha-3 or '') and ``region`` (custom name or '')."""

    country: np.ndarray
    region: np.ndarray


class Territories:
    """Countries plus optional custom regions, with vectorised point lookup.

    Use :meth:`default` (cached, countries only), :meth:`from_geojson` (countries + regions from a
    file) or :meth:`with_regions`.
    """

    def __init__(self, codes, names, geometries, regions=()):
        self.codes = np.asarray(codes, dtype=str)
        self.names = dict(zip(self.codes.tolist(), names, strict=True))
        self._geometries = geometries
        self.regions: tuple[Region, ...] = tuple(regions)
        seen = set()
        for region in self.regions:
            if region.name in seen:
                raise LeosimInputError(f"region {region.name!r} is given twice", field="regions")
            if region.name.upper() in self.names:
                raise LeosimInputError(f"region name {region.name!r} clashes with the country code "
                                       f"{region.name.upper()} ({self.names[region.name.upper()]})",
                                       field="regions")
            seen.add(region.name)
        self._country_labels = np.append(self.codes, "")
        self._region_labels = np.array([r.name for r in self.regions] + [""], dtype=str)

    # ----- construction -------------------------------------------------------------------------
    @classmethod
    @lru_cache(maxsize=1)
    def default(cls) -> Territories:
        """Natural Earth countries (German point of view), no custom regions. Cached."""
        raw = resources.files(__package__).joinpath("data", _DATA_FILE).read_bytes()
        collection = json.loads(gzip.decompress(raw))
        features = collection["features"]
        codes = [f["properties"]["code"] for f in features]
        names = [f["properties"]["name"] for f in features]
        geometries = [json.dumps(f["geometry"]) for f in features]
        return cls(codes, names, geometries)

    @classmethod
    def from_geojson(cls, path, *, name_property: str = "name",
                     countries: Territories | None = None) -> Territories:
        """Countries (default: :meth:`default`) overlaid with the regions of a GeoJSON file."""
        return (countries or cls.default()).with_regions(regions_from_geojson(path,
                                                                              name_property=name_property))

    def with_regions(self, regions) -> Territories:
        """A copy with ``regions`` added on top (earlier regions win where regions overlap)."""
        new = Territories.__new__(Territories)
        Territories.__init__(new, self.codes, [self.names[c] for c in self.codes.tolist()],
                             self._geometries, (*self.regions, *regions))
        for cached in ("_index", "_shapes"):
            if cached in self.__dict__:
                new.__dict__[cached] = self.__dict__[cached]
        return new

    def geometry(self, key: str):
        """Shapely geometry (lon/lat degrees) of a country by alpha-3 code or of a custom region by name.

        A region made of H3 cells has no polygon: its cells' union is returned instead.
        """
        for region in self.regions:
            if region.name == key:
                return region.geometry if region.geometry is not None else _cells_polygon(region)
        try:
            index = int(np.flatnonzero(self.codes == key)[0])
        except IndexError:
            raise LeosimInputError(f"unknown territory {key!r}; {self.suggest(key)}", field="territory") from None
        return self._shapes[index]

    @cached_property
    def _shapes(self) -> list:
        return [shapely.from_geojson(g) if isinstance(g, str) else g for g in self._geometries]

    @cached_property
    def _index(self) -> GridIndex:
        return GridIndex(self._shapes, GRID_CELL_DEG, PIECE_TILES_DEG)

    # ----- names and codes ----------------------------------------------------------------------
    @property
    def region_names(self) -> tuple[str, ...]:
        return tuple(r.name for r in self.regions)

    def name(self, code: str) -> str:
        """Country name for an alpha-3 code, or the region's own name."""
        return self.names.get(code, code)

    def resolve(self, text: str, *, field: str = "territory") -> tuple[str, str]:
        """``(kind, key)`` for a country code/name or region name; kind is ``'country'`` or ``'region'``.

        Accepts an alpha-3 code in any case, a country's name, or a custom region's name. Anything else
        raises :class:`LeosimInputError` listing close matches.
        """
        key = str(text).strip()
        if key.upper() in self.names:
            return "country", key.upper()
        if key in self.region_names:
            return "region", key
        by_name = {n.lower(): c for c, n in self.names.items()}
        if key.lower() in by_name:
            return "country", by_name[key.lower()]
        raise LeosimInputError(f"unknown territory {key!r}; {self.suggest(key)}", field=field)

    def suggest(self, text: str) -> str:
        """A phrase listing known codes, country names and regions close to ``text``."""
        key = str(text).strip()
        choices = {c: f"{c} ({n})" for c, n in self.names.items()}
        choices.update({n.lower(): f"{c} ({n})" for c, n in self.names.items()})
        choices.update({r: f"{r} (region)" for r in self.region_names})
        candidates = difflib.get_close_matches(key.upper(), list(self.names), n=5, cutoff=0.6)
        candidates += difflib.get_close_matches(key.lower(), [k for k in choices if not k.isupper()],
                                                n=5, cutoff=0.6)
        seen = list(dict.fromkeys(choices[c] for c in candidates))
        if seen:
            return "close matches: " + ", ".join(seen[:6])
        return "expected an ISO 3166 alpha-3 code such as UKR, TWN, RUS" + (
            f" or a region ({', '.join(self.region_names)})" if self.regions else "")

    # ----- lookup -------------------------------------------------------------------------------
    def locate(self, lat_deg, lon_deg) -> TerritoryHits:
        """Country and custom region of each point.

        ``lat_deg``, ``lon_deg``: geodetic degrees (WGS 84), any broadcastable shapes, longitude in any
        range (wrapped to [-180, 180)). Returns :class:`TerritoryHits` of str arrays with the broadcast
        shape; ``''`` where no country (open sea) or no region holds the point, and for NaN input.
        """
        lat, lon = np.broadcast_arrays(np.asarray(lat_deg, dtype=np.float64),
                                       np.asarray(lon_deg, dtype=np.float64))
        shape = lat.shape
        lat = lat.ravel()
        lon = lon.ravel()
        ok = np.isfinite(lat) & np.isfinite(lon) & (np.abs(lat) <= 90.0)
        lat = np.where(ok, lat, 0.0)
        lat = np.where(np.abs(lat) >= 90.0 - POLE_SNAP_DEG, np.sign(lat) * 90.0, lat)
        lon = np.where(ok, (lon + 180.0) % 360.0 - 180.0, 0.0)
        country = self._index.lookup(lat, lon)
        country[~ok] = -1
        region = np.full(lat.shape, len(self.regions), dtype=np.int32)
        for number, reg in reversed(list(enumerate(self.regions))):
            region[reg.contains(lat, lon) & ok] = number
        return TerritoryHits(country=self._country_labels[country].reshape(shape),
                             region=self._region_labels[region].reshape(shape))

    def lookup(self, lat_deg, lon_deg) -> np.ndarray:
        """Territory of each point: a custom region's name where one holds it, else the country's
        alpha-3 code, else ``''``. Shapes and units as in :meth:`locate`.
        """
        hits = self.locate(lat_deg, lon_deg)
        return np.where(hits.region != "", hits.region, hits.country)


def _cells_polygon(region: Region):
    """Union of a cell region's H3 cells as a shapely geometry (lon/lat degrees)."""
    import h3

    cells = [h3.int_to_str(c) for cells in region.cells_by_resolution.values() for c in sorted(cells)]
    shape = h3.cells_to_h3shape(cells)
    return shapely.geometry.shape(shape.__geo_interface__)
