"""Flow-level allocation: max-min fairness against an independent LP (scipy HiGHS), strict priority between
tiers, conservation on every resource, determinism."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.optimize import linprog

from leosim.capacity.allocation import BOTTLENECK_NONE, allocate, available_rate_mbps, max_min_fair

RATE_RTOL = 1e-6
"""Rates agree with the LP to 1e-6 relative: HiGHS's default feasibility tolerance is 1e-7."""
CONSERVATION_RTOL = 1e-9
"""Load on a resource may exceed its capacity by float rounding only."""


def _lp_max_min(a: np.ndarray, capacity, weight, cap) -> np.ndarray:
    """Weighted max-min fair rates by successive LPs (the textbook definition, not the progressive filling
    under test): maximise the common rate t of the unfixed flows; fix every unfixed flow that cannot exceed
    t while the others keep at least t; repeat."""
    n_flow = a.shape[0]
    fixed = np.full(n_flow, np.nan)
    aw = a.T * weight[None, :]  # (R, F): load per unit of per-terminal rate
    while np.isnan(fixed).any():
        free = np.flatnonzero(np.isnan(fixed))
        bounds = [(fixed[f], fixed[f]) if not np.isnan(fixed[f]) else (0.0, cap[f]) for f in range(n_flow)]
        # variables: x (F), t
        a_ub = np.hstack([aw, np.zeros((aw.shape[0], 1))])
        lower = np.zeros((free.size, n_flow + 1))
        lower[np.arange(free.size), free] = -1.0
        lower[:, -1] = 1.0  # t - x_f <= 0
        res = linprog(np.r_[np.zeros(n_flow), -1.0], A_ub=np.vstack([a_ub, lower]),
                      b_ub=np.r_[capacity, np.zeros(free.size)], bounds=[*bounds, (0, None)], method="highs")
        assert res.status == 0
        level = res.x[-1]
        newly = []
        for f in free:
            c = np.zeros(n_flow + 1)
            c[f] = -1.0
            others = [g for g in free if g != f]
            low = np.zeros((len(others), n_flow + 1))
            low[np.arange(len(others)), others] = -1.0
            r2 = linprog(c, A_ub=np.vstack([a_ub, low]), b_ub=np.r_[capacity, np.full(len(others), -level)],
                         bounds=[*bounds, (0, 0)], method="highs")
            assert r2.status == 0
            if -r2.fun <= level * (1 + 1e-7) + 1e-9:
                newly.append(f)
        assert newly
        fixed[newly] = level
    return fixed


def _random_instance(rng, n_flow=8, n_res=6):
    a = (rng.random((n_flow, n_res)) < 0.4) * rng.choice([1.0, 1.0, 0.5, 0.25], (n_flow, n_res))
    a[np.arange(n_flow), rng.integers(0, n_res, n_flow)] = 1.0  # every flow crosses something
    capacity = rng.uniform(50.0, 1000.0, n_res)
    weight = rng.integers(1, 20, n_flow).astype(float) * rng.choice([1.0, 0.5], n_flow)
    cap = np.where(rng.random(n_flow) < 0.3, rng.uniform(1.0, 40.0, n_flow), 1e4)
    return a, capacity, weight, cap


@pytest.mark.parametrize("seed", range(12))
def test_max_min_matches_lp(seed):
    rng = np.random.default_rng(seed)
    a, capacity, weight, cap = _random_instance(rng)
    rate, bottleneck = max_min_fair(sp.csr_matrix(a), capacity, weight, cap)
    reference = _lp_max_min(a, capacity, weight, cap)
    np.testing.assert_allclose(rate, reference, rtol=RATE_RTOL, atol=1e-9)
    load = a.T @ (weight * rate)
    assert (load <= capacity * (1 + CONSERVATION_RTOL)).all()
    # A flow's named bottleneck is saturated, and the flow's rate is the largest among that resource's flows.
    for f in np.flatnonzero(bottleneck >= 0):
        r = bottleneck[f]
        assert load[r] == pytest.approx(capacity[r], rel=1e-9)
        assert rate[f] >= rate[a[:, r] > 0].max() * (1 - 1e-12)
    assert np.allclose(rate[bottleneck == BOTTLENECK_NONE], cap[bottleneck == BOTTLENECK_NONE])


@pytest.mark.parametrize("seed", range(6))
def test_priority_tiers_match_lp_per_tier(seed):
    """Strict priority: the high tier is max-min fair on the full capacity; the low tier on what is left."""
    rng = np.random.default_rng(100 + seed)
    a, capacity, weight, cap = _random_instance(rng, n_flow=10)
    tier = rng.integers(0, 2, a.shape[0])
    result = allocate(sp.csr_matrix(a), capacity, weight, cap, tier)
    high, low = tier == 1, tier == 0
    ref_high = _lp_max_min(a[high], capacity, weight[high], cap[high])
    left = capacity - a[high].T @ (weight[high] * ref_high)
    ref_low = _lp_max_min(a[low], np.maximum(left, 0.0), weight[low], cap[low])
    np.testing.assert_allclose(result.rate_mbps[high], ref_high, rtol=RATE_RTOL, atol=1e-9)
    np.testing.assert_allclose(result.rate_mbps[low], ref_low, rtol=RATE_RTOL, atol=1e-9)
    assert (result.load_mbps <= capacity * (1 + CONSERVATION_RTOL)).all()


