"""The fast paths of one routing step (issue 7): best PoP from one dijkstra, the graph built from one
sorted key, GSLs computed once per step and shared with the coverage count. Each is checked against
the slower, independent way of getting the same answer."""

from __future__ import annotations

import numpy as np
import pytest

from leosim.constants import SPEED_OF_LIGHT_KM_S
from leosim.geometry import visible_pairs
from leosim.ground.sites import Sites, default_cities, default_ground_infrastructure
from leosim.network.graph import MIN_EDGE_DELAY_S, NodeLayout, delay_graph
from leosim.network.links import gsl_edges_by_elevation, gsl_edges_by_range, plus_grid_isls
from leosim.network.routing import Router
from leosim.orbits.constellation import Constellation
from leosim.scenario import Scenario
from leosim.scenario.engine import ChunkEngine
from leosim.timebase import Times
from synthetic import walker_ecef_km

MASK_DEG = 25.0
RTT_TOL_MS = 1e-9  # both searches add the same link delays in the same order; 1e-9 ms = 1 ps, far below


@pytest.fixture(scope="module")
def gen1():
    sats = Constellation.preset("starlink-gen1")
    sites = Sites.concat([default_cities(200), default_ground_infrastructure()])
    isls = plus_grid_isls(sats.shell, sats.plane, sats.slot)
    rng = np.random.default_rng(2024)
    offsets_ns = np.sort(rng.integers(0, 86_400 * 10**9, 3))  # three random instants of one day
    times = Times(np.datetime64("2024-10-25T00:00:00", "ns") + offsets_ns.astype("timedelta64[ns]"))
    return sats, sites, isls, list(sats.positions_km(times))


def _per_pop_reference(router, pos, src):
    """Every (source, PoP) routed with the PoP fixed: one dijkstra per PoP over all fibre legs."""
    pops = router.pops
    s, q = (a.ravel() for a in np.meshgrid(src, pops, indexing="ij"))
    step = router.route(pos, s, q)
    return step, step.rtt_ms.reshape(src.size, pops.size)


@pytest.mark.parametrize("instant", [0, 1, 2])
def test_best_pop_from_one_search_equals_the_per_pop_search(gen1, instant):
    _sats, sites, isls, positions = gen1
    pos = positions[instant]
    router = Router(sites.ecef_km, sites.kinds, mode="user", isls=isls, site_up=sites.up,
                    min_elevation_deg=MASK_DEG)
    src = np.flatnonzero(sites.kinds == "city")
    fast = router.route(pos, src, np.full(src.size, -1))
    ref, rtt = _per_pop_reference(router, pos, src)
    best = np.argmin(np.where(np.isnan(rtt), np.inf, rtt), axis=1)
    best_rtt = rtt[np.arange(src.size), best]
    reach = np.isfinite(best_rtt)
    assert reach.sum() > 0.9 * src.size  # most of the 200 cities are served at any instant
    np.testing.assert_array_equal(np.isfinite(fast.rtt_ms), reach)
    np.testing.assert_allclose(fast.rtt_ms[reach], best_rtt[reach], rtol=0, atol=RTT_TOL_MS)
    tie = (rtt == best_rtt[:, None]).sum(axis=1) > 1
    same = reach & ~tie
    np.testing.assert_array_equal(fast.dst[same], router.pops[best[same]])
    row = np.arange(src.size) * router.pops.size + best
    np.testing.assert_array_equal(fast.gateway[same], ref.gateway[row[same]])
    np.testing.assert_array_equal(fast.hops[same], ref.hops[row[same]])
    for p in np.flatnonzero(same):
        np.testing.assert_array_equal(fast.path(p), ref.path(row[p]))
    assert (fast.dst[~reach] == -1).all() and (fast.gateway[~reach] == -1).all()


