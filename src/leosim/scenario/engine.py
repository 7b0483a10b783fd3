"""The per-chunk computation of a scenario run: coverage, access under each policy variant, latency.

:func:`run_chunk` takes a :class:`~leosim.scenario.plan.Plan` and a chunk of instants and returns
columns (plain NumPy arrays) for the per-instant tables; what each terminal gets is decided by the
plan's :class:`~leosim.service.ServiceEngine`, the same engine ``leosim access`` and ``leosim serve``
use. Chunks are independent: a chunk propagates its own instants, builds its own links and routes, so any
split of the window into chunks, in any order, on any worker, gives the same rows.
"""

from __future__ import annotations

import numpy as np

from ..service.engine import STATUSES as ACCESS_STATUSES
from ..timebase import Times

__all__ = ["ACCESS_STATUSES", "ChunkEngine", "run_chunk"]


class ChunkEngine:
    """What a worker reuses between chunks of one plan: the plan's :class:`~leosim.service.ServiceEngine`,
    its terminals and its rule books. It only propagates the chunk's instants, asks the service engine and
    lays the answers out as table columns; every decision is the service engine's."""

    def __init__(self, plan):
        self.plan = plan
        self.service = plan.service_engine
        self.sites = plan.sites
        self.terminals = plan.terminals
        self.asked = plan.asked_terminals()
        self._terminal_of_site = np.full(len(self.sites), -1, dtype=np.int64)
        self._terminal_of_site[self.terminals] = np.arange(self.terminals.size)

    def run(self, times: Times) -> dict[str, dict[str, np.ndarray]]:
        """Columns of ``coverage``, ``access`` (all variants) and ``latency`` for the instants of ``times``."""
        plan, sites, term = self.plan, self.sites, self.terminals
        states = plan.constellation.states(times, knot_spacing_s=plan.knot_spacing_s)
        answer = self.service.serve(times, states.position_km, plan.rule_books, self.asked)
        latency = []
        if plan.spec.analyses.latency and len(plan.pairs):
            latency = [self.service.route_pairs(states.position_km[k], plan.pairs[:, 0], plan.pairs[:, 1])
                       for k in range(len(times))]
        n_t = len(times)
        return {
            "coverage": {"time_utc": np.repeat(times.utc, term.size), "site_id": np.tile(sites.ids[term], n_t),
                         "visible_sats": answer.visible_sats.ravel()},
            "access": self._access_columns(times, answer),
            "latency": self._latency_columns(times, latency, answer.allowed[0].T if len(answer.books) else None),
        }

    def _access_columns(self, times: Times, answer) -> dict[str, np.ndarray]:
        plan, ids = self.plan, self.sites.ids
        n_variant, n_t, n_term = answer.rtt_ms.shape
        gateway, pop, first = answer.gateway, answer.pop, answer.first_sat
        names = np.array([v.name for v in plan.variants], dtype=object)
        return {
            "variant": np.repeat(names, n_t * n_term),
            "time_utc": np.tile(np.repeat(times.utc, n_term), n_variant),
            "site_id": np.tile(ids[self.terminals], n_variant * n_t),
            "status": answer.status.ravel(), "covered": answer.covered.ravel(),
            "routable": answer.routable.ravel(), "allowed": answer.allowed.ravel(),
            "rtt_ms": answer.rtt_ms.ravel(),
            "gateway": np.where(gateway >= 0, ids[np.maximum(gateway, 0)], "").ravel().astype(str),
            "pop": np.where(pop >= 0, ids[np.maximum(pop, 0)], "").ravel().astype(str),
            "rule": answer.rule_text().ravel().astype(str),
            "sat_id": np.where(first >= 0, plan.constellation.sat_id[np.maximum(first, 0)], -1).ravel(),
            "path": answer.path.ravel().astype(str),
            **self._motion_columns(answer, n_variant),
        }

    def _motion_columns(self, answer, n_variant: int) -> dict[str, np.ndarray]:
        """Where each terminal was (moving ones follow their tracks; NaN where absent), its speed (0 for a
        fixed terminal) and the deciding condition's name ('' for none)."""
        motion = answer.motion
        if motion is None:
            lat = np.broadcast_to(self.sites.lat_deg[self.terminals], answer.visible_sats.shape)
            lon = np.broadcast_to(self.sites.lon_deg[self.terminals], answer.visible_sats.shape)
            speed = np.zeros(answer.visible_sats.shape)
        else:
            lat, lon, speed = motion.lat_deg.T, motion.lon_deg.T, motion.speed_kmh.T
        return {"speed_kmh": np.tile(np.asarray(speed, np.float64).ravel(), n_variant),
                "lat_deg": np.tile(np.asarray(lat, np.float64).ravel(), n_variant),
                "lon_deg": np.tile(np.asarray(lon, np.float64).ravel(), n_variant),
                "condition": answer.condition_names().ravel().astype(str)}

    def _latency_columns(self, times: Times, routes, allowed_terminal) -> dict[str, np.ndarray]:
        """Named pairs under the baseline policy: a pair whose terminal end is denied gets no path (NaN RTT,
        empty path); ``rtt_if_allowed_ms`` keeps the physical route's RTT."""
        from ..network.paths import path_strings

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
            "path": np.where(allowed, np.concatenate([path_strings(r.paths) for r in routes]), ""),
            "allowed": allowed, "rtt_if_allowed_ms": physical,
        }


def run_chunk(plan, times: Times, engine: ChunkEngine | None = None) -> dict[str, dict[str, np.ndarray]]:
    """One chunk of a run (see :class:`ChunkEngine.run`)."""
    return (engine or ChunkEngine(plan)).run(times)
