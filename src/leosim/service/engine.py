"""The one service engine: what each terminal gets at each instant, and why.

For terminals (fixed sites, or places given by latitude and longitude) and instants, under one or more
rule books (a scenario's baseline and its what-ifs, or a store's rules), :meth:`ServiceEngine.serve`
answers, per (rule book, instant, terminal):

1. **coverage**: the satellites in view above the terminal's elevation mask;
2. **landing rights**: which gateways may land traffic (their territory's state,
   :func:`leosim.policy.rules.landing_rights`);
3. **the route**: terminal → satellites (lasers) → a gateway with landing rights → fibre → the best PoP
   (or an assigned one), by :class:`leosim.network.routing.Router` in ``user`` mode, with the landing mask;
4. **the verdict**: allowed or not, and the deciding rule (:func:`leosim.policy.rules.evaluate`), worded
   by :mod:`leosim.service.rules`;
5. **the status**: ``no_coverage`` (nothing in view), ``no_route`` (in view, but no way to a gateway with
   landing rights and on to a PoP), ``denied`` (reachable, switched off by a rule) or ``ok``; a moving
   terminal outside its track's time span is ``absent`` (no position: nothing is computed for it).

Moving terminals (:class:`Mobility`: tracks, the terminal registry, days-abroad histories) are routed as
extra sites placed where their tracks put them at each instant, sharing the instant's satellite geometry
and routing call with the fixed terminals; their territory is located at each instant, and the rules'
conditions (speed, days abroad, distance offshore, plan, registration) are evaluated per terminal and
instant (:func:`leosim.policy.rules.decide`), the deciding condition reported beside the rule.

``leosim run`` (the scenario's per-chunk tables), ``access_at`` / ``leosim access`` and every
``leosim serve`` endpoint call this engine; none holds a copy of its logic. The engine is built once per
scenario (sites, masks, lasers, fibre) and reused across instants: visibility is computed once per instant
and shared by every rule book, and routes once per distinct set of landing rights.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from ..constants import DEFAULT_MIN_ELEVATION_DEG
from ..ground.geodesy import ecef_to_geodetic
from ..ground.sites import Sites
from ..ground.tracks import Tracks
from ..network.balancing import spill_overloaded_gateways
from ..network.paths import path_strings
from ..network.routing import ExtraSites, Router, StepRoutes
from ..policy.conditions import ALLOW, CONDITION_NAMES
from ..policy.registry import TerminalRegistry
from ..policy.roaming import Histories
from ..policy.rules import decide, evaluate, landing_rights
from ..policy.terminal_inputs import condition_inputs
from ..timebase import Times
from .rules import RuleBook

STATUSES = ("ok", "no_coverage", "no_route", "denied")
"""Status of a terminal at an instant, in the order they are tested: nothing in view; in view but no way
to a gateway with landing rights and a PoP; reachable but switched off by policy; served."""

NEAREST_REASON = 'nearest: best PoP ([ground] pop_assignment = "nearest")'
"""``pop_reason`` of a terminal sent to its best PoP."""

ABSENT = "absent"
"""Status of a moving terminal at an instant outside its track's time span (not one of :data:`STATUSES`,
which are those of present terminals)."""

TERMINAL_KINDS = ("terminal", "city")
"""Site kinds whose service is analysed (cities are terminals placed at a city)."""


@dataclass(frozen=True)
class NetworkSettings:
    """What routing needs besides the sites: lasers, masks, limits, fibre.

    ``isls`` ``(K, 2)`` satellite index pairs; elevation masks in degrees; ``pair_routing``: the
    :data:`~leosim.network.routing.MODES` mode of named pairs (``user`` pairs route as ``isl``);
    ``max_gsl_length_km``: Hypatia's range rule for named pairs (instead of the masks);
    ``max_isl_length_km``: lasers longer than this are not used (every route); ``fibre_km``: ``(G, Q)``
    measured gateway→PoP distances, km, NaN where not connected (None: great circle);
    ``pop_assignment``: ``nearest`` (each terminal's best PoP) or ``published`` (the PoP the operator
    assigns its country, :func:`leosim.ground.pops.assign_pops`) as of ``pop_assignment_date`` (a
    scenario's start; None: the instant asked about); ``gateway_selection``: how terminals' routes pick
    their landing gateway, one of :data:`~leosim.network.routing.GATEWAY_SELECTIONS` (``lowest-rtt``: the
    least RTT to the PoP; ``nearest``: the least space-segment delay, then fibre to the PoP).
    """

    isls: np.ndarray
    terminal_min_elevation_deg: float = DEFAULT_MIN_ELEVATION_DEG
    gateway_min_elevation_deg: float = DEFAULT_MIN_ELEVATION_DEG
    pair_routing: str = "isl"
    max_gsl_length_km: float | None = None
    max_isl_length_km: float | None = None
    fibre_km: np.ndarray | None = None
    pop_assignment: str = "nearest"
    pop_assignment_date: np.datetime64 | None = None
    gateway_selection: str = "lowest-rtt"

    @classmethod
    def from_spec(cls, network, *, isls, fibre_km=None, pop_assignment: str = "nearest",
                  pop_assignment_date=None) -> NetworkSettings:
        """From a scenario's ``[network]`` section (:class:`leosim.scenario.schema.NetworkSpec`), its lasers,
        fibre and PoP assignment (``[ground] pop_assignment``, dated at the window's start)."""
        return cls(isls=np.asarray(isls, dtype=np.int64).reshape(-1, 2),
                   terminal_min_elevation_deg=float(network.terminal_min_elevation_deg),
                   gateway_min_elevation_deg=float(network.gateway_min_elevation_deg),
                   pair_routing=network.routing, max_gsl_length_km=network.max_gsl_length_km,
                   max_isl_length_km=network.max_isl_length_km, fibre_km=fibre_km,
                   pop_assignment=pop_assignment, pop_assignment_date=pop_assignment_date,
                   gateway_selection=network.gateway_selection)


@dataclass(frozen=True)
class Mobility:
    """What rule conditions and moving terminals need beyond a terminal's fixed labels.

    ``tracks``: :class:`~leosim.ground.tracks.Tracks` of the moving terminals (None: none move), terminal
    ``moving[e]`` (a position in :class:`Terminals`) following ``tracks.tracks[e]`` and routed as extra
    site ``P + e`` (after the ``P`` places of ``Terminals.extra``); ``registry``: the
    :class:`~leosim.policy.registry.TerminalRegistry` (plans, registrations, registered countries);
    ``history``: days-abroad histories of all the terminals (:class:`~leosim.policy.roaming.Histories`),
    needed only when a rule counts days abroad.
    """

    tracks: Tracks | None = None
    moving: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    registry: TerminalRegistry | None = None
    history: Histories | None = None


@dataclass(frozen=True)
class Motion:
    """Where the terminals are at each instant, ``(n, T)`` each: ``present`` (False only for a moving
    terminal outside its track's span), ``lat_deg``/``lon_deg``/``alt_m`` (a fixed site's, a place's own,
    or where its track puts a moving terminal; NaN where absent), ``speed_kmh`` (0 unless moving),
    ``country3``/``region`` (located at each instant for moving terminals; '' where absent)."""

    present: np.ndarray
    lat_deg: np.ndarray
    lon_deg: np.ndarray
    alt_m: np.ndarray
    speed_kmh: np.ndarray
    country3: np.ndarray
    region: np.ndarray


@dataclass(frozen=True)
class Terminals:
    """The terminals whose service is asked about, ``(n,)`` each.

    ``site``: index in the engine's routing layout (a fixed site ``j``; ``M + e`` for the place that is the
    ``e``-th of ``extra``; ``M + P + e`` for the ``e``-th moving terminal of ``mobility``, after the ``P``
    places; one :meth:`ServiceEngine.serve` routes them all together); ``ids``, ``country3`` (ISO alpha-3,
    '' at sea), ``region`` ('' if none), ``fleet``, ``tenant``: what rules look at; ``pop``: an assigned
    PoP's site index, or ``-1`` for the best PoP.
    """

    site: np.ndarray
    ids: np.ndarray
    country3: np.ndarray
    region: np.ndarray
    fleet: np.ndarray
    tenant: np.ndarray
    pop: np.ndarray
    extra: ExtraSites | None = None
    mobility: Mobility | None = None

    def __len__(self) -> int:
        return int(self.site.size)

    @property
    def territory(self) -> np.ndarray:
        """Region where there is one, else country."""
        return np.where(self.region != "", self.region, self.country3)


@dataclass(frozen=True)
class Verdicts:
    """Policy for terminals over instants: ``allowed`` and deciding ``rule`` index (``-1``: the default)
    ``(terminal, time)``; ``landing`` ``(gateway, time)`` in the engine's gateway order; ``condition``
    ``(terminal, time)`` int8 code of the deciding condition (:data:`~leosim.policy.conditions.CONDITION_NAMES`)."""

    allowed: np.ndarray
    rule: np.ndarray
    landing: np.ndarray
    condition: np.ndarray | None = None


@dataclass(frozen=True)
class FeederLoad:
    """A busy hour's load for load-aware landing (:func:`~leosim.network.balancing.spill_overloaded_gateways`):
    ``offered_mbps``, a callable ``(eligible) -> (n,) Mbps`` giving what each asked terminal offers the
    gateways when the ``eligible`` ones (bool ``(n,)``: allowed, present, with a route) are served (e.g. its
    demand as far as its cell's beams carry it: :func:`~leosim.capacity.slot.beam_capped_demand`);
    ``capacity_mbps`` ``(G,)`` feeder capacity of each gateway in the engine's gateway order, Mbps."""

    offered_mbps: Callable[[np.ndarray], np.ndarray]
    capacity_mbps: np.ndarray


@dataclass(frozen=True)
class ServiceAnswer:
    """What terminals get, per rule book ``B``, instant ``T`` and terminal ``n``.

    ``visible_sats`` ``(T, n)``; ``(B, T, n)``: ``rtt_ms`` (NaN where no route), ``gateway`` and ``pop``
    (site index, -1 where no route), ``first_sat`` (satellite index, -1), ``path`` (str: Hypatia node
    ids, '' where no route), ``allowed``, ``rule`` (index into the book, -1 for the default).
    """

    books: tuple[RuleBook, ...]
    visible_sats: np.ndarray
    rtt_ms: np.ndarray
    gateway: np.ndarray
    pop: np.ndarray
    first_sat: np.ndarray
    path: np.ndarray
    allowed: np.ndarray
    rule: np.ndarray
    node_paths: tuple | None = None
    """With ``serve(..., keep_paths=True)``: per rule book, per instant, the ``(n, L)`` int64 route rows
    (Hypatia node ids, right-aligned, -1 padded) the capacity model loads."""
    condition: np.ndarray | None = None
    motion: Motion | None = None

    @property
    def present(self) -> np.ndarray:
        """``(T, n)`` whether each terminal has a position (False only for moving terminals off their track)."""
        if self.motion is None:
            return np.ones(self.visible_sats.shape, dtype=bool)
        return self.motion.present.T

    @property
    def covered(self) -> np.ndarray:
        return np.broadcast_to(self.visible_sats > 0, self.rtt_ms.shape)

    @property
    def routable(self) -> np.ndarray:
        return np.isfinite(self.rtt_ms)

    @property
    def status(self) -> np.ndarray:
        """``(B, T, n)`` one of :data:`STATUSES`, or :data:`ABSENT` for a moving terminal off its track."""
        status = np.full(self.rtt_ms.shape, "ok", dtype=object)
        status[~self.allowed] = "denied"
        status[~self.routable] = "no_route"
        status[~self.covered] = "no_coverage"
        status[:, ~self.present] = ABSENT
        return status.astype(str)

    def condition_names(self) -> np.ndarray:
        """``(B, T, n)`` the deciding condition's name ('' for none; see
        :data:`~leosim.policy.conditions.CONDITION_NAMES`)."""
        if self.condition is None:
            return np.full(self.rule.shape, "", dtype=object)
        return np.array(CONDITION_NAMES, dtype=object)[self.condition]

    def rule_text(self) -> np.ndarray:
        """``(B, T, n)`` the wording of each deciding rule (:mod:`leosim.service.rules`); a restricted rule
        that refused the terminal adds which allow list it was not on; '' where the terminal is absent."""
        out = np.empty(self.rule.shape, dtype=object)
        for b, book in enumerate(self.books):
            out[b] = book.texts()[self.rule[b]]
            if self.condition is not None:
                refused = self.condition[b] == ALLOW
                if refused.any():
                    lists = np.array([f" (not allowed: {', '.join(r.allow)})" for r in book.rules] + [""],
                                     dtype=object)
                    out[b][refused] = out[b][refused] + lists[self.rule[b][refused]]
        out[:, ~self.present] = ""
        return out


@dataclass(frozen=True)
class PairAnswer:
    """Named pairs over instants, ``(T, P)`` each: ``allowed`` (both terminal ends allowed), ``rtt_ms`` and
    ``hops`` and ``path`` (NaN / -1 / '' where denied or unroutable), ``rtt_if_allowed_ms`` and
    ``path_if_allowed`` (the physical route, whatever policy says)."""

    allowed: np.ndarray
    rtt_ms: np.ndarray
    hops: np.ndarray
    path: np.ndarray
    rtt_if_allowed_ms: np.ndarray
    path_if_allowed: np.ndarray


class ServiceEngine:
    """Fixed for a scenario: sites (terminals, gateways, PoPs), their territories and labels, network settings.

    ``sites``: every fixed site; ``country3``, ``region``, ``fleet``, ``tenant``: ``(M,)`` per site;
    ``territories``: a :class:`~leosim.territory.territories.Territories` to locate places (default: the
    shipped one, loaded when first needed); ``moving_sites``: indices of sites that stand for moving
    terminals (their first fix): the router gives them no GSLs of their own, since they are routed as
    extra sites where their tracks put them (:meth:`with_mobility`).
    """

    def __init__(self, sites: Sites, *, network: NetworkSettings, country3=None, region=None, fleet=None,
                 tenant=None, territories=None, constellation=None, knot_spacing_s: float | None = None,
                 moving_sites=None):
        import threading

        self.sites = sites
        self.network = network
        self.constellation = constellation
        self.knot_spacing_s = knot_spacing_s
        self._territories = territories
        n = len(sites)
        if country3 is None or region is None:
            hits = self.territories.locate(sites.lat_deg, sites.lon_deg)
            country3, region = hits.country, hits.region
        self.country3 = np.asarray(country3, dtype=str).reshape(n)
        self.region = np.asarray(region, dtype=str).reshape(n)
        self.fleet = np.asarray(fleet if fleet is not None else np.full(n, ""), dtype=str).reshape(n)
        self.tenant = np.asarray(tenant if tenant is not None else np.full(n, ""), dtype=str).reshape(n)
        self.gateways = np.flatnonzero(sites.kinds == "gateway")
        self.pops = np.flatnonzero(sites.kinds == "pop")
        mask = np.where(sites.kinds == "gateway", network.gateway_min_elevation_deg,
                        network.terminal_min_elevation_deg)
        self.router = Router(sites.ecef_km, sites.kinds, mode="user", isls=network.isls, site_up=sites.up,
                             min_elevation_deg=mask, max_isl_length_km=network.max_isl_length_km,
                             fibre_km=network.fibre_km, unlinked_sites=moving_sites,
                             gateway_selection=network.gateway_selection)
        self._pair_routers: dict[str, Router] = {}
        self._lock = threading.Lock()  # guards the lazily built pair routers (the server's threads share them)

    @classmethod
    def from_plan(cls, plan) -> ServiceEngine:
        """The engine of a scenario :class:`~leosim.scenario.plan.Plan` (its sites, labels, territories,
        lasers, masks and fibre)."""
        attrs = plan.site_attributes
        network = NetworkSettings.from_spec(plan.spec.network, isls=plan.isls, fibre_km=plan.fibre_km,
                                            pop_assignment=plan.spec.ground.pop_assignment,
                                            pop_assignment_date=plan.times.utc[0])
        moving = [plan.sites.index_of(site_id) for site_id in plan.tracks]
        return cls(plan.sites, network=network, country3=attrs["country3"], region=attrs["region"],
                   fleet=attrs["fleet"], tenant=attrs["tenant"], territories=plan.territories,
                   constellation=plan.constellation, knot_spacing_s=plan.knot_spacing_s,
                   moving_sites=moving or None)

    def positions_km(self, times: Times) -> np.ndarray:
        """Satellite ITRS positions at ``times``, ``(T, N, 3)`` km, propagated the way the scenario's run
        propagates them (its knot spacing), so every door sees the same satellites."""
        return self.constellation.states(times, knot_spacing_s=self.knot_spacing_s).position_km

    @property
    def territories(self):
        if self._territories is None:
            from ..territory.territories import Territories

            self._territories = Territories.default()
        return self._territories

    # ----- who -------------------------------------------------------------------------------------------
    def fixed_terminals(self, index=None, *, pop=None) -> Terminals:
        """Terminals at fixed sites ``index`` (default: every terminal and city site); ``pop``: assigned PoP
        site index per terminal (-1 or None: the best PoP)."""
        if index is None:
            index = np.flatnonzero(np.isin(self.sites.kinds, TERMINAL_KINDS))
        index = np.asarray(index, dtype=np.int64).ravel()
        pop = np.full(index.size, -1, np.int64) if pop is None else np.asarray(pop, dtype=np.int64).ravel()
        return Terminals(site=index, ids=self.sites.ids[index], country3=self.country3[index],
                         region=self.region[index], fleet=self.fleet[index], tenant=self.tenant[index], pop=pop)

    def places(self, lat_deg, lon_deg, alt_m=0.0, *, ids=None, fleet="", tenant="") -> Terminals:
        """Terminals at places that are not fixed sites (their territory located here), with the terminal
        elevation mask."""
        lat = np.atleast_1d(np.asarray(lat_deg, dtype=np.float64))
        lon = np.atleast_1d(np.asarray(lon_deg, dtype=np.float64))
        n = lat.size
        alt_m = np.broadcast_to(np.asarray(alt_m, dtype=np.float64), (n,))
        hits = self.territories.locate(lat, lon)
        extra = ExtraSites.from_geodetic(lat, lon, alt_m / 1000.0, self.network.terminal_min_elevation_deg)
        ids = np.array([f"place-{e}" for e in range(n)] if ids is None else ids, dtype=str).reshape(n)
        return Terminals(site=len(self.sites) + np.arange(n), ids=ids,
                         country3=np.asarray(hits.country, dtype=str).reshape(n),
                         region=np.asarray(hits.region, dtype=str).reshape(n),
                         fleet=np.broadcast_to(np.asarray(fleet, dtype=str), (n,)).copy(),
                         tenant=np.broadcast_to(np.asarray(tenant, dtype=str), (n,)).copy(),
                         pop=np.full(n, -1, np.int64), extra=extra)

    def assign_pops(self, terminals: Terminals, instant=None) -> tuple[Terminals, np.ndarray]:
        """``terminals`` with the PoP their traffic must reach under the settings' ``pop_assignment``, and
        why (``(n,)`` str): the best PoP (``nearest``), or the operator's assignment for each one's country
        (``published``) as of the settings' date, else ``instant``."""
        if self.network.pop_assignment != "published":
            return terminals, np.full(len(terminals), NEAREST_REASON, dtype=object)
        from dataclasses import replace

        from ..ground.pops import assign_pops

        date = self.network.pop_assignment_date if self.network.pop_assignment_date is not None else instant
        pops = self.pops
        site, why = assign_pops(terminals.country3, terminals.ids, date, self.sites.ids[pops],
                                pop_lat_deg=self.sites.lat_deg[pops], pop_lon_deg=self.sites.lon_deg[pops])
        pop = np.where(site >= 0, pops[np.maximum(site, 0)], -1).astype(np.int64)
        return replace(terminals, pop=pop), np.asarray(why, dtype=object)

    # ----- policy ----------------------------------------------------------------------------------------
    def with_mobility(self, terminals: Terminals, *, tracks=None, registry: TerminalRegistry | None = None,
                      abroad_since=None) -> Terminals:
        """``terminals`` (fixed sites, and places) with :class:`Mobility`: ``tracks`` ``{terminal id: Track}``
        of the fixed-site terminals that move (routed as extra sites after the places', numbered in the order
        of ``terminals``), the ``registry``, and their days-abroad histories (a terminal that does not move
        and is outside its registered country counts as abroad from ``abroad_since``, e.g. the scenario
        window's start, the same for every chunk)."""
        from ..policy.roaming import AbroadHistory

        tracks = dict(tracks or {})
        ids = terminals.ids.astype(str)
        # Only fixed sites follow tracks; places keep their extra-site numbers and the moving terminals are
        # numbered after them.
        moving = np.flatnonzero(np.isin(ids, list(tracks)) & (terminals.site < len(self.sites)))
        packed = Tracks([tracks[i] for i in ids[moving].tolist()]) if moving.size else None
        site = terminals.site.copy()
        site[moving] = len(self.sites) + _extra_count(terminals.extra) + np.arange(moving.size)
        fixed = np.setdiff1d(np.arange(len(terminals)), moving)
        history = None
        if registry is not None:
            home = registry.columns(ids)["country"]
            since = np.full(fixed.size, np.datetime64(abroad_since if abroad_since is not None else "1970-01-01",
                                                      "ns"))
            abroad = (home[fixed] != "") & (terminals.country3[fixed] != home[fixed])
            parts = [AbroadHistory.fixed(abroad, since)]
            index = [fixed]
            if packed is not None:
                parts.append(AbroadHistory.from_tracks(packed, home[moving], self.territories))
                index.append(moving)
            history = Histories(tuple(parts), tuple(index), len(terminals))
        mobility = Mobility(tracks=packed, moving=moving, registry=registry, history=history)
        return Terminals(site=site, ids=terminals.ids, country3=terminals.country3, region=terminals.region,
                         fleet=terminals.fleet, tenant=terminals.tenant, pop=terminals.pop, extra=terminals.extra,
                         mobility=mobility)

    def motion(self, terminals: Terminals, times: Times) -> Motion | None:
        """Positions, speeds and territories of ``terminals`` at ``times`` (None without :class:`Mobility`)."""
        mobility = terminals.mobility
        if mobility is None:
            return None
        n, n_t = len(terminals), len(times)
        n_site = len(self.sites)
        # Where each terminal stands when it does not move: its fixed site, or its place (an extra site);
        # moving terminals are overwritten below.
        lat0, lon0, alt0 = np.full(n, np.nan), np.full(n, np.nan), np.full(n, np.nan)
        fixed = terminals.site < n_site
        lat0[fixed] = self.sites.lat_deg[terminals.site[fixed]]
        lon0[fixed] = self.sites.lon_deg[terminals.site[fixed]]
        alt0[fixed] = np.asarray(self.sites.alt_m, dtype=np.float64)[terminals.site[fixed]]
        place = ~fixed & (terminals.site < n_site + _extra_count(terminals.extra))
        if place.any():
            place_lat, place_lon, place_alt_km = ecef_to_geodetic(terminals.extra.ecef_km)
            e = terminals.site[place] - n_site
            lat0[place], lon0[place], alt0[place] = place_lat[e], place_lon[e], place_alt_km[e] * 1000.0
        lat = np.repeat(lat0[:, None], n_t, 1)
        lon = np.repeat(lon0[:, None], n_t, 1)
        alt = np.repeat(alt0[:, None], n_t, 1)
        speed = np.zeros((n, n_t))
        present = np.ones((n, n_t), dtype=bool)
        country3 = np.repeat(terminals.country3[:, None], n_t, 1).astype(object)
        region = np.repeat(terminals.region[:, None], n_t, 1).astype(object)
        if mobility.tracks is not None and mobility.moving.size:
            sample = mobility.tracks.at(times)
            rows = mobility.moving
            lat[rows], lon[rows], alt[rows] = sample.lat_deg, sample.lon_deg, sample.alt_m
            speed[rows], present[rows] = sample.speed_kmh, sample.present
            hits = self.territories.locate(sample.lat_deg, sample.lon_deg)
            country3[rows], region[rows] = hits.country, hits.region
        return Motion(present=present, lat_deg=lat, lon_deg=lon, alt_m=alt, speed_kmh=speed,
                      country3=country3.astype(str), region=region.astype(str))

    def verdicts(self, book: RuleBook, terminals: Terminals, times: Times, motion: Motion | None = None) -> Verdicts:
        """Allowed/deciding rule per (terminal, instant) and landing rights per (gateway, instant); with
        :class:`Mobility`, rule conditions are evaluated per terminal and instant (``motion``: default
        :meth:`motion`)."""
        landing, _ = landing_rights(book.rules, territory=self.country3[self.gateways],
                                    region=self.region[self.gateways], instants=times,
                                    default_state=book.landing_default_state, check=False)
        landing = np.asarray(landing, bool)
        common = {"fleet": terminals.fleet, "terminal_id": terminals.ids, "tenant": terminals.tenant,
                  "default_state": book.default_state, "check": False}
        mobility = terminals.mobility
        if mobility is None:
            allowed, rule = evaluate(book.rules, territory=terminals.country3, region=terminals.region,
                                     instants=times, **common)
            return Verdicts(np.asarray(allowed, bool), np.asarray(rule, np.int64), landing,
                            np.zeros(np.shape(allowed), np.int8))
        motion = motion if motion is not None else self.motion(terminals, times)
        inputs = condition_inputs(book.rules, terminal_id=terminals.ids, instants=times, registry=mobility.registry,
                                  lat_deg=motion.lat_deg, lon_deg=motion.lon_deg, country=motion.country3,
                                  speed_kmh=motion.speed_kmh, history=mobility.history)
        if mobility.tracks is None:
            decision = decide(book.rules, territory=terminals.country3, region=terminals.region, instants=times,
                              **common, **inputs)
            return Verdicts(decision.allowed, decision.rule_index.astype(np.int64), landing, decision.condition)
        # Moving terminals change territory from instant to instant: one verdict per instant.
        n, n_t = len(terminals), len(times)
        allowed = np.zeros((n, n_t), bool)
        rule = np.full((n, n_t), -1, np.int64)
        condition = np.zeros((n, n_t), np.int8)
        for k in range(n_t):
            step = {key: _instant_slice(value, k) for key, value in inputs.items()}
            one = decide(book.rules, territory=motion.country3[:, k], region=motion.region[:, k],
                         instants=times[k:k + 1], **common, **step)
            allowed[:, k], rule[:, k], condition[:, k] = one.allowed[:, 0], one.rule_index[:, 0], one.condition[:, 0]
        allowed &= motion.present
        return Verdicts(allowed, rule, landing, condition)

    # ----- service ---------------------------------------------------------------------------------------
    def serve(self, times: Times, position_km, books: Sequence[RuleBook], terminals: Terminals, *,
              keep_paths: bool = False, load: FeederLoad | None = None,
              motion: Motion | None = None) -> ServiceAnswer:
        """What ``terminals`` get at ``times`` under each rule book; ``position_km`` ``(T, N, 3)`` satellite
        ITRS positions at those instants, km (NaN rows for satellites without a position). ``keep_paths``
        also keeps the routes as node-id rows (``ServiceAnswer.node_paths``). ``load``: the terminals' demand
        and the gateways' feeder capacity; then traffic that would overload a gateway spills to the next
        (:mod:`leosim.network.balancing`; only allowed, present terminals count). Without it, routes are
        those of an idle network. ``motion``: :meth:`motion` of ``terminals`` at ``times`` when the caller has
        it already (default: computed here)."""
        books = tuple(books)
        position_km = np.asarray(position_km, dtype=np.float64)
        n_book, n_t, n = len(books), len(times), len(terminals)
        if motion is None:
            motion = self.motion(terminals, times)
        verdicts = [self.verdicts(book, terminals, times, motion) for book in books]
        moving = terminals.mobility.moving if terminals.mobility is not None else np.zeros(0, np.int64)
        shape = (n_book, n_t, n)
        rtt = np.full(shape, np.nan)
        gateway = np.full(shape, -1, np.int64)
        pop = np.full(shape, -1, np.int64)
        first_sat = np.full(shape, -1, np.int64)
        path = np.full(shape, "", dtype=object)
        visible = np.zeros((n_t, n), np.int64)
        n_layout = len(self.sites) + _extra_count(terminals.extra) + moving.size
        node_paths = [[None] * n_t for _ in books] if keep_paths else None
        for k in range(n_t):
            position = position_km[k]
            extra = terminals.extra
            if moving.size:
                # Moving terminals where their tracks put them now, after the places; absent ones parked at
                # (0, 0), their answers blanked below.
                here = motion.present[moving, k]
                extra = ExtraSites.concat(extra, ExtraSites.from_geodetic(
                    np.where(here, motion.lat_deg[moving, k], 0.0), np.where(here, motion.lon_deg[moving, k], 0.0),
                    np.where(here, motion.alt_m[moving, k], 0.0) / 1000.0, self.network.terminal_min_elevation_deg))
            gsl = self.router.gsl_edges(position, extra)
            # Coverage from the GSL edges: a terminal's GSLs are exactly the satellites at or above its mask.
            visible[k] = np.bincount(gsl[0], minlength=n_layout)[terminals.site]
            done: dict[bytes, StepRoutes] = {}
            for b, verdict in enumerate(verdicts):
                landing = verdict.landing[:, k]
                key = np.packbits(landing).tobytes()
                if key not in done:
                    done[key] = self.router.route(position, terminals.site, terminals.pop, gsl_edges=gsl,
                                                  landing=landing, extra_sites=extra)
                routes = done[key]
                if load is not None:
                    eligible = verdict.allowed[:, k] & (routes.gateway >= 0)
                    if motion is not None:
                        eligible &= motion.present[:, k]
                    routes, _moved = spill_overloaded_gateways(
                        self.router, position, terminals.site, terminals.pop, routes, load.offered_mbps(eligible),
                        load.capacity_mbps, landing=landing, gsl_edges=gsl, extra_sites=extra)
                rtt[b, k], gateway[b, k], pop[b, k] = routes.rtt_ms, routes.gateway, routes.dst
                first_sat[b, k] = first_satellite(routes.paths, position.shape[0])
                path[b, k] = path_strings(routes.paths)
                if node_paths is not None:
                    node_paths[b][k] = routes.paths
        if motion is not None:
            absent = ~motion.present.T                       # (T, n)
            visible[absent] = 0
            rtt[:, absent], gateway[:, absent], pop[:, absent], first_sat[:, absent] = np.nan, -1, -1, -1
            path[:, absent] = ""
        return ServiceAnswer(books=books, visible_sats=visible, rtt_ms=rtt, gateway=gateway, pop=pop,
                             first_sat=first_sat, path=path.astype(str),
                             allowed=np.stack([v.allowed.T for v in verdicts]).reshape(shape),
                             rule=np.stack([v.rule.T for v in verdicts]).reshape(shape),
                             node_paths=None if node_paths is None else tuple(tuple(p) for p in node_paths),
                             condition=np.stack([v.condition.T for v in verdicts]).reshape(shape),
                             motion=motion)

    # ----- named pairs -----------------------------------------------------------------------------------
    def pair_router(self, mode: str | None = None) -> Router:
        """The router of named pairs (``mode`` default: the settings' ``pair_routing``; ``user`` pairs route
        as ``isl``): terminals and cities alike, Hypatia's range rule when ``max_gsl_length_km`` is set."""
        mode = mode or self.network.pair_routing
        mode = "isl" if mode == "user" else mode
        with self._lock:
            return self._pair_routers.get(mode) or self._new_pair_router(mode)

    def _new_pair_router(self, mode: str) -> Router:
        net = self.network
        kinds = np.where(np.isin(self.sites.kinds, TERMINAL_KINDS), "terminal", self.sites.kinds)
        if net.max_gsl_length_km is not None:
            gsl = {"max_gsl_length_km": net.max_gsl_length_km}
        else:
            gsl = {"site_up": self.sites.up, "min_elevation_deg": np.where(
                self.sites.kinds == "gateway", net.gateway_min_elevation_deg, net.terminal_min_elevation_deg)}
        router = Router(self.sites.ecef_km, kinds, mode=mode, isls=net.isls,
                        max_isl_length_km=net.max_isl_length_km, **gsl)
        self._pair_routers[mode] = router
        return router

    def route_pairs(self, position_km, src, dst, *, mode: str | None = None) -> StepRoutes:
        """Physical routes between fixed sites ``src[p] -> dst[p]`` at one instant (satellites at
        ``position_km`` ``(N, 3)`` km), by the pair router, without policy."""
        return self.pair_router(mode).route(position_km, src, dst)

    def serve_pairs(self, times: Times, position_km, book: RuleBook, src, dst) -> PairAnswer:
        """Named pairs between fixed sites over ``times`` under ``book``: a pair whose terminal end (either)
        is denied gets no path; the physical route's RTT is kept as ``rtt_if_allowed_ms``. Gateways and PoPs
        are not subject to rules."""
        src = np.asarray(src, dtype=np.int64).ravel()
        dst = np.asarray(dst, dtype=np.int64).ravel()
        routes = [self.route_pairs(position_km[k], src, dst) for k in range(len(times))]
        allowed = np.ones((len(times), src.size), dtype=bool)
        for end in (src, dst):
            is_terminal = np.isin(self.sites.kinds[end], TERMINAL_KINDS)
            if is_terminal.any():
                verdict = self.verdicts(book, self.fixed_terminals(end[is_terminal]), times)
                allowed[:, is_terminal] &= verdict.allowed.T
        shape = (len(times), src.size)
        physical = np.stack([r.rtt_ms for r in routes]).reshape(shape) if routes else np.zeros(shape)
        hops = np.stack([r.hops for r in routes]).reshape(shape) if routes else np.zeros(shape, np.int64)
        paths = (np.stack([path_strings(r.paths) for r in routes]).reshape(shape) if routes
                 else np.zeros(shape, str))
        return PairAnswer(allowed=allowed, rtt_ms=np.where(allowed, physical, np.nan),
                          hops=np.where(allowed, hops, -1).astype(np.int64), path=np.where(allowed, paths, ""),
                          rtt_if_allowed_ms=physical, path_if_allowed=paths)


def _extra_count(extra: ExtraSites | None) -> int:
    """Number of extra sites (0 for None)."""
    return 0 if extra is None else extra.count


def _instant_slice(value, k: int):
    """Column ``k`` of a per-(terminal, instant) input, kept 2-D; per-terminal inputs pass through."""
    if isinstance(value, dict):
        return {key: _instant_slice(v, k) for key, v in value.items()}
    if isinstance(value, np.ndarray) and value.ndim == 2:
        return value[:, k:k + 1]
    return value


def first_satellite(paths: np.ndarray, n_sat: int) -> np.ndarray:
    """The first satellite on each padded path row (terminal, first satellite, ...); -1 where none."""
    if paths.shape[1] < 2:
        return np.full(paths.shape[0], -1, np.int64)
    first = np.argmax(paths >= 0, axis=1)
    second = paths[np.arange(first.size), np.minimum(first + 1, paths.shape[1] - 1)]
    return np.where((second >= 0) & (second < n_sat), second, -1)


def territory_verdicts(book: RuleBook, country3, region, instants) -> np.ndarray:
    """Deciding rule index ``(territory, time)`` (``-1``: no rule, the default state) of territories given by
    country (ISO alpha-3) and custom region ('' for none), under ``book`` at ``instants``: the state a
    terminal of no fleet would get there (for maps)."""
    _, rule = evaluate(book.rules, territory=country3, region=region, fleet=None, terminal_id=None,
                       instants=instants, default_state=book.default_state, check=False)
    return np.asarray(rule, dtype=np.int64)
