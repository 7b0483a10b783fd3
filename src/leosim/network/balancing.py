"""Load-aware landing: traffic that would overload a gateway's feeders spills to the next gateway.

A route picks its landing gateway for an idle network (``Router``'s ``gateway_selection``). Under a busy
hour's load the operator does not push more traffic through a gateway than its feeder antennas carry: a
gateway tracks at most as many satellites as it has antennas, and the satellites over a dense area land at
the several gateways they see. :func:`spill_overloaded_gateways` models that with one deterministic rule:

1. route every terminal as usual (the given routes);
2. for every gateway whose offered load (the sum of its terminals' demand, Mbps) exceeds its feeder
   capacity, keep its terminals in order of increasing RTT (nearest first, then lower row) while their
   cumulative demand fits, and mark the gateway full;
3. re-route the terminals left over with every full gateway's landing withdrawn: they take the next
   gateway by the router's rule (a neighbour with room, over the same satellites and lasers);
4. repeat until no gateway is overloaded or a round moves nobody. Each round fills at least one more
   gateway, so there are at most as many rounds as gateways.

Terminals are moved whole (a row of many subscribers lands at one gateway). A terminal evicted when no
gateway with room can take it goes back to its first route (that gateway stays overloaded and the capacity
model shares it).
Routes of terminals that do not move are unchanged, bit for bit; with no overloaded gateway nothing is
re-routed.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

OVERLOAD_RTOL = 1e-12
"""A gateway counts as overloaded when its load exceeds its capacity by more than this relative margin
(float sums of demand may exceed an exactly filled capacity by rounding)."""


def spill_overloaded_gateways(router, sat_ecef_km, src, dst, routes, demand_mbps, capacity_mbps, *,
                              landing=None, gsl_edges=None, extra_sites=None):
    """``routes`` (:class:`~leosim.network.routing.StepRoutes` of ``router.route(sat_ecef_km, src, dst, ...)``)
    with the terminals that overload a gateway moved to gateways with room (module docstring).

    ``demand_mbps`` ``(P,)`` each pair's offered load (0 for pairs that offer none: denied, absent);
    ``capacity_mbps`` ``(G,)`` feeder capacity of each of ``router.gateways``; ``landing`` ``(G,)`` bool the
    gateways with landing rights (default all); ``gsl_edges``, ``extra_sites`` as for ``Router.route``.
    Returns ``(routes, moved)``: the routes and a bool ``(P,)`` of the pairs re-routed.
    """
    gateways = np.asarray(router.gateways, dtype=np.int64)
    n_gw = gateways.size
    capacity = np.asarray(capacity_mbps, dtype=np.float64).reshape(n_gw)
    demand = np.asarray(demand_mbps, dtype=np.float64).ravel()
    src = np.asarray(src, dtype=np.int64).ravel()
    dst = np.asarray(dst, dtype=np.int64).ravel()
    allowed = np.ones(n_gw, bool) if landing is None else np.asarray(landing, dtype=bool).reshape(n_gw)
    moved = np.zeros(src.size, bool)
    full = np.zeros(n_gw, bool)
    first = routes
    for _round in range(n_gw):
        on = (routes.gateway >= 0) & (demand > 0)
        rows = np.flatnonzero(on)
        gpos = np.searchsorted(gateways, routes.gateway[rows])
        load = np.bincount(gpos, weights=demand[rows], minlength=n_gw)
        over = (load > capacity * (1.0 + OVERLOAD_RTOL)) & ~full
        if not over.any():
            break
        pick = np.isin(gpos, np.flatnonzero(over))
        rows, gpos = rows[pick], gpos[pick]
        order = np.lexsort((rows, routes.rtt_ms[rows], gpos))
        rows, gpos = rows[order], gpos[order]
        cum = np.cumsum(demand[rows])
        start = np.r_[0, np.flatnonzero(np.diff(gpos)) + 1]
        before = np.repeat(cum[start] - demand[rows[start]], np.diff(np.r_[start, rows.size]))
        evict = rows[(cum - before) > capacity[gpos] * (1.0 + OVERLOAD_RTOL)]
        full |= over
        room = allowed & ~full
        if evict.size == 0:
            break
        landed = np.zeros(evict.size, bool)
        if room.any():
            again = router.route(sat_ecef_km, src[evict], dst[evict], gsl_edges=gsl_edges, landing=room,
                                 extra_sites=extra_sites)
            landed = again.gateway >= 0
            routes = _with_rows(routes, again, evict[landed], np.flatnonzero(landed))
            moved[evict[landed]] = True
        stuck = evict[~landed]  # no gateway with room reaches them: back to their first route
        routes = _with_rows(routes, first, stuck, stuck)
        moved[stuck] = False
        if not landed.any():
            break
    return routes, moved


def _with_rows(routes, other, rows, other_rows):
    """``routes`` with pairs ``rows`` taken from ``other``'s pairs ``other_rows`` (paths re-padded)."""
    width = max(routes.paths.shape[1], other.paths.shape[1])
    paths = _left_pad(routes.paths, width)
    paths[rows] = _left_pad(other.paths, width)[other_rows]
    out = {"paths": paths}
    for name in ("dst", "gateway", "rtt_ms", "one_way_ms", "hops"):
        column = getattr(routes, name).copy()
        column[rows] = getattr(other, name)[other_rows]
        out[name] = column
    return replace(routes, **out)


def _left_pad(paths, width: int) -> np.ndarray:
    """Right-aligned path rows padded with -1 on the left to ``width`` columns (a copy)."""
    out = np.full((paths.shape[0], width), -1, dtype=np.int64)
    if paths.shape[1]:
        out[:, width - paths.shape[1]:] = paths
    return out
