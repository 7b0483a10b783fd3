"""Tenants, terminal fleets and who pays for them, month by month.

A :class:`Fleet` (e.g. "Ukraine, donated 2022") has a terminal count, an optional :class:`Tenant`
(with a priority, e.g. a government contract ahead of subscribers) and a sequence of
:class:`PayerPeriod` — who pays, of what kind (operator donation, government contract, subscribers),
over a half-open window ``[start, until)``, at what monthly cost per terminal (USD).

:func:`cost_by_payer_month` rolls the cost up per payer per calendar month (UTC). A period that covers
part of a month is charged pro rata by the fraction of the month's seconds it covers. Limitation: the
terminal count is constant within a payer period (give several periods where it changes).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..errors import LeosimInputError
from ..timebase import parse_utc
from .rules import check_source_url

PAYER_KINDS = ("operator donation", "government contract", "subscribers", "other")


@dataclass(frozen=True)
class Tenant:
    """A customer of the network; higher ``priority`` is served first where capacity is short."""

    name: str
    priority: int = 0


@dataclass(frozen=True)
class PayerPeriod:
    """``payer`` (of ``kind``) pays ``monthly_cost_per_terminal_usd`` over ``[start, until)``.

    ``terminal_count`` overrides the fleet's count for this period when given.
    """

    payer: str
    kind: str
    start: np.datetime64
    until: np.datetime64 | None = None
    monthly_cost_per_terminal_usd: float = 0.0
    terminal_count: int | None = None

    def __post_init__(self):
        if self.kind not in PAYER_KINDS:
            raise LeosimInputError(f"payer kind {self.kind!r} is not one of {', '.join(PAYER_KINDS)}",
                                   field="kind")
        object.__setattr__(self, "start", parse_utc(self.start, source="start"))
        if self.until is not None:
            object.__setattr__(self, "until", parse_utc(self.until, source="until"))
            if self.until <= self.start:
                raise LeosimInputError(f"payer {self.payer!r}: until is not after start", field="until")
        if not np.isfinite(self.monthly_cost_per_terminal_usd) or self.monthly_cost_per_terminal_usd < 0:
            raise LeosimInputError(f"payer {self.payer!r}: monthly cost must be >= 0 USD, got "
                                   f"{self.monthly_cost_per_terminal_usd}", field="monthly_cost_per_terminal_usd")
        if self.terminal_count is not None and self.terminal_count < 0:
            raise LeosimInputError(f"payer {self.payer!r}: terminal_count must be >= 0", field="terminal_count")


@dataclass(frozen=True)
class Fleet:
    """A named group of terminals, its tenant and its payers over time (periods must not overlap)."""

    name: str
    terminal_count: int
    payers: tuple[PayerPeriod, ...] = ()
    tenant: Tenant | None = None
    url: str = ""
    """A link to the public source of the figures (optional)."""
    source: str = ""
    """Where the figures come from, in words, or 'illustrative' (optional)."""

    def __post_init__(self):
        object.__setattr__(self, "url", check_source_url(self.url))
        if not self.name or ":" in self.name:
            raise LeosimInputError(f"fleet name {self.name!r} must be non-empty without ':'", field="name")
        if self.terminal_count < 0:
            raise LeosimInputError(f"fleet {self.name!r}: terminal_count must be >= 0", field="terminal_count")
        periods = sorted(self.payers, key=lambda p: p.start)
        for before, after in itertools.pairwise(periods):
            if before.until is None or before.until > after.start:
                raise LeosimInputError(f"fleet {self.name!r}: payer periods of {before.payer!r} and "
                                       f"{after.payer!r} overlap", field="payers")
        object.__setattr__(self, "payers", tuple(periods))

    def payer_at(self, instant) -> PayerPeriod | None:
        """The payer period in force at ``instant`` (None if nobody pays then)."""
        t = parse_utc(instant)
        for period in self.payers:
            if period.start <= t and (period.until is None or t < period.until):
                return period
        return None


def tenant_priority(fleets, fleet_names) -> np.ndarray:
    """Priority of each terminal's tenant, int array shaped like ``fleet_names`` (0 without a tenant)."""
    table = {f.name: (f.tenant.priority if f.tenant else 0) for f in fleets}
    names = np.asarray(fleet_names, dtype=str)
    unique, inverse = np.unique(names, return_inverse=True)
    return np.array([table.get(u, 0) for u in unique.tolist()], dtype=np.int64)[inverse].reshape(names.shape)


