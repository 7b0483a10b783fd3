"""The per-terminal inputs of rule conditions, from positions, tracks and the registry.

:func:`condition_inputs` gives the keyword arguments that :func:`leosim.policy.rules.decide` takes
beyond territories and ids (``plan``, ``registered``, ``registered_country``, ``speed_kmh``,
``days_abroad``, ``offshore_nm``),
computing only what the rules' conditions and allow lists need: the distance to land (which builds a
coast index once, a few seconds) only when a rule has an ``offshore_above_nm`` condition, days abroad
only for the year kinds that roaming conditions count. Every input at instant t is a pure function of the
terminal's track (or fixed position), the registry and t: a chunk of a run computes it alone.
"""

from __future__ import annotations

import numpy as np

from ..constants import NAUTICAL_MILE_KM
from ..errors import LeosimInputError
from .registry import TerminalRegistry
from .roaming import AbroadHistory, years_needed


def needs(rules) -> dict[str, bool]:
    """Which inputs the rules read: keys ``plan``, ``registered``, ``speed_kmh``, ``days_abroad``,
    ``offshore_nm``."""
    conditions = [r.when for r in rules if r.when is not None]
    allow = {a for r in rules for a in r.allow}
    return {"plan": any(c.plans or c.exempt_plans for c in conditions) or any(a.startswith("plan:") for a in allow),
            "registered": any(a == "registered" or a.startswith("registered:") for a in allow),
            "speed_kmh": any(c.speed_above_kmh is not None for c in conditions),
            "days_abroad": any(c.days_abroad_above is not None for c in conditions),
            "offshore_nm": any(c.offshore_above_nm is not None for c in conditions)}


def condition_inputs(rules, *, terminal_id, instants, registry: TerminalRegistry | None = None, lat_deg=None,
                     lon_deg=None, country=None, speed_kmh=None, history: AbroadHistory | None = None,
                     land=None) -> dict:
    """Keyword arguments for :func:`~leosim.policy.rules.decide` for N terminals at T instants.

    ``terminal_id`` (N,); ``instants`` (T,); ``registry`` (None: nobody registered, no plans);
    ``lat_deg``/``lon_deg`` (N, T) positions and ``country`` (N, T) their countries ('' at sea), used for
    the distance to land of terminals at sea; ``speed_kmh`` (N, T) (None: all fixed, 0); ``history``
    the terminals' :class:`~leosim.policy.roaming.AbroadHistory` (required when a rule counts days
    abroad); ``land`` a :class:`~leosim.territory.coast.LandDistance` (default: Natural Earth).
    Inputs the rules do not read are left out.
    """
    need = needs(rules)
    ids = np.asarray(terminal_id, dtype=str)
    out: dict = {}
    columns = registry.columns(ids) if registry is not None else None
    if need["plan"]:
        out["plan"] = columns["plan"] if columns is not None else np.full(ids.size, "", dtype=str)
    if need["registered"]:
        out["registered"] = (registry.registered(ids, instants) if registry is not None
                             else np.zeros(ids.size, dtype=bool))
        out["registered_country"] = (columns["country"] if columns is not None
                                     else np.full(ids.size, "", dtype=str))
    if need["speed_kmh"] and speed_kmh is not None:
        out["speed_kmh"] = speed_kmh
    if need["days_abroad"]:
        if history is None:
            raise LeosimInputError("a rule counts days abroad: give the terminals' history (AbroadHistory)",
                                   field="days_abroad")
        out["days_abroad"] = {year: history.days(instants, year) for year in years_needed(rules)}
    if need["offshore_nm"] and lat_deg is not None:
        from ..territory.coast import distance_to_land_km

        lat = np.asarray(lat_deg, dtype=np.float64)
        lon = np.asarray(lon_deg, dtype=np.float64)
        at_sea = np.ones(lat.shape, bool) if country is None else (np.asarray(country, dtype=str) == "")
        at_sea &= np.isfinite(lat)
        offshore = np.zeros(lat.shape)
        if at_sea.any():
            offshore[at_sea] = distance_to_land_km(lat[at_sea], lon[at_sea], land) / NAUTICAL_MILE_KM
        out["offshore_nm"] = offshore
    return out
