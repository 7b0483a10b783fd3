"""Load-aware landing: traffic that would overload a gateway's feeders spills to gateways with room.

A route picks its landing gateway for an idle network (``Router``'s ``gateway_selection``). Under a busy
hour's load the operator does not push more traffic through a gateway than its feeder antennas carry: a
gateway tracks at most as many satellites as it has antennas, and the satellites over a dense area land at
the several gateways they see. :func:`spill_overloaded_gateways` models that with one deterministic rule:

1. route every terminal as usual (the given routes) and add up each gateway's offered load (Mbps);
2. every gateway whose load exceeds its feeder capacity keeps its terminals in order of increasing RTT
   (then lower row) while their cumulative demand fits; the others are *waiting*, and the gateway closes;
3. the waiting terminals are re-routed with the closed gateways' landing withdrawn: each takes the next
   gateway by the router's rule. A gateway admits its newcomers in order of increasing RTT (then lower
   row) while they fit in the room its own terminals leave; a gateway that turns one away closes. Its own
   terminals are never pushed out by newcomers, so no gateway ends above its capacity because of a move;
4. step 3 repeats while terminals are waiting and some are admitted. Every round either admits every
   waiting terminal or closes another gateway, so there are at most as many rounds as gateways.

Terminals move whole (a row of many subscribers lands at one gateway). A terminal still waiting at the end
(no gateway with room reaches it) keeps its first route: that gateway stays overloaded and the capacity
model shares it. Routes of terminals that do not move are unchanged, bit for bit; with no overloaded
gateway nothing is re-routed.
"""

from __future__ import annotations

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
    limit = capacity * (1.0 + OVERLOAD_RTOL)
    demand = np.asarray(demand_mbps, dtype=np.float64).ravel()
    src = np.asarray(src, dtype=np.int64).ravel()
    dst = np.asarray(dst, dtype=np.int64).ravel()
    allowed = np.ones(n_gw, bool) if landing is None else np.asarray(landing, dtype=bool).reshape(n_gw)
    moved = np.zeros(src.size, bool)
    rows = np.flatnonzero((routes.gateway >= 0) & (demand > 0))
    gpos = np.searchsorted(gateways, routes.gateway[rows])
    load = np.bincount(gpos, weights=demand[rows], minlength=n_gw)
    closed = load > limit
    if not closed.any():
        return routes, moved
    # Step 2: an overloaded gateway keeps its nearest terminals up to its capacity.
    pick = closed[gpos]
    _keep, wait = _admit(rows[pick], gpos[pick], routes.rtt_ms, demand, np.zeros(n_gw), limit)
    gateway_of = np.full(src.size, -1, np.int64)
    gateway_of[rows] = gpos
    load -= np.bincount(gateway_of[wait], weights=demand[wait], minlength=n_gw)
    first = routes
    for _round in range(n_gw):
        room_open = allowed & ~closed
        if wait.size == 0 or not room_open.any():
            break
        again = router.route(sat_ecef_km, src[wait], dst[wait], gsl_edges=gsl_edges, landing=room_open,
                             extra_sites=extra_sites)
        reach = again.gateway >= 0
        if not reach.any():
            break
        cand = np.flatnonzero(reach)
        cpos = np.searchsorted(gateways, again.gateway[cand])
        # Step 3: newcomers in order of their new RTT, into the room each gateway has left.
        ok, refused = _admit(cand, cpos, again.rtt_ms, demand[wait], load, limit)
        if ok.size:
            routes = routes.with_rows(again, wait[ok], ok)
            moved[wait[ok]] = True
            load += np.bincount(np.searchsorted(gateways, again.gateway[ok]), weights=demand[wait[ok]],
                                minlength=n_gw)
        closed[np.unique(np.searchsorted(gateways, again.gateway[refused]))] = True
        wait = np.sort(np.r_[wait[~reach], wait[refused]])
        if ok.size == 0:
            break
    # Step 4: terminals still waiting keep their first route.
    if wait.size:
        routes = routes.with_rows(first, wait, wait)
        moved[wait] = False
    return routes, moved


def _admit(rows, gpos, rtt_ms, demand, load, limit):
    """Split ``rows`` (landing at gateway positions ``gpos``) into those admitted, in order of increasing
    ``rtt_ms[rows]`` (then row) while the gateway's ``load`` plus their cumulative ``demand[rows]`` stays within
    ``limit``, and those refused. ``rtt_ms`` and ``demand`` are indexed by the values in ``rows``."""
    if rows.size == 0:
        return rows, rows
    order = np.lexsort((rows, rtt_ms[rows], gpos))
    rows_s, gpos_s = rows[order], gpos[order]
    cum = np.cumsum(demand[rows_s])
    start = np.r_[0, np.flatnonzero(np.diff(gpos_s)) + 1]
    before = np.repeat(cum[start] - demand[rows_s[start]], np.diff(np.r_[start, rows_s.size]))
    fits = load[gpos_s] + (cum - before) <= limit[gpos_s]
    # Once one terminal does not fit, the gateway admits no one after it (nearest first, strictly).
    stop = np.maximum.accumulate(np.where(~fits, np.arange(rows_s.size), -1))
    gate_start = np.repeat(start, np.diff(np.r_[start, rows_s.size]))
    admitted = ~(stop >= gate_start)
    return np.sort(rows_s[admitted]), np.sort(rows_s[~admitted])
