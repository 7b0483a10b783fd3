"""What one place gets at one instant: :func:`access_at`, the answer of ``leosim access`` and ``/api/access``.

A thin layer over :class:`~leosim.service.engine.ServiceEngine`: it locates the place, asks the engine for
one terminal at one instant under one rule book, and lays the answer out as the JSON contract
(:data:`ACCESS_KEYS`, then the extra keys). With a scenario (or its plan) the answer uses the scenario's
constellation, network settings, ground, regions, rules and default states, so a notebook, the CLI and the
server give the same answer as the scenario's ``access`` table.
"""

from __future__ import annotations

import numpy as np

from ..timebase import Times, parse_utc
from .engine import NetworkSettings, ServiceEngine
from .rules import RuleBook

ACCESS_KEYS = ("territory", "visible_sats", "covered", "routable", "rtt_ms", "gateway", "pop", "allowed", "rule")
"""Keys of :func:`access_at`'s answer (the JSON contract of ``leosim access --json``)."""

EXTRA_KEYS = ("status", "default_state", "source", "country", "region", "state", "time_utc", "pop_reason")
"""Keys that follow :data:`ACCESS_KEYS`: ``status`` (ok / no_coverage / no_route / denied),
``default_state`` (the state where no rule applies), ``source`` (``scenario``, ``store`` or ``default``:
where the deciding rule comes from), ``country``, ``region``, ``state`` (the decided state), ``time_utc``,
``pop_reason`` (which PoP the traffic must reach and why: the best one, or the operator's published
assignment, :func:`leosim.ground.pops.assign_pops`)."""



def default_engine(constellation, *, ground=None, territories=None, isls=None, min_elevation_deg=None,
                   gateway_min_elevation_deg=None, pop_assignment: str | None = None) -> ServiceEngine:
    """An engine without a scenario: the shipped gateways and PoPs (or ``ground``), the default lasers of
    ``constellation``, 25° masks, each terminal to its best PoP (or ``pop_assignment``)."""
    from ..ground.sites import Sites, default_ground_infrastructure
    from ..network.links import default_isls

    ground = ground if ground is not None else default_ground_infrastructure()
    ground = ground.subset(np.isin(ground.kinds, ("gateway", "pop")))
    kwargs = {}
    if min_elevation_deg is not None:
        kwargs["terminal_min_elevation_deg"] = float(min_elevation_deg)
    if gateway_min_elevation_deg is not None:
        kwargs["gateway_min_elevation_deg"] = float(gateway_min_elevation_deg)
    if pop_assignment is not None:
        kwargs["pop_assignment"] = pop_assignment
    network = NetworkSettings(isls=default_isls(constellation) if isls is None else isls, **kwargs)
    return ServiceEngine(Sites.concat([ground]), network=network, territories=territories,
                         constellation=constellation)


_NETWORK_ARGUMENTS = ("constellation", "rules", "ground", "isls", "territories", "min_elevation_deg",
                      "gateway_min_elevation_deg", "default_state", "landing_default_state", "pop_assignment")


