"""Ground sites (user terminals, gateways, PoPs, cities): columns of equal length, loaders and default data.

A :class:`Sites` holds ``M`` sites as NumPy columns (``ids``, ``names``, ``kinds``, ``lat_deg``, ``lon_deg``,
``alt_m``, ``country``, ``population``). Coordinates are WGS84 geodetic: latitude in [-90, 90] degrees,
longitude normalised to [-180, 180) degrees, altitude in metres above the ellipsoid. Every column is
read-only, so a :class:`Sites` can be shared (the default tables are parsed once and cached).

Input rules, the same for arrays and files:

* latitude must lie in [-90, 90] and longitude in [-180, 180] (both finite); a longitude of exactly 180 is
  stored as -180. Longitudes outside [-180, 180] (e.g. 0..360 conventions) are rejected rather than
  wrapped, since they more often mean swapped or corrupted columns than a deliberate convention;
* altitude must be finite; population a whole number >= 0; country '' or two ASCII letters (upper-cased);
* kind one of :data:`SITE_KINDS` (case-insensitive); ids non-empty and unique; names non-empty.

Bad input raises :class:`~leosim.errors.LeosimInputError` naming the file, the 1-based line and the field.
"""

from __future__ import annotations

import csv
import difflib
import functools
import io
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import LeosimInputError
from .geodesy import enu_basis, geodetic_to_ecef

SITE_KINDS = ("terminal", "gateway", "pop", "city")
"""Accepted values of a site's ``kind``."""

M_PER_KM = 1000.0

CSV_COLUMN_ALIASES: dict[str, tuple[str, ...]] = {
    "id": ("id",),
    "name": ("name",),
    "lat": ("lat", "latitude", "latitude_deg", "lat_deg"),
    "lon": ("lon", "longitude", "longitude_deg", "lon_deg"),
    "alt": ("alt_m", "altitude_m", "elevation_m"),
    "kind": ("kind",),
    "country": ("country",),
    "population": ("population",),
    "antennas": ("antennas", "gateway_antennas"),
}
"""Header names accepted by :meth:`Sites.from_csv` (case-insensitive), per column."""
_REQUIRED_CSV_COLUMNS = ("name", "lat", "lon")

HYPATIA_BASIC_FIELDS = ("gid", "name", "latitude", "longitude", "elevation_m")
"""Fields of Hypatia's ``ground_stations.basic.txt`` (no header)."""
HYPATIA_EXTENDED_FIELDS = (*HYPATIA_BASIC_FIELDS, "x", "y", "z")
"""Fields of Hypatia's ``ground_stations.txt`` (no header); x, y, z are Hypatia's own Cartesian metres."""

_DATA_PACKAGE = "leosim.ground"
_DATA_DIR = "data"
CITIES_FILE = "cities.csv"
GROUND_INFRASTRUCTURE_FILE = "ground_infrastructure.csv"


def _readonly(array: np.ndarray) -> np.ndarray:
    array = np.array(array, copy=True)
    array.flags.writeable = False
    return array


def _str_column(values: Any, size: int, name: str) -> np.ndarray:
    """A length-``size`` column of Python str (scalars broadcast)."""
    if isinstance(values, str):
        return np.array([values.strip()] * size, dtype=str) if size else np.array([], dtype=str)
    array = np.asarray(values).ravel()
    if array.size != size:
        raise LeosimInputError(f"has {array.size} values but there are {size} sites", field=name)
    if not size:
        return np.array([], dtype=str)
    return np.char.strip(array if array.dtype.kind == "U" else array.astype(str))


def _where(index: int, source: str | None, lines: np.ndarray | None) -> dict[str, Any]:
    """``source``/``line`` keyword arguments of an error about site ``index``."""
    return {"source": source, "line": int(lines[index]) if lines is not None else None}


def _site_label(index: int, lines: np.ndarray | None) -> str:
    return "" if lines is not None else f"site {index}: "


