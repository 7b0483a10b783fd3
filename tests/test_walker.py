"""Walker shells and presets: counts, altitude, inclination, spacing; Hypatia's Starlink-550 conventions."""

from __future__ import annotations

import numpy as np
import pytest

from leosim.errors import LeosimInputError
from leosim.ground.geodesy import ecef_to_geodetic
from leosim.orbits.constellation import Constellation
from leosim.orbits.presets import get_preset, preset_names
from leosim.orbits.walker import WalkerShell, shell_elements, shell_satrecs
from leosim.timebase import Times

SGP4_RADIUS_KM = 6378.135


@pytest.mark.parametrize(("name", "count"), [("starlink-gen1", 4408), ("starlink-550", 1584),
                                             ("starlink-gen2a", 10080), ("kuiper", 3236), ("oneweb", 588)])
def test_preset_counts(name, count):
    assert get_preset(name).size == count
    assert name in preset_names()


def test_gen1_shells_follow_the_2021_modification():
    shells = get_preset("starlink-gen1").shells
    assert [(s.altitude_km, s.inclination_deg, s.planes, s.sats_per_plane) for s in shells] == [
        (550.0, 53.0, 72, 22), (540.0, 53.2, 72, 22), (570.0, 70.0, 36, 20), (560.0, 97.6, 6, 58),
        (560.0, 97.6, 4, 43)]
    assert "7,500" in get_preset("starlink-gen2a").description


def test_unknown_preset_suggests_close_names():
    with pytest.raises(LeosimInputError, match="starlink-gen1"):
        get_preset("starlink-gen")


def test_mean_altitude_and_inclination_are_what_was_asked():
    shell = WalkerShell(550.0, 53.0, 4, 5)
    for sat in shell_satrecs(shell):
        # SGP4's own recovered Brouwer mean semi-major axis: exact inversion, to a millimetre.
        assert sat.a * SGP4_RADIUS_KM - SGP4_RADIUS_KM == pytest.approx(550.0, abs=1e-6)
        assert np.degrees(sat.inclo) == pytest.approx(53.0, abs=1e-12)


def test_osculating_orbit_stays_near_the_mean_altitude():
    constellation = Constellation.walker(550.0, 53.0, 2, 2)
    times = Times.from_range(constellation.epoch, 6000, 10)
    position = constellation.positions_km(times)
    radius = np.linalg.norm(position, axis=-1)
    # J2 makes the osculating radius oscillate around the mean by up to 3/4 J2 R^2/a ≈ 4.8 km;
    # the mean over one orbit (~95.6 min) must sit within that of the requested 550 km.
    assert abs(radius.mean() - SGP4_RADIUS_KM - 550.0) < 4.8
    # The geodetic latitude reaches the inclination (53°) over an orbit, within the 0.2° of
    # geodetic-vs-geocentric difference and the 10 s sampling (0.6° of arc).
    lat, _, _ = ecef_to_geodetic(position)
    assert 52.2 < np.abs(lat).max() < 53.4


def test_walker_spacing_and_phasing():
    shell = WalkerShell(550.0, 53.0, 6, 8, phasing_f=2, raan_spread_deg=360.0, raan_offset_deg=10.0)
    el = shell_elements(shell)
    raan = np.degrees(el["raan_rad"]).reshape(6, 8)
    anomaly = np.degrees(el["mean_anomaly_rad"]).reshape(6, 8)
    np.testing.assert_allclose(raan[:, 0], 10.0 + 60.0 * np.arange(6))
    np.testing.assert_allclose(np.diff(anomaly[0]), 45.0)
    # Walker delta: plane p is shifted by p * F * 360 / (P * S) = p * 15 degrees.
    np.testing.assert_allclose((anomaly[:, 0]) % 360.0, (np.arange(6) * 15.0) % 360.0)


def test_starlink_550_matches_hypatia_conventions():
    constellation = Constellation.preset("starlink-550")
    sats = constellation.satrecs
    assert constellation.epoch == np.datetime64("2000-01-01T00:00:00", "ns")
    assert sats[0].jdsatepoch + sats[0].jdsatepochF == pytest.approx(2451544.5, abs=1e-9)
    assert sats[0].no_kozai * 1440.0 / (2 * np.pi) == pytest.approx(15.19, abs=1e-12)
    assert sats[0].ecco == pytest.approx(1e-7)
    # Odd planes are offset by half a slot (360/44 degrees); RAAN = plane * 5 degrees.
    plane1_slot0 = sats[22]
    assert np.degrees(plane1_slot0.mo) == pytest.approx(360.0 / 44.0, abs=1e-9)
    assert np.degrees(plane1_slot0.nodeo) == pytest.approx(5.0, abs=1e-9)
    assert np.degrees(sats[44].mo) == pytest.approx(0.0, abs=1e-9)
    assert np.degrees(sats[23].mo) == pytest.approx(360.0 / 22 + 360.0 / 44.0, abs=1e-9)
    assert (constellation.plane[22], constellation.slot[22], constellation.shell[22]) == (1, 0, 0)


def test_metadata_columns_for_laser_grids():
    constellation = Constellation.preset("starlink-gen1")
    assert len(np.unique(constellation.sat_id)) == len(constellation)
    assert np.bincount(constellation.shell).tolist() == [1584, 1584, 720, 348, 172]
    assert constellation.plane[constellation.shell == 3].max() == 5
    assert constellation.slot[constellation.shell == 3].max() == 57


@pytest.mark.parametrize(("field", "kwargs"), [
    ("planes", {"planes": 0}), ("inclination_deg", {"inclination_deg": 200.0}),
    ("phasing_f", {"phasing_f": 9}), ("eccentricity", {"eccentricity": 1.5})])
def test_bad_shell_parameters(field, kwargs):
    params = {"altitude_km": 550.0, "inclination_deg": 53.0, "planes": 4, "sats_per_plane": 4} | kwargs
    with pytest.raises(LeosimInputError, match=field):
        shell_satrecs(WalkerShell(**params))


def test_wgs72_constants_are_the_ones_sgp4_propagates_with():
    # Walker shells are built for SGP4 (mean motion from the Brouwer/Kozai semi-major axis), so leosim's WGS72
    # constants must be sgp4's own, bit for bit: any difference would shift every shell's altitude.
    from sgp4.earth_gravity import wgs72

    from leosim.constants import WGS72_J2, WGS72_MU_KM3_S2, WGS72_RADIUS_KM, WGS72_XKE_PER_MIN

    assert (WGS72_MU_KM3_S2, WGS72_RADIUS_KM, WGS72_J2, WGS72_XKE_PER_MIN) == (
        wgs72.mu, wgs72.radiusearthkm, wgs72.j2, wgs72.xke)
    assert SGP4_RADIUS_KM == wgs72.radiusearthkm
