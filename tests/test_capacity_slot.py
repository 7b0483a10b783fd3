"""One slot end to end (beams → classes → rates): the hand-computable cases of issue 12, conservation on
every beam, satellite, ISL and feeder, the "cell at capacity" rule, slot instants, determinism."""

from __future__ import annotations

import numpy as np
import pytest

from leosim.capacity import CapacityParams, CellTable, Terminals, capacity_slot, cells_of, slot_instants
from leosim.capacity.beams import candidate_pairs, schedule_beams
from leosim.capacity.linkbudget import beam_capacity_mbps
from leosim.geometry import look_angles, visible_pairs
from leosim.ground.geodesy import enu_basis, geodetic_to_ecef

CONSERVATION_RTOL = 1e-9
"""Load on a resource may exceed its capacity by float rounding only."""


def _cells_around(lat0, lon0, n, step_deg=0.25):
    """``n`` distinct res-5 cells on a small grid around (lat0, lon0)."""
    side = 2 * int(np.ceil(np.sqrt(n))) + 2
    lat, lon = np.meshgrid(lat0 + step_deg * np.arange(side), lon0 + step_deg * np.arange(side), indexing="ij")
    cells = np.unique(cells_of(lat.ravel(), lon.ravel(), 5))[:n]
    assert cells.size == n
    return CellTable.from_cells(cells)


def _overhead(cells: CellTable, row=0, altitude_km=550.0):
    """A satellite ``altitude_km`` straight above cell ``row``'s centre (ECEF km, (1, 3))."""
    return (cells.ecef_km[row] + altitude_km * cells.up[row])[None, :]


def _single_route(n_term, n_sat=1, first_sat=0):
    """Terminal k is site k; gateway site n_term; PoP site n_term + 1: path terminal, sat, gateway, PoP."""
    paths = np.stack([n_sat + np.arange(n_term), np.full(n_term, first_sat), np.full(n_term, n_sat + n_term),
                      np.full(n_term, n_sat + n_term + 1)], axis=1)
    return paths, np.full(n_term, n_term)


def _beam_capacity(cells, sat, row=0, params=None):
    el, _, rng = look_angles(cells.ecef_km[row:row + 1], enu_basis(cells.lat_deg[row:row + 1],
                                                                   cells.lon_deg[row:row + 1]), sat)
    return float(beam_capacity_mbps(rng[0, 0], el[0, 0], params or CapacityParams()))


@pytest.mark.parametrize("demand_mbps", [100.0, 5000.0])
def test_one_satellite_one_cell_serves_min_of_demand_and_beam(demand_mbps):
    cells = _cells_around(47.0, 8.0, 1)
    sat = _overhead(cells)
    paths, gw = _single_route(1)
    p = CapacityParams()
    out = capacity_slot(cells, Terminals.make([0], demand_mbps=demand_mbps), ["ok"], [True], paths, gw, sat, p)
    expected = min(demand_mbps, _beam_capacity(cells, sat))
    assert out.served_mbps[0] == pytest.approx(expected, rel=1e-12)
    assert out.cell_beams[0] == 1 and out.cell_satellites[0] == 1
    assert out.bottleneck[0] == ("none" if demand_mbps < expected + 1 else "beam")


def test_more_cells_than_beams_serves_exactly_the_beam_count():
    cells = _cells_around(47.0, 8.0, 20, step_deg=0.1)
    sat = _overhead(cells, 0)
    p = CapacityParams()  # 16 beams, one per cell per satellite
    paths, gw = _single_route(20)
    out = capacity_slot(cells, Terminals.make(np.arange(20), demand_mbps=100.0), np.full(20, "ok"),
                        np.ones(20, bool), paths, gw, sat, p)
    assert int((out.cell_beams > 0).sum()) == p.beams_per_satellite
    assert int((out.served_mbps > 0).sum()) == p.beams_per_satellite
    assert set(out.bottleneck[out.served_mbps == 0]) == {"beam"}


def test_saturated_feeder_serves_the_higher_tier_first():
    cells = _cells_around(47.0, 8.0, 1)
    sat = _overhead(cells)
    paths, gw = _single_route(2)
    t = Terminals.make([0, 0], tier=[1, 0], demand_mbps=100.0, count=[6.0, 8.0])
    out = capacity_slot(cells, t, ["ok", "ok"], [True, True], paths, gw, sat, CapacityParams(),
                        gateway_sites=[2], gateway_capacity_mbps=[1000.0])
    np.testing.assert_allclose(out.served_mbps, [100.0, 50.0])  # 600 in full, then the 400 left
    assert list(out.bottleneck) == ["none", "feeder"]
    np.testing.assert_allclose(out.gateway_load_mbps, [1000.0])
    t = Terminals.make([0, 0], tier=[1, 0], demand_mbps=100.0, count=[12.0, 8.0])
    out = capacity_slot(cells, t, ["ok", "ok"], [True, True], paths, gw, sat, CapacityParams(),
                        gateway_sites=[2], gateway_capacity_mbps=[1000.0])
    np.testing.assert_allclose(out.served_mbps, [1000.0 / 12.0, 0.0])