def access_at(lat_deg: float | None = None, lon_deg: float | None = None, at=None, *, site: str | None = None,
              scenario=None, constellation=None, rules=None,
              store_rules=(), alt_m: float = 0.0, fleet: str = "", terminal_id: str = "", tenant: str = "",
              territories=None, ground=None, isls=None, min_elevation_deg: float | None = None,
              gateway_min_elevation_deg: float | None = None, default_state: str | None = None,
              landing_default_state: str | None = None, pop_assignment: str | None = None,
              engine: ServiceEngine | None = None, book: RuleBook | None = None, position_km=None) -> dict:
    """Access of one place at one instant: a dict with the keys of :data:`ACCESS_KEYS`, then
    :data:`EXTRA_KEYS`. The place is ``lat_deg``/``lon_deg`` (a terminal there, of ``fleet`` and
    ``tenant`` if given), or ``site``: one of the scenario's sites (id or unique name), with its labels.

    With ``scenario`` (a :class:`~leosim.scenario.api.Scenario` or its ``Plan``), everything comes from it
    (``store_rules`` are added after its rules, :meth:`RuleBook.combine`); the arguments that describe the
    network or the policy must then be left out (a ``TypeError`` says which). Without one:
    ``constellation`` (required), ``rules`` (policy :class:`~leosim.policy.rules.Rule` objects, counted as
    store rules), the shipped ground (or ``ground``), territories, lasers (``isls``) and masks,
    ``default_state`` (``denied``), ``landing_default_state`` (``active``) and ``pop_assignment``
    (``nearest``: the best PoP; ``published``: the PoP Starlink's feed assigns the place's country at ``at``).

    ``rtt_ms`` is the round trip to the PoP when routable, reported even when policy denies service (what
    the place would get), else None. ``engine``, ``book`` and ``position_km`` (satellite ITRS positions at
    ``at``, ``(N, 3)`` km) let a caller that asks often (the server) reuse what it built.
    """
    arguments = locals()
    if at is None:
        raise TypeError("access_at needs an instant (at=)")
    instant = Times.from_utc([parse_utc(at, source="at")])
    if scenario is not None:
        given = [name for name in _NETWORK_ARGUMENTS if arguments[name] is not None]
        if given:
            raise TypeError(f"access_at(scenario=...) takes the network and policy from the scenario: leave out "
                            f"{', '.join(given)}")
        plan = getattr(scenario, "plan", scenario)
        engine = engine or plan.service_engine
        book = book or plan.rule_book(store_rules)
    else:
        if constellation is None and (engine is None or engine.constellation is None):
            raise TypeError("access_at needs a scenario or a constellation")
        engine = engine or default_engine(constellation, ground=ground, territories=territories, isls=isls,
                                          min_elevation_deg=min_elevation_deg,
                                          gateway_min_elevation_deg=gateway_min_elevation_deg,
                                          pop_assignment=pop_assignment)
        book = book or RuleBook.combine((), (*(rules or ()), *store_rules),
                                        default_state=default_state or RuleBook.default_state,
                                        landing_default_state=landing_default_state
                                        or RuleBook.landing_default_state)
    position = (engine.positions_km(instant)[0] if position_km is None
                else np.asarray(position_km, dtype=np.float64))
    j = 0
    plan = getattr(scenario, "plan", scenario) if scenario is not None else None
    if site is not None and plan is not None and (plan.tracks or plan.registry is not None):
        # The scenario's terminals as a run sees them (tracks, registry): a moving terminal where its track
        # puts it at ``at``, with its rule conditions.
        place, reason = plan.asked_terminals(), plan.pop_reason  # PoPs already assigned as the run has them
        j = int(np.flatnonzero(place.ids == engine.sites.ids[engine.sites.index_of(site)])[0])
    else:
        if site is not None:
            place = engine.fixed_terminals([engine.sites.index_of(site)])
        elif lat_deg is None or lon_deg is None:
            raise TypeError("access_at needs lat_deg and lon_deg, or site=")
        else:
            place = engine.places([lat_deg], [lon_deg], alt_m, ids=[terminal_id or "here"], fleet=fleet,
                                  tenant=tenant)
        place, reason = engine.assign_pops(place, instant.utc[0])
    answer = engine.serve(instant, position[None], [book], place)
    return {**answer_dict(engine, place, answer, instant, j), "pop_reason": str(reason[j])}


def answer_dict(engine: ServiceEngine, terminals, answer, times: Times, j: int, k: int = 0, b: int = 0) -> dict:
    """Terminal ``j`` at instant ``k`` under rule book ``b`` of a :class:`ServiceAnswer`, as the access JSON."""
    book = answer.books[b]
    rule = int(answer.rule[b, k, j])
    routable = bool(answer.routable[b, k, j])
    ids = engine.sites.ids
    country, region = str(terminals.country3[j]), str(terminals.region[j])
    if answer.motion is not None:                       # a moving terminal: where its track puts it
        country, region = str(answer.motion.country3[j, k]), str(answer.motion.region[j, k])
    return {
        "territory": region or country, "visible_sats": int(answer.visible_sats[k, j]),
        "covered": bool(answer.covered[b, k, j]), "routable": routable,
        "rtt_ms": float(answer.rtt_ms[b, k, j]) if routable else None,
        "gateway": str(ids[answer.gateway[b, k, j]]) if routable else None,
        "pop": str(ids[answer.pop[b, k, j]]) if routable else None,
        "allowed": bool(answer.allowed[b, k, j]), "rule": str(answer.rule_text()[b, k, j]),
        "status": str(answer.status[b, k, j]), "default_state": book.default_state,
        "source": book.source_of(rule), "country": country, "region": region, "state": book.state_of(rule),
        "time_utc": str(times.iso[k]),
    }