def _slugify(text: str) -> str:
    """Lower-case ASCII slug of ``text`` (accents dropped, other runs of non-alphanumerics become '-')."""
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(c for c in decomposed if not unicodedata.combining(c)).lower()
    return re.sub(r"[^a-z0-9]+", "-", plain).strip("-")


def _ids_from_names(names: np.ndarray) -> np.ndarray:
    """Unique ids made from names: the slug, with ``-2``, ``-3``... on repeats (``site-<i>`` if no slug)."""
    seen: dict[str, int] = {}
    ids = []
    for i, name in enumerate(names):
        base = _slugify(str(name)) or f"site-{i}"
        candidate = base
        while candidate in seen:
            seen[base] += 1
            candidate = f"{base}-{seen[base]}"
        seen[candidate] = 1
        ids.append(candidate)
    return np.array(ids, dtype=str)


@dataclass(frozen=True, eq=False)
class Sites:
    """Ground sites as columns (read-only arrays of equal length ``M``).

    Build with :meth:`from_arrays`, :meth:`from_csv`, :meth:`from_hypatia`, or the default tables
    (:func:`default_cities`, :func:`default_gateways`, :func:`default_pops`). The constructor itself does
    no validation; use :meth:`from_arrays`.
    """

    ids: np.ndarray
    """Site ids, str, shape ``(M,)``, unique."""
    names: np.ndarray
    """Display names, str, shape ``(M,)``."""
    kinds: np.ndarray
    """Kinds, str, shape ``(M,)``, each one of :data:`SITE_KINDS`."""
    lat_deg: np.ndarray
    """WGS84 geodetic latitude, degrees, float64 ``(M,)``, in [-90, 90]."""
    lon_deg: np.ndarray
    """WGS84 longitude, degrees, float64 ``(M,)``, in [-180, 180)."""
    alt_m: np.ndarray
    """Height above the WGS84 ellipsoid, metres, float64 ``(M,)``."""
    country: np.ndarray
    """ISO 3166-1 alpha-2 country code, str ``(M,)``, '' when unknown."""
    population: np.ndarray
    """Population, int64 ``(M,)``, 0 when unknown."""
    antennas: np.ndarray
    """Gateways: feeder antennas, int64 ``(M,)``, 0 when not given (the capacity model's default then
    applies; docs/capacity.md)."""
    _cache: dict[str, Any] = field(default_factory=dict, init=False, repr=False, compare=False)

    # ------------------------------------------------------------------ construction

    @classmethod
    def from_arrays(cls, *, ids=None, names, kinds="terminal", lat_deg, lon_deg, alt_m=0.0, country="",
                    population=0, antennas=0) -> Sites:
        """Validated :class:`Sites` from array-likes of length ``M``.

        Scalars broadcast for every column except names, lat_deg and lon_deg.

        ``ids`` default to slugs of the names (``"Kyiv"`` -> ``"kyiv"``, repeats get ``-2``, ``-3``...).
        Raises :class:`~leosim.errors.LeosimInputError` naming the field and the site index.
        """
        return cls._validated(ids=ids, names=names, kinds=kinds, lat_deg=lat_deg, lon_deg=lon_deg,
                              alt_m=alt_m, country=country, population=population, antennas=antennas)

    @classmethod
    def _validated(cls, *, ids, names, kinds, lat_deg, lon_deg, alt_m, country, population, antennas=0,
                   source: str | None = None, lines: Sequence[int] | None = None) -> Sites:
        """Check and normalise columns; errors name ``source`` and ``lines[i]`` (else the index i)."""
        line_arr = None if lines is None else np.asarray(lines, dtype=np.int64)
        names_arr = np.asarray(names, dtype=object).ravel()
        size = names_arr.size

        def err(message: str, index: int | None, name: str) -> LeosimInputError:
            if index is None:
                return LeosimInputError(message, source=source, field=name)
            return LeosimInputError(_site_label(index, line_arr) + message, field=name,
                                    **_where(index, source, line_arr))

        names_s = _str_column(names_arr, size, "name")
        empty = np.flatnonzero(np.char.str_len(names_s) == 0) if size else np.array([], dtype=np.int64)
        if empty.size:
            raise err("empty name (every site needs a name)", int(empty[0]), "name")

        def float_column(values, name: str, scalar_ok: bool) -> np.ndarray:
            try:
                arr = np.asarray(values, dtype=np.float64)
            except (TypeError, ValueError) as exc:
                raise err(f"not a number array: {exc}", None, name) from None
            if arr.ndim == 0 and scalar_ok:
                arr = np.full(size, float(arr))
            arr = arr.ravel()
            if arr.size != size:
                raise err(f"has {arr.size} values but there are {size} sites", None, name)
            bad = np.flatnonzero(~np.isfinite(arr))
            if bad.size:
                raise err(f"{float(arr[bad[0]])!r} is not a finite number", int(bad[0]), name)
            return arr

        lat = float_column(lat_deg, "lat_deg", scalar_ok=False)
        lon = float_column(lon_deg, "lon_deg", scalar_ok=False)
        alt = float_column(alt_m, "alt_m", scalar_ok=True)
        bad = np.flatnonzero(np.abs(lat) > 90.0)
        if bad.size:
            raise err(f"latitude {float(lat[bad[0]])!r} deg is outside [-90, 90]", int(bad[0]), "lat_deg")
        bad = np.flatnonzero(np.abs(lon) > 180.0)
        if bad.size:
            raise err(f"longitude {float(lon[bad[0]])!r} deg is outside [-180, 180] (0..360 is not accepted)",
                      int(bad[0]), "lon_deg")
        lon = np.where(lon == 180.0, -180.0, lon)

        kinds_s = np.char.lower(_str_column(kinds, size, "kind")) if size else np.array([], dtype=str)
        bad = np.flatnonzero(~np.isin(kinds_s, SITE_KINDS))
        if bad.size:
            raise err(f"unknown kind {str(kinds_s[bad[0]])!r}; accepted: {', '.join(SITE_KINDS)}",
                      int(bad[0]), "kind")

        country_s = np.char.upper(_str_column(country, size, "country")) if size else np.array([], dtype=str)
        bad = np.flatnonzero(~_valid_country_codes(country_s))
        if bad.size:
            raise err(f"country {str(country_s[bad[0]])!r} is not an ISO 3166 alpha-2 code (two letters, "
                      "or empty)", int(bad[0]), "country")

        def count_column(values, name: str) -> np.ndarray:
            try:
                arr = np.asarray(values, dtype=np.float64)
            except (TypeError, ValueError) as exc:
                raise err(f"not a number array: {exc}", None, name) from None
            if arr.ndim == 0:
                arr = np.full(size, float(arr))
            arr = arr.ravel()
            if arr.size != size:
                raise err(f"has {arr.size} values but there are {size} sites", None, name)
            bad = np.flatnonzero(~np.isfinite(arr) | (arr < 0) | (arr != np.round(arr)))
            if bad.size:
                raise err(f"{name} {float(arr[bad[0]])!r} is not a whole number >= 0", int(bad[0]), name)
            return arr.astype(np.int64)

        pop = count_column(population, "population")
        antenna_count = count_column(antennas, "antennas")

        if ids is None:
            ids_s = _ids_from_names(names_s)
        else:
            ids_s = _str_column(ids, size, "id")
            empty = np.flatnonzero(np.char.str_len(ids_s) == 0) if size else np.array([], dtype=np.int64)
            if empty.size:
                raise err("empty id", int(empty[0]), "id")
        _check_unique_ids(ids_s, source, line_arr)
        return cls(ids=_readonly(ids_s), names=_readonly(names_s), kinds=_readonly(kinds_s),
                   lat_deg=_readonly(lat), lon_deg=_readonly(lon), alt_m=_readonly(alt),
                   country=_readonly(country_s), population=_readonly(pop), antennas=_readonly(antenna_count))

    @classmethod
    def from_csv(cls, path, default_kind: str = "terminal") -> Sites:
        """Sites from a CSV file with a header row (UTF-8, optional BOM).

        Columns (header names case-insensitive; others are ignored): ``id`` (optional; default slugs of
        the names), ``name``, ``lat``/``latitude``/``latitude_deg``/``lat_deg``,
        ``lon``/``longitude``/``longitude_deg``/``lon_deg``, ``alt_m``/``altitude_m``/``elevation_m``
        (optional, default 0), ``kind`` (optional, default ``default_kind``), ``country`` (optional),
        ``population`` (optional), ``antennas``/``gateway_antennas`` (optional: a gateway's feeder antennas for
        the capacity model; blank or 0 = the default). Blank lines and lines starting with ``#`` are skipped.
        """
        path = Path(path)
        try:
            with open(path, encoding="utf-8-sig", newline="") as stream:
                return cls._from_csv_stream(stream, str(path), default_kind)
        except OSError as exc:
            raise LeosimInputError(f"cannot read the file: {exc.strerror or exc}", source=str(path)) from None
        except UnicodeDecodeError as exc:
            raise LeosimInputError(f"not UTF-8 text ({exc.reason} at byte {exc.start})",
                                   source=str(path)) from None

    @classmethod
    def _from_csv_stream(cls, stream: Iterable[str], source: str, default_kind: str) -> Sites:
        reader = csv.reader(stream)
        header: list[str] | None = None
        header_line = 0
        for row in reader:
            if _skippable(row):
                continue
            header, header_line = [h.strip().lower() for h in row], reader.line_num
            break
        if header is None:
            raise LeosimInputError("empty file: expected a header row and at least one site", source=source)
        columns: dict[str, int] = {}
        for key, aliases in CSV_COLUMN_ALIASES.items():
            found = [i for i, h in enumerate(header) if h in aliases]
            if len(found) > 1:
                raise LeosimInputError(
                    f"more than one {key} column ({', '.join(header[i] for i in found)}); give only one",
                    source=source, line=header_line, field=key)
            if found:
                columns[key] = found[0]
        for key in _REQUIRED_CSV_COLUMNS:
            if key not in columns:
                raise LeosimInputError(
                    f"missing required column {key!r}; accepted header names: "
                    f"{' / '.join(CSV_COLUMN_ALIASES[key])} (found: {', '.join(header)})",
                    source=source, line=header_line, field=key)
        out: dict[str, list] = {key: [] for key in CSV_COLUMN_ALIASES}
        lines: list[int] = []
        for row in reader:
            if _skippable(row):
                continue
            line = reader.line_num
            if len(row) != len(header):
                raise LeosimInputError(f"{len(row)} fields, but the header has {len(header)}",
                                       source=source, line=line)
            lines.append(line)
            for key, col in columns.items():
                text = row[col].strip()
                if key in ("lat", "lon", "alt", "population", "antennas"):
                    out[key].append(_parse_number(text, source, line, header[col],
                                                  blank_is_zero=key in ("alt", "population", "antennas")))
                else:
                    out[key].append(text)
        if not lines:
            raise LeosimInputError("empty file: a header row but no sites", source=source)
        n = len(lines)
        return cls._validated(
            ids=out["id"] if "id" in columns else None, names=out["name"],
            kinds=[k or default_kind for k in out["kind"]] if "kind" in columns else [default_kind] * n,
            lat_deg=out["lat"], lon_deg=out["lon"],
            alt_m=out["alt"] if "alt" in columns else np.zeros(n),
            country=out["country"] if "country" in columns else [""] * n,
            population=out["population"] if "population" in columns else np.zeros(n, dtype=np.int64),
            antennas=out["antennas"] if "antennas" in columns else np.zeros(n, dtype=np.int64),
            source=source, lines=lines)

    @classmethod
    def from_hypatia(cls, path, kind: str = "city") -> Sites:
        """Sites from Hypatia's ``ground_stations.basic.txt`` or ``ground_stations.txt`` (no header).

        Each line is ``gid,name,latitude,longitude,elevation_m`` (basic) or those plus Hypatia's Cartesian
        ``x,y,z`` in metres (extended); every line of a file must have the same form. ``gid`` must be an
        integer; it becomes the site id (as str). The Cartesian columns are checked to be numbers and then
        ignored: positions are recomputed from the geodetic coordinates on WGS84.
        """
        path = Path(path)
        source = str(path)
        try:
            with open(path, encoding="utf-8-sig") as stream:
                text_lines = stream.read().splitlines()
        except OSError as exc:
            raise LeosimInputError(f"cannot read the file: {exc.strerror or exc}", source=source) from None
        except UnicodeDecodeError as exc:
            raise LeosimInputError(f"not UTF-8 text ({exc.reason} at byte {exc.start})",
                                   source=source) from None
        ids, names, lat, lon, alt, lines = [], [], [], [], [], []
        expected: int | None = None
        for number, text in enumerate(text_lines, start=1):
            if not text.strip():
                continue
            parts = [p.strip() for p in text.split(",")]
            if expected is None:
                if len(parts) not in (len(HYPATIA_BASIC_FIELDS), len(HYPATIA_EXTENDED_FIELDS)):
                    raise LeosimInputError(
                        f"{len(parts)} fields; expected {len(HYPATIA_BASIC_FIELDS)} "
                        f"({','.join(HYPATIA_BASIC_FIELDS)}) or {len(HYPATIA_EXTENDED_FIELDS)} "
                        f"({','.join(HYPATIA_EXTENDED_FIELDS)})", source=source, line=number)
                expected = len(parts)
            elif len(parts) != expected:
                fields = (HYPATIA_BASIC_FIELDS if expected == len(HYPATIA_BASIC_FIELDS)
                          else HYPATIA_EXTENDED_FIELDS)
                raise LeosimInputError(
                    f"{len(parts)} fields, but this file's lines have {expected} ({','.join(fields)})",
                    source=source, line=number)
            try:
                gid = int(parts[0])
            except ValueError:
                raise LeosimInputError(f"{parts[0]!r} is not an integer ground-station id", source=source,
                                       line=number, field="gid") from None
            ids.append(str(gid))
            names.append(parts[1])
            lat.append(_parse_number(parts[2], source, number, "latitude"))
            lon.append(_parse_number(parts[3], source, number, "longitude"))
            alt.append(_parse_number(parts[4], source, number, "elevation_m"))
            for offset, axis in enumerate(("x", "y", "z")):
                if len(parts) > 5 + offset:
                    _parse_number(parts[5 + offset], source, number, axis)
            lines.append(number)
        if not lines:
            raise LeosimInputError("empty file: no ground stations", source=source)
        return cls._validated(ids=ids, names=names, kinds=kind, lat_deg=lat, lon_deg=lon, alt_m=alt,
                              country="", population=0, source=source, lines=lines)

    # ------------------------------------------------------------------ views

    def __len__(self) -> int:
        return int(self.ids.shape[0])

    def __repr__(self) -> str:
        kinds, counts = np.unique(self.kinds, return_counts=True)
        summary = ", ".join(f"{c} {k}" for k, c in zip(kinds, counts, strict=True))
        return f"Sites({len(self)} sites{': ' + summary if summary else ''})"

    @property
    def ecef_km(self) -> np.ndarray:
        """Earth-fixed (ECEF/ITRS, WGS84) positions, km, float64, shape ``(M, 3)``, read-only."""
        if "ecef_km" not in self._cache:
            xyz = geodetic_to_ecef(self.lat_deg, self.lon_deg, self.alt_m / M_PER_KM).reshape(len(self), 3)
            self._cache["ecef_km"] = _readonly(xyz)
        return self._cache["ecef_km"]

    @property
    def up(self) -> np.ndarray:
        """Geodetic up (ellipsoid normal) unit vectors in ECEF, shape ``(M, 3)``, read-only."""
        if "up" not in self._cache:
            up = enu_basis(self.lat_deg, self.lon_deg)[..., 2, :].reshape(len(self), 3)
            self._cache["up"] = _readonly(up)
        return self._cache["up"]

    def subset(self, index) -> Sites:
        """The sites selected by an int index array, a boolean mask of length ``M``, or a slice."""
        if not isinstance(index, slice):
            index = np.asarray(index)
            if index.dtype == bool and index.shape != (len(self),):
                raise LeosimInputError(f"boolean mask has shape {index.shape}, expected ({len(self)},)",
                                       field="index")
            if index.dtype != bool and index.size and not np.issubdtype(index.dtype, np.integer):
                raise LeosimInputError(
                    f"index must be integers, a boolean mask or a slice, not {index.dtype}", field="index")
            if index.dtype != bool:
                index = index.astype(np.int64).ravel()
        return Sites(**{name: _readonly(getattr(self, name)[index]) for name in _COLUMNS})

    @staticmethod
    def concat(parts: Iterable[Sites]) -> Sites:
        """All sites of ``parts`` in order; ids must stay unique (else an error naming the duplicate)."""
        parts = list(parts)
        if not parts:
            return Sites.from_arrays(names=[], lat_deg=[], lon_deg=[])
        columns = {name: np.concatenate([getattr(p, name) for p in parts]) for name in _COLUMNS}
        _check_unique_ids(columns["ids"], None, None)
        return Sites(**{name: _readonly(values) for name, values in columns.items()})

    def index_of(self, key: str) -> int:
        """Index of the site whose id is ``key``, else whose name is ``key`` (case-insensitive, unique).

        An unknown key raises :class:`~leosim.errors.LeosimInputError` listing close matches.
        """
        key = str(key)
        if "id_index" not in self._cache:
            self._cache["id_index"] = {str(site_id): i for i, site_id in enumerate(self.ids)}
        found = self._cache["id_index"].get(key)
        if found is not None:
            return found
        lowered = np.char.lower(self.names) if len(self) else self.names
        hits = np.flatnonzero(lowered == key.strip().lower())
        if hits.size == 1:
            return int(hits[0])
        if hits.size > 1:
            listed = ", ".join(str(self.ids[i]) for i in hits[:10])
            raise LeosimInputError(f"name {key!r} matches {hits.size} sites; use an id: {listed}",
                                   field="site")
        candidates = {str(s).lower(): str(s) for s in (*self.ids, *self.names)}
        close = difflib.get_close_matches(key.lower(), list(candidates), n=5, cutoff=0.6)
        hint = f"; close matches: {', '.join(candidates[c] for c in close)}" if close else ""
        raise LeosimInputError(f"no site with id or name {key!r}{hint}", field="site")

    def by_kind(self, kind: str) -> Sites:
        """The sites of one kind (one of :data:`SITE_KINDS`)."""
        if kind not in SITE_KINDS:
            raise LeosimInputError(f"unknown kind {kind!r}; accepted: {', '.join(SITE_KINDS)}", field="kind")
        return self.subset(self.kinds == kind)

    def to_frame(self):
        """A pandas DataFrame with columns id, name, kind, lat_deg, lon_deg, alt_m, country, population."""
        import pandas as pd

        return pd.DataFrame({"id": self.ids, "name": self.names, "kind": self.kinds, "lat_deg": self.lat_deg,
                             "lon_deg": self.lon_deg, "alt_m": self.alt_m, "country": self.country,
                             "population": self.population})