def test_policy_and_coverage_offer_no_demand():
    cells = _cells_around(47.0, 8.0, 1)
    sat = _overhead(cells)
    paths, gw = _single_route(3)
    out = capacity_slot(cells, Terminals.make([0, 0, 0], demand_mbps=100.0), ["ok", "denied", "no_coverage"],
                        [True, False, False], paths, gw, sat, CapacityParams())
    assert list(out.bottleneck) == ["none", "policy", "no_coverage"]
    np.testing.assert_allclose(out.served_mbps, [100.0, 0.0, 0.0])
    np.testing.assert_allclose(out.demand_mbps, [100.0, 0.0, 0.0])


def test_cell_at_capacity_refuses_new_activations():
    cells = _cells_around(47.0, 8.0, 1)
    sat = _overhead(cells)
    beam = _beam_capacity(cells, sat)
    paths, gw = _single_route(2)
    # Committed demand 1.5 beams: the cell is at capacity; the new terminal (row 1) is refused.
    t = Terminals.make([0, 0], demand_mbps=100.0, count=[1.5 * beam / 100.0, 3.0], new=[False, True])
    out = capacity_slot(cells, t, ["ok", "ok"], [True, True], paths, gw, sat, CapacityParams())
    assert out.cell_at_capacity[0] and list(out.refused) == [False, True]
    assert out.cell_refused[0] == 3.0 and out.served_mbps[1] == 0.0
    # Below capacity, a new activation is accepted.
    t = Terminals.make([0, 0], demand_mbps=100.0, count=[2.0, 3.0], new=[False, True])
    out = capacity_slot(cells, t, ["ok", "ok"], [True, True], paths, gw, sat, CapacityParams())
    assert not out.cell_at_capacity[0] and not out.refused.any() and out.served_mbps[1] == 100.0


def _random_slot(seed, n_cell=60, n_sat=40, n_term=300):
    """Satellites scattered 550 km above a 4°×4° patch, random ISL routes to three gateways, two tiers."""
    rng = np.random.default_rng(seed)
    lat = 45.0 + rng.uniform(0, 4, 4 * n_cell)
    lon = 5.0 + rng.uniform(0, 4, 4 * n_cell)
    cells = CellTable.from_cells(np.unique(cells_of(lat, lon, 5))[:n_cell])
    from leosim.ground.geodesy import geodetic_to_ecef

    sat = geodetic_to_ecef(44.0 + rng.uniform(0, 6, n_sat), 4.0 + rng.uniform(0, 6, n_sat), 550.0)
    n_cell = len(cells)
    cell = rng.integers(0, n_cell, n_term)
    hops = rng.integers(1, 5, n_term)
    width = 1 + 4 + 2
    paths = np.full((n_term, width), -1, np.int64)
    gw_site = n_term + rng.integers(0, 3, n_term)
    for k in range(n_term):  # test fixture only
        chain = list(rng.choice(n_sat, hops[k], replace=False))
        row = [n_sat + k, *chain, n_sat + gw_site[k], n_sat + n_term + 3]
        paths[k, width - len(row):] = row
    t = Terminals.make(cell, tier=rng.integers(0, 2, n_term), demand_mbps=rng.choice([5.0, 50.0, 400.0], n_term),
                       count=rng.integers(1, 40, n_term).astype(float))
    status = np.where(rng.random(n_term) < 0.9, "ok", "denied")
    params = CapacityParams(isl_capacity_mbps=3000.0, gateway_antennas=1, gateway_mbps_per_antenna=8000.0,
                            satellite_ceiling_mbps=4000.0)
    return cells, t, status, status == "ok", paths, gw_site, sat, params


