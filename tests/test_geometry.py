"""Look angles and visibility, against skyfield's altaz() and against the dense computation."""

from __future__ import annotations

import numpy as np
import pytest
from skyfield.api import EarthSatellite, wgs84

from leosim.geometry import look_angles, max_slant_range_km, visible_counts, visible_pairs
from leosim.ground.geodesy import enu_basis, geodetic_to_ecef
from leosim.orbits.constellation import Constellation
from leosim.timebase import Times

ANGLE_TOL_DEG = 0.001
"""The issue's bound for agreement with skyfield's altaz(); both use the geodetic horizon of the same
WGS84 site and the same satellite position, so the real difference is rounding (~1e-9 deg)."""

SITES = [(50.4501, 30.5234, 179.0), (25.0330, 121.5654, 10.0), (-33.86, 151.21, 0.0), (64.15, -21.94, 50.0),
         (-77.85, 166.67, 20.0), (0.0, -179.999, 0.0)]


def test_look_angles_match_skyfield_altaz(ts):
    constellation = Constellation.preset("starlink-gen1").subset(np.arange(0, 4408, 29))
    times = Times.from_range("2024-01-01T06:00:00Z", 3 * 3600, 1800.0)
    position = constellation.positions_km(times, knot_spacing_s=0)
    lat, lon, alt_m = (np.array(c, dtype=float) for c in zip(*SITES, strict=True))
    site = geodetic_to_ecef(lat, lon, alt_m / 1000.0)
    elevation, azimuth, range_km = look_angles(site, enu_basis(lat, lon), position)
    t = ts.utc(2024, 1, 1, 6, 0, times.offset_s)
    checked = 0
    for i in range(0, len(constellation), 5):
        sat = EarthSatellite.from_satrec(constellation.satrecs[i], ts)
        for m, (la, lo, al) in enumerate(SITES):
            alt, az, distance = (sat - wgs84.latlon(la, lo, elevation_m=al)).at(t).altaz()
            np.testing.assert_allclose(elevation[:, m, i], alt.degrees, rtol=0, atol=ANGLE_TOL_DEG)
            az_diff = (azimuth[:, m, i] - az.degrees + 180.0) % 360.0 - 180.0
            assert np.abs(az_diff).max() < ANGLE_TOL_DEG
            # One metre: the positions agree with skyfield to micrometres (test_propagate).
            np.testing.assert_allclose(range_km[:, m, i], distance.km, rtol=0, atol=1e-3)
            checked += 1
    assert checked > 100


def test_satellite_straight_overhead_hand_geometry():
    # A point 550 km straight above a site on the equator is at elevation 90°, range 550 km.
    site = geodetic_to_ecef([0.0], [10.0], [0.0])
    sat = geodetic_to_ecef([0.0, 0.0], [10.0, 10.0 + 90.0], [550.0, 550.0])
    elevation, _, range_km = look_angles(site, enu_basis([0.0], [10.0]), sat)
    assert elevation[0, 0] == pytest.approx(90.0, abs=1e-9)
    assert range_km[0, 0] == pytest.approx(550.0, abs=1e-9)
    # 90° of longitude away the satellite is below the horizon: cos(el) geometry gives el < 0.
    assert elevation[0, 1] < 0


def test_max_slant_range_hand_values():
    r = 6378.0
    # At 90° elevation the range is the altitude; at 0° it is the tangent length sqrt(R_s^2 - R^2).
    assert max_slant_range_km(r, r + 550.0, 90.0) == pytest.approx(550.0)
    assert max_slant_range_km(r, r + 550.0, 0.0) == pytest.approx(np.sqrt((r + 550.0) ** 2 - r**2))


@pytest.mark.parametrize("mask_deg", [0.0, 25.0, 40.0])
def test_visible_pairs_equal_the_dense_computation(mask_deg):
    constellation = Constellation.preset("starlink-gen1")
    position = constellation.positions_km(Times.from_utc(["2024-03-05T17:23:00Z"]))[0]
    position[17] = np.nan  # a satellite SGP4 could not propagate is never visible
    rng = np.random.default_rng(7)
    lat = np.degrees(np.arcsin(rng.uniform(-1, 1, 300)))
    lon = rng.uniform(-180, 180, 300)
    lat[:2] = [90.0, -90.0]
    site = geodetic_to_ecef(lat, lon, rng.uniform(0, 3, 300))
    enu = enu_basis(lat, lon)
    masks = np.full(300, mask_deg)
    masks[::3] += 5.0  # per-site masks
    site_idx, sat_idx, el, az, rng_km = visible_pairs(site, enu, position, masks)
    elevation, azimuth, range_km = look_angles(site, enu, position)
    expected = np.argwhere(elevation >= masks[:, None])
    np.testing.assert_array_equal(np.stack([site_idx, sat_idx], axis=1), expected)
    assert 17 not in sat_idx
    np.testing.assert_allclose(el, elevation[site_idx, sat_idx], atol=1e-9)
    np.testing.assert_allclose(az, azimuth[site_idx, sat_idx], atol=1e-9)
    np.testing.assert_allclose(rng_km, range_km[site_idx, sat_idx], atol=1e-9)
    counts = visible_counts(site_idx, 300)
    np.testing.assert_array_equal(counts, (elevation >= masks[:, None]).sum(axis=1))


def test_unsorted_visible_pairs_are_the_same_pairs_and_values(monkeypatch):
    # sort=False only skips the ordering, and the block size of the elevation computation changes nothing:
    # the same pairs with bit-identical values (the sorted call with one block is the reference, itself
    # checked against the dense computation above).
    constellation = Constellation.preset("starlink-gen1")
    position = constellation.positions_km(Times.from_utc(["2024-03-05T17:23:00Z"]))[0]
    rng = np.random.default_rng(11)
    lat = np.degrees(np.arcsin(rng.uniform(-1, 1, 200)))
    lon = rng.uniform(-180, 180, 200)
    site = geodetic_to_ecef(lat, lon, 0.0)
    enu = enu_basis(lat, lon)
    want = visible_pairs(site, enu, position, 25.0)
    got = visible_pairs(site, enu, position, 25.0, sort=False)
    order = np.lexsort((got[1], got[0]))
    for w, g in zip(want, got, strict=True):
        assert np.array_equal(w, g[order])
    monkeypatch.setattr("leosim.geometry._BLOCK_PAIRS", 7)  # many blocks and a short last one
    for w, g in zip(want, visible_pairs(site, enu, position, 25.0), strict=True):
        assert np.array_equal(w, g)


def test_no_sites_or_no_satellites():
    site = geodetic_to_ecef([0.0], [0.0], [0.0])
    out = visible_pairs(site, enu_basis([0.0], [0.0]), np.full((3, 3), np.nan))
    assert all(len(a) == 0 for a in out)
