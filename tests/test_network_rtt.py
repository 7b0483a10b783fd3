"""RTT over time (leosim.network.rtt) and the physical references (leosim.network.references)."""

from __future__ import annotations

import numpy as np
import pytest

from leosim.constants import MEAN_EARTH_RADIUS_KM
from leosim.errors import LeosimInputError
from leosim.ground.geodesy import enu_basis, geodetic_to_ecef
from leosim.network.links import plus_grid_isls
from leosim.network.references import (
    fibre_rtt_ms,
    great_circle_km,
    pair_references,
    stretch,
    vacuum_rtt_ms,
)
from leosim.network.routing import Router
from leosim.network.rtt import RttAccumulator, rtt_over_time
from synthetic import walker_ecef_km

N_SITES = 10


@pytest.fixture(scope="module")
def scenario():
    times = np.arange(16) * 20.0  # 20 s steps: paths change now and then
    pos, plane, slot = walker_ecef_km(24, 16, 550.0, 53.0, times)
    pos[5] = np.nan  # one instant where nothing propagated: no path for anyone
    isls = plus_grid_isls(np.zeros_like(plane), plane, slot)
    rng = np.random.default_rng(9)
    lat, lon = rng.uniform(-50, 50, N_SITES), rng.uniform(-180, 180, N_SITES)
    router = Router(geodetic_to_ecef(lat, lon, 0.0), np.full(N_SITES, "city"), isls=isls,
                    site_up=enu_basis(lat, lon)[:, 2, :], min_elevation_deg=25.0)
    src, dst = np.triu_indices(N_SITES, k=1)
    return times, pos, router, src, dst


def _same(a, b):
    np.testing.assert_array_equal(a, b)  # NaN == NaN for array_equal in numpy's testing


def test_chunk_invariance(scenario):
    times, pos, router, src, dst = scenario
    whole = rtt_over_time(router, [(times, pos)], src, dst, with_paths=True)
    singles = rtt_over_time(router, zip(times, pos, strict=True), src, dst, with_paths=True)
    acc = RttAccumulator(router, src, dst, with_paths=True)
    for lo, hi in [(0, 5), (5, 9), (9, 16)]:
        acc.add(times[lo:hi], pos[lo:hi])
    pieces = acc.result()
    for other in (singles, pieces):
        for name in ("time_s", "pair", "src", "dst", "rtt_ms", "one_way_ms", "hops", "path_nodes",
                     "path_offsets"):
            _same(getattr(whole, name), getattr(other, name))
        for name in ("time_s", "pair", "src", "dst"):
            _same(getattr(whole.changes, name), getattr(other.changes, name))
        assert whole.changes.old_path == other.changes.old_path
        assert whole.changes.new_path == other.changes.new_path
        for name in ("rtt_min_ms", "rtt_median_ms", "rtt_p95_ms", "rtt_max_ms", "fraction_no_path",
                     "path_changes", "stretch_fibre"):
            _same(getattr(whole.summary, name), getattr(other.summary, name))


def test_series_rows_match_single_instant_routing(scenario):
    times, pos, router, src, dst = scenario
    series = rtt_over_time(router, [(times, pos)], src, dst, with_paths=True)
    n_pair = src.size
    assert len(series) == times.size * n_pair
    for k in (0, 5, 11):
        step = router.route(pos[k], src, dst)
        rows = slice(k * n_pair, (k + 1) * n_pair)
        _same(series.rtt_ms[rows], step.rtt_ms)
        assert (series.time_s[rows] == times[k]).all()
        for p in (0, 7, 44):
            _same(series.path(k * n_pair + p), step.path(p))
    assert np.isnan(series.rtt_ms[5 * n_pair:6 * n_pair]).all()
    assert (series.hops[5 * n_pair:6 * n_pair] == -1).all()
    assert series.path_strings()[5 * n_pair] == ""
    assert series.path_strings()[0] == " ".join(map(str, series.path(0).tolist()))


