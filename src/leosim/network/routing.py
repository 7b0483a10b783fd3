"""Shortest-delay routing at one instant, between ground sites, over satellites and ISLs.

The numeric core is :func:`shortest_paths` (one ``scipy.sparse.csgraph.dijkstra`` call from all the
sources of a step, vectorised path reconstruction). :class:`Router` holds what is fixed for a run (sites,
ISL set, mode, GSL rule) and routes one instant at a time from satellite positions. It runs dijkstra from
whichever end of the pairs has fewer distinct sites: from the sources on the delay graph, or from the
destinations on the transposed graph (every edge reversed, same delays) — e.g. 1,000 terminals to their
best of 30 PoPs costs 30 dijkstra runs, not 1,000. Never all-pairs Floyd–Warshall.

Modes (see issue 3):

* ``isl``: site → satellite → ISLs → satellite → site; sites never relay (Hypatia's
  ``algorithm_free_one_only_over_isls``).
* ``bent-pipe``: site → one satellite → site, both in view of that satellite at once; no ISLs.
* ``ground-relay``: like ``isl`` (with whatever ISLs are given; none for Hypatia's
  ``algorithm_free_one_only_gs_relays``) but sites whose kind is in ``relay_kinds`` (default gateways)
  may relay: satellite → site → satellite.
* ``user``: terminal → satellites (ISLs) → gateway → terrestrial fibre → PoP, choosing the gateway and
  PoP that minimise the RTT; PoPs have no GSLs (they are reached only over fibre). A pair's destination
  ``-1`` means "best PoP"; a PoP index fixes the PoP (the gateway is still chosen).

Gateway selection in ``user`` mode (``gateway_selection``, one of :data:`GATEWAY_SELECTIONS`):

* ``lowest-rtt`` (default): the gateway and PoP that minimise the whole RTT, fibre included. Lasers run at
  c and fibre at c/1.468, so this lands almost all traffic at the few gateways next to the PoPs.
* ``nearest``: the gateway (among those with landing rights and a fibre leg to the PoP) with the least
  *space-segment* one-way delay from the terminal (terminal → satellite(s) → ISLs → gateway), as Starlink
  lands a terminal's traffic near the terminal and carries it to the PoP over terrestrial fibre. The PoP is
  the given one, or (``-1``) the one nearest that gateway by fibre. The searches are the same, on a graph
  whose fibre legs weigh :data:`~leosim.network.graph.MIN_EDGE_DELAY_S` (a zero weight would vanish from
  the sparse graph); the reported delay is then the space delay plus the chosen leg's true fibre delay.
  Ties: between gateways at exactly the same space delay, the one the search reaches first (deterministic
  for given inputs); between PoPs equally near the chosen gateway, the lower site index. Pairs with a given
  PoP and pairs with ``-1`` in one call are routed as two groups.

Best PoP for every pair (all destinations ``-1``, the scenario engine's case) takes one dijkstra, not
one per PoP: from all PoPs at once on the transposed graph (``min_only``: each node's distance from its
nearest PoP, and which PoP that is), with each gateway's fibre reduced to its nearest PoP (the lowest
PoP index among equally near ones; no other fibre leg can be on a shortest path). RTTs equal the
per-PoP search's to the last bit (both are the least sum of the same link delays, accumulated in the
same order). Ties: when two PoPs give exactly the same delay through the same gateway, the lower site
index wins (as in the per-PoP search); through different gateways (an exact float tie, not seen in
practice), the PoP whose search reaches the terminal first wins — deterministic for given inputs, so
chunking never changes it, but not necessarily the lower index.

Node ids in paths follow Hypatia: satellites ``0..N-1``, site ``j`` is ``N + j``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.sparse.csgraph import dijkstra
from scipy.spatial import cKDTree

from ..errors import LeosimInputError
from ..ground.geodesy import ecef_to_geodetic
from ..ground.sites import SITE_KINDS
from .graph import MIN_EDGE_DELAY_S, NodeLayout, delay_graph
from .links import (
    IslReport,
    gsl_edges_by_elevation,
    gsl_edges_by_range,
    isl_validity_and_lengths,
)
from .references import MS_PER_S, fibre_one_way_s, great_circle_km

MODES = ("isl", "bent-pipe", "ground-relay", "user")
"""Routing modes accepted by :class:`Router`."""

GATEWAY_SELECTIONS = ("lowest-rtt", "nearest")
"""How :class:`Router` picks the landing gateway in ``user`` mode (module docstring)."""

@dataclass(frozen=True)
class Paths:
    """Result of :func:`shortest_paths` for ``P`` (source, target) node pairs.

    ``delay_s`` ``(P,)`` one-way delay, inf where unreachable; ``nodes`` ``(P, L)`` int64 graph nodes of
    each path from source to target, right-aligned, padded with ``-1`` on the left; ``n_nodes``
    ``(P,)`` path length in nodes (0 where unreachable).
    """

    delay_s: np.ndarray
    nodes: np.ndarray
    n_nodes: np.ndarray


def walk_predecessors(predecessors, rows, targets) -> tuple[np.ndarray, np.ndarray]:
    """Paths from the predecessor matrix of a multi-source dijkstra.

    ``predecessors`` ``(S, n)``; ``rows`` ``(P,)`` row (source) of each pair; ``targets`` ``(P,)`` target
    node, or negative for "no path". Returns ``(nodes (P, L), length (P,))``: each row is a path from its
    source to its target, right-aligned (padded with -1 on the left; ``row[row >= 0]`` is the path).
    Loops over hops (a path's length), vectorised over pairs.
    """
    rows = np.asarray(rows, dtype=np.int64)
    targets = np.asarray(targets, dtype=np.int64)
    n_pairs = targets.size
    flat = np.ascontiguousarray(predecessors).reshape(-1)
    base = rows * predecessors.shape[1]
    first = np.where(targets >= 0, targets, -1)
    cols = [first]
    active = np.flatnonzero(first >= 0)
    cur = first[active]
    for _ in range(predecessors.shape[1] + 1):  # a path has at most n nodes
        if active.size == 0:
            break
        nxt = flat[base[active] + cur].astype(np.int64)
        keep = nxt >= 0
        active, cur = active[keep], nxt[keep]
        col = np.full(n_pairs, -1, dtype=np.int64)
        col[active] = cur
        cols.append(col)
    # Columns hold the target first, then its predecessors back to the source, -1 after: reversed, the
    # rows are the paths in forward order, right-aligned (padded with -1 on the left).
    nodes = np.stack(cols[::-1], axis=1)
    length = (nodes >= 0).sum(axis=1)
    return nodes, length.astype(np.int64)


def reverse_paths(nodes, length) -> np.ndarray:
    """Reverse each right-aligned path row of ``nodes`` ``(P, L)`` (``length`` ``(P,)`` nodes each),
    keeping them right-aligned."""
    nodes = np.asarray(nodes)
    width = nodes.shape[1]
    k = np.arange(width)[None, :]
    start = width - np.asarray(length)[:, None]  # first used column
    idx = np.where(k >= start, width - 1 - (k - start), 0)
    out = np.take_along_axis(nodes, idx, axis=1)
    out[k < start] = -1
    return out


def shortest_paths(graph, sources, pair_source, pair_target) -> Paths:
    """Shortest-delay paths for node pairs, from one dijkstra call over the distinct sources.

    ``graph``: CSR ``(n, n)`` of delays; ``pair_source``, ``pair_target``: int ``(P,)`` graph nodes;
    ``sources``: the distinct source nodes, sorted (must contain every ``pair_source``).
    """
    dist, pred = multi_source_dijkstra(graph, sources)
    return paths_from_tree(dist, pred, sources, pair_source, pair_target)


def multi_source_dijkstra(graph, sources) -> tuple[np.ndarray, np.ndarray]:
    """``(dist (S, n), predecessors (S, n))`` from each of the sorted ``sources``: one dijkstra call."""
    sources = np.asarray(sources, dtype=np.int64)
    n = graph.shape[0]
    if sources.size == 0:
        return np.empty((0, n)), np.empty((0, n), dtype=np.int32)
    return dijkstra(graph, directed=True, indices=sources, return_predecessors=True)


def paths_from_tree(dist, pred, sources, pair_source, pair_target) -> Paths:
    """:class:`Paths` for node pairs from the output of :func:`multi_source_dijkstra`; a negative source
    or target means "no path"."""
    sources = np.asarray(sources, dtype=np.int64)
    pair_source = np.asarray(pair_source, dtype=np.int64)
    pair_target = np.asarray(pair_target, dtype=np.int64)
    n_pair = pair_source.size
    if sources.size == 0 or n_pair == 0:
        return Paths(np.full(n_pair, np.inf), np.full((n_pair, 1), -1, np.int64), np.zeros(n_pair, np.int64))
    ok = (pair_source >= 0) & (pair_target >= 0)
    row = np.clip(np.searchsorted(sources, pair_source), 0, sources.size - 1)
    delay = np.where(ok, dist[row, np.maximum(pair_target, 0)], np.inf)
    nodes, length = walk_predecessors(pred, row, np.where(np.isfinite(delay), pair_target, -1))
    return Paths(delay, nodes, length)


@dataclass(frozen=True)
class ExtraSites:
    """Places routed for one call in addition to a router's fixed sites (see the module docstring).

    ``ecef_km`` ``(E, 3)`` Earth-fixed positions, km; ``up`` ``(E, 3)`` geodetic up unit vectors;
    ``min_elevation_deg`` ``(E,)`` elevation masks (used unless the router uses the range rule). They are
    terminals: they never relay and have no fibre.
    """

    ecef_km: np.ndarray
    up: np.ndarray
    min_elevation_deg: np.ndarray

    @classmethod
    def from_geodetic(cls, lat_deg, lon_deg, alt_km, min_elevation_deg) -> ExtraSites:
        """From WGS84 latitude/longitude (deg) and height (km), with an elevation mask (deg, scalar or
        ``(E,)``)."""
        from ..ground.geodesy import enu_basis, geodetic_to_ecef

        lat = np.atleast_1d(np.asarray(lat_deg, dtype=np.float64))
        lon = np.atleast_1d(np.asarray(lon_deg, dtype=np.float64))
        alt = np.broadcast_to(np.asarray(alt_km, dtype=np.float64), lat.shape)
        ecef = np.asarray(geodetic_to_ecef(lat, lon, alt), dtype=np.float64).reshape(-1, 3)
        up = np.asarray(enu_basis(lat, lon), dtype=np.float64)[:, 2]
        mask = np.broadcast_to(np.asarray(min_elevation_deg, dtype=np.float64), lat.shape).copy()
        return cls(ecef, up, mask)

    @property
    def count(self) -> int:
        return int(self.ecef_km.shape[0])

    @staticmethod
    def concat(*parts: ExtraSites | None) -> ExtraSites | None:
        """One :class:`ExtraSites` of ``parts`` in order (extra site ``e`` of the second part becomes
        ``parts[0].count + e``); None parts are skipped, a single part is returned as is, None when none."""
        given = [p for p in parts if p is not None]
        if len(given) <= 1:
            return given[0] if given else None
        return ExtraSites(np.concatenate([p.ecef_km for p in given]), np.concatenate([p.up for p in given]),
                          np.concatenate([p.min_elevation_deg for p in given]))


@dataclass(frozen=True)
class StepRoutes:
    """Routes of ``P`` pairs at one instant.

    ``src``, ``dst`` int64 ``(P,)`` site indices (in ``user`` mode ``dst`` is the PoP used, ``-1`` when
    there is no path); ``gateway`` ``(P,)`` the gateway used in ``user`` mode (else ``-1``);
    ``rtt_ms`` ``(P,)`` round-trip time = 2 × one-way delay (NaN when there is no path, never 0);
    ``one_way_ms`` ``(P,)``; ``hops`` ``(P,)`` links on the path (``-1`` when none); ``paths`` ``(P, L)``
    int64 Hypatia node ids (satellites ``0..N-1``, site ``j`` = ``N + j``) in path order, right-aligned
    (padded with ``-1`` on the left; use :meth:`path`);
    ``isl_valid`` ``(K,)`` bool and ``isl_report`` the ISLs left out at this instant.
    """

    src: np.ndarray
    dst: np.ndarray
    gateway: np.ndarray
    rtt_ms: np.ndarray
    one_way_ms: np.ndarray
    hops: np.ndarray
    paths: np.ndarray
    isl_valid: np.ndarray
    isl_report: IslReport

    def path(self, p: int) -> np.ndarray:
        """Node ids of pair ``p``'s path (empty when there is none)."""
        row = self.paths[p]
        return row[row >= 0]

    def with_rows(self, other: StepRoutes, rows, other_rows) -> StepRoutes:
        """These routes with pairs ``rows`` replaced by ``other``'s pairs ``other_rows`` (same instant)."""
        rows = np.asarray(rows, dtype=np.int64)
        keep = np.setdiff1d(np.arange(self.src.size), rows)
        return merged_routes(self.src.size, [(keep, self, keep), (rows, other, other_rows)])


_PAIR_COLUMNS = ("src", "dst", "gateway", "rtt_ms", "one_way_ms", "hops")
"""The per-pair columns of :class:`StepRoutes` besides ``paths``."""


def merged_routes(n_pair: int, parts) -> StepRoutes:
    """One :class:`StepRoutes` of ``n_pair`` pairs from ``parts``, each ``(rows, routes, their_rows)``: pairs
    ``rows`` are ``routes``' pairs ``their_rows`` (None: all of them, in order); paths re-padded to the widest
    part, right-aligned. The parts must cover every pair; the ISL state is the first part's."""
    width = max(r.paths.shape[1] for _, r, _ in parts)
    out = {name: np.empty(n_pair, getattr(parts[0][1], name).dtype) for name in _PAIR_COLUMNS}
    paths = np.full((n_pair, width), -1, np.int64)
    for rows, routes, their in parts:
        pick = slice(None) if their is None else np.asarray(their, dtype=np.int64)
        for name, column in out.items():
            column[rows] = getattr(routes, name)[pick]
        if routes.paths.shape[1]:
            paths[rows, width - routes.paths.shape[1]:] = routes.paths[pick]
    first = parts[0][1]
    return StepRoutes(**out, paths=paths, isl_valid=first.isl_valid, isl_report=first.isl_report)


class Router:
    """Routes between ground sites at one instant at a time; fixed for a run: sites, ISLs, mode, rules.

    Parameters
    ----------
    site_ecef_km : ``(M, 3)`` Earth-fixed site positions, km.
    site_kind : ``(M,)`` str, each one of :data:`SITE_KINDS`.
    mode : one of :data:`MODES`.
    isls : ``(K, 2)`` int satellite index pairs (e.g. :func:`~leosim.network.links.plus_grid_isls`);
        ignored in ``bent-pipe`` mode.
    site_up, min_elevation_deg : ``(M, 3)`` geodetic up unit vectors and the elevation mask (scalar or
        ``(M,)`` deg): GSLs to every satellite at or above the mask. Used unless ``max_gsl_length_km``.
    max_gsl_length_km : Hypatia's convention instead: GSLs to every satellite within this range, km
        (scalar or ``(M,)``).
    max_isl_length_km, isl_shell_altitude_km : limits for :func:`~leosim.network.links.isl_validity`.
    relay_kinds : site kinds that may relay in ``ground-relay`` mode.
    fibre_km : ``user`` mode: ``(G, Q)`` measured fibre distances km from each gateway (in site order)
        to each PoP (in site order), NaN where not connected; default the great-circle distance.
    gateway_selection : ``user`` mode: one of :data:`GATEWAY_SELECTIONS` (module docstring): ``lowest-rtt``
        (default) or ``nearest``. ``nearest`` in any other mode is an error (there is no landing gateway).
    """

    def __init__(self, site_ecef_km, site_kind, *, mode: str = "isl", isls=None, site_up=None,
                 min_elevation_deg=None, max_gsl_length_km=None, max_isl_length_km=None,
                 isl_shell_altitude_km=None, relay_kinds=("gateway",), fibre_km=None, unlinked_sites=None,
                 gateway_selection: str = "lowest-rtt"):
        # ``unlinked_sites``: indices of sites that never get GSLs (placeholders of moving terminals, which
        # are routed as extra sites where their tracks put them).
        if mode not in MODES:
            raise LeosimInputError(f"unknown routing mode {mode!r}; accepted: {', '.join(MODES)}",
                                   field="mode")
        if gateway_selection not in GATEWAY_SELECTIONS:
            raise LeosimInputError(f"unknown gateway selection {gateway_selection!r}; accepted: "
                                   f"{', '.join(GATEWAY_SELECTIONS)}", field="gateway_selection")
        if gateway_selection != "lowest-rtt" and mode != "user":
            raise LeosimInputError(f"gateway_selection {gateway_selection!r} applies to user mode only (routes "
                                   f"in {mode!r} mode land at no gateway)", field="gateway_selection")
        self.gateway_selection = gateway_selection
        self.site_ecef_km = np.asarray(site_ecef_km, dtype=np.float64).reshape(-1, 3)
        self.site_kind = np.asarray(site_kind, dtype=str)
        n_site = self.site_ecef_km.shape[0]
        if self.site_kind.shape != (n_site,):
            raise LeosimInputError(f"site_kind must have one entry per site ({n_site}), "
                                   f"got shape {self.site_kind.shape}", field="site_kind")
        bad = ~np.isin(self.site_kind, SITE_KINDS)
        if bad.any():
            raise LeosimInputError(f"unknown site kind {self.site_kind[bad][0]!r} at site "
                                   f"{int(np.flatnonzero(bad)[0])}; accepted: {', '.join(SITE_KINDS)}",
                                   field="kind")
        self.mode = mode
        self.isls = (np.empty((0, 2), np.int64) if isls is None or mode == "bent-pipe"
                     else np.asarray(isls, dtype=np.int64).reshape(-1, 2))
        self.max_gsl_length_km = None
        if max_gsl_length_km is not None:
            self.max_gsl_length_km = np.broadcast_to(
                np.asarray(max_gsl_length_km, dtype=np.float64), (n_site,)).copy()
        else:
            if site_up is None or min_elevation_deg is None:
                raise LeosimInputError("GSL rule missing: give site_up and min_elevation_deg (elevation "
                                       "mask) or max_gsl_length_km (Hypatia's range rule)",
                                       field="min_elevation_deg")
            self.site_up = np.asarray(site_up, dtype=np.float64).reshape(-1, 3)
            if self.site_up.shape != (n_site, 3):
                raise LeosimInputError(f"site_up must be ({n_site}, 3), got {np.shape(site_up)}",
                                       field="site_up")
            self.min_elevation_deg = np.broadcast_to(
                np.asarray(min_elevation_deg, dtype=np.float64), (n_site,)).copy()
        self.max_isl_length_km = max_isl_length_km
        self.isl_shell_altitude_km = isl_shell_altitude_km
        self.layout_sites = n_site
        # Sites with GSLs: all, except PoPs in user mode (reached over fibre only).
        self.gsl_site_mask = np.ones(n_site, bool)
        if mode == "user":
            self.gsl_site_mask &= self.site_kind != "pop"
        if unlinked_sites is not None:
            self.gsl_site_mask[np.asarray(unlinked_sites, dtype=np.int64)] = False
        self._gsl_sites = np.flatnonzero(self.gsl_site_mask)
        self.relay_site = None
        if mode == "ground-relay":
            self.relay_site = np.isin(self.site_kind, np.asarray(relay_kinds, dtype=str))
        self.gateways = np.flatnonzero(self.site_kind == "gateway")
        self.pops = np.flatnonzero(self.site_kind == "pop")
        lat, lon, _ = ecef_to_geodetic(self.site_ecef_km)
        self.site_lat_deg, self.site_lon_deg = lat, lon
        self._ground = (np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0))
        if mode == "user":
            g, q = np.meshgrid(self.gateways, self.pops, indexing="ij")
            if fibre_km is None:
                dist = great_circle_km(lat[g], lon[g], lat[q], lon[q])
            else:
                dist = np.asarray(fibre_km, dtype=np.float64)
                if dist.shape != g.shape:
                    raise LeosimInputError(
                        f"fibre_km must be (gateways, PoPs) = {g.shape}, got {dist.shape}", field="fibre_km")
            self._ground = (g.ravel(), q.ravel(), fibre_one_way_s(dist).ravel())
        self._nearest_pop_ground = _nearest_pop_legs(*self._ground, self.gateways.size, self.pops.size)
        if gateway_selection == "nearest":
            # Searched on legs of the floor weight (the nearest gateway wins); reported with the true delay,
            # floored as the lowest-rtt graph floors it.
            self._fibre_delay_s = np.maximum(self._ground[2], MIN_EDGE_DELAY_S).reshape(g.shape)
            self._search_ground = _floor_weight_legs(*self._ground)
            self._search_nearest_pop_ground = _floor_weight_legs(*self._nearest_pop_ground)
        else:
            self._search_ground, self._search_nearest_pop_ground = self._ground, self._nearest_pop_ground
        # Built once here (not lazily), so that concurrent callers (the server's threads) share one router.
        self._site_tree = cKDTree(self.site_ecef_km[self._gsl_sites]) if self._gsl_sites.size else None

    def gsl_edges(self, sat_ecef_km, extra_sites: ExtraSites | None = None) -> tuple[np.ndarray, np.ndarray,
                                                                                      np.ndarray]:
        """The GSLs this router uses with satellites at ``sat_ecef_km`` ``(N, 3)`` km (Earth-fixed, NaN
        rows never linked): ``(site_idx, sat_idx, length_km)``, 1-D, sorted by site then satellite, site
        indices in this router's site order (``extra_sites`` after the fixed sites, ``M + e``). Only sites
        with GSLs appear (not PoPs in ``user`` mode); with the elevation rule these are exactly the pairs of
        ``leosim.geometry.visible_pairs`` for those sites and their masks. Pass the result to :meth:`route`
        (``gsl_edges=``, with the same ``extra_sites``) to reuse it."""
        edges = self._fixed_gsl_edges(sat_ecef_km)
        if extra_sites is None or extra_sites.count == 0:
            return edges
        esite, esat, elen = self._extra_gsl_edges(extra_sites, sat_ecef_km)
        return (np.concatenate([edges[0], esite + self.layout_sites]), np.concatenate([edges[1], esat]),
                np.concatenate([edges[2], elen]))

    def _fixed_gsl_edges(self, sat_ecef_km) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        sat_ecef_km = np.asarray(sat_ecef_km, dtype=np.float64).reshape(-1, 3)
        sites = self._gsl_sites
        if self.max_gsl_length_km is not None:
            i, j, length = gsl_edges_by_range(self.site_ecef_km[sites], sat_ecef_km,
                                              self.max_gsl_length_km[sites], site_tree=self._site_tree)
        else:
            i, j, length = gsl_edges_by_elevation(self.site_ecef_km[sites], self.site_up[sites], sat_ecef_km,
                                                  self.min_elevation_deg[sites], site_tree=self._site_tree)
        return sites[i], j, length

    def route(self, sat_ecef_km, src, dst, *, gsl_edges=None, landing=None,
              extra_sites: ExtraSites | None = None) -> StepRoutes:
        """Route pairs ``src[p] -> dst[p]`` (site indices, int ``(P,)``) with satellites at
        ``sat_ecef_km`` ``(N, 3)`` km (Earth-fixed, NaN rows for satellites without a position).

        ``gsl_edges``: this instant's ``(site_idx, sat_idx, length_km)`` from :meth:`gsl_edges` called with
        the same ``extra_sites`` (of this router, or one with the same sites and GSL rule) to skip computing
        them again; default: computed. ``landing``: ``user`` mode, ``(G,)`` bool in the order of the router's
        gateways (:attr:`gateways`): which gateways have landing rights (default all). ``extra_sites``:
        places numbered ``M + e`` after the ``M`` fixed sites for this call (:class:`ExtraSites`).
        """
        sat_ecef_km = np.asarray(sat_ecef_km, dtype=np.float64).reshape(-1, 3)
        src = np.asarray(src, dtype=np.int64).ravel()
        dst = np.asarray(dst, dtype=np.int64).ravel()
        n_extra = 0 if extra_sites is None else extra_sites.count
        self._check_pairs(src, dst, n_extra)
        if self.gateway_selection == "nearest" and (dst < 0).any() and (dst >= 0).any():
            return self._route_in_two_groups(sat_ecef_km, src, dst, gsl_edges=gsl_edges, landing=landing,
                                             extra_sites=extra_sites)
        layout = NodeLayout(sat_ecef_km.shape[0], self.layout_sites + n_extra)
        if self.isls.size and int(self.isls.max()) >= layout.n_sat:
            raise LeosimInputError(f"ISL set names satellite {int(self.isls.max())} but only "
                                   f"{layout.n_sat} satellites are given", field="isls")

        valid, report, isl_len = isl_validity_and_lengths(
            sat_ecef_km, self.isls, max_isl_length_km=self.max_isl_length_km,
            shell_altitude_km=self.isl_shell_altitude_km)
        isl_len = np.where(valid, isl_len, np.nan)
        gsite, gsat, glen = self.gsl_edges(sat_ecef_km, extra_sites) if gsl_edges is None else gsl_edges
        relay_site = self.relay_site
        if n_extra and relay_site is not None:
            relay_site = np.concatenate([relay_site, np.zeros(n_extra, bool)])
        best_pop_only = self.mode == "user" and src.size > 0 and self.pops.size > 0 and bool((dst < 0).all())
        ground = self._landing_legs(self._search_nearest_pop_ground if best_pop_only else self._search_ground,
                                    landing)
        graph = delay_graph(layout, isls=self.isls, isl_length_km=isl_len, gsl_site=gsite, gsl_sat=gsat,
                            gsl_length_km=glen, relay_site=relay_site, ground_from=ground[0],
                            ground_to=ground[1], ground_delay_s=ground[2])
        n_pair = src.size
        if best_pop_only:
            return self._route_to_best_pops(layout, graph, src, valid, report)
        # One dijkstra per distinct source. Route from whichever end has fewer distinct sites: from the
        # sources on the graph, or from the destinations' sinks on the transposed graph (same delays,
        # edges reversed), which gives each path backwards. In user mode "best PoP" needs all PoPs.
        choose = self.mode == "user" and bool((dst < 0).any())
        if choose:
            ends = self.pops
        else:
            ends = np.unique(dst)
        backward = ends.size < np.unique(src).size
        if backward:
            sources = layout.sink(ends)
            dist, pred = multi_source_dijkstra(graph.transpose().tocsr(), sources)
            if choose:
                to_pops = dist[np.searchsorted(sources, layout.sink(self.pops))][:, layout.source(src)].T
                dst = self._choose_pops(to_pops, dst)
            ok = dst >= 0
            paths = paths_from_tree(dist, pred, sources, np.where(ok, layout.sink(np.maximum(dst, 0)), -1),
                                    layout.source(src))
        else:
            sources = np.unique(layout.source(src))
            dist, pred = multi_source_dijkstra(graph, sources)
            if choose:
                rows = np.searchsorted(sources, layout.source(src))
                dst = self._choose_pops(dist[rows][:, layout.sink(self.pops)], dst)
            ok = dst >= 0
            paths = paths_from_tree(dist, pred, sources, layout.source(src),
                                    np.where(ok, layout.sink(np.maximum(dst, 0)), -1))
        reachable = np.isfinite(paths.delay_s)
        nodes = layout.to_hypatia_ids(paths.nodes)
        if backward:
            nodes = reverse_paths(nodes, paths.n_nodes)
        gateway = np.full(n_pair, -1, np.int64)
        if self.mode == "user":
            dst = np.where(reachable, dst, -1)
            # The gateway is the node just before the PoP (paths end ... -> gateway -> PoP).
            gw_node = nodes[:, -2] if nodes.shape[1] >= 2 else np.full(n_pair, -1)
            gateway = np.where(reachable & (paths.n_nodes >= 2), gw_node - layout.n_sat, -1)
        one_way_ms = self._one_way_ms(paths.delay_s, reachable, gateway, dst)
        return StepRoutes(src=src, dst=dst, gateway=gateway, rtt_ms=2.0 * one_way_ms, one_way_ms=one_way_ms,
                          hops=np.where(reachable, paths.n_nodes - 1, -1), paths=nodes,
                          isl_valid=valid, isl_report=report)

    def _landing_legs(self, legs, landing):
        """The terrestrial legs ``(from, to, delay_s)`` of the gateways with landing rights."""
        if landing is None:
            return legs
        landing = np.asarray(landing, dtype=bool).ravel()
        if landing.shape != self.gateways.shape:
            raise LeosimInputError(f"landing must have one entry per gateway ({self.gateways.size}), got "
                                   f"{landing.size}", field="landing")
        if landing.all():
            return legs
        keep = landing[np.searchsorted(self.gateways, legs[0])]
        return legs[0][keep], legs[1][keep], legs[2][keep]

    def _extra_gsl_edges(self, extra: ExtraSites, sat_ecef_km):
        """GSLs of :class:`ExtraSites` by this router's rule: ``(extra_idx, sat_idx, length_km)``."""
        if self.max_gsl_length_km is not None:
            limit = np.full(extra.count, float(np.max(self.max_gsl_length_km)) if self.max_gsl_length_km.size
                            else 0.0)
            return gsl_edges_by_range(extra.ecef_km, sat_ecef_km, limit)
        return gsl_edges_by_elevation(extra.ecef_km, extra.up, sat_ecef_km, extra.min_elevation_deg)

    def _route_to_best_pops(self, layout, graph, src, valid, report) -> StepRoutes:
        """User mode, every pair to its best PoP: one dijkstra from all PoPs at once (module docstring)."""
        dist, pred, nearest = dijkstra(graph.transpose().tocsr(), directed=True, indices=layout.sink(self.pops),
                                       return_predecessors=True, min_only=True)
        start = layout.source(src)
        delay_s = dist[start]
        reachable = np.isfinite(delay_s)
        nodes, n_nodes = walk_predecessors(pred[None, :], np.zeros(src.size, np.int64),
                                           np.where(reachable, start, -1))
        nodes = reverse_paths(layout.to_hypatia_ids(nodes), n_nodes)  # terminal ... gateway, PoP
        pop = np.where(reachable, nearest[start] - layout.n_sat - layout.n_site, -1).astype(np.int64)
        gateway = np.full(src.size, -1, np.int64)
        if nodes.shape[1] >= 2:
            gateway = np.where(reachable & (n_nodes >= 2), nodes[:, -2] - layout.n_sat, -1)
        one_way_ms = self._one_way_ms(delay_s, reachable, gateway, pop)
        return StepRoutes(src=src, dst=pop, gateway=gateway, rtt_ms=2.0 * one_way_ms, one_way_ms=one_way_ms,
                          hops=np.where(reachable, n_nodes - 1, -1), paths=nodes,
                          isl_valid=valid, isl_report=report)

    def _one_way_ms(self, delay_s, reachable, gateway, pop) -> np.ndarray:
        """One-way delay ms of routes whose searched delay is ``delay_s`` ``(P,)`` s, NaN where not
        ``reachable``. With ``nearest`` gateway selection the search weighed the fibre leg at the floor:
        the space delay plus the true fibre delay of the leg ``gateway`` → ``pop`` (site indices) instead."""
        if self.gateway_selection == "nearest":
            g = np.clip(np.searchsorted(self.gateways, gateway), 0, max(self.gateways.size - 1, 0))
            q = np.clip(np.searchsorted(self.pops, pop), 0, max(self.pops.size - 1, 0))
            fibre_s = self._fibre_delay_s[g, q] if self._fibre_delay_s.size else np.zeros(np.shape(delay_s))
            delay_s = np.where(reachable, (delay_s - MIN_EDGE_DELAY_S) + fibre_s, np.inf)
        return np.where(reachable, delay_s * MS_PER_S, np.nan)

    def _route_in_two_groups(self, sat_ecef_km, src, dst, *, gsl_edges, landing, extra_sites) -> StepRoutes:
        """``nearest`` gateway selection with both given PoPs and ``-1`` (best PoP): each group routed on its
        own (the all-PoPs search would tie every PoP behind the nearest gateway), merged in pair order."""
        if gsl_edges is None:
            gsl_edges = self.gsl_edges(sat_ecef_km, extra_sites)
        best = dst < 0
        return merged_routes(src.size, [(np.flatnonzero(sel), self.route(sat_ecef_km, src[sel], dst[sel],
                                                                         gsl_edges=gsl_edges, landing=landing,
                                                                         extra_sites=extra_sites), None)
                                        for sel in (best, ~best)])

    def _choose_pops(self, delay_to_pops, dst):
        """User mode: each pair's PoP: the given one, or (``dst == -1``) the one with the least delay;
        ``delay_to_pops`` ``(P, n_pops)`` in the order of ``self.pops``."""
        if self.pops.size == 0:
            return np.full(dst.size, -1, np.int64)
        best = self.pops[np.argmin(delay_to_pops, axis=1)]
        return np.where(dst >= 0, dst, best)

    def _check_pairs(self, src, dst, n_extra: int = 0):
        m = self.layout_sites + n_extra
        if src.shape != dst.shape:
            raise LeosimInputError(f"src and dst must have the same length, got {src.size} and {dst.size}",
                                   field="pairs")
        lo = -1 if self.mode == "user" else 0
        for name, arr, low in (("src", src, 0), ("dst", dst, lo)):
            bad = (arr < low) | (arr >= m)
            if bad.any():
                raise LeosimInputError(f"pair {int(np.flatnonzero(bad)[0])}: site index "
                                       f"{int(arr[bad][0])} out of range 0..{m - 1}", field=name)
        same = src == dst
        if same.any():
            raise LeosimInputError(f"pair {int(np.flatnonzero(same)[0])}: source and destination are the "
                                   f"same site {int(src[same][0])}", field="pairs")
        if self.mode == "user":
            fixed = dst >= 0
            not_pop = fixed & ((dst >= self.layout_sites)
                               | (self.site_kind[np.where(fixed, np.minimum(dst, self.layout_sites - 1), 0)] != "pop"))
            if not_pop.any():
                raise LeosimInputError(f"pair {int(np.flatnonzero(not_pop)[0])}: in user mode the "
                                       "destination must be a PoP or -1 (best PoP)", field="dst")


