"""The terminal registry: who owns each terminal, where it is registered, on which plan, since when.

A :class:`TerminalRegistry` is columnar (one array per field, one row per terminal):

* ``terminal_id`` — unique, non-empty (a kit or dish id, ``T-0042``);
* ``owner`` and ``tenant`` — free text ('' when unknown);
* ``country`` — the registered country, ISO 3166 alpha-3 ('' when unknown);
* ``plan`` — the service plan: one of :data:`PLANS` or free text (lower-cased);
* ``registered_on`` — datetime64[ns] of the registration (on a whitelist, with the operator); NaT:
  listed but not registered.

Rules read it through :meth:`TerminalRegistry.columns` (per-terminal plan, country, owner) and
:meth:`TerminalRegistry.registered` (registered at each instant: listed with ``registered_on <= t``).
A terminal absent from the registry has plan '' and is not registered.

Files: CSV with a header ``terminal_id, owner, tenant, country, plan, registered_on`` (only
``terminal_id`` is required; blank lines and ``#`` comments skipped) or TOML with ``[[terminals]]``
tables of the same keys (``registered_on`` a TOML date/datetime or ISO string). Large fleets are made
by :func:`synthesise_fleet`: N terminals spread uniformly (by area) over a polygon, a stated share
registered, deterministic for a seed.
"""

from __future__ import annotations

import csv
import tomllib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import LeosimInputError
from ..timebase import instants_ns, parse_utc

PLANS = ("residential", "roam", "maritime", "aviation", "military")
"""Named service plans; any other (free-text) plan is accepted too."""
FIELDS = ("terminal_id", "owner", "tenant", "country", "plan", "registered_on")
_NAT = np.datetime64("NaT", "ns")


def _country(text: str, **where) -> str:
    code = str(text).strip().upper()
    if code and not (len(code) == 3 and code.isalpha()):
        raise LeosimInputError(f"country {text!r} is not an ISO 3166 alpha-3 code (e.g. UKR, POL)", **where)
    return code


def _date(value, **where) -> np.datetime64:
    import datetime as dt

    if value is None or (isinstance(value, str) and not value.strip()):
        return _NAT
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        value = dt.datetime(value.year, value.month, value.day)
    if isinstance(value, str) and len(value.strip()) == 10:
        value = value.strip() + "T00:00:00"
    try:
        return parse_utc(value)
    except LeosimInputError as error:
        raise LeosimInputError(error.message, **where) from None


