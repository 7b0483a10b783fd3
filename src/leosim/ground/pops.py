"""Starlink's points of presence (PoPs) as of a date, and the PoP the operator assigns a country's terminals.

Two tables shipped in ``leosim/ground/data`` (see its README for origin, licence and derivation; rebuild them
with ``scripts/make_starlink_pops.py`` from a local clone of ``clarkzjw/starlink-geoip-data``):

* ``starlink_pops.csv``: one row per PoP: ``id`` (Starlink's PoP code from its DNS PTR records, e.g.
  ``frntdeu1``), ``name`` (city), ``country`` (ISO alpha-2), ``lat``/``lon`` (deg, the facility's city,
  2 decimals), ``facility_type``, ``first_seen`` (the first sampled feed snapshot whose PTR records name it;
  empty: on the community map but in no sampled snapshot) and ``source``.
* ``starlink_pop_assignment.csv``: per feed snapshot and country (ISO alpha-3), the IPv4 addresses of the
  country's GeoIP-feed subnets whose PTR record names each PoP. Starlink assigns a terminal a public IPv4
  address from its country's subnets; the subnet's PoP is where its traffic leaves the Starlink network.

:func:`assign_pops` is the published assignment: a pure function, vectorised over terminals.
"""

from __future__ import annotations

import csv
import functools
import io
import zlib
from dataclasses import dataclass
from importlib import resources

import numpy as np

from .geodesy import great_circle_km

POPS_FILE = "starlink_pops.csv"
ASSIGNMENT_FILE = "starlink_pop_assignment.csv"
POP_MATCH_MAX_KM = 100.0
"""A scenario PoP site within this great-circle distance of the assigned PoP's city stands for it, km (a
metro area; the shipped default PoPs and the feed's PoPs of one city are a few km apart)."""

UNKNOWN_FIRST_SEEN = np.datetime64("2025-04-06", "D")
"""PoPs with no ``first_seen`` count as present from this day on: the day after the last sampled feed
snapshot (2025-04-05) in which they were absent."""


@dataclass(frozen=True)
class PopAssignment:
    """The feed's country → PoP shares: arrays of equal length, one row per (snapshot, country, PoP)."""

    snapshot: np.ndarray  # datetime64[D]
    country: np.ndarray  # str, ISO alpha-3
    pop: np.ndarray  # str, PoP code
    weight: np.ndarray  # float, IPv4 addresses


def _read_rows(filename: str) -> list[dict]:
    from . import sites

    text = resources.files(sites._DATA_PACKAGE).joinpath(sites._DATA_DIR, filename).read_text(encoding="utf-8")
    return list(csv.DictReader(io.StringIO(text)))


@functools.lru_cache(maxsize=1)
def published_assignment() -> PopAssignment:
    """The shipped country → PoP table (``starlink_pop_assignment.csv``)."""
    rows = _read_rows(ASSIGNMENT_FILE)
    return PopAssignment(snapshot=np.array([r["snapshot"] for r in rows], dtype="datetime64[D]"),
                         country=np.array([r["country"] for r in rows], dtype=str),
                         pop=np.array([r["pop"] for r in rows], dtype=str),
                         weight=np.array([float(r["ipv4_addresses"]) for r in rows]))


def starlink_pops(as_of=None):
    """The shipped Starlink PoPs (:class:`~leosim.ground.sites.Sites` of kind ``pop``, ids = PoP codes), those
    first seen on or before ``as_of`` (a date; all when None). Returns ``(sites, first_seen)``."""
    from .sites import Sites

    rows = _read_rows(POPS_FILE)
    first = np.array([r["first_seen"] or str(UNKNOWN_FIRST_SEEN) for r in rows], dtype="datetime64[D]")
    keep = np.ones(len(rows), dtype=bool) if as_of is None else first <= np.datetime64(as_of, "D")
    rows = [r for r, k in zip(rows, keep.tolist(), strict=True) if k]
    sites = Sites.from_arrays(ids=[r["id"] for r in rows], names=[f"PoP {r['name']} ({r['id']})" for r in rows],
                              kinds="pop", lat_deg=[float(r["lat"]) for r in rows],
                              lon_deg=[float(r["lon"]) for r in rows], country=[r["country"] for r in rows])
    return sites, first[keep]


