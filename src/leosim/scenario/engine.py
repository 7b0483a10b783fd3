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

    def run(self, times: Times) -> dict[str, dict[str, np.ndarray]]:
        """Columns of ``coverage``, ``access`` (all variants) and ``latency`` for the instants of ``times``."""
        plan, sites, term = self.plan, self.sites, self.terminals
        position_km = self.service.positions_km(times)
        answer = self.service.serve(times, position_km, plan.rule_books, self.asked)
        pairs = None
        if plan.spec.analyses.latency and len(plan.pairs):
            pairs = self.service.serve_pairs(times, position_km, plan.rule_books[0], plan.pairs[:, 0],
                                             plan.pairs[:, 1])
        n_t = len(times)
        out = {
            "coverage": {"time_utc": np.repeat(times.utc, term.size), "site_id": np.tile(sites.ids[term], n_t),
                         "visible_sats": answer.visible_sats.ravel()},
            "access": self._access_columns(times, answer),
            "latency": self._latency_columns(times, pairs),
        }
        if plan.capacity_service is not None:
            out.update(self._capacity_columns(times))
        return out

    def _capacity_columns(self, times: Times) -> dict[str, dict[str, np.ndarray]]:
        """Capacity tables (every variant) at the slot instants in this chunk's span
        ``[times[0], times[0] + len(times) × step)``, so that any chunking partitions the slots."""
        plan, service = self.plan, self.plan.capacity_service
        slots = plan.capacity_slot_instants(times)
        frames: dict[str, list] = {"capacity_cells": [], "throughput": [], "gateway_load": []}
        names = [v.name for v in plan.variants]
        if slots.size:
            positions = plan.constellation.states(Times.from_utc(slots), knot_spacing_s=0.0).position_km
            for k, instant in enumerate(slots):
                for table, frame in service.frames(instant, positions[k], plan.rule_books, names).items():
                    frames[table].append(frame)
        import pandas as pd

        out = {}
        for table, parts in frames.items():
            if parts:
                frame = pd.concat(parts, ignore_index=True)
                out[table] = {c: frame[c].to_numpy() for c in frame.columns}
            else:
                out[table] = _empty_capacity_columns(table)
        return out

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

    def _latency_columns(self, times: Times, pairs) -> dict[str, np.ndarray]:
        """Named pairs under the baseline policy (:meth:`leosim.service.ServiceEngine.serve_pairs`)."""
        ids = self.sites.ids
        if pairs is None:
            return {"time_utc": np.zeros(0, "datetime64[ns]"), "src": np.zeros(0, str), "dst": np.zeros(0, str),
                    "rtt_ms": np.zeros(0), "hops": np.zeros(0, np.int64), "path": np.zeros(0, str),
                    "allowed": np.zeros(0, bool), "rtt_if_allowed_ms": np.zeros(0)}
        pair_ids = ids[self.plan.pairs]
        return {
            "time_utc": np.repeat(times.utc, len(pair_ids)),
            "src": np.tile(pair_ids[:, 0], len(times)), "dst": np.tile(pair_ids[:, 1], len(times)),
            "rtt_ms": pairs.rtt_ms.ravel(), "hops": pairs.hops.ravel(), "path": pairs.path.ravel().astype(str),
            "allowed": pairs.allowed.ravel(), "rtt_if_allowed_ms": pairs.rtt_if_allowed_ms.ravel(),
        }


def _empty_capacity_columns(table: str) -> dict[str, np.ndarray]:
    """Typed empty columns of a capacity part (a chunk without a slot instant)."""
    t, f, s, b = np.zeros(0, "datetime64[ns]"), np.zeros(0), np.zeros(0, dtype=str), np.zeros(0, bool)
    if table == "capacity_cells":
        return {"variant": s, "time_utc": t, "cell": s, "territory": s, "terminals": f, "demand_mbps": f,
                "served_mbps": f, "beams": np.zeros(0, np.int64), "satellites": np.zeros(0, np.int64),
                "bottleneck": s, "at_capacity": b, "refused": f}
    if table == "throughput":
        return {"variant": s, "time_utc": t, "site_id": s, "fleet": s, "demand_mbps": f, "served_mbps": f,
                "available_mbps": f, "bottleneck": s, "refused": b, "territory": s, "terminals": f, "at_capacity": b}
    return {"variant": s, "time_utc": t, "gateway": s, "load_mbps": f, "capacity_mbps": f}


def run_chunk(plan, times: Times, engine: ChunkEngine | None = None) -> dict[str, dict[str, np.ndarray]]:
    """One chunk of a run (see :class:`ChunkEngine.run`)."""
    return (engine or ChunkEngine(plan)).run(times)