def test_saturated_resource_serves_high_tier_in_full_first():
    # One feeder of 1,000 Mbps; 6 high-tier terminals and 8 low-tier ones asking 100 Mbps each.
    a = sp.csr_matrix(np.ones((2, 1)))
    result = allocate(a, [1000.0], [6.0, 8.0], [100.0, 100.0], [1, 0])
    np.testing.assert_allclose(result.rate_mbps, [100.0, 50.0])  # high: 600 in full; low: the 400 left
    result = allocate(a, [1000.0], [12.0, 8.0], [100.0, 100.0], [1, 0])
    np.testing.assert_allclose(result.rate_mbps, [1000.0 / 12.0, 0.0])  # low tier gets nothing


def test_available_rate_definition():
    # One 1,000 Mbps resource. Free capacity when unloaded; a fair share among n+1 when saturated.
    a = sp.csr_matrix(np.ones((1, 1)))
    light = allocate(a, [1000.0], [4.0], [50.0], [0])
    np.testing.assert_allclose(available_rate_mbps(a, [1000.0], [4.0], [0], light, 400.0), [400.0])
    np.testing.assert_allclose(available_rate_mbps(a, [1000.0], [4.0], [0], light, 1e6), [800.0])
    heavy = allocate(a, [1000.0], [9.0], [500.0], [0])
    np.testing.assert_allclose(available_rate_mbps(a, [1000.0], [9.0], [0], heavy, 1e6), [100.0])


def test_deterministic():
    rng = np.random.default_rng(7)
    a, capacity, weight, cap = _random_instance(rng, n_flow=40, n_res=20)
    tier = rng.integers(0, 3, 40)
    one = allocate(sp.csr_matrix(a), capacity, weight, cap, tier)
    two = allocate(sp.csr_matrix(a.copy()), capacity.copy(), weight.copy(), cap.copy(), tier.copy())
    assert np.array_equal(one.rate_mbps, two.rate_mbps) and np.array_equal(one.bottleneck, two.bottleneck)


def _probe_rate(a, capacity, weight, cap, tier, k, plan_cap):
    """Brute force: add one probe terminal (class ``k``'s route and tier, demand ``plan_cap``) and re-run."""
    a = sp.csr_matrix(a)
    probe = sp.vstack([a, a[k]]).tocsr()
    result = allocate(probe, capacity, np.r_[weight, 1.0], np.r_[cap, plan_cap], np.r_[tier, tier[k]])
    return result.rate_mbps[-1]


def test_available_counts_demand_limited_flows_at_their_rate():
    # One 100 Mbps resource exactly filled by 10 terminals that each want 10 Mbps (frozen at their demand,
    # none "bottlenecked" there). A speed test makes 11 flows: water level 100/11 = 9.09 Mbps, not the 0 Mbps
    # of free capacity.
    a = sp.csr_matrix(np.ones((1, 1)))
    full = allocate(a, [100.0], [10.0], [10.0], [0])
    np.testing.assert_allclose(available_rate_mbps(a, [100.0], [10.0], [0], full, 1e6), [100.0 / 11.0])
    # Two classes on 100 Mbps: 5 terminals at 2 Mbps (light) and 5 wanting 50 (level 18 each). A probe:
    # light keep 10 Mbps, the other 5 and the probe share 90: 15 Mbps. (C/(n+1) over all would say 9.09.)
    a2 = sp.csr_matrix(np.ones((2, 1)))
    alloc = allocate(a2, [100.0], [5.0, 5.0], [2.0, 50.0], [0, 0])
    np.testing.assert_allclose(alloc.rate_mbps, [2.0, 18.0])
    np.testing.assert_allclose(available_rate_mbps(a2, [100.0], [5.0, 5.0], [0, 0], alloc, 1e6), [15.0, 15.0])


def test_available_matches_probe_rerun_on_two_resource_routes():
    # Routes over a beam resource per cell and a shared feeder (the slot's structure): the probe's rate of a
    # re-run with one more flow, from random small instances; equal to 1e-9 Mbps (float round-off).
    rng = np.random.default_rng(3)
    for _ in range(40):
        n_cell = rng.integers(1, 4)
        n_flow = rng.integers(1, 6)
        cell = rng.integers(0, n_cell, n_flow)
        rows = np.r_[np.arange(n_flow), np.arange(n_flow)]
        cols = np.r_[cell, np.full(n_flow, n_cell)]
        a = sp.csr_matrix((np.ones(2 * n_flow), (rows, cols)), shape=(n_flow, n_cell + 1))
        capacity = rng.uniform(10.0, 200.0, n_cell + 1)
        weight = rng.integers(1, 6, n_flow).astype(float)
        cap = rng.uniform(1.0, 80.0, n_flow)
        tier = np.zeros(n_flow, np.int64)
        alloc = allocate(a, capacity, weight, cap, tier)
        got = available_rate_mbps(a, capacity, weight, tier, alloc, 1e6)
        want = [_probe_rate(a, capacity, weight, cap, tier, k, 1e6) for k in range(n_flow)]
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-9)
