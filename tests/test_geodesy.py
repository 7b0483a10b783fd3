"""WGS84 geodesy checked against skyfield's ``wgs84`` and hand-computable geometry."""

from __future__ import annotations

import numpy as np
import pytest
from skyfield.api import load, wgs84
from skyfield.toposlib import ITRSPosition
from skyfield.units import Distance

from leosim.constants import WGS84_A_KM, WGS84_B_KM
from leosim.ground.geodesy import ecef_to_geodetic, enu_basis, geodetic_to_ecef

ONE_MM_KM = 1e-6
"""1 mm in km: the accuracy the geodesy promises (far below any link-budget or TLE effect)."""
SKYFIELD_INVERSE_TOL_KM = 1e-5
"""1 cm in km: skyfield's ``latlon_of`` stops after three fixed-point iterations, which leaves up to about
3 mm of latitude error near 45 deg at the surface (measured against skyfield's own forward formula)."""


def _sample_points(seed: int = 20240601, n: int = 4000):
    """Random geodetic points (area-uniform), altitudes -10..40,000 km, plus poles, equator, antimeridian."""
    rng = np.random.default_rng(seed)
    lat = np.degrees(np.arcsin(rng.uniform(-1.0, 1.0, n)))
    lon = rng.uniform(-180.0, 180.0, n)
    # Half the points in LEO range, half up to beyond GEO, so low altitudes are well sampled.
    alt = np.concatenate([rng.uniform(-10.0, 2000.0, n // 2), rng.uniform(-10.0, 40000.0, n - n // 2)])
    special_lat = np.array([90.0, -90.0, 90.0, -90.0, 0.0, 0.0, 0.0, 45.0, -45.0, 89.999999, -89.999999])
    special_lon = np.array([0.0, 0.0, 180.0, -180.0, 180.0, -180.0, 0.0, 179.999999, -179.999999, 37.0,
                            -12.0])
    special_alt = np.array([-10.0, 40000.0, 550.0, 0.0, -10.0, 40000.0, 0.0, 35786.0, 550.0, 0.0, 1200.0])
    return (np.concatenate([lat, special_lat]), np.concatenate([lon, special_lon]),
            np.concatenate([alt, special_alt]))


def _horizontal_error_km(lat1, lon1, lat2, lon2, alt_km):
    """Distance (km) on a sphere of radius a + alt between two lat/lon pairs (small differences)."""
    radius = WGS84_A_KM + alt_km
    dlat = np.radians(lat1 - lat2)
    dlon = np.radians((lon1 - lon2 + 180.0) % 360.0 - 180.0)
    return radius * np.hypot(dlat, dlon * np.cos(np.radians(lat2)))


def test_round_trip_geodetic_ecef_geodetic_within_1_mm():
    lat, lon, alt = _sample_points()
    lat2, lon2, alt2 = ecef_to_geodetic(geodetic_to_ecef(lat, lon, alt))
    assert np.max(np.abs(alt2 - alt)) < ONE_MM_KM
    assert np.max(_horizontal_error_km(lat2, lon2, lat, lon, alt)) < ONE_MM_KM


def test_round_trip_ecef_geodetic_ecef_within_1_mm():
    lat, lon, alt = _sample_points(seed=7)
    xyz = geodetic_to_ecef(lat, lon, alt)
    back = geodetic_to_ecef(*ecef_to_geodetic(xyz))
    assert np.max(np.linalg.norm(back - xyz, axis=-1)) < ONE_MM_KM


def test_forward_agrees_with_skyfield_within_1_mm():
    lat, lon, alt = _sample_points(seed=11)
    reference_km = wgs84.latlon(lat, lon, elevation_m=alt * 1000.0).itrs_xyz.km.T
    ours_km = geodetic_to_ecef(lat, lon, alt)
    assert ours_km.shape == (lat.size, 3)
    assert np.max(np.linalg.norm(ours_km - reference_km, axis=-1)) < ONE_MM_KM


def test_inverse_recovers_skyfield_forward_input_within_1_mm():
    # skyfield's forward formula builds the ECEF points; our inverse must give back its inputs.
    lat, lon, alt = _sample_points(seed=13)
    xyz_km = wgs84.latlon(lat, lon, elevation_m=alt * 1000.0).itrs_xyz.km.T
    lat2, lon2, alt2 = ecef_to_geodetic(xyz_km)
    assert np.max(np.abs(alt2 - alt)) < ONE_MM_KM
    assert np.max(_horizontal_error_km(lat2, lon2, lat, lon, alt)) < ONE_MM_KM


def test_inverse_agrees_with_skyfield_inverse():
    lat, lon, alt = _sample_points(seed=17, n=2000)
    xyz_km = geodetic_to_ecef(lat, lon, alt)
    t = load.timescale(builtin=True).utc(2024, 3, 1)
    position = ITRSPosition(Distance(km=xyz_km.T)).at(t)  # ITRS -> GCRS -> ITRS inside skyfield
    ref_lat, ref_lon = wgs84.latlon_of(position)
    ref_height_km = wgs84.height_of(position).km
    geo = wgs84.geographic_position_of(position)
    our_lat, our_lon, our_alt = ecef_to_geodetic(xyz_km)
    assert np.max(np.abs(our_alt - ref_height_km)) < SKYFIELD_INVERSE_TOL_KM
    assert np.max(np.abs(our_alt - geo.elevation.km)) < SKYFIELD_INVERSE_TOL_KM
    assert np.max(_horizontal_error_km(our_lat, our_lon, ref_lat.degrees, ref_lon.degrees, alt)) \
        < SKYFIELD_INVERSE_TOL_KM
    assert np.max(_horizontal_error_km(our_lat, our_lon, geo.latitude.degrees, geo.longitude.degrees, alt)) \
        < SKYFIELD_INVERSE_TOL_KM


def test_hand_values_on_the_axes():
    # Equator/prime meridian at the surface is (a, 0, 0); the poles are (0, 0, ±b).
    xyz = geodetic_to_ecef([0.0, 90.0, -90.0, 0.0], [0.0, 0.0, 0.0, 90.0], [0.0, 0.0, 0.0, 100.0])
    expected = np.array([[WGS84_A_KM, 0, 0], [0, 0, WGS84_B_KM], [0, 0, -WGS84_B_KM],
                         [0, WGS84_A_KM + 100.0, 0]])
    assert np.max(np.abs(xyz - expected)) < ONE_MM_KM
    lat, _lon, alt = ecef_to_geodetic([[0.0, 0.0, WGS84_B_KM + 550.0], [0.0, 0.0, -WGS84_B_KM + 10.0]])
    np.testing.assert_allclose(lat, [90.0, -90.0], atol=0, rtol=0)
    np.testing.assert_allclose(alt, [550.0, -10.0], atol=ONE_MM_KM)


def test_inverse_gives_nan_for_nan():
    lat, lon, alt = ecef_to_geodetic([[np.nan, np.nan, np.nan], [WGS84_A_KM, 0.0, 0.0]])
    assert np.isnan(lat[0]) and np.isnan(lon[0]) and np.isnan(alt[0])
    assert abs(alt[1]) < ONE_MM_KM


def test_broadcasting_shapes():
    xyz = geodetic_to_ecef(np.zeros((4, 5)), np.zeros((1, 5)), 0.0)
    assert xyz.shape == (4, 5, 3)
    lat, _lon, _alt = ecef_to_geodetic(xyz)
    assert lat.shape == (4, 5)
    assert enu_basis(np.zeros((4, 5)), 0.0).shape == (4, 5, 3, 3)


@pytest.mark.parametrize(("lat", "lon", "east", "north", "up"), [
    (0.0, 0.0, (0, 1, 0), (0, 0, 1), (1, 0, 0)),
    (0.0, 90.0, (-1, 0, 0), (0, 0, 1), (0, 1, 0)),
    (90.0, 0.0, (0, 1, 0), (-1, 0, 0), (0, 0, 1)),
    (-90.0, 0.0, (0, 1, 0), (1, 0, 0), (0, 0, -1)),
])
def test_enu_basis_hand_values(lat, lon, east, north, up):
    basis = enu_basis(lat, lon)
    np.testing.assert_allclose(basis, np.array([east, north, up], dtype=float), atol=1e-15)


def test_enu_basis_orthonormal_right_handed():
    lat, lon, _alt = _sample_points(seed=19)
    basis = enu_basis(lat, lon)
    gram = np.einsum("...ik,...jk->...ij", basis, basis)
    np.testing.assert_allclose(gram, np.broadcast_to(np.eye(3), gram.shape), atol=1e-14)
    np.testing.assert_allclose(np.cross(basis[..., 0, :], basis[..., 1, :]), basis[..., 2, :], atol=1e-14)


def test_up_is_the_ellipsoid_normal_and_north_is_along_the_meridian():
    lat, lon, _alt = _sample_points(seed=23, n=500)
    basis = enu_basis(lat, lon)
    # Outward normal of x²/a² + y²/a² + z²/b² = 1 at the surface point: the gradient (x/a², y/a², z/b²).
    xyz = geodetic_to_ecef(lat, lon, 0.0)
    gradient = xyz / np.array([WGS84_A_KM**2, WGS84_A_KM**2, WGS84_B_KM**2])
    normal = gradient / np.linalg.norm(gradient, axis=-1, keepdims=True)
    np.testing.assert_allclose(basis[..., 2, :], normal, atol=1e-12)
    # skyfield: one metre up moves along Up; a small step north moves along North.
    step_m = 1.0
    up_sf = (wgs84.latlon(lat, lon, step_m).itrs_xyz.km - wgs84.latlon(lat, lon, 0.0).itrs_xyz.km).T
    np.testing.assert_allclose(up_sf / (step_m / 1000.0), basis[..., 2, :], atol=1e-9)
    inner = np.abs(lat) < 89.0  # keep the ±1e-6 degree step away from the poles
    dlat_deg = 1e-6
    north_sf = (wgs84.latlon(lat[inner] + dlat_deg, lon[inner]).itrs_xyz.km
                - wgs84.latlon(lat[inner] - dlat_deg, lon[inner]).itrs_xyz.km).T
    north_sf /= np.linalg.norm(north_sf, axis=-1, keepdims=True)
    np.testing.assert_allclose(north_sf, basis[inner, 1, :], atol=1e-6)
