"""The per-chunk computation of a scenario run: coverage, access under each policy variant, latency.

:func:`run_chunk` takes a :class:`~leosim.scenario.plan.Plan` and a chunk of instants and returns
columns (plain NumPy arrays) for the per-instant tables. Chunks are independent: a chunk propagates its
own instants, builds its own links and routes, so any split of the window into chunks, in any order, on
any worker, gives the same rows.
"""

from __future__ import annotations

import numpy as np

from ..access import describe_rule
from ..ground.geodesy import enu_basis
from ..network.routing import Router
from ..policy.rules import evaluate, landing_rights
from ..timebase import Times

ACCESS_STATUSES = ("ok", "no_coverage", "no_route", "denied")
"""Status of a terminal at an instant, in the order they are tested: nothing in view; in view but no way
to a gateway with landing rights and a PoP; reachable but switched off by policy; served."""


class ChunkEngine:
    """Holds what a worker reuses between chunks of one plan: geometry, routers per landing-rights set."""

    def __init__(self, plan):
        self.plan = plan
        spec = plan.spec
        sites = plan.sites
        self.sites = sites
        self.attrs = plan.site_attributes
        self.terminals = plan.terminals
        self.gateways = np.flatnonzero(sites.kinds == "gateway")
        self.site_ecef = sites.ecef_km
        self.site_enu = enu_basis(sites.lat_deg, sites.lon_deg)
        self.min_elevation_deg = np.where(sites.kinds == "gateway", spec.network.gateway_min_elevation_deg,
                                          spec.network.terminal_min_elevation_deg)
        self._routers: dict[bytes, Router] = {}
        self._pair_router = None
        # Site index -> position in ``terminals`` (-1 for other sites), to count coverage from GSL edges.
        self._terminal_of_site = np.full(len(sites.kinds), -1, dtype=np.int64)
        self._terminal_of_site[self.terminals] = np.arange(self.terminals.size)

    def _user_router(self, landing: np.ndarray) -> Router:
        """A user-mode router in which only the gateways with landing rights act as gateways."""
        key = np.packbits(landing).tobytes()
        router = self._routers.get(key)
        if router is None:
            kinds = np.asarray(self.sites.kinds, dtype=object).copy()
            kinds[self.gateways[~landing]] = "city"  # in view of satellites, but lands nothing
            fibre = self.plan.fibre_km
            router = Router(self.site_ecef, kinds.astype(str), mode="user", isls=self.plan.isls,
                            site_up=self.site_enu[:, 2], min_elevation_deg=self.min_elevation_deg,
                            fibre_km=None if fibre is None else fibre[landing])
            self._routers[key] = router
        return router

    def _router_for_pairs(self) -> Router:
        if self._pair_router is None:
            mode = self.plan.spec.network.routing
            mode = "isl" if mode == "user" else mode
            kinds = np.where(np.isin(self.sites.kinds, ("terminal", "city")), "terminal", self.sites.kinds)
            network = self.plan.spec.network
            gsl = ({"max_gsl_length_km": network.max_gsl_length_km} if network.max_gsl_length_km is not None
                   else {"site_up": self.site_enu[:, 2], "min_elevation_deg": self.min_elevation_deg})
            self._pair_router = Router(self.site_ecef, kinds, mode=mode, isls=self.plan.isls,
                                       max_isl_length_km=network.max_isl_length_km, **gsl)
        return self._pair_router

    def policy(self, times: Times):
        """Per variant: ``allowed`` (terminal, time), ``rule`` index (terminal, time), ``landing`` (gateway, time)."""
        attrs, term, gw = self.attrs, self.terminals, self.gateways
        default_state = self.plan.spec.policy.default_state
        landing_default = self.plan.spec.policy.landing_default_state
        out = []
        for variant in self.plan.variants:
            allowed, rule = evaluate(variant.rules, territory=attrs["country3"][term], region=attrs["region"][term],
                                     fleet=attrs["fleet"][term], terminal_id=self.sites.ids[term],
                                     tenant=attrs["tenant"][term], instants=times, default_state=default_state,
                                     check=False)
            landing, _ = landing_rights(variant.rules, territory=attrs["country3"][gw], region=attrs["region"][gw],
                                        instants=times, default_state=landing_default, check=False)
            out.append((allowed, rule, landing))
        return out

    def run(self, times: Times) -> dict[str, dict[str, np.ndarray]]:
        """Columns of ``coverage``, ``access`` (all variants) and ``latency`` for the instants of ``times``."""
        plan, sites, term = self.plan, self.sites, self.terminals
        analyses = plan.spec.analyses
        states = plan.constellation.states(times, knot_spacing_s=plan.knot_spacing_s)
        policy = self.policy(times)
        n_term, n_t = term.size, len(times)
        visible = np.zeros((n_t, n_term), dtype=np.int64)
        access = _AccessColumns(len(plan.variants), n_t, n_term)
        latency = []
        # Every user-mode router has the same GSL sites (all but PoPs: terminals, cities, gateways, with or
        # without landing rights) and masks, so one visibility computation per step serves them all, and
        # the coverage count: a terminal's GSL edges are exactly the satellites at or above its mask.
        visibility = self._user_router(np.ones(self.gateways.size, dtype=bool))
        for k in range(n_t):
            position = states.position_km[k]
            gsl = visibility.gsl_edges(position)
            terminal = self._terminal_of_site[gsl[0]]
            visible[k] = np.bincount(terminal[terminal >= 0], minlength=n_term)
            routes_by_landing: dict[bytes, object] = {}
            for v, (_, _, landing) in enumerate(policy):
                key = np.packbits(landing[:, k]).tobytes()
                if key not in routes_by_landing:
                    # dst: the PoP each terminal must reach ([ground] pop_assignment = "published", issue 15),
                    # -1 = the best PoP. The service engine must pass plan.assigned_pop the same way.
                    routes_by_landing[key] = self._user_router(landing[:, k]).route(
                        position, term, plan.assigned_pop, gsl_edges=gsl)
                access.fill(v, k, routes_by_landing[key], len(plan.constellation))
            if analyses.latency and len(plan.pairs):
                latency.append(self._router_for_pairs().route(position, plan.pairs[:, 0], plan.pairs[:, 1]))
        return {
            "coverage": {"time_utc": np.repeat(times.utc, n_term), "site_id": np.tile(sites.ids[term], n_t),
                         "visible_sats": visible.ravel()},
            "access": access.columns(self, times, visible, policy),
            "latency": self._latency_columns(times, latency, policy[0][0] if policy else None),
        }

    def _latency_columns(self, times: Times, routes, allowed_terminal) -> dict[str, np.ndarray]:
        """Named pairs under the baseline policy: a pair whose terminal end is denied gets no path (NaN RTT,
        empty path); ``rtt_if_allowed_ms`` keeps the physical route's RTT."""
        pairs = self.plan.pairs
        ids = self.sites.ids
        if not routes:
            return {"time_utc": np.zeros(0, "datetime64[ns]"), "src": np.zeros(0, str), "dst": np.zeros(0, str),
                    "rtt_ms": np.zeros(0), "hops": np.zeros(0, np.int64), "path": np.zeros(0, str),
                    "allowed": np.zeros(0, bool), "rtt_if_allowed_ms": np.zeros(0)}
        n_pair = len(pairs)
        # (time, pair): both ends allowed; ends that are not terminals (gateways, PoPs) are not subject to rules.
        allowed = np.ones((len(routes), n_pair), dtype=bool)
        for end in (0, 1):
            k = self._terminal_of_site[pairs[:, end]]
            is_terminal = k >= 0
            allowed[:, is_terminal] &= allowed_terminal[k[is_terminal]].T
        allowed = allowed.ravel()
        physical = np.concatenate([r.rtt_ms for r in routes])
        return {
            "time_utc": np.repeat(times.utc, n_pair),
            "src": np.tile(ids[pairs[:, 0]], len(routes)), "dst": np.tile(ids[pairs[:, 1]], len(routes)),
            "rtt_ms": np.where(allowed, physical, np.nan),
            "hops": np.where(allowed, np.concatenate([r.hops for r in routes]), -1).astype(np.int64),
            "path": np.where(allowed, np.concatenate([_path_strings(r.paths) for r in routes]), ""),
            "allowed": allowed, "rtt_if_allowed_ms": physical,
        }


