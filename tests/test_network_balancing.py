"""Load-aware landing (leosim.network.balancing): traffic that would overload a gateway's feeders spills to
the next gateway with room, on the equatorial ring of tests/test_routing_gateway_selection.py whose RTTs are
worked out by hand there; and in a scenario's capacity slots, through the service engine."""

from __future__ import annotations

import numpy as np
import pytest

from leosim.network.balancing import spill_overloaded_gateways
from test_routing_gateway_selection import GW_FAR, GW_NEAR, ONE_NS_MS, TERMINAL, TERMINAL_2, _ring, _router

GATEWAYS = np.array([GW_NEAR, GW_FAR])  # the router's gateways, in site order


def _spill(demand, capacity, src=(TERMINAL, TERMINAL_2), landing=None):
    sats, ring, site, up = _ring()
    router = _router("nearest", site, up, ring)
    assert router.gateways.tolist() == GATEWAYS.tolist()
    src = np.asarray(src)
    dst = np.full(src.size, -1)
    first = router.route(sats, src, dst)
    out, moved = spill_overloaded_gateways(router, sats, src, dst, first, demand, capacity, landing=landing)
    return router, sats, first, out, moved


def test_no_overload_changes_nothing():
    _r, _s, first, out, moved = _spill([100.0, 100.0], [200.0, 1000.0])
    assert not moved.any()
    for name in ("gateway", "dst", "rtt_ms", "paths", "hops"):
        np.testing.assert_array_equal(getattr(out, name), getattr(first, name))


def test_overflow_keeps_the_nearest_terminal_and_moves_the_other():
    # Both terminals land at the near gateway (bent pipe through satellite 0), 100 Mbps each, near gateway
    # 150 Mbps: the nearer terminal (the first, under the satellite: its RTT is the smaller) stays, the
    # second spills to the far gateway, with exactly the route it gets when only the far gateway may land.
    router, sats, first, out, moved = _spill([100.0, 100.0], [150.0, 1000.0])
    assert first.gateway.tolist() == [GW_NEAR, GW_NEAR] and first.rtt_ms[0] < first.rtt_ms[1]
    assert moved.tolist() == [False, True]
    assert out.gateway.tolist() == [GW_NEAR, GW_FAR]
    alone = router.route(sats, [TERMINAL_2], [-1], landing=np.array([False, True]))
    assert out.rtt_ms[1] == pytest.approx(alone.rtt_ms[0], abs=ONE_NS_MS)
    assert out.dst[1] == alone.dst[0]
    np.testing.assert_array_equal(out.paths[1][out.paths[1] >= 0], alone.paths[0][alone.paths[0] >= 0])
    np.testing.assert_array_equal(out.paths[0][out.paths[0] >= 0], first.paths[0][first.paths[0] >= 0])


def test_nowhere_with_room_keeps_the_first_routes():
    # Every gateway too small, or the only other gateway without landing rights: nobody can move.
    for capacity, landing in (([50.0, 50.0], None), ([150.0, 1000.0], np.array([True, False]))):
        _r, _s, first, out, _moved = _spill([100.0, 100.0], capacity, landing=landing)
        assert out.gateway.tolist() == first.gateway.tolist()


def test_terminals_offering_nothing_stay():
    # The second terminal offers 0 Mbps (denied, absent): it never counts and never moves.
    _r, _s, _first, out, moved = _spill([100.0, 0.0], [50.0, 1000.0])
    assert moved.tolist() == [True, False] and out.gateway.tolist() == [GW_FAR, GW_NEAR]


@pytest.mark.parametrize("seed", range(5))
def test_random_loads_fit_where_room_exists(seed):
    # Many copies of the two terminals with random demand; gateways big enough together: after spilling no
    # gateway is above its capacity, and the near gateway keeps a prefix of its terminals by RTT.
    rng = np.random.default_rng(seed)
    src = rng.choice([TERMINAL, TERMINAL_2], 40)
    demand = rng.uniform(1.0, 50.0, 40)
    capacity = np.array([demand.sum() * 0.4, demand.sum()])
    _r, _s, first, out, moved = _spill(demand, capacity, src=src)
    load = np.array([demand[out.gateway == g].sum() for g in GATEWAYS])
    assert (load <= capacity * (1 + 1e-12)).all()
    kept = ~moved
    assert moved.any() and (first.rtt_ms[kept].max() <= first.rtt_ms[moved].min())


def test_many_gateways_moves_never_overload_and_first_gateways_only_lighten():
    # A Walker shell, 60 terminals and 10 gateways spread over a region, random demand and feeders: a
    # terminal moves only into room its new gateway has left, so after spilling every gateway either fits its
    # capacity or was overloaded to begin with and carries no more than before; moved terminals land at a
    # gateway they can reach (their route ends there) and the others keep their first route bit for bit.
    from leosim.ground.geodesy import enu_basis, geodetic_to_ecef
    from leosim.network.links import plus_grid_isls
    from leosim.network.routing import Router
    from synthetic import walker_ecef_km

    def check(seed):
        pos, plane, slot = walker_ecef_km(24, 16, 550.0, 53.0, 1234.0 + seed)
        isls = plus_grid_isls(np.zeros_like(plane), plane, slot)
        rng = np.random.default_rng(seed)
        kinds = np.array(["terminal"] * 60 + ["gateway"] * 10 + ["pop"] * 3)
        lat, lon = rng.uniform(20, 50, kinds.size), rng.uniform(-20, 30, kinds.size)
        site, up = geodetic_to_ecef(lat, lon, 0.0), enu_basis(lat, lon)[..., 2, :]
        router = Router(site, kinds, mode="user", isls=isls, site_up=up, min_elevation_deg=25.0,
                        gateway_selection="nearest")
        src = np.arange(60)
        dst = np.full(60, -1)
        first = router.route(pos, src, dst)
        demand = np.where(np.isfinite(first.rtt_ms), rng.uniform(10.0, 100.0, 60), 0.0)
        capacity = rng.uniform(0.02, 0.4, 10) * demand.sum()
        out, moved = spill_overloaded_gateways(router, pos, src, dst, first, demand, capacity)

        def loads(routes):
            return np.array([demand[routes.gateway == g].sum() for g in router.gateways])

        before, after = loads(first), loads(out)
        over_before = before > capacity * (1 + 1e-12)
        assert over_before.any()
        fits = after <= capacity * (1 + 1e-12)
        assert (fits | (over_before & (after <= before * (1 + 1e-12)))).all()
        for p in np.flatnonzero(moved):
            path = out.paths[p][out.paths[p] >= 0]
            assert path[-2] == len(pos) + out.gateway[p]  # ... → gateway → PoP
        for name in ("gateway", "dst", "rtt_ms", "hops"):
            np.testing.assert_array_equal(getattr(out, name)[~moved], getattr(first, name)[~moved])
        return bool(moved.any())

    moved_any = [check(seed) for seed in range(6)]
    assert sum(moved_any) >= 3  # most draws exercise spilling (some leave no reachable room)