def _nearest_pop_legs(gateway, pop, delay_s, n_gateway: int, n_pop: int):
    """Terrestrial legs ``(from, to, delay_s)`` laid out gateway-major as in :class:`Router` (``G * Q``
    legs), reduced to each gateway's nearest PoP (first in order among equal delays, compared after the
    graph's :data:`~leosim.network.graph.MIN_EDGE_DELAY_S` floor, as the graph will hold them); gateways
    with no finite leg get none. A shortest path to the best PoP never uses another leg."""
    if gateway.size == 0 or n_gateway == 0 or n_pop == 0:
        return gateway, pop, delay_s
    delay = np.where(np.isfinite(delay_s), np.maximum(delay_s, MIN_EDGE_DELAY_S), np.inf).reshape(n_gateway, n_pop)
    best = np.argmin(delay, axis=1)
    rows = np.arange(n_gateway) * n_pop + best
    keep = rows[np.isfinite(delay_s[rows])]
    return gateway[keep], pop[keep], delay_s[keep]


def _floor_weight_legs(gateway, pop, delay_s):
    """The connected terrestrial legs ``(from, to, delay_s)`` (finite delay) with every delay set to the
    graph's floor :data:`~leosim.network.graph.MIN_EDGE_DELAY_S`: a search over them picks the gateway by
    its space-segment delay alone (``nearest`` gateway selection)."""
    keep = np.isfinite(delay_s)
    return gateway[keep], pop[keep], np.full(int(keep.sum()), MIN_EDGE_DELAY_S)
