"""Propagation to the Earth-fixed frame, against skyfield's ITRS positions for the same elements."""

from __future__ import annotations

import numpy as np
import pytest
from sgp4.api import WGS72, Satrec
from skyfield.api import EarthSatellite
from skyfield.framelib import itrs

from leosim.orbits.constellation import Constellation
from leosim.orbits.propagate import gmst82_rad, propagate_ecef
from leosim.timebase import Times

ONE_METRE_KM = 1e-3
"""The issue's bound for agreement with skyfield. Both evaluate the same SGP4 and the same GMST-1982
rotation with the same UT1, so the only differences are floating-point rounding (micrometres)."""

ISS_2008 = ("1 25544U 98067A   08264.51782528 -.00002182  00000-0 -11606-4 0  2927",
            "2 25544  51.6416 247.4627 0006703 130.5360 325.0288 15.72125391563537")
"""The ISS elements used as the worked example of the TLE format (Wikipedia, 'Two-line element set')."""


def skyfield_itrs_km(satrec, ts, times: Times):
    """skyfield's ITRS positions (km), ``(T, 3)``, of one SGP4 record at the given instants."""
    sat = EarthSatellite.from_satrec(satrec, ts)
    first = times.utc[0].astype("datetime64[us]").item()
    t = ts.utc(first.year, first.month, first.day, first.hour, first.minute,
               first.second + first.microsecond * 1e-6 + times.offset_s)
    return sat.at(t).frame_xyz(itrs).km.T


def constellation_of(satrecs):
    n = len(satrecs)
    epochs = [np.datetime64("2024-01-01", "ns")] * n
    return Constellation(satrecs, sat_id=np.arange(n), name=[str(i) for i in range(n)], epoch_utc=epochs)


@pytest.mark.parametrize("knot_spacing_s", [0, 60.0])
def test_walker_positions_match_skyfield_over_six_days(ts, knot_spacing_s):
    constellation = Constellation.preset("starlink-gen1").subset(np.arange(0, 4408, 131))
    # ±3 days around the epoch at an odd step, so interpolated instants fall between knots.
    times = Times.from_range("2023-12-29T00:00:00Z", 6 * 86_400, 4_321.7)
    position = constellation.positions_km(times, knot_spacing_s=knot_spacing_s)
    for i, satrec in enumerate(constellation.satrecs):
        # Interpolation adds micrometres at a 60 s knot spacing (module doc), still within 1 m.
        np.testing.assert_allclose(position[:, i], skyfield_itrs_km(satrec, ts, times), rtol=0,
                                   atol=ONE_METRE_KM)


def test_real_elements_match_skyfield(ts):
    sat = Satrec.twoline2rv(*ISS_2008)
    times = Times.from_range("2008-09-17T12:00:00Z", 6 * 86_400, 3_600.0)
    position = constellation_of([sat]).positions_km(times, knot_spacing_s=0)
    np.testing.assert_allclose(position[:, 0], skyfield_itrs_km(sat, ts, times), rtol=0, atol=ONE_METRE_KM)


@pytest.mark.shared_data
def test_real_snapshot_matches_skyfield(ts, starlink_snapshot):
    lines = [line.rstrip() for line in starlink_snapshot.read_text().splitlines() if line.strip()]
    satrecs = [Satrec.twoline2rv(lines[k + 1], lines[k + 2]) for k in range(0, 300, 3 * 10)]
    times = Times.from_range("2025-12-03T00:00:00Z", 6 * 86_400, 5_000.0)
    states = constellation_of(satrecs).states(times, knot_spacing_s=0)
    for i, sat in enumerate(satrecs):
        ok = states.error[:, i] == 0
        np.testing.assert_allclose(states.position_km[ok, i], skyfield_itrs_km(sat, ts, times)[ok],
                                   rtol=0, atol=ONE_METRE_KM)


@pytest.mark.parametrize(("knot_spacing_s", "tol_km"), [
    # Truncation error r (n h)^8 43/8! (propagate module doc): ~3 micrometres at 60 s, ~0.7 mm at 120 s,
    # where SGP4's short-period terms (harmonics at 2n, 3n) bring it to ~1.5 mm: bound 2 mm.
    (60.0, 1e-5), (120.0, 2e-6)])