@pytest.mark.parametrize("seed", range(4))
def test_conservation_on_every_resource(seed):
    cells, t, status, allowed, paths, gw, sat, params = _random_slot(seed)
    out = capacity_slot(cells, t, status, allowed, paths, gw, sat, params)
    n_sat = sat.shape[0]
    load = out.served_mbps * t.count
    # Beams: a cell's traffic fits its beams.
    cell_load = np.bincount(t.cell, weights=load, minlength=len(cells))
    assert (cell_load <= out.beams.cell_capacity_mbps * (1 + CONSERVATION_RTOL)).all()
    # Satellites: each carries the cells' traffic in proportion to the beam capacity it gives them.
    with np.errstate(invalid="ignore", divide="ignore"):
        frac = out.beams.capacity_mbps / out.beams.cell_capacity_mbps[out.beams.cell]
    sat_load = np.bincount(out.beams.sat, weights=frac * cell_load[out.beams.cell], minlength=n_sat)
    assert (sat_load <= params.satellite_ceiling_mbps * (1 + CONSERVATION_RTOL)).all()
    assert (out.beams.satellite_beams <= params.beams_per_satellite).all()
    # ISLs, each direction: recomputed from the paths (downlink: from the gateway side to the terminal).
    u, v = paths[:, :-1], paths[:, 1:]
    hop = (u >= 0) & (u < n_sat) & (v >= 0) & (v < n_sat)
    key = v[hop] * n_sat + u[hop]
    isl_load = np.bincount(np.unique(key, return_inverse=True)[1].ravel(),
                           weights=np.broadcast_to(load[:, None], hop.shape)[hop])
    assert (isl_load <= params.isl_capacity_mbps * (1 + CONSERVATION_RTOL)).all()
    # Feeders.
    assert (out.gateway_load_mbps <= out.gateway_capacity_mbps * (1 + CONSERVATION_RTOL)).all()
    gw_load = np.bincount(np.searchsorted(out.gateway_sites, gw), weights=load, minlength=out.gateway_sites.size)
    np.testing.assert_allclose(gw_load, out.gateway_load_mbps, rtol=1e-9)
    assert (out.served_mbps <= out.demand_mbps * (1 + 1e-12)).all()
    assert (out.available_mbps <= t.plan_cap_mbps).all()
    assert set(out.bottleneck) <= {"none", "beam", "satellite", "isl", "feeder", "policy"}


def test_deterministic_bit_identical():
    one = capacity_slot(*_random_slot(3))
    two = capacity_slot(*_random_slot(3))
    for name in ("served_mbps", "available_mbps", "bottleneck", "cell_served_mbps", "gateway_load_mbps"):
        assert np.array_equal(getattr(one, name), getattr(two, name)), name
    assert np.array_equal(one.beams.sat, two.beams.sat) and np.array_equal(one.beams.cell, two.beams.cell)


def test_scheduler_prefers_priority_then_largest_unmet():
    cells = _cells_around(47.0, 8.0, 3, step_deg=0.1)
    sat = _overhead(cells)
    p = CapacityParams(beams_per_satellite=2)
    demand = np.array([[0.0, 500.0], [10.0, 0.0], [0.0, 900.0]])  # column 0: the higher tier
    plan = schedule_beams(cells.ecef_km, cells.up, demand, sat, p)
    assert sorted(plan.cell.tolist()) == [1, 2]  # the tier-1 cell, then the largest low-tier demand
    pairs = candidate_pairs(cells.ecef_km, cells.up, sat, p)
    assert pairs[0].size == 3


def test_candidate_pairs_order_is_by_cell_then_elevation_then_satellite():
    # Reference: the documented order, a stable sort on (cell, 90° - elevation) of visible_pairs' (cell,
    # satellite) order. Satellite 1 is satellite 3 mirrored y -> -y; seen from the cell at (0°N, 0°E), whose
    # centre and up vector lie in the plane y = 0, both have exactly the same elevation and range, so they
    # must come in satellite order.
    lat, lon = np.array([0.0, 0.5, 30.0]), np.array([0.0, 0.3, 10.0])
    ecef, up = geodetic_to_ecef(lat, lon, 0.0), enu_basis(lat, lon)[:, 2]
    rng = np.random.default_rng(5)
    sats = ecef[0] + np.array([550.0, 700.0, 600.0, 650.0, 900.0])[:, None] * up[0]
    sats[:, 1:] += rng.uniform(-400, 400, (5, 2))
    sats[1] = sats[3] * np.array([1.0, -1.0, 1.0])
    p = CapacityParams()
    ci, si, el, rng_km = candidate_pairs(ecef, up, sats, p)
    vc, vs, vel, _, vr = visible_pairs(ecef, up, sats, p.min_elevation_deg)
    order = np.argsort(vc * 256.0 + (90.0 - vel), kind="stable")
    for got, want in zip((ci, si, el, rng_km), (vc, vs, vel, vr), strict=True):
        assert np.array_equal(got, want[order])
    tie = (ci == 0) & np.isin(si, [1, 3])
    assert el[tie].size == 2 and el[tie][0] == el[tie][1] and si[tie].tolist() == [1, 3]


