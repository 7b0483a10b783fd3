"""Link budget against hand-computed FSPL and Es/N0 at 550 km zenith and at the 25° mask; DVB-S2X MODCOD
choice against ETSI EN 302 307-2 Table 20a rows; the per-satellite peak against Pekhterev's arithmetic."""

from __future__ import annotations

import math

import numpy as np
import pytest

from leosim.capacity.linkbudget import (
    beam_capacity_mbps,
    esn0_db,
    free_space_path_loss_db,
    satellite_peak_mbps,
    symbol_rate_mbaud,
)
from leosim.capacity.modcod import modcod_name, spectral_efficiency
from leosim.capacity.params import CapacityParams, capacity_preset

DB_TOL = 1e-9
"""Decibel figures agree to 1e-9 dB: same formula evaluated two ways, float rounding only."""
C_M_S = 299_792_458.0
EARTH_RADIUS_M = 6_371_000.0  # spherical Earth for the hand computation of the slant range


def _hand_fspl_db(d_m, f_hz):
    return 20 * math.log10(d_m) + 20 * math.log10(f_hz) + 20 * math.log10(4 * math.pi / C_M_S)


def _hand_esn0_db(d_m, elevation_deg):
    # EIRP 66.89 dBW, G/T 9.2 dB/K, k = 1.380649e-23 J/K, Rs = 240 MHz / 1.1, projected-aperture scan loss.
    scan = -10 * math.log10(math.sin(math.radians(elevation_deg)))
    rs_hz = 240e6 / 1.1
    return 66.89 - _hand_fspl_db(d_m, 12.7e9) - scan + 9.2 - 10 * math.log10(1.380649e-23) - 10 * math.log10(rs_hz)


def _slant_range_m(altitude_m, elevation_deg):
    """Law of cosines on a spherical Earth: the range at which a satellite at ``altitude_m`` is seen at
    ``elevation_deg``."""
    e = math.radians(elevation_deg)
    r = EARTH_RADIUS_M
    return math.sqrt((r + altitude_m) ** 2 - (r * math.cos(e)) ** 2) - r * math.sin(e)


def test_fspl_at_550_km_zenith():
    assert free_space_path_loss_db(550.0, 12.7) == pytest.approx(_hand_fspl_db(550e3, 12.7e9), abs=DB_TOL)
    assert free_space_path_loss_db(550.0, 12.7) == pytest.approx(169.33, abs=0.01)  # textbook 92.45 + 20log d f
    assert free_space_path_loss_db(550.0, 14.5) == pytest.approx(_hand_fspl_db(550e3, 14.5e9), abs=DB_TOL)


@pytest.mark.parametrize("elevation_deg", [90.0, 25.0])
def test_esn0_and_beam_capacity_by_hand(elevation_deg):
    d_m = _slant_range_m(550e3, elevation_deg)
    if elevation_deg == 25.0:
        assert d_m == pytest.approx(1_123e3, rel=2e-3)  # the 25° mask range of a 550 km shell, ~1,123 km
    p = CapacityParams()
    hand = _hand_esn0_db(d_m, elevation_deg)
    assert esn0_db(d_m / 1e3, elevation_deg, p) == pytest.approx(hand, abs=DB_TOL)
    # With the FCC values the link closes far above the top MODCOD's 19.57 dB: 256APSK 3/4.
    assert hand > 19.57
    assert beam_capacity_mbps(d_m / 1e3, elevation_deg, p) == pytest.approx(240.0 / 1.1 * 5.900855, rel=1e-12)


def test_modcod_thresholds_from_table():
    # Rows of ETSI EN 302 307-2 Table 20a: (Es/N0 dB, best bits/symbol reachable there)
    cases = [(-3.0, 0.0), (-2.03, 0.567805), (0.22, 0.889135), (6.0, 1.972253), (13.05, 3.841226),
             (16.98, 5.065690), (16.97, 4.936639), (19.57, 5.900855), (40.0, 5.900855)]
    for esn0, eff in cases:
        assert spectral_efficiency(esn0) == pytest.approx(eff, abs=1e-12), esn0
    assert modcod_name(13.05) == "32APSK 7/9"
    assert spectral_efficiency(np.nan) == 0.0
    # A cap on the bits per symbol (e.g. Pekhterev's 64QAM 8/9 = 5.33) keeps the best MODCOD below it.
    assert spectral_efficiency(40.0, max_efficiency=6 * 8 / 9) == pytest.approx(5.241514)


def test_rain_fade_lowers_capacity():
    p = CapacityParams()
    d = _slant_range_m(550e3, 25.0) / 1e3
    clear = beam_capacity_mbps(d, 25.0, p)
    faded = beam_capacity_mbps(d, 25.0, p, rain_db=40.0)
    assert faded < clear
    assert esn0_db(d, 25.0, p) - esn0_db(d, 25.0, p, rain_db=40.0) == pytest.approx(40.0, abs=DB_TOL)


def test_satellite_peak_is_pekhterev_arithmetic():
    # 2 GHz of Ku downlink × 2 polarisations × 64QAM 8/9 (6 × 8/9 bit/s/Hz) = 21.33 Gbps, "about 20 Gbps".
    assert satellite_peak_mbps(CapacityParams()) == pytest.approx(2000.0 * 2 * 6 * 8 / 9, rel=1e-15)
    assert satellite_peak_mbps(capacity_preset("starlink-v2-mini")) == 96_000.0
    # 16 beams at the top MODCOD stay of the same order (beams × symbol rate × 5.9 bit/symbol).
    assert 16 * symbol_rate_mbaud(CapacityParams()) * 5.900855 == pytest.approx(20_596, rel=1e-3)