@dataclass(frozen=True, eq=False)
class TerminalRegistry:
    """Registered terminals, one row per terminal; every field an array of shape (N,)."""

    terminal_id: np.ndarray
    owner: np.ndarray
    tenant: np.ndarray
    country: np.ndarray
    plan: np.ndarray
    registered_on: np.ndarray

    @classmethod
    def from_rows(cls, rows, *, source: str = "registry", lines=None) -> TerminalRegistry:
        """A registry from dicts with the keys of :data:`FIELDS` (only ``terminal_id`` required).

        ``lines`` (one per row) are used in error messages; without them the row index is named.
        """
        columns = {name: [] for name in FIELDS}
        seen: dict[str, int] = {}
        for i, row in enumerate(rows):
            at = {"source": source, "line": int(lines[i])} if lines is not None else {"source": source}
            label = "" if lines is not None else f"terminals[{i}]."
            unknown = set(row) - set(FIELDS)
            if unknown:
                raise LeosimInputError(f"unknown key(s) {sorted(unknown)}; accepted: {', '.join(FIELDS)}",
                                       field=f"{label}{sorted(unknown)[0]}", **at)
            ident = str(row.get("terminal_id", "") or "").strip()
            if not ident:
                raise LeosimInputError("empty terminal_id", field=f"{label}terminal_id", **at)
            if ident in seen:
                first = seen[ident]
                raise LeosimInputError(f"terminal {ident!r} is listed twice (first "
                                       f"{'line' if lines is not None else 'row'} {first})",
                                       field=f"{label}terminal_id", **at)
            seen[ident] = int(lines[i]) if lines is not None else i
            columns["terminal_id"].append(ident)
            columns["owner"].append(str(row.get("owner", "") or "").strip())
            columns["tenant"].append(str(row.get("tenant", "") or "").strip())
            columns["country"].append(_country(row.get("country", "") or "", field=f"{label}country", **at))
            columns["plan"].append(str(row.get("plan", "") or "").strip().lower())
            columns["registered_on"].append(_date(row.get("registered_on"), field=f"{label}registered_on", **at))
        return cls(*(np.array(columns[name], dtype=str) for name in FIELDS[:5]),
                   np.array(columns["registered_on"], dtype="datetime64[ns]"))

    @classmethod
    def read(cls, path) -> TerminalRegistry:
        """A registry from a ``.csv`` or ``.toml`` file (see the module docstring)."""
        path = Path(path)
        if path.suffix.lower() == ".toml":
            return cls.from_toml(path)
        return cls.from_csv(path)

    @classmethod
    def from_csv(cls, path) -> TerminalRegistry:
        from ..ground.sites import _skippable

        source = str(path)
        rows, lines, header = [], [], None
        try:
            with open(path, encoding="utf-8-sig", newline="") as stream:
                reader = csv.reader(stream)
                for row in reader:
                    if _skippable(row):
                        continue
                    if header is None:
                        header = [h.strip().lower() for h in row]
                        if "terminal_id" not in header:
                            raise LeosimInputError(f"missing column terminal_id; columns: {', '.join(FIELDS)}",
                                                   source=source, line=reader.line_num, field="terminal_id")
                        unknown = [h for h in header if h not in FIELDS]
                        if unknown:
                            raise LeosimInputError(f"unknown column {unknown[0]!r}; accepted: {', '.join(FIELDS)}",
                                                   source=source, line=reader.line_num, field=unknown[0])
                        continue
                    if len(row) > len(header):
                        raise LeosimInputError(f"{len(row)} cells for {len(header)} columns", source=source,
                                               line=reader.line_num)
                    rows.append({h: c.strip() for h, c in zip(header, row, strict=False)})
                    lines.append(reader.line_num)
        except OSError as exc:
            raise LeosimInputError(f"cannot read the file: {exc.strerror or exc}", source=source) from None
        except UnicodeDecodeError as exc:
            raise LeosimInputError(f"not UTF-8 text ({exc.reason} at byte {exc.start})", source=source) from None
        return cls.from_rows(rows, source=source, lines=lines)

    @classmethod
    def from_toml(cls, path) -> TerminalRegistry:
        source = str(path)
        try:
            data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except OSError as exc:
            raise LeosimInputError(f"cannot read the file: {exc.strerror or exc}", source=source) from None
        except tomllib.TOMLDecodeError as error:
            raise LeosimInputError(f"not valid TOML: {error}", source=source) from None
        entries = data.get("terminals")
        if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
            raise LeosimInputError("expected [[terminals]] tables", source=source, field="terminals")
        return cls.from_rows(entries, source=source)

    @classmethod
    def concat(cls, registries) -> TerminalRegistry:
        """Several registries as one (terminal ids must stay unique)."""
        registries = list(registries)
        if not registries:
            return cls.from_rows([])
        merged = cls(*(np.concatenate([getattr(r, name) for r in registries]) for name in FIELDS))
        ids, counts = np.unique(merged.terminal_id, return_counts=True)
        if (counts > 1).any():
            raise LeosimInputError(f"terminal {ids[counts > 1][0]!r} is in more than one registry", field="terminal_id")
        return merged

    def __len__(self) -> int:
        return self.terminal_id.size

    def _rows_of(self, terminal_ids) -> np.ndarray:
        """Row of each id in the registry, -1 where absent."""
        ids = np.asarray(terminal_ids, dtype=str)
        order = np.argsort(self.terminal_id)
        sorted_ids = self.terminal_id[order]
        pos = np.clip(np.searchsorted(sorted_ids, ids), 0, max(len(self) - 1, 0))
        found = (sorted_ids[pos] == ids) if len(self) else np.zeros(ids.shape, bool)
        return np.where(found, order[pos] if len(self) else -1, -1)

    def columns(self, terminal_ids) -> dict[str, np.ndarray]:
        """Per-terminal fields for ``terminal_ids`` (N,): ``owner``, ``tenant``, ``country``, ``plan`` (str,
        '' where unlisted), ``registered_on`` (datetime64[ns], NaT where unlisted) and ``listed`` (bool)."""
        rows = self._rows_of(terminal_ids)
        listed = rows >= 0
        out = {name: np.where(listed, getattr(self, name)[np.maximum(rows, 0)] if len(self) else "", "")
               for name in ("owner", "tenant", "country", "plan")}
        out = {k: np.asarray(v, dtype=str) for k, v in out.items()}
        dates = self.registered_on[np.maximum(rows, 0)] if len(self) else np.full(rows.shape, _NAT)
        out["registered_on"] = np.where(listed, dates, _NAT)
        out["listed"] = listed
        return out

    def registered(self, terminal_ids, instants) -> np.ndarray:
        """Whether each terminal is registered at each instant: bool (N, T), listed with
        ``registered_on <= t``."""
        since = self.columns(terminal_ids)["registered_on"]
        t = instants_ns(instants)
        since_ns = np.where(np.isnat(since), np.iinfo(np.int64).max, since.astype(np.int64))
        return since_ns[:, None] <= t[None, :]