_COLUMNS = ("ids", "names", "kinds", "lat_deg", "lon_deg", "alt_m", "country", "population", "antennas")


def _valid_country_codes(codes: np.ndarray) -> np.ndarray:
    """Boolean mask of codes that are '' or two ASCII capitals, shape ``(M,)`` (vectorised)."""
    lengths = np.char.str_len(codes) if codes.size else np.zeros(0, dtype=np.int64)
    two = codes.astype("<U2")  # exactly two UCS-4 code points per entry, padded with NUL
    points = two.view(np.uint32).reshape(-1, 2)
    capitals = np.all((points >= ord("A")) & (points <= ord("Z")), axis=1)
    return (lengths == 0) | ((lengths == 2) & capitals)


def _skippable(row: list[str]) -> bool:
    return not row or all(not cell.strip() for cell in row) or row[0].lstrip().startswith("#")


def _parse_number(text: str, source: str | None, line: int, name: str, *,
                  blank_is_zero: bool = False) -> float:
    if not text and blank_is_zero:
        return 0.0
    try:
        return float(text)
    except ValueError:
        raise LeosimInputError(f"{text!r} is not a number", source=source, line=line, field=name) from None


def _check_unique_ids(ids: np.ndarray, source: str | None, lines: np.ndarray | None) -> None:
    if ids.size == 0:
        return
    unique, counts = np.unique(ids, return_counts=True)
    if np.all(counts == 1):
        return
    dup = unique[np.flatnonzero(counts > 1)[0]]
    at = np.flatnonzero(ids == dup)
    if lines is not None:
        where = f"lines {', '.join(str(int(lines[i])) for i in at[:5])}"
        raise LeosimInputError(f"duplicate id {str(dup)!r} ({where}); ids must be unique", source=source,
                               line=int(lines[at[1]]), field="id")
    raise LeosimInputError(f"duplicate id {str(dup)!r} (sites {', '.join(str(i) for i in at[:5])}); "
                           "ids must be unique", source=source, field="id")