def test_every_satellite_in_view_serves_not_only_the_highest():
    # 5 cells, 3 satellites in view of all of them (one overhead, two lower), 2 beams each, one beam per cell
    # per satellite: 3 × 2 = 6 beams >= 5 cells, so every cell gets a beam and the lower satellites give 3 of
    # them (the highest alone could give 2). With demand above one beam each, a cell may take a second beam
    # from another satellite: 6 beams in all, no satellite over 2.
    cells = _cells_around(47.0, 8.0, 5, step_deg=0.1)
    sats = np.vstack([_overhead(cells, 0), _overhead(cells, 2, 600.0), _overhead(cells, 4, 650.0)])
    p = CapacityParams(beams_per_satellite=2)
    pairs = candidate_pairs(cells.ecef_km, cells.up, sats, p)
    assert pairs[0].size == 15  # all 3 in view of all 5 cells (cells ~0.1° apart, 25° mask)
    plan = schedule_beams(cells.ecef_km, cells.up, np.full(5, 100.0), sats, p)
    assert (plan.cell_beams == 1).all() and plan.cell.size == 5
    assert sorted(plan.satellite_beams.tolist()) == [1, 2, 2]  # each cell picks its own highest first
    heavy = schedule_beams(cells.ecef_km, cells.up, np.full(5, 5000.0), sats, p)
    assert heavy.cell.size == 6 and (heavy.cell_beams >= 1).all() and heavy.satellite_beams.tolist() == [2, 2, 2]


def test_slot_instants_fall_at_12_27_42_57():
    t = slot_instants("2025-03-01T10:00:00Z", "2025-03-01T10:02:00Z")
    seconds = (t - t.astype("datetime64[m]")).astype("timedelta64[s]").astype(int)
    assert list(seconds) == [12, 27, 42, 57] * 2
    shifted = slot_instants("2025-03-01T10:00:00Z", "2025-03-01T10:01:00Z", CapacityParams(slot_offset_s=0.0))
    assert list((shifted - shifted.astype("datetime64[m]")).astype("timedelta64[s]").astype(int)) == [0, 15, 30, 45]


def test_empty_and_unknown_gateway():
    cells = _cells_around(47.0, 8.0, 1)
    sat = _overhead(cells)
    paths, gw = _single_route(2)
    out = capacity_slot(cells, Terminals.make([0, 0]), ["denied", "no_route"], [False, False], paths, gw, sat,
                        CapacityParams())
    assert list(out.bottleneck) == ["policy", "no_coverage"] and out.served_mbps.sum() == 0.0
    assert out.beams.cell.size == 0
    from leosim.errors import LeosimInputError

    with pytest.raises(LeosimInputError, match="gateway_sites"):
        capacity_slot(cells, Terminals.make([0, 0]), ["ok", "ok"], [True, True], paths, gw, sat, CapacityParams(),
                      gateway_sites=[5])


@pytest.mark.parametrize("key_max", [50, 2**40, 2**62])
def test_flow_classes_group_exactly_equal_keys_and_routes(key_max):
    # Reference: np.unique over the rows [keys | path]; the hash-and-sort grouping must give the same
    # partition, each class's first row its smallest. The three key ranges take the three sort paths: the
    # packed (code, hash bits) sort, a code too wide to leave hash bits, a code over 62 bits (per column).
    from leosim.capacity.slot import _route_classes

    rng = np.random.default_rng(9)
    n = 5_000
    keys = np.column_stack([rng.integers(0, 30, n), rng.integers(0, 2, n), rng.integers(0, key_max, n) % 7 * (
        key_max // 7), rng.integers(0, 3, n)])
    paths = np.where(rng.random((n, 6)) < 0.3, -1, rng.integers(0, 4, (n, 6)))
    first, inverse = _route_classes(keys, paths)
    _, ref_first, ref_inverse = np.unique(np.column_stack([keys, paths]), axis=0, return_index=True,
                                          return_inverse=True)
    ref_inverse = ref_inverse.ravel()
    assert first.size == ref_first.size
    # Same partition: the map class -> reference class is one-to-one.
    assert np.unique(np.column_stack([inverse, ref_inverse]), axis=0).shape[0] == first.size
    assert (first[inverse] <= np.arange(n)).all() and np.array_equal(inverse[first], np.arange(first.size))


def test_flow_classes_never_merge_routes_whose_hashes_collide():
    # Two different routes built to have the same 64-bit hash (B = A + (m1, -m0) on the first two columns,
    # m the hash multipliers, so the sums of products agree modulo 2^64) must stay in different classes.
    from leosim.capacity.slot import _HASH_SEED, _route_classes

    m = np.random.default_rng(_HASH_SEED).integers(1, 2**63 - 1, 3, dtype=np.uint64) | np.uint64(1)
    a = np.array([5, 7, 9], dtype=np.uint64)
    b = a.copy()
    with np.errstate(over="ignore"):
        b[0] += m[1]
        b[1] -= m[0]
        assert (a * m).sum(dtype=np.uint64) == (b * m).sum(dtype=np.uint64)
    paths = np.stack([a, b, a, b]).view(np.int64)
    keys = np.zeros((4, 1), np.int64)
    first, inverse = _route_classes(keys, paths)
    assert first.size == 2 and inverse[0] == inverse[2] != inverse[1] == inverse[3]