def synthesise_fleet(count: int, *, area, share_registered: float, seed: int = 0, country: str = "",
                     plan: str = "residential", owner: str = "", tenant: str = "", registered_on="2026-01-01",
                     id_prefix: str = "T-") -> tuple[TerminalRegistry, np.ndarray, np.ndarray]:
    """``count`` terminals spread uniformly by area over ``area`` (a shapely (Multi)Polygon in lon/lat
    degrees, or a ``(lon_min, lat_min, lon_max, lat_max)`` box), a share ``share_registered`` (0..1,
    rounded to whole terminals) of them registered on ``registered_on``.

    Returns ``(registry, lat_deg, lon_deg)``; ids are ``id_prefix`` plus a zero-padded number. The same
    ``seed`` gives the same fleet (NumPy's PCG64); which terminals are registered is drawn from it too.
    """
    import shapely

    if count < 0:
        raise LeosimInputError(f"count must be >= 0, got {count}", field="count")
    if not 0.0 <= share_registered <= 1.0:
        raise LeosimInputError(f"share_registered must be in [0, 1], got {share_registered}",
                               field="share_registered")
    if isinstance(area, tuple | list):
        area = shapely.box(*area)
    if area is None or area.is_empty or area.area <= 0:
        raise LeosimInputError("the area to spread terminals over is empty", field="area")
    shapely.prepare(area)
    lon_min, lat_min, lon_max, lat_max = area.bounds
    rng = np.random.default_rng(seed)
    lat = np.empty(0)
    lon = np.empty(0)
    z_lo, z_hi = np.sin(np.radians(lat_min)), np.sin(np.radians(lat_max))
    while lat.size < count:
        batch = max(64, 2 * (count - lat.size))
        cand_lat = np.degrees(np.arcsin(rng.uniform(z_lo, z_hi, batch)))   # uniform by area on the sphere
        cand_lon = rng.uniform(lon_min, lon_max, batch)
        inside = shapely.contains_xy(area, cand_lon, cand_lat)
        lat = np.concatenate([lat, cand_lat[inside]])
        lon = np.concatenate([lon, cand_lon[inside]])
    lat, lon = lat[:count], lon[:count]
    n_registered = round(share_registered * count)
    registered = np.zeros(count, bool)
    registered[rng.permutation(count)[:n_registered]] = True
    width = max(4, len(str(count)))
    ids = np.array([f"{id_prefix}{i:0{width}d}" for i in range(1, count + 1)], dtype=str)
    since = _date(registered_on, field="registered_on")
    registry = TerminalRegistry(terminal_id=ids, owner=np.full(count, owner),
                                tenant=np.full(count, tenant),
                                country=np.full(count, _country(country, field="country")),
                                plan=np.full(count, plan.strip().lower()),
                                registered_on=np.where(registered, since, _NAT).astype("datetime64[ns]"))
    return registry, lat, lon