# ---------------------------------------------------------------------- default data


@functools.lru_cache(maxsize=8)
def _packaged_sites(filename: str, default_kind: str) -> Sites:
    """Parse a CSV shipped in ``leosim/ground/data`` once (read-only columns, so sharing is safe)."""
    resource = resources.files(_DATA_PACKAGE).joinpath(_DATA_DIR, filename)
    text = resource.read_text(encoding="utf-8")
    return Sites._from_csv_stream(io.StringIO(text, newline=""), f"leosim/ground/data/{filename}",
                                  default_kind)


def default_cities(n: int | None = None, countries: list[str] | None = None) -> Sites:
    """The shipped world cities (kind 'city'), most populous first (ties by GeoNames id).

    The table holds the 5,000 most populous cities worldwide (GeoNames, CC-BY 4.0; see the data README).
    ``countries`` keeps only those ISO 3166 alpha-2 codes; a code with no city in the table is an error.
    ``n`` keeps the ``n`` largest of what remains (all of them when fewer).
    """
    cities = _packaged_sites(CITIES_FILE, "city")
    if countries is not None:
        if isinstance(countries, str):
            countries = [countries]
        wanted = [str(c).strip().upper() for c in countries]
        present = set(cities.country.tolist())
        missing = [c for c in wanted if c not in present]
        if missing:
            raise LeosimInputError(
                f"no city in the shipped table (the 5,000 most populous worldwide) for {', '.join(missing)}; "
                "use ISO 3166 alpha-2 codes such as US, GB, DE", field="countries")
        cities = cities.subset(np.isin(cities.country, wanted))
    order = np.lexsort((cities.ids.astype(np.int64), -cities.population))
    if n is not None:
        if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 0:
            raise LeosimInputError(f"n must be a whole number >= 0, not {n!r}", field="n")
        order = order[:n]
    return cities.subset(order)


def default_ground_infrastructure() -> Sites:
    """Shipped Starlink gateways and PoPs, kinds 'gateway' and 'pop'.

    Public facts compiled from FCC filings and community maps (approximate, 2024); see the data README.
    """
    return _packaged_sites(GROUND_INFRASTRUCTURE_FILE, "gateway")


def default_gateways() -> Sites:
    """Shipped Starlink gateways (kind 'gateway'); see :func:`default_ground_infrastructure`."""
    return default_ground_infrastructure().by_kind("gateway")


def default_pops() -> Sites:
    """Shipped Starlink points of presence (kind 'pop'); see :func:`default_ground_infrastructure`."""
    return default_ground_infrastructure().by_kind("pop")