def test_path_change_events_and_summaries(scenario):
    times, pos, router, src, dst = scenario
    series = rtt_over_time(router, [(times, pos)], src, dst, with_paths=True)
    n_pair, n_t = src.size, times.size
    paths = [[tuple(series.path(k * n_pair + p).tolist()) for k in range(n_t)] for p in range(n_pair)]
    events = {(t, p): (o, n) for t, p, o, n in zip(series.changes.time_s.tolist(),
                                                   series.changes.pair.tolist(),
                                                   series.changes.old_path, series.changes.new_path,
                                                   strict=True)}
    want = {}
    for p in range(n_pair):
        for k in range(1, n_t):
            if paths[p][k] != paths[p][k - 1]:
                want[(times[k], p)] = (paths[p][k - 1], paths[p][k])
    assert events == want
    # Every pair loses its path at the blank instant and gets one back: at least 2 changes each.
    assert (series.summary.path_changes >= 2).all()
    assert series.summary.path_changes.sum() == len(series.changes)
    rtt = series.rtt_ms.reshape(n_t, n_pair)
    s = series.summary
    for p in range(n_pair):
        finite = rtt[:, p][np.isfinite(rtt[:, p])]
        assert s.rtt_min_ms[p] == finite.min() and s.rtt_max_ms[p] == finite.max()
        assert s.rtt_median_ms[p] == pytest.approx(np.median(finite), rel=1e-15)
        assert s.rtt_p95_ms[p] == pytest.approx(np.percentile(finite, 95), rel=1e-15)
        assert s.fraction_no_path[p] == pytest.approx(1.0 - finite.size / n_t)
    assert (s.stretch_vacuum > 1.0).all() and (s.stretch_fibre < s.stretch_vacuum).all()


def test_pair_that_never_has_a_path_summarises_to_nan():
    pos, plane, slot = walker_ecef_km(24, 16, 550.0, 53.0, np.arange(3) * 10.0)
    lat, lon = np.array([0.0, 89.5]), np.array([0.0, 0.0])
    router = Router(geodetic_to_ecef(lat, lon, 0.0), ["city", "city"],
                    isls=plus_grid_isls(np.zeros_like(plane), plane, slot),
                    site_up=enu_basis(lat, lon)[:, 2, :], min_elevation_deg=25.0)
    s = rtt_over_time(router, [(np.arange(3) * 10.0, pos)], [0], [1]).summary
    assert np.isnan([s.rtt_min_ms[0], s.rtt_median_ms[0], s.rtt_p95_ms[0], s.rtt_max_ms[0]]).all()
    assert s.fraction_no_path[0] == 1.0 and s.path_changes[0] == 0
    assert np.isnan(s.stretch_fibre[0])


def test_mismatched_chunk_is_rejected(scenario):
    times, pos, router, src, dst = scenario
    with pytest.raises(LeosimInputError, match="do not match"):
        RttAccumulator(router, src, dst).add(times[:3], pos[:2])


def test_great_circle_textbook_values():
    # A quarter of a meridian, and London (51.5074 N, 0.1278 W) - New York (40.7128 N, 74.0060 W):
    # 5,570 km on the 6,371 km sphere (e.g. the Movable Type "Calculate distance" page gives 5,570 km).
    assert great_circle_km(0.0, 0.0, 90.0, 0.0) == pytest.approx(np.pi / 2 * MEAN_EARTH_RADIUS_KM, rel=1e-12)
    assert great_circle_km(0.0, 10.0, 0.0, -170.0) == pytest.approx(np.pi * MEAN_EARTH_RADIUS_KM, rel=1e-12)
    assert great_circle_km(51.5074, -0.1278, 40.7128, -74.0060) == pytest.approx(5570.0, abs=3.0)


def test_fibre_and_vacuum_rtt():
    # 1,000 km there and back: 2,000 km / 299,792.458 km/s = 6.6713 ms; in fibre x 1.468 = 9.7935 ms.
    assert vacuum_rtt_ms(1000.0) == pytest.approx(6.67128190, rel=1e-8)
    assert fibre_rtt_ms(1000.0) == pytest.approx(6.67128190 * 1.468, rel=1e-8)
    refs = pair_references([0.0, 0.0, 10.0], [0.0, 90.0, 0.0], [0, 0, 1], [1, -1, 2])
    assert refs.great_circle_km[0] == pytest.approx(np.pi / 2 * MEAN_EARTH_RADIUS_KM, rel=1e-12)
    assert np.isnan(refs.great_circle_km[1])
    s_fibre, s_vacuum = refs.stretch(np.array([100.0, 50.0, np.nan]))
    assert s_fibre[0] == pytest.approx(100.0 / refs.fibre_rtt_ms[0])
    assert s_vacuum[0] == pytest.approx(100.0 / refs.vacuum_rtt_ms[0])
    assert np.isnan(s_fibre[1:]).all()
    assert np.isnan(stretch(10.0, 0.0))
