"""Routing at one instant (leosim.network.routing, graph): hand-computable geometry, an independent
brute-force shortest path, and the invariants of issue 3 section 6."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from leosim.constants import SPEED_OF_LIGHT_KM_S, WGS84_A_KM
from leosim.errors import LeosimInputError
from leosim.ground.geodesy import enu_basis, geodetic_to_ecef
from leosim.network.links import plus_grid_isls
from leosim.network.references import fibre_rtt_ms, great_circle_km, vacuum_rtt_ms
from leosim.network.routing import Router
from synthetic import walker_ecef_km

C = SPEED_OF_LIGHT_KM_S
ONE_NS_MS = 1e-6  # RTTs from closed-form geometry: 1 ns (30 cm of light travel) is float round-off here
MASK_DEG = 25.0


def _sites(lat, lon, alt_km=0.0):
    lat, lon = np.asarray(lat, float), np.asarray(lon, float)
    return geodetic_to_ecef(lat, lon, alt_km), enu_basis(lat, lon)[..., 2, :]


def _walker(planes=24, slots=16, t_s=0.0):
    pos, plane, slot = walker_ecef_km(planes, slots, 550.0, 53.0, t_s)
    return pos, plus_grid_isls(np.zeros_like(plane), plane, slot)


def _random_sites(n, seed, max_lat=50.0):
    rng = np.random.default_rng(seed)
    return rng.uniform(-max_lat, max_lat, n), rng.uniform(-180, 180, n)


def _equatorial_ring(n_sat=24, alt_km=550.0):
    u = np.radians(np.arange(n_sat) * 360.0 / n_sat)
    r = WGS84_A_KM + alt_km
    pos = np.stack([r * np.cos(u), r * np.sin(u), np.zeros(n_sat)], axis=1)
    ring = np.stack([np.arange(n_sat), (np.arange(n_sat) + 1) % n_sat], axis=1)
    return pos, ring, r


def test_equatorial_ring_rtt_by_hand():
    n_sat, alt = 24, 550.0
    pos, ring, r = _equatorial_ring(n_sat, alt)
    k = 5  # the second site is below satellite 5
    site, up = _sites([0.0, 0.0], [0.0, k * 360.0 / n_sat])
    # An 80 deg mask: each site sees only the satellite straight above (the next one is 15 deg away).
    router = Router(site, ["city", "city"], isls=ring, site_up=up, min_elevation_deg=80.0)
    step = router.route(pos, [0], [1])
    chord = 2 * r * np.sin(np.radians(360.0 / n_sat) / 2)
    want_ms = 2 * (2 * alt + k * chord) / C * 1000
    assert step.rtt_ms[0] == pytest.approx(want_ms, abs=ONE_NS_MS)
    assert step.one_way_ms[0] == pytest.approx(want_ms / 2, abs=ONE_NS_MS)
    assert step.hops[0] == k + 2
    assert step.path(0).tolist() == [n_sat, *range(k + 1), n_sat + 1]
    # The ground station directly below satellite 0, bent pipe to itself is not a pair; one sat, one hop.
    router1 = Router(site[:1], ["city"], isls=ring, site_up=up[:1], min_elevation_deg=80.0)
    assert router1.route(pos, [], []).rtt_ms.size == 0


def test_matches_brute_force_shortest_paths():
    pos, isls = _walker(12, 12, t_s=321.0)
    lat, lon = _random_sites(8, 11)
    site, up = _sites(lat, lon)
    router = Router(site, np.full(8, "city"), isls=isls, site_up=up, min_elevation_deg=5.0)
    src, dst = (a.ravel() for a in np.meshgrid(np.arange(8), np.arange(8)))
    src, dst = src[src != dst], dst[src != dst]
    got = router.route(pos, src, dst).rtt_ms
    # Independent reference: dense Floyd–Warshall over satellites, ground legs added at both ends.
    n = pos.shape[0]
    d = np.full((n, n), np.inf)
    np.fill_diagonal(d, 0.0)
    seg = np.linalg.norm(pos[isls[:, 0]] - pos[isls[:, 1]], axis=1)
    d[isls[:, 0], isls[:, 1]] = d[isls[:, 1], isls[:, 0]] = seg
    for m in range(n):
        d = np.minimum(d, d[:, m:m + 1] + d[m:m + 1, :])
    los = pos[None] - site[:, None]
    rng_km = np.linalg.norm(los, axis=2)
    el = np.degrees(np.arcsin(np.einsum("mnk,mk->mn", los, up) / rng_km))
    g = np.where(el >= 5.0, rng_km, np.inf)  # (site, sat)
    total = (g[src][:, :, None] + d[None] + g[dst][:, None, :]).min(axis=(1, 2))
    want = np.where(np.isfinite(total), 2 * total / C * 1000, np.nan)
    assert np.isfinite(want).sum() > 20
    np.testing.assert_allclose(got, want, rtol=1e-12, equal_nan=True)
    # Many sources, one destination: routed backwards from the destination; same answers, and paths
    # still run from source to destination.
    for d in range(8):
        sel = dst == d
        step = router.route(pos, src[sel], dst[sel])
        np.testing.assert_allclose(step.rtt_ms, want[sel], rtol=1e-12, equal_nan=True)
        for p, s in enumerate(src[sel]):
            path = step.path(p)
            if path.size:
                assert path[0] == pos.shape[0] + s and path[-1] == pos.shape[0] + d


def _link_ok_and_length(node_a, node_b, pos, site, up, isl_set, mask_deg):
    n = pos.shape[0]
    pa = pos[node_a] if node_a < n else site[node_a - n]
    pb = pos[node_b] if node_b < n else site[node_b - n]
    if node_a < n and node_b < n:
        ok = frozenset((node_a, node_b)) in isl_set
    elif (node_a < n) != (node_b < n):
        s = (node_a if node_a >= n else node_b) - n
        los = (pb - pa) if node_a >= n else (pa - pb)
        ok = np.degrees(np.arcsin(los @ up[s] / np.linalg.norm(los))) >= mask_deg - 1e-9
    else:
        ok = False
    return ok, float(np.linalg.norm(pb - pa))


def test_path_delay_is_sum_of_link_delays_and_links_are_real():
    pos, isls = _walker(24, 16, t_s=55.0)
    lat, lon = _random_sites(15, 2)
    site, up = _sites(lat, lon)
    router = Router(site, np.full(15, "city"), isls=isls, site_up=up, min_elevation_deg=MASK_DEG)
    src, dst = np.triu_indices(15, k=1)
    step = router.route(pos, src, dst)
    isl_set = {frozenset(r) for r in isls.tolist()}
    n = pos.shape[0]
    checked = 0
    for p in range(src.size):
        path = step.path(p).tolist()
        if not path:
            continue
        assert path[0] == n + src[p] and path[-1] == n + dst[p]
        assert all(v < n for v in path[1:-1]), "a site relayed traffic in isl mode"
        total = 0.0
        for a, b in itertools.pairwise(path):
            ok, length = _link_ok_and_length(a, b, pos, site, up, isl_set, MASK_DEG)
            assert ok, (a, b)
            total += length
        assert step.rtt_ms[p] == pytest.approx(2 * total / C * 1000, abs=ONE_NS_MS)
        assert step.hops[p] == len(path) - 1
        checked += 1
    assert checked > 90


def test_symmetry_each_direction_routed_from_its_own_source():
    pos, isls = _walker(24, 16, t_s=700.0)
    lat, lon = _random_sites(12, 5)
    site, up = _sites(lat, lon)
    router = Router(site, np.full(12, "city"), isls=isls, site_up=up, min_elevation_deg=MASK_DEG)
    a, b = np.triu_indices(12, k=1)
    forward = router.route(pos, a, b)
    backward = router.route(pos, b, a)
    # Different dijkstra sources sum the same link delays in a different order: 1e-12 relative.
    np.testing.assert_allclose(forward.rtt_ms, backward.rtt_ms, rtol=1e-12, equal_nan=True)
    np.testing.assert_array_equal(forward.hops, backward.hops)


def test_vacuum_great_circle_bound_is_never_beaten():
    pos, isls = _walker(24, 16, t_s=1234.0)
    lat, lon = _random_sites(40, 8, max_lat=55.0)
    site, up = _sites(lat, lon)
    router = Router(site, np.full(40, "city"), isls=isls, site_up=up, min_elevation_deg=MASK_DEG)
    a, b = np.triu_indices(40, k=1)
    rtt = router.route(pos, a, b).rtt_ms
    bound = vacuum_rtt_ms(great_circle_km(lat[a], lon[a], lat[b], lon[b]))
    ok = np.isfinite(rtt)
    assert ok.sum() > 600
    assert np.all(rtt[ok] > bound[ok])


def test_triangle_inequality_when_every_site_may_relay():
    # With relaying sites the path a->b followed by b->c is itself a valid a->c path, so
    # rtt(a, c) <= rtt(a, b) + rtt(b, c). (In isl mode sites never relay and this need not hold.)
    pos, isls = _walker(24, 16, t_s=90.0)
    lat, lon = _random_sites(14, 21)
    site, up = _sites(lat, lon)
    router = Router(site, np.full(14, "gateway"), mode="ground-relay", isls=isls, site_up=up,
                    min_elevation_deg=MASK_DEG)
    a, b = (x.ravel() for x in np.meshgrid(np.arange(14), np.arange(14)))
    keep = a != b
    step = router.route(pos, a[keep], b[keep])
    rtt = np.zeros((14, 14))
    rtt[a[keep], b[keep]] = step.rtt_ms
    assert np.isfinite(rtt).all()
    lhs = rtt[:, None, :]  # (a, ., c)
    rhs = rtt[:, :, None] + rtt[None, :, :]  # (a, b, c): a->b + b->c
    i, j, k = np.meshgrid(*(np.arange(14),) * 3, indexing="ij")
    distinct = (i != j) & (j != k) & (i != k)
    assert np.all(np.broadcast_to(lhs, rhs.shape)[distinct] <= rhs[distinct] * (1 + 1e-12))


def test_no_path_is_nan_never_zero():
    pos, isls = _walker(24, 16)
    site, up = _sites([0.0, 89.0], [0.0, 0.0])  # a 53 deg shell is never above 25 deg at 89 deg N
    router = Router(site, ["city", "city"], isls=isls, site_up=up, min_elevation_deg=MASK_DEG)
    step = router.route(pos, [0, 1], [1, 0])
    assert np.isnan(step.rtt_ms).all() and np.isnan(step.one_way_ms).all()
    assert step.hops.tolist() == [-1, -1]
    assert step.path(0).size == 0 and step.path(1).size == 0
    # All satellites lost: no path either, and every ISL reported.
    step = router.route(np.full_like(pos, np.nan), [0], [1])
    assert np.isnan(step.rtt_ms[0])
    assert not step.isl_valid.any() and set(step.isl_report.reason) == {"missing_position"}


def test_missing_satellite_is_never_on_a_path():
    n_sat = 24
    pos, ring, _ = _equatorial_ring(n_sat)
    site, up = _sites([0.0, 0.0], [0.0, 5 * 15.0])
    router = Router(site, ["city", "city"], isls=ring, site_up=up, min_elevation_deg=80.0)
    pos[2] = np.nan  # the short way round is cut: the path goes the long way, 24 - 5 hops of ISL
    step = router.route(pos, [0], [1])
    path = step.path(0).tolist()
    assert 2 not in path and path[1:-1] == [0, *range(23, 4, -1)]
    assert {(int(i), str(r)) for i, r in zip(step.isl_report.link_index, step.isl_report.reason,
                                             strict=True)} == {(1, "missing_position"), (2, "missing_position")}


def test_bent_pipe_needs_a_common_satellite():
    n_sat = 24
    pos, ring, _r = _equatorial_ring(n_sat)
    # Sites 3 deg either side of satellite 0, and one below satellite 5: 50 deg mask.
    site, up = _sites([0.0, 0.0, 0.0], [-3.0, 3.0, 75.0])
    router = Router(site, ["terminal", "gateway", "gateway"], mode="bent-pipe", isls=ring, site_up=up,
                    min_elevation_deg=50.0)
    step = router.route(pos, [0, 0], [1, 2])
    legs = np.linalg.norm(site[:2] - pos[0], axis=1)
    assert step.rtt_ms[0] == pytest.approx(2 * legs.sum() / C * 1000, abs=ONE_NS_MS)
    assert step.path(0).tolist() == [n_sat, 0, n_sat + 1] and step.hops[0] == 2
    assert np.isnan(step.rtt_ms[1])  # no satellite sees both; ISLs are not used in bent-pipe mode
    isl = Router(site, ["terminal", "gateway", "gateway"], mode="isl", isls=ring, site_up=up,
                 min_elevation_deg=50.0)
    assert np.isfinite(isl.route(pos, [0], [2]).rtt_ms[0])


def test_ground_relay_only_through_relay_kinds():
    # Two satellites, no ISLs; A sees satellite 0, B sees satellite 1, the middle site sees both.
    r = WGS84_A_KM + 550.0
    lon_sat = np.radians([0.0, 8.0])
    pos = np.stack([r * np.cos(lon_sat), r * np.sin(lon_sat), np.zeros(2)], axis=1)
    site, up = _sites([0.0, 0.0, 0.0], [-2.0, 4.0, 10.0])
    def route(mode, kinds):
        return Router(site, kinds, mode=mode, site_up=up, min_elevation_deg=30.0).route(pos, [0], [2])
    assert np.isnan(route("isl", ["city", "gateway", "city"]).rtt_ms[0])
    assert np.isnan(route("ground-relay", ["city", "city", "city"]).rtt_ms[0])
    step = route("ground-relay", ["city", "gateway", "city"])
    assert step.path(0).tolist() == [2, 0, 3, 1, 4]
    legs = (np.linalg.norm(site[0] - pos[0]) + np.linalg.norm(pos[0] - site[1])
            + np.linalg.norm(site[1] - pos[1]) + np.linalg.norm(pos[1] - site[2]))
    assert step.rtt_ms[0] == pytest.approx(2 * legs / C * 1000, abs=ONE_NS_MS)


def test_user_mode_picks_the_best_gateway_and_pop_by_brute_force():
    pos, isls = _walker(24, 16, t_s=777.0)
    rng = np.random.default_rng(4)
    kinds = np.array(["terminal"] * 6 + ["gateway"] * 4 + ["pop"] * 3)
    lat, lon = rng.uniform(-45, 45, kinds.size), rng.uniform(-60, 60, kinds.size)
    site, up = _sites(lat, lon)
    terminals, gateways, pops = (np.flatnonzero(kinds == k) for k in ("terminal", "gateway", "pop"))
    fibre = rng.uniform(100, 3000, (gateways.size, pops.size))
    fibre[0, 0] = np.nan  # gateway 0 is not connected to PoP 0
    for fibre_km in (None, fibre):
        user = Router(site, kinds, mode="user", isls=isls, site_up=up, min_elevation_deg=MASK_DEG,
                      fibre_km=fibre_km)
        step = user.route(pos, terminals, np.full(terminals.size, -1))
        # Brute force over every (gateway, PoP): isl-mode RTT terminal -> gateway plus fibre there and back.
        isl = Router(site, kinds, mode="isl", isls=isls, site_up=up, min_elevation_deg=MASK_DEG)
        t, g = (x.ravel() for x in np.meshgrid(terminals, gateways, indexing="ij"))
        sat_rtt = isl.route(pos, t, g).rtt_ms.reshape(terminals.size, gateways.size)
        if fibre_km is None:
            gg, pp = np.meshgrid(gateways, pops, indexing="ij")
            km = great_circle_km(lat[gg], lon[gg], lat[pp], lon[pp])
        else:
            km = fibre_km
        total = sat_rtt[:, :, None] + np.where(np.isnan(km), np.inf, fibre_rtt_ms(km))[None]
        flat = total.reshape(terminals.size, -1)
        best = np.argmin(flat, axis=1)
        assert np.isfinite(flat.min(axis=1)).all()
        np.testing.assert_allclose(step.rtt_ms, flat.min(axis=1), rtol=1e-12)
        np.testing.assert_array_equal(step.gateway, gateways[best // pops.size])
        np.testing.assert_array_equal(step.dst, pops[best % pops.size])
        for p in range(terminals.size):
            path = step.path(p)
            assert path[0] == pos.shape[0] + terminals[p] and path[-1] == pos.shape[0] + step.dst[p]
            assert path[-2] == pos.shape[0] + step.gateway[p]
        # Fewer terminals than PoPs: routed forwards from the terminals; same choice.
        few = user.route(pos, terminals[:2], [-1, -1])
        np.testing.assert_allclose(few.rtt_ms, flat.min(axis=1)[:2], rtol=1e-12)
        np.testing.assert_array_equal(few.gateway, gateways[best[:2] // pops.size])
        assert few.path(0)[-2] == pos.shape[0] + few.gateway[0]
    # A fixed PoP: the gateway is still chosen, the PoP is the one asked for.
    step = user.route(pos, terminals, np.full(terminals.size, pops[1]))
    np.testing.assert_allclose(step.rtt_ms, total[:, :, 1].min(axis=1), rtol=1e-12)
    assert (step.dst == pops[1]).all()


def test_bad_inputs_raise_input_errors():
    pos, isls = _walker(6, 6)
    site, up = _sites([0.0, 10.0], [0.0, 10.0])
    with pytest.raises(LeosimInputError, match="unknown routing mode"):
        Router(site, ["city", "city"], mode="fast", site_up=up, min_elevation_deg=10.0)
    with pytest.raises(LeosimInputError, match="unknown site kind"):
        Router(site, ["city", "house"], site_up=up, min_elevation_deg=10.0)
    with pytest.raises(LeosimInputError, match="GSL rule missing"):
        Router(site, ["city", "city"])
    router = Router(site, ["city", "city"], isls=isls, site_up=up, min_elevation_deg=10.0)
    with pytest.raises(LeosimInputError, match="same site"):
        router.route(pos, [0], [0])
    with pytest.raises(LeosimInputError, match="out of range"):
        router.route(pos, [0], [2])
    with pytest.raises(LeosimInputError, match="only 10 satellites"):
        router.route(pos[:10], [0], [1])


def test_hypatia_range_rule_for_gsls():
    n_sat = 24
    pos, ring, r = _equatorial_ring(n_sat)
    site, _ = _sites([0.0, 0.0], [0.0, 45.0])
    # 600 km reaches only the satellite straight above (550 km); the next one is ~1,860 km away.
    router = Router(site, ["city", "city"], isls=ring, max_gsl_length_km=600.0)
    step = router.route(pos, [0], [1])
    chord = 2 * r * np.sin(np.radians(15.0) / 2)
    assert step.rtt_ms[0] == pytest.approx(2 * (1100.0 + 3 * chord) / C * 1000, abs=ONE_NS_MS)
