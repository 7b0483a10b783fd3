"""Rule conditions: predicates on each terminal at each instant that make a rule apply only where they hold.

A :class:`Condition` (a rule's ``when``) combines, with AND, any of:

* ``speed_above_kmh``: the terminal's ground speed exceeds the limit (km/h; a fixed terminal has 0);
* ``days_abroad_above`` with ``abroad_year`` (``rolling``: the 365 days up to the instant; ``calendar``:
  since 1 January 00:00 UTC of the instant's year): the terminal has spent more than that many days
  outside its registered country (see :mod:`leosim.policy.roaming`);
* ``offshore_above_nm``: the terminal is at sea farther than that from land (nautical miles; see
  :func:`leosim.territory.coast.distance_to_land_km`);
* ``plans``: the terminal's registered plan is one of these (empty: any plan);
* ``exempt_plans``: ... and not one of these (e.g. a speed limit that spares ``aviation`` and
  ``maritime`` plans).

The inputs are arrays shaped (terminal, time) (a (terminal,) array broadcasts over time); missing
inputs take the values of a fixed terminal on land at home: speed 0, 0 days abroad, 0 nm offshore, plan ''.
NaN (a moving terminal that is not present) makes every comparison false.

Each predicate has a code (:data:`CONDITION_NAMES`) so that a verdict can name the condition that
decided: the first of the rule's predicates in the order speed, roaming, offshore, plan; ``allow``
marks a ``restricted`` rule whose allow list did not hold the terminal.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import LeosimInputError

YEAR_KINDS = ("rolling", "calendar")
#: Codes of the deciding condition, by index: 0 none (the rule applies unconditionally, or the default).
CONDITION_NAMES = ("", "speed", "roaming", "offshore", "plan", "allow")
NO_CONDITION, SPEED, ROAMING, OFFSHORE, PLAN, ALLOW = range(len(CONDITION_NAMES))
CONDITION_KEYS = ("speed_above_kmh", "days_abroad_above", "abroad_year", "offshore_above_nm", "plans",
                  "exempt_plans")


def _plan_tuple(values, field: str) -> tuple[str, ...]:
    if isinstance(values, str):
        values = (values,)
    out = tuple(str(v).strip().lower() for v in (values or ()))
    if any(not v for v in out):
        raise LeosimInputError("plan names must be non-empty", field=field)
    return out


@dataclass(frozen=True)
class Condition:
    """Predicates that must all hold for a rule to apply to a terminal at an instant (see module doc)."""

    speed_above_kmh: float | None = None
    days_abroad_above: float | None = None
    abroad_year: str = "rolling"
    offshore_above_nm: float | None = None
    plans: tuple[str, ...] = ()
    exempt_plans: tuple[str, ...] = ()

    def __post_init__(self):
        for name in ("speed_above_kmh", "days_abroad_above", "offshore_above_nm"):
            value = getattr(self, name)
            if value is None:
                continue
            try:
                number = float(value)
            except (TypeError, ValueError):
                raise LeosimInputError(f"{name} must be a number, got {value!r}", field=f"when.{name}") from None
            if not np.isfinite(number) or number < 0:
                raise LeosimInputError(f"{name} must be a finite number >= 0, got {value!r}", field=f"when.{name}")
            object.__setattr__(self, name, number)
        if self.abroad_year not in YEAR_KINDS:
            raise LeosimInputError(f"abroad_year {self.abroad_year!r} is not one of {', '.join(YEAR_KINDS)}",
                                   field="when.abroad_year")
        object.__setattr__(self, "plans", _plan_tuple(self.plans, "when.plans"))
        object.__setattr__(self, "exempt_plans", _plan_tuple(self.exempt_plans, "when.exempt_plans"))
        if self.empty:
            raise LeosimInputError("a condition needs at least one of " + ", ".join(
                k for k in CONDITION_KEYS if k != "abroad_year"), field="when")

    @property
    def empty(self) -> bool:
        return (self.speed_above_kmh is None and self.days_abroad_above is None and self.offshore_above_nm is None
                and not self.plans and not self.exempt_plans)

    @classmethod
    def from_dict(cls, data) -> Condition:
        """A condition from a mapping with the keys of :data:`CONDITION_KEYS` (e.g. a TOML ``when`` table)."""
        if isinstance(data, Condition):
            return data
        if not isinstance(data, dict):
            raise LeosimInputError(f"when must be a table of conditions, got {type(data).__name__}", field="when")
        unknown = set(data) - set(CONDITION_KEYS)
        if unknown:
            raise LeosimInputError(f"unknown condition {sorted(unknown)[0]!r}; accepted: {', '.join(CONDITION_KEYS)}",
                                   field=f"when.{sorted(unknown)[0]}")
        return cls(**{k: v for k, v in data.items() if v is not None})

    def as_dict(self) -> dict:
        """The set fields only (canonical form for storage and JSON)."""
        out: dict = {}
        for key in ("speed_above_kmh", "days_abroad_above", "offshore_above_nm"):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        if self.days_abroad_above is not None:
            out["abroad_year"] = self.abroad_year
        if self.plans:
            out["plans"] = list(self.plans)
        if self.exempt_plans:
            out["exempt_plans"] = list(self.exempt_plans)
        return out

    @property
    def code(self) -> int:
        """Code of the predicate that names this condition in a verdict (see :data:`CONDITION_NAMES`)."""
        if self.speed_above_kmh is not None:
            return SPEED
        if self.days_abroad_above is not None:
            return ROAMING
        if self.offshore_above_nm is not None:
            return OFFSHORE
        return PLAN

    def describe(self) -> str:
        """E.g. ``speed > 75 km/h, except aviation, maritime plans``."""
        parts = []
        if self.speed_above_kmh is not None:
            parts.append(f"speed > {self.speed_above_kmh:g} km/h")
        if self.days_abroad_above is not None:
            parts.append(f"> {self.days_abroad_above:g} days abroad in the {self.abroad_year} year")
        if self.offshore_above_nm is not None:
            parts.append(f"> {self.offshore_above_nm:g} nm from land")
        if self.plans:
            parts.append(f"{', '.join(self.plans)} plan{'s' if len(self.plans) > 1 else ''}")
        text = " and ".join(parts)
        if self.exempt_plans:
            text += (", " if text else "") + f"except {', '.join(self.exempt_plans)} plans"
        return text

    def holds(self, *, n: int, n_t: int, plan=None, speed_kmh=None, days_abroad=None,
              offshore_nm=None) -> np.ndarray:
        """Where the condition holds: bool (n, n_t). Inputs as in :func:`leosim.policy.rules.evaluate`."""
        out = np.ones((n, n_t), dtype=bool)
        if self.speed_above_kmh is not None:
            out &= _grid(speed_kmh, n, n_t, "speed_kmh") > self.speed_above_kmh
        if self.days_abroad_above is not None:
            days = days_abroad.get(self.abroad_year) if isinstance(days_abroad, dict) else days_abroad
            if isinstance(days_abroad, dict) and days is None:
                raise LeosimInputError(f"a rule counts days abroad in the {self.abroad_year} year, but only "
                                       f"{', '.join(days_abroad)} were given", field="days_abroad")
            out &= _grid(days, n, n_t, "days_abroad") > self.days_abroad_above
        if self.offshore_above_nm is not None:
            out &= _grid(offshore_nm, n, n_t, "offshore_nm") > self.offshore_above_nm
        if self.plans or self.exempt_plans:
            plans = np.full(n, "", dtype=str) if plan is None else np.asarray(plan, dtype=str)
            keep = np.isin(plans, self.plans) if self.plans else np.ones(n, bool)
            if self.exempt_plans:
                keep &= ~np.isin(plans, self.exempt_plans)
            out &= keep[:, None]
        return out


def _grid(values, n: int, n_t: int, name: str) -> np.ndarray:
    """A per-terminal (n,) or per-terminal-and-instant (n, n_t) float input as (n, n_t); None is 0."""
    if values is None:
        return np.zeros((n, n_t))
    array = np.asarray(values, dtype=np.float64)
    if array.ndim == 1 and array.shape == (n,):
        array = array[:, None]
    try:
        return np.broadcast_to(array, (n, n_t))
    except ValueError:
        raise LeosimInputError(f"{name} has shape {array.shape}; expected ({n}, {n_t}) or ({n},)",
                               field=name) from None