def test_best_pop_ties_at_a_gateway_go_to_the_lower_pop_index(gen1):
    _sats, sites, isls, positions = gen1
    gateways, pops = np.flatnonzero(sites.kinds == "gateway"), np.flatnonzero(sites.kinds == "pop")
    rng = np.random.default_rng(5)
    fibre = rng.uniform(50.0, 5000.0, (gateways.size, pops.size))
    fibre[:, 7] = fibre[:, 3] = fibre.min(axis=1) / 2  # PoPs 3 and 7 equally nearest to every gateway
    router = Router(sites.ecef_km, sites.kinds, mode="user", isls=isls, site_up=sites.up,
                    min_elevation_deg=MASK_DEG, fibre_km=fibre)
    src = np.flatnonzero(sites.kinds == "city")[:50]
    fast = router.route(positions[0], src, np.full(src.size, -1))
    _ref, rtt = _per_pop_reference(router, positions[0], src)
    reach = np.isfinite(fast.rtt_ms)
    assert reach.any()
    np.testing.assert_array_equal(rtt[reach, 3], rtt[reach, 7])  # an exact tie ...
    np.testing.assert_allclose(fast.rtt_ms[reach], rtt[reach, 3], rtol=0, atol=RTT_TOL_MS)
    assert (fast.dst[reach] == pops[3]).all()  # ... resolved to the lower site index, as np.argmin does


def test_best_pop_with_fewer_sources_than_pops_and_mixed_destinations(gen1):
    _sats, sites, isls, positions = gen1
    router = Router(sites.ecef_km, sites.kinds, mode="user", isls=isls, site_up=sites.up,
                    min_elevation_deg=MASK_DEG)
    src = np.flatnonzero(sites.kinds == "city")[:3]
    _ref, rtt = _per_pop_reference(router, positions[1], src)
    fast = router.route(positions[1], src, [-1, -1, -1])
    np.testing.assert_allclose(fast.rtt_ms, np.nanmin(rtt, axis=1), rtol=0, atol=RTT_TOL_MS)
    # One pair with a fixed PoP: the per-PoP search serves all pairs, with the same answers.
    mixed = router.route(positions[1], src, [-1, router.pops[4], -1])
    np.testing.assert_allclose(mixed.rtt_ms, [fast.rtt_ms[0], rtt[1, 4], fast.rtt_ms[2]], rtol=0,
                               atol=RTT_TOL_MS)
    assert mixed.dst[1] == router.pops[4]


def test_delay_graph_matches_a_dense_reference_and_keeps_the_shortest_duplicate():
    pos, plane, slot = walker_ecef_km(6, 8, 550.0, 53.0, 50.0)
    isls = plus_grid_isls(np.zeros_like(plane), plane, slot)
    isls = np.r_[isls, isls[:5, ::-1]]  # the first 5 links listed twice, the other way round
    length = np.linalg.norm(pos[isls[:, 0]] - pos[isls[:, 1]], axis=1)
    length[-5:] += 100.0  # the repeats are longer: the graph keeps the first ones
    length[7] = np.nan  # unusable at this instant
    length[8] = 0.0  # zero length: floored, still an edge
    layout = NodeLayout(pos.shape[0], 4)
    rng = np.random.default_rng(3)
    gsl_site = np.repeat(np.arange(4), 3)
    gsl_sat = rng.choice(pos.shape[0], gsl_site.size, replace=False)
    gsl_len = rng.uniform(550.0, 1500.0, gsl_site.size)
    relay = np.array([False, True, False, False])
    g_from, g_to, g_delay = np.array([0, 2]), np.array([3, 3]), np.array([0.004, np.nan])
    graph = delay_graph(layout, isls=isls, isl_length_km=length, gsl_site=gsl_site, gsl_sat=gsl_sat,
                        gsl_length_km=gsl_len, relay_site=relay, ground_from=g_from, ground_to=g_to,
                        ground_delay_s=g_delay)
    # Independent reference: a dense matrix filled edge by edge, keeping the least delay.
    n = layout.n_nodes
    want = np.full((n, n), np.inf)
    c = SPEED_OF_LIGHT_KM_S

    def edge(a, b, d):
        want[a, b] = min(want[a, b], max(d, MIN_EDGE_DELAY_S))

    for (a, b), km in zip(isls, length, strict=True):
        if np.isfinite(km):
            edge(a, b, km / c)
            edge(b, a, km / c)
    for site, sat, km in zip(gsl_site, gsl_sat, gsl_len, strict=True):
        edge(layout.source(site), sat, km / c)
        edge(sat, layout.sink(site), km / c)
        if relay[site]:
            edge(sat, layout.source(site), km / c)
    edge(layout.sink(0), layout.sink(3), 0.004)
    got = np.full((n, n), np.inf)
    rows = np.repeat(np.arange(n), np.diff(graph.indptr))
    got[rows, graph.indices] = graph.data
    np.testing.assert_array_equal(got, want)
    assert graph.nnz == np.isfinite(want).sum()  # no duplicate entries left
    assert all(np.all(np.diff(graph.indices[graph.indptr[r]:graph.indptr[r + 1]]) > 0) for r in range(n))