def _terminal_uniform(terminal_ids) -> np.ndarray:
    """A stable number in [0, 1) per terminal id: CRC-32 of its UTF-8 bytes / 2^32 (same on every run and
    platform, unlike Python's salted ``hash``)."""
    return np.array([zlib.crc32(str(t).encode("utf-8")) for t in terminal_ids], dtype=np.float64) / 2.0**32


def assign_pops(country3, terminal_ids, date, pop_ids, *, pop_lat_deg=None, pop_lon_deg=None,
                table: PopAssignment | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The PoP Starlink's published GeoIP feed assigns each terminal, as a scenario PoP site index.

    ``country3``: ``(T,)`` ISO alpha-3 of each terminal's location ('' unknown); ``terminal_ids``: ``(T,)``
    ids; ``date``: the scenario date; ``pop_ids``: ``(P,)`` ids of the scenario's PoP sites, with optional
    ``pop_lat_deg``/``pop_lon_deg`` ``(P,)`` to match PoPs by place when ids differ from the feed's codes.

    For each country the latest feed snapshot on or before ``date`` is used (the earliest one if all are
    later, said in the reason). Its PoPs are weighted by IPv4 addresses; a terminal's stable uniform number
    (CRC-32 of its id) picks one from the cumulative shares in PoP-code order, so a terminal always gets the
    same PoP and a country's terminals split by the shares. The PoP is then found among the scenario's PoP
    sites: by id (the feed code), else the nearest site within :data:`POP_MATCH_MAX_KM` of the PoP's city.

    Returns ``(site, reason)``: ``site`` int64 ``(T,)`` — an index into ``pop_ids``, or -1 when the country
    is not in the feed (or the assigned PoP is not among the scenario's PoPs): the caller then uses the
    nearest (best) PoP, as ``reason`` ``(T,)`` says.
    """
    table = published_assignment() if table is None else table
    country3 = np.asarray(country3, dtype=str).reshape(-1)
    terminal_ids = np.asarray(terminal_ids, dtype=str).reshape(-1)
    pop_ids = np.asarray(pop_ids, dtype=str).reshape(-1)
    day = np.datetime64(date, "D")
    site = np.full(country3.size, -1, dtype=np.int64)
    reason = np.full(country3.size, "", dtype=object)
    u = _terminal_uniform(terminal_ids)
    pop_rows = {r["id"]: r for r in _read_rows(POPS_FILE)}
    for country in np.unique(country3).tolist():  # a loop over countries, not terminals
        mine = np.flatnonzero(country3 == country)
        rows = np.flatnonzero(table.country == country) if country else np.zeros(0, dtype=np.int64)
        if rows.size == 0:
            reason[mine] = (f"nearest: {country or 'unknown country'} is not in the published PoP assignment; "
                            "best PoP used")
            continue
        dates = table.snapshot[rows]
        earlier = dates[dates <= day]
        snap = earlier.max() if earlier.size else dates.min()
        rows = rows[dates == snap]
        rows = rows[np.argsort(table.pop[rows], kind="stable")]
        share = table.weight[rows] / table.weight[rows].sum()
        pick = np.minimum(np.searchsorted(np.cumsum(share), u[mine], side="right"), rows.size - 1)
        note = "" if earlier.size else f", feed snapshot {snap} is after the scenario date"
        for k, row in enumerate(rows.tolist()):
            chosen = mine[pick == k]
            if chosen.size == 0:
                continue
            code = str(table.pop[row])
            where = _find_site(code, pop_rows.get(code), pop_ids, pop_lat_deg, pop_lon_deg)
            city = pop_rows[code]["name"] if code in pop_rows else code
            if where < 0:
                reason[chosen] = (f"nearest: published PoP {code} ({city}) for {country} is not among the "
                                  f"scenario's PoPs; best PoP used")
            else:
                site[chosen] = where
                reason[chosen] = (f"published: {country} -> {code} ({city}), {share[k]:.0%} of {country}'s "
                                  f"feed addresses, snapshot {snap}{note}")
    return site, reason.astype(str)


def _find_site(code: str, row, pop_ids, lat_deg, lon_deg) -> int:
    exact = np.flatnonzero(pop_ids == code)
    if exact.size:
        return int(exact[0])
    if row is None or lat_deg is None or lon_deg is None or len(pop_ids) == 0:
        return -1
    d_km = great_circle_km(float(row["lat"]), float(row["lon"]), lat_deg, lon_deg)
    best = int(np.argmin(d_km))
    return best if d_km[best] <= POP_MATCH_MAX_KM else -1