def test_interpolation_is_within_a_millimetre_of_sgp4(knot_spacing_s, tol_km):
    constellation = Constellation.preset("starlink-gen1").subset(slice(0, 4408, 37))
    times = Times.from_range("2024-01-01T01:00:00.3Z", 3_600, 1.0)
    direct = constellation.states(times, knot_spacing_s=0)
    interpolated = constellation.states(times, knot_spacing_s=knot_spacing_s)
    assert not np.array_equal(interpolated.position_km, direct.position_km)  # it did interpolate
    assert np.abs(interpolated.position_km - direct.position_km).max() < tol_km
    # Velocity: the error shrinks by another factor n h: micrometres per second.
    assert np.abs(interpolated.velocity_km_s - direct.velocity_km_s).max() < 1e-8


@pytest.mark.shared_data
def test_interpolation_of_real_elements_is_within_a_millimetre(starlink_snapshot):
    from leosim.orbits.elements import load_tle

    elements = load_tle(starlink_snapshot)
    constellation = Constellation.from_elements(elements.subset(slice(0, len(elements), 40)))
    assert constellation.max_eccentricity < 0.01  # near-circular: interpolation is the default
    times = Times.from_range("2025-12-06T00:00:07Z", 1_800, 1.0)
    direct = constellation.states(times, knot_spacing_s=0)
    interpolated = constellation.states(times)
    ok = (direct.error == 0) & (interpolated.error == 0)
    assert ok.mean() > 0.95
    # Same 2 mm bound as for generated shells: real eccentricities (~1e-4) add negligible harmonics.
    assert np.abs(interpolated.position_km[ok] - direct.position_km[ok]).max() < 2e-6


def test_velocity_is_the_derivative_of_position():
    constellation = Constellation.walker(550.0, 53.0, 3, 3)
    times = Times.from_range(constellation.epoch, 2.0, 1.0)
    states = constellation.states(times, knot_spacing_s=0)
    finite_difference = (states.position_km[1] - states.position_km[0]) / 1.0
    mean_velocity = 0.5 * (states.velocity_km_s[0] + states.velocity_km_s[1])
    # Over 1 s the central estimate errs by a * dt^2 / 12 ≈ 8.4e-3 km/s^2 / 12 ≈ 1 m/s at most.
    np.testing.assert_allclose(finite_difference, mean_velocity, rtol=0, atol=1e-3)


def test_gmst_matches_skyfield(ts):
    from skyfield.sgp4lib import theta_GMST1982

    times = Times.from_range("2024-10-25T00:00:00Z", 86_400, 977.0)
    theta, theta_dot = gmst82_rad(*times.jd_ut1)
    whole, fraction = times.jd_ut1
    expected, expected_dot = theta_GMST1982(whole, fraction)
    # 1e-12 rad is 6 micrometres at LEO radius.
    np.testing.assert_allclose(theta, expected, rtol=0, atol=1e-12)
    np.testing.assert_allclose(theta_dot, expected_dot / 86_400.0, rtol=1e-12)


def test_decayed_satellite_gives_nan_and_an_error_code_not_an_exception():
    healthy = Satrec()
    healthy.sgp4init(WGS72, "i", 1, 27_000.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.9, 0.0, 0.0655, 0.0)
    decaying = Satrec()
    # A heavy drag term at ~200 km: SGP4 gives up within days.
    decaying.sgp4init(WGS72, "i", 2, 27_000.0, 0.5, 0.0, 0.0, 0.001, 0.0, 0.9, 0.0, 0.0704, 0.0)
    constellation = constellation_of([healthy, decaying])
    times = Times.from_range("2023-12-02T00:00:00Z", 60 * 86_400, 86_400.0)
    states = constellation.states(times, knot_spacing_s=0)
    assert (states.error[:, 0] == 0).all() and np.isfinite(states.position_km[:, 0]).all()
    failed = states.error[:, 1] != 0
    assert failed.any()
    assert np.isnan(states.position_km[failed, 1]).all()
    assert np.isnan(states.velocity_km_s[failed, 1]).all()


def test_chunks_give_identical_states():
    constellation = Constellation.preset("starlink-550").subset(slice(0, 200))
    times = Times.from_range("2000-01-01T00:00:00Z", 600, 1.5)
    whole = constellation.states(times)
    pieces = list(constellation.iter_states(times, max_bytes=200 * 97 * 11))
    assert len(pieces) > 3
    np.testing.assert_array_equal(np.concatenate([p.position_km for p in pieces]), whole.position_km)
    np.testing.assert_array_equal(np.concatenate([p.velocity_km_s for p in pieces]), whole.velocity_km_s)


def test_empty_inputs():
    constellation = Constellation.walker(550.0, 53.0, 1, 2)
    states = propagate_ecef(constellation._array, Times(np.zeros(0, "datetime64[ns]")))
    assert states.position_km.shape == (0, 2, 3)