def cost_by_payer_month(fleets, start, end, *, by_fleet: bool = False) -> pd.DataFrame:
    """Cost per payer per calendar month (UTC) between ``start`` and ``end``.

    Returns a DataFrame with columns ``month`` (``YYYY-MM``), ``payer``, ``kind``, (``fleet`` when
    ``by_fleet``), ``terminal_months`` (terminals × fraction of the month covered) and ``cost_usd``,
    sorted by month and payer. Months with no payer are absent.
    """
    t0, t1 = parse_utc(start, source="start"), parse_utc(end, source="end")
    if t1 <= t0:
        raise LeosimInputError("end must be after start", field="end")
    months = np.arange(t0.astype("datetime64[M]"), t1.astype("datetime64[M]") + 1)
    month_start = months.astype("datetime64[ns]")
    month_end = (months + 1).astype("datetime64[ns]")
    month_len_ns = (month_end - month_start).astype(np.int64)
    rows = []
    for fleet in fleets:
        for period in fleet.payers:
            lo = np.maximum(np.maximum(month_start, period.start), t0)
            hi = month_end if period.until is None else np.minimum(month_end, period.until)
            hi = np.minimum(hi, t1)
            covered = np.clip((hi - lo).astype(np.int64), 0, None) / month_len_ns
            count = fleet.terminal_count if period.terminal_count is None else period.terminal_count
            for month, fraction in zip(months[covered > 0], covered[covered > 0], strict=True):
                terminal_months = count * fraction
                rows.append({"month": str(month), "payer": period.payer, "kind": period.kind,
                             "fleet": fleet.name, "terminal_months": terminal_months,
                             "cost_usd": terminal_months * period.monthly_cost_per_terminal_usd})
    columns = ["month", "payer", "kind", "fleet", "terminal_months", "cost_usd"]
    frame = pd.DataFrame(rows, columns=columns)
    keys = ["month", "payer", "kind"] + (["fleet"] if by_fleet else [])
    frame = frame.groupby(keys, as_index=False)[["terminal_months", "cost_usd"]].sum()
    return frame.sort_values(keys, ignore_index=True)


def fleets_from_config(section, *, source: str = "policy") -> list[Fleet]:
    """Fleets from a parsed TOML ``[policy]`` section: ``[[policy.fleets]]`` with ``name``,
    ``terminals``, optional ``tenant``/``priority`` and ``[[policy.fleets.payers]]`` (``payer``,
    ``kind``, ``from``, optional ``until``, ``monthly_cost_per_terminal_usd``, ``terminals``)."""
    out = []
    for i, entry in enumerate(section.get("fleets", []) if isinstance(section, dict) else []):
        where = f"fleets[{i}]"
        try:
            payers = tuple(PayerPeriod(payer=str(p["payer"]), kind=str(p.get("kind", "other")),
                                       start=_instant(p["from"]),
                                       until=_instant(p["until"]) if "until" in p else None,
                                       monthly_cost_per_terminal_usd=float(p.get("monthly_cost_per_terminal_usd",
                                                                                 0.0)),
                                       terminal_count=p.get("terminals"))
                           for p in entry.get("payers", []))
            tenant = Tenant(str(entry["tenant"]), int(entry.get("priority", 0))) if "tenant" in entry else None
            out.append(Fleet(name=str(entry["name"]), terminal_count=int(entry.get("terminals", 0)),
                             payers=payers, tenant=tenant, url=str(entry.get("url", "")),
                             source=str(entry.get("source", ""))))
        except KeyError as error:
            raise LeosimInputError(f"missing key {error.args[0]!r}", source=source, field=where) from None
        except LeosimInputError as error:
            raise LeosimInputError(error.message, source=source, field=f"{where}.{error.field}") from None
    return out


def _instant(value):
    import datetime as dt

    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return dt.datetime(value.year, value.month, value.day)
    return value