class _AccessColumns:
    """Accumulates per-instant routing results of every variant, shaped (variant, time, terminal)."""

    def __init__(self, n_variant: int, n_t: int, n_term: int):
        shape = (n_variant, n_t, n_term)
        self.rtt_ms = np.full(shape, np.nan)
        self.gateway = np.full(shape, -1, dtype=np.int64)
        self.pop = np.full(shape, -1, dtype=np.int64)
        self.first_sat = np.full(shape, -1, dtype=np.int64)
        self.path = np.empty(shape, dtype=object)

    def fill(self, v: int, k: int, routes, n_sat: int) -> None:
        self.rtt_ms[v, k] = routes.rtt_ms
        self.gateway[v, k] = routes.gateway
        self.pop[v, k] = routes.dst
        if routes.paths.shape[1] > 1:
            # Paths run terminal, first satellite, ...; padding (-1) may come first.
            first = np.argmax(routes.paths >= 0, axis=1)
            second = routes.paths[np.arange(len(first)), np.minimum(first + 1, routes.paths.shape[1] - 1)]
            self.first_sat[v, k] = np.where((second >= 0) & (second < n_sat), second, -1)
        self.path[v, k] = _path_strings(routes.paths)

    def columns(self, engine: ChunkEngine, times: Times, visible: np.ndarray, policy) -> dict[str, np.ndarray]:
        plan, ids = engine.plan, engine.sites.ids
        n_variant, n_t, n_term = self.rtt_ms.shape
        covered = np.broadcast_to(visible > 0, self.rtt_ms.shape)
        routable = np.isfinite(self.rtt_ms)
        allowed = np.stack([a.T for a, _, _ in policy])  # (variant, time, terminal)
        rule_index = np.stack([r.T for _, r, _ in policy])
        status = np.full(self.rtt_ms.shape, "ok", dtype=object)
        status[~allowed] = "denied"
        status[~routable] = "no_route"
        status[~covered] = "no_coverage"
        rule_text = np.empty(self.rtt_ms.shape, dtype=object)
        default = f"default: {plan.spec.policy.default_state}"
        for v, variant in enumerate(plan.variants):
            texts = np.array([describe_rule(r) for r in variant.rules] + [default], dtype=object)
            rule_text[v] = texts[rule_index[v]]
        site_ids = np.where(self.gateway >= 0, ids[np.maximum(self.gateway, 0)], "")
        pop_ids = np.where(self.pop >= 0, ids[np.maximum(self.pop, 0)], "")
        sat_ids = np.where(self.first_sat >= 0, plan.constellation.sat_id[np.maximum(self.first_sat, 0)], -1)
        names = np.array([v.name for v in plan.variants], dtype=object)
        return {
            "variant": np.repeat(names, n_t * n_term),
            "time_utc": np.tile(np.repeat(times.utc, n_term), n_variant),
            "site_id": np.tile(ids[engine.terminals], n_variant * n_t),
            "status": status.ravel().astype(str), "covered": covered.ravel(), "routable": routable.ravel(),
            "allowed": allowed.ravel(), "rtt_ms": self.rtt_ms.ravel(), "gateway": site_ids.ravel().astype(str),
            "pop": pop_ids.ravel().astype(str), "rule": rule_text.ravel().astype(str),
            "sat_id": sat_ids.ravel(), "path": self.path.ravel().astype(str),
        }


def _path_strings(paths: np.ndarray) -> np.ndarray:
    """Space-separated node ids of each padded path row (``-1`` padding dropped); '' for no path."""
    out = np.empty(paths.shape[0], dtype=object)
    for p, row in enumerate(paths.tolist()):  # one row per pair; rows are short paths
        out[p] = " ".join(str(node) for node in row if node >= 0)
    return out.astype(str) if out.size else np.zeros(0, dtype=str)


def run_chunk(plan, times: Times, engine: ChunkEngine | None = None) -> dict[str, dict[str, np.ndarray]]:
    """One chunk of a run (see :class:`ChunkEngine.run`)."""
    return (engine or ChunkEngine(plan)).run(times)