def test_uplink_uses_uplink_parameters():
    up = CapacityParams(direction="up")
    assert up.frequency_ghz == 14.5 and up.channel_mhz == 62.0
    assert esn0_db(550.0, 90.0, up) < esn0_db(550.0, 90.0, CapacityParams())


@pytest.mark.slow
def test_rain_fade_from_itu_r_p618():
    """ITU-R P.618 through the optional ``itur`` package (offline; loading its maps takes ~20 s)."""
    pytest.importorskip("itur")
    from leosim.capacity.linkbudget import rain_attenuation_db

    # Miami (25.8 N, 80.2 W), 40° elevation, 12.7 GHz: attenuation grows as the exceedance shrinks, and at
    # 0.01 % of the year a Ku link in a tropical rain climate loses of the order of 10-25 dB (ITU-R P.837
    # R0.01 ~ 100 mm/h there); at 1 % it is a fraction of a dB to ~2 dB.
    a = [float(rain_attenuation_db(25.8, -80.2, 40.0, CapacityParams(rain_exceedance_percent=p)))
         for p in (1.0, 0.1, 0.01)]
    assert a[0] < a[1] < a[2]
    assert 0.05 < a[0] < 3.0 and 8.0 < a[2] < 30.0
    assert rain_attenuation_db(25.8, -80.2, 40.0, CapacityParams()) == 0.0


RAIN_TABLE_TOL_DB = 0.5
"""rain_fade_table interpolates P.618 linearly in elevation on a 1° grid; P.618's elevation dependence has
kinks (where the rain path is limited horizontally) that interpolation rounds by up to ~0.4 dB at 0.01 %."""


@pytest.mark.slow
def test_rain_fade_table_follows_p618_and_lowers_beams():
    pytest.importorskip("itur")
    from leosim.capacity import Terminals, capacity_slot
    from leosim.capacity.linkbudget import rain_attenuation_db, rain_fade_table
    from leosim.geometry import look_angles
    from leosim.ground.geodesy import enu_basis
    from test_capacity_slot import _beam_capacity, _cells_around, _overhead, _single_route

    p = CapacityParams(rain_exceedance_percent=0.01)
    rng = np.random.default_rng(7)
    lat, lon = rng.uniform(-60.0, 60.0, 300), rng.uniform(-180.0, 180.0, 300)
    fade = rain_fade_table(lat, lon, p)
    place = rng.integers(0, 300, 500)
    el = rng.uniform(25.0, 90.0, 500)
    direct = rain_attenuation_db(lat[place], lon[place], el, p)
    assert direct.max() > 5.0  # the check covers heavy fades, not only ~0 dB ones
    np.testing.assert_allclose(fade(place, el), direct, atol=RAIN_TABLE_TOL_DB)
    assert rain_fade_table(lat, lon, CapacityParams()) is None
    # Miami at 0.01 %, with 40 dB of other losses so that Es/N0 sits among the MODCOD thresholds: the rain
    # fade lowers the beam to the MODCOD of the faded link, exactly as beam_capacity_mbps says for that fade.
    cells = _cells_around(25.8, -80.2, 1)
    sat = _overhead(cells)
    lossy = CapacityParams(rain_exceedance_percent=0.01, other_losses_db=40.0)
    rain = rain_fade_table(cells.lat_deg, cells.lon_deg, lossy)
    paths, gw = _single_route(1)
    dry = capacity_slot(cells, Terminals.make([0], demand_mbps=5_000.0), ["ok"], [True], paths, gw, sat, lossy)
    wet = capacity_slot(cells, Terminals.make([0], demand_mbps=5_000.0), ["ok"], [True], paths, gw, sat, lossy,
                        rain_db=rain)
    faded_db = float(rain(np.array([0]), np.array([90.0]))[0])
    assert faded_db > 3.0
    assert wet.served_mbps[0] < dry.served_mbps[0]
    el0, _, rng0 = look_angles(cells.ecef_km[:1], enu_basis(cells.lat_deg[:1], cells.lon_deg[:1]), sat)
    assert wet.served_mbps[0] == pytest.approx(float(beam_capacity_mbps(rng0[0, 0], el0[0, 0], lossy, faded_db)),
                                               rel=1e-12)
    assert dry.served_mbps[0] == pytest.approx(_beam_capacity(cells, sat, params=lossy), rel=1e-12)


@pytest.mark.parametrize("max_bits", [math.inf, 3.0, 0.1])
@pytest.mark.parametrize("far_km", [1_200.0, 60_000.0])
def test_beam_capacity_of_many_beams_equals_one_at_a_time(far_km, max_bits):
    # Long arrays may take the worst-corner shortcut (all beams at the best MODCOD allowed); the reference
    # is the same function on one beam at a time, which never does. far_km 60,000 km puts the worst corner
    # below the top MODCOD (no shortcut, a mix of MODCODs); max_bits 0.1 allows no MODCOD at all.
    p = CapacityParams(max_bits_per_symbol=max_bits)
    rng = np.random.default_rng(4)
    range_km = rng.uniform(550.0, far_km, 200)
    elevation_deg = rng.uniform(25.0, 90.0, 200)
    rain = rng.uniform(0.0, 3.0, 200)
    many = beam_capacity_mbps(range_km, elevation_deg, p, rain)
    one = [float(beam_capacity_mbps(d, e, p, r)) for d, e, r in zip(range_km, elevation_deg, rain, strict=True)]
    assert np.array_equal(many, one)
    assert (np.unique(many).size > 1) == (far_km > 10_000 and max_bits > 1)
    nan_range = range_km.copy()
    nan_range[3] = np.nan  # a NaN geometry gives 0 and no shortcut
    with_nan = beam_capacity_mbps(nan_range, elevation_deg, p, rain)
    assert with_nan[3] == 0.0 and np.array_equal(np.delete(with_nan, 3), np.delete(many, 3))