def test_router_gsl_edges_are_the_visible_pairs_and_can_be_passed_back(gen1):
    _sats, sites, isls, positions = gen1
    mask = np.where(sites.kinds == "gateway", 25.0, 40.0)
    router = Router(sites.ecef_km, sites.kinds, mode="user", isls=isls, site_up=sites.up,
                    min_elevation_deg=mask)
    pos = positions[2]
    site_idx, sat_idx, length = router.gsl_edges(pos)
    gsl_sites = np.flatnonzero(sites.kinds != "pop")  # PoPs are reached over fibre only
    i, j, _el, _az, rng_km = visible_pairs(sites.ecef_km[gsl_sites], sites.up[gsl_sites], pos, mask[gsl_sites])
    np.testing.assert_array_equal(site_idx, gsl_sites[i])
    np.testing.assert_array_equal(sat_idx, j)
    np.testing.assert_array_equal(length, rng_km)
    src = np.flatnonzero(sites.kinds == "city")
    a = router.route(pos, src, np.full(src.size, -1))
    b = router.route(pos, src, np.full(src.size, -1), gsl_edges=(site_idx, sat_idx, length))
    for name in ("dst", "gateway", "rtt_ms", "hops", "paths"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))


def test_prebuilt_site_tree_gives_the_same_gsls(gen1):
    from scipy.spatial import cKDTree

    _sats, sites, _isls, positions = gen1
    tree = cKDTree(sites.ecef_km)
    for got, want in (
        (gsl_edges_by_elevation(sites.ecef_km, sites.up, positions[0], MASK_DEG, site_tree=tree),
         gsl_edges_by_elevation(sites.ecef_km, sites.up, positions[0], MASK_DEG)),
        (gsl_edges_by_range(sites.ecef_km, positions[0], 1100.0, site_tree=tree),
         gsl_edges_by_range(sites.ecef_km, positions[0], 1100.0)),
    ):
        for g, w in zip(got, want, strict=True):
            np.testing.assert_array_equal(g, w)


def test_engine_coverage_counts_the_terminal_visible_pairs():
    cities = default_cities(30)
    sites = [{"id": str(i), "name": str(n), "lat": float(la), "lon": float(lo)}
             for i, n, la, lo in zip(cities.ids, cities.names, cities.lat_deg, cities.lon_deg, strict=True)]
    plan = Scenario({
        "scenario": {"name": "coverage from the routers' GSLs"},
        "constellation": {"preset": "starlink-gen1"},
        "time": {"start": "2024-10-25T00:00:00Z", "duration_s": 5.0, "step_s": 1.0},
        "network": {"routing": "user", "isl": "plus-grid"},
        "policy": {"default_state": "active"},
        "sites": sites,
        "analyses": {"whatif": False, "cost": False, "path_dynamics": False, "latency": False},
        "output": {"report": False},
    }).plan
    engine = ChunkEngine(plan)
    out = engine.run(plan.times)
    term = engine.terminals
    states = plan.constellation.states(plan.times, knot_spacing_s=plan.knot_spacing_s)
    sites = plan.sites
    mask_deg = plan.spec.network.terminal_min_elevation_deg
    want = [np.bincount(visible_pairs(sites.ecef_km[term], sites.up[term], states.position_km[k], mask_deg)[0],
                        minlength=term.size)
            for k in range(len(plan.times))]
    np.testing.assert_array_equal(out["coverage"]["visible_sats"], np.concatenate(want))
    assert (out["coverage"]["visible_sats"] > 0).any()
