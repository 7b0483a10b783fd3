"""What one place gets at one instant: territory, satellites in view, route to a PoP, and the policy verdict.

This is the single-place, single-instant view behind ``leosim access`` and the server's ``/api/access``.
Results distinguish *no coverage* (nothing in view), *no route* (in view, but no way to a gateway with
landing rights and on to a PoP) and *denied* (reachable, switched off by a rule, which is named).
"""

from __future__ import annotations

import numpy as np

from .geometry import DEFAULT_MIN_ELEVATION_DEG, visible_pairs
from .ground.geodesy import enu_basis, geodetic_to_ecef
from .ground.sites import Sites, default_ground_infrastructure
from .network.links import default_isls as links_default_isls
from .network.routing import Router
from .policy.rules import evaluate, landing_rights
from .timebase import Times, parse_utc

ACCESS_KEYS = ("territory", "visible_sats", "covered", "routable", "rtt_ms", "gateway", "pop", "allowed", "rule")
"""Keys of :func:`access_at`'s answer (the JSON contract of ``leosim access --json``)."""


def default_isls(constellation) -> np.ndarray:
    """The default ISLs (:func:`leosim.network.links.default_isls`: Walker +Grid for generated shells, +Grid
    on inferred planes for element files). Kept here for callers of ``leosim.access.default_isls``."""
    return links_default_isls(constellation)


def describe_rule(rule) -> str:
    """One line naming a rule: subject, state, window, who decided and why."""
    text = f"{rule.subject} {rule.state} from {str(rule.valid_from)[:10]}"
    if rule.valid_until is not None:
        text += f" until {str(rule.valid_until)[:10]}"
    if rule.decided_by:
        text += f" by {rule.decided_by}"
    if rule.reason:
        text += f": {rule.reason}"
    return text


def access_at(lat_deg: float, lon_deg: float, at, *, constellation, rules=(), alt_m: float = 0.0,
              territories=None, ground: Sites | None = None, isls=None,
              min_elevation_deg: float = DEFAULT_MIN_ELEVATION_DEG,
              gateway_min_elevation_deg: float = DEFAULT_MIN_ELEVATION_DEG, default_state: str = "denied",
              landing_default_state: str = "active", fleet: str = "", terminal_id: str = "",
              tenant: str = "", position_km=None, pop_assignment: str = "nearest") -> dict:
    """Access of one place at one instant; a dict with the keys of :data:`ACCESS_KEYS` plus ``region``,
    ``country``, ``state`` and ``time_utc``.

    ``rules`` are policy :class:`~leosim.policy.rules.Rule` objects; terminals with no applicable rule
    get ``default_state``; gateways land traffic unless their territory's state (default
    ``landing_default_state``) is denied. ``rtt_ms`` is the round trip to the best PoP when routable,
    reported even when policy denies service (what the place would get), else None. ``position_km``
    may give the satellites' Earth-fixed positions at ``at`` (``(N, 3)`` km) when the caller has them.
    ``pop_assignment``: ``"nearest"`` (best PoP) or ``"published"`` (the PoP Starlink's feed assigns the
    place's country, :func:`leosim.ground.pops.assign_pops`); ``pop_reason`` in the answer says which and why.
    """
    from .territory.territories import Territories

    territories = territories or Territories.default()
    ground = ground if ground is not None else default_ground_infrastructure()
    isls = default_isls(constellation) if isls is None else isls
    instant = Times.from_utc([parse_utc(at, source="at")])
    position = constellation.positions_km(instant)[0] if position_km is None else np.asarray(position_km)

    place = Sites.from_arrays(ids=[terminal_id or "here"], names=["here"], kinds="terminal", lat_deg=[lat_deg],
                              lon_deg=[lon_deg], alt_m=[alt_m])
    sites = Sites.concat([place, ground.subset(np.isin(ground.kinds, ("gateway", "pop")))])
    hits = territories.locate(sites.lat_deg, sites.lon_deg)
    country, region = np.asarray(hits.country, dtype=str), np.asarray(hits.region, dtype=str)

    enu = enu_basis([lat_deg], [lon_deg])
    in_view = visible_pairs(geodetic_to_ecef([lat_deg], [lon_deg], [alt_m / 1000.0]), enu, position,
                            min_elevation_deg)[1]
    gateways = np.flatnonzero(sites.kinds == "gateway")
    landing, _ = landing_rights(rules, territory=country[gateways], region=region[gateways], instants=instant,
                                default_state=landing_default_state)
    kinds = np.asarray(sites.kinds, dtype=object).copy()
    kinds[gateways[~landing[:, 0]]] = "city"
    mask = np.where(sites.kinds == "gateway", gateway_min_elevation_deg, min_elevation_deg)
    router = Router(sites.ecef_km, kinds.astype(str), mode="user", isls=isls, site_up=sites.up,
                    min_elevation_deg=mask)
    # The PoP to reach (issue 15): -1 = best PoP; "published" = the feed's PoP for the place's country.
    dst, pop_reason = np.array([-1]), "nearest: best PoP"
    if pop_assignment == "published":
        from .ground.pops import assign_pops

        pops = np.flatnonzero(sites.kinds == "pop")
        site, why = assign_pops(country[:1], [terminal_id or "here"], instant.utc[0], sites.ids[pops],
                                pop_lat_deg=sites.lat_deg[pops], pop_lon_deg=sites.lon_deg[pops])
        dst, pop_reason = np.where(site >= 0, pops[np.maximum(site, 0)], -1), str(why[0])
    routes = router.route(position, np.array([0]), dst)
    allowed, rule_index = evaluate(rules, territory=country[:1], region=region[:1], fleet=[fleet],
                                   terminal_id=[terminal_id], tenant=[tenant], instants=instant,
                                   default_state=default_state)
    index = int(rule_index[0, 0])
    rule = describe_rule(rules[index]) if index >= 0 else f"default: {default_state} (no rule applies)"
    routable = bool(np.isfinite(routes.rtt_ms[0]))
    return {
        "territory": str(region[0] or country[0]), "visible_sats": int(in_view.size),
        "covered": bool(in_view.size > 0), "routable": routable,
        "rtt_ms": float(routes.rtt_ms[0]) if routable else None,
        "gateway": str(sites.ids[routes.gateway[0]]) if routable else None,
        "pop": str(sites.ids[routes.dst[0]]) if routable else None,
        "allowed": bool(allowed[0, 0]), "rule": rule,
        "country": str(country[0]), "region": str(region[0]),
        "state": rules[index].state if index >= 0 else default_state,
        "time_utc": str(instant.iso[0]), "pop_reason": pop_reason,
    }
