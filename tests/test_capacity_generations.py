"""Satellites of several generations in one constellation: the v2 mini preset's beam count from its quoted
capacity, generations by launch date, per-satellite beams and ceilings in the scheduler and the allocation,
and ``[capacity] generations = "launch-date"`` in a scenario."""

from __future__ import annotations

import math

import numpy as np
import pytest

from leosim.capacity import (
    CapacityParams,
    SatelliteCapacity,
    Terminals,
    capacity_preset,
    capacity_slot,
    satellite_generations,
    schedule_beams,
)
from leosim.errors import LeosimInputError, LeosimWarning
from leosim.scenario.api import Scenario
from test_capacity_slot import _beam_capacity, _cells_around, _overhead, _single_route

TOP_MODCOD_256APSK_3_4 = 5.900855
"""ETSI EN 302 307-2 Table 20a, 256APSK 3/4 (normal frame): spectral efficiency, bit/symbol."""


def test_v2_mini_beams_reach_its_quoted_capacity_and_no_more_than_one_beam_beyond():
    # One beam at the top MODCOD: 240 MHz / (1 + 0.1 roll-off) × 5.900855 bit/symbol = 1,287.5 Mbps; the quoted
    # 96 Gbps of a v2 mini takes 96,000 / 1,287.5 = 74.6 → 75 such beams (74 would fall short).
    beam_mbps = 240.0 / 1.1 * TOP_MODCOD_256APSK_3_4
    v2 = capacity_preset("starlink-v2-mini")
    assert v2.beams_per_satellite == 75 == math.ceil(96_000.0 / beam_mbps)
    assert (v2.beams_per_satellite - 1) * beam_mbps < v2.satellite_ceiling_mbps <= v2.beams_per_satellite * beam_mbps
    assert capacity_preset("starlink-v1.5").beams_per_satellite == 16
    assert v2.gateway_mbps_per_antenna == capacity_preset("starlink-v1.5").gateway_mbps_per_antenna  # Ka antennas


def test_generations_by_launch_date():
    dates = np.array(["2019-11-11", "2023-02-26", "2023-02-27", "2025-06-01", "NaT"], dtype="datetime64[D]")
    assert satellite_generations(dates).tolist() == [
        "starlink-v1.5", "starlink-v1.5", "starlink-v2-mini", "starlink-v2-mini", "starlink-v1.5"]
    assert satellite_generations(dates, unknown="starlink-v2-mini")[-1] == "starlink-v2-mini"
    with pytest.raises(LeosimInputError, match="unknown capacity preset"):
        satellite_generations(dates, unknown="starlink-v9")


def test_satellite_capacity_of_generations():
    sats = SatelliteCapacity.of_generations(["starlink-v2-mini", "starlink-v1.5", "starlink-v2-mini"])
    assert sats.beams.tolist() == [75, 16, 75]
    np.testing.assert_allclose(sats.ceiling_mbps, [96_000.0, 2_000.0 * 2 * 6 * 8 / 9, 96_000.0], rtol=1e-12)
    assert SatelliteCapacity.of_generations(["starlink-v2-mini"], beams_per_satellite=4).beams.tolist() == [4]
    assert sats.subset([1]).beams.tolist() == [16]


def test_per_satellite_beams_bound_the_cells_served():
    # 6 cells ~0.1° apart, 2 satellites in view of all: one may form 3 beams, the other 1 (one beam per cell per
    # satellite): exactly 4 cells get a beam, 3 from the first satellite and 1 from the second.
    cells = _cells_around(47.0, 8.0, 6, step_deg=0.1)
    sats = np.vstack([_overhead(cells, 0), _overhead(cells, 5, 600.0)])
    plan = schedule_beams(cells.ecef_km, cells.up, np.full(6, 100.0), sats, CapacityParams(),
                          satellite_beams=np.array([3, 1]))
    assert int((plan.cell_beams > 0).sum()) == 4
    assert plan.satellite_beams.tolist() == [3, 1]


def test_per_satellite_ceiling_binds_in_the_allocation():
    # One satellite overhead with a 500 Mbps ceiling and one cell wanting 2,000 Mbps (above the 500 Mbps ceiling,
    # below one beam's ~1,287 Mbps): served = the ceiling, held back by the satellite.
    cells = _cells_around(47.0, 8.0, 1)
    sat = _overhead(cells)
    paths, gw = _single_route(1)
    assert _beam_capacity(cells, sat) > 1_000.0
    sats = SatelliteCapacity(beams=np.array([16]), ceiling_mbps=np.array([500.0]))
    out = capacity_slot(cells, Terminals.make([0], demand_mbps=2_000.0), ["ok"], [True], paths, gw, sat,
                        CapacityParams(), satellites=sats)
    assert out.served_mbps[0] == pytest.approx(500.0, rel=1e-12)
    assert out.bottleneck[0] == "satellite"


def _tle_file(path, designators):
    """A TLE file of synthetic satellites (53°, ~550 km, spread in phase) with the given international
    designators, written with sgp4's own exporter."""
    from sgp4.api import WGS72, Satrec
    from sgp4.exporter import export_tle

    epoch_days = (np.datetime64("2025-12-06") - np.datetime64("1949-12-31")) / np.timedelta64(1, "D")
    lines = []
    for k, designator in enumerate(designators):
        sat = Satrec()
        sat.sgp4init(WGS72, "i", 90000 + k, float(epoch_days), 1e-4, 0.0, 0.0, 1e-4, math.radians(90.0),
                     math.radians(53.0), math.radians(30.0 * k), 15.06 * 2 * math.pi / 1440.0, math.radians(40.0))
        sat.intldesg = designator
        lines += [f"SAT-{k}", *export_tle(sat)]
    path.write_text("\n".join(lines) + "\n")


SCENARIO_TEXT = """
[scenario]
name = "generations"
[constellation]
tle = "sats.tle"
non_operational = "keep"
[time]
start = 2025-12-06T02:00:00Z
duration_s = 15
step_s = 15
[network]
isl = "none"
routing = "user"
[ground]
gateways = "default"
pops = "default"
[[sites]]
name = "Warsaw"
lat = 52.23
lon = 21.01
[capacity]
preset = "starlink-v2-mini"
generations = "GENERATIONS"
"""


@pytest.mark.slow
def test_scenario_generations_by_launch_date(tmp_path):
    # A satellite launched in 2019 (v1.5) and one in 2024 (v2 mini), kept although off-shell (no ISLs).
    _tle_file(tmp_path / "sats.tle", ["19074B", "24123A"])
    for generations, beams in (("launch-date", [16, 75]), ("preset", None)):
        path = tmp_path / f"{generations}.toml"
        path.write_text(SCENARIO_TEXT.replace("GENERATIONS", generations))
        plan = Scenario.from_toml(path).plan
        sats = plan.capacity_satellites
        if beams is None:
            assert sats is None
            continue
        assert sats.beams.tolist() == beams
        service = plan.capacity_service
        assert service.satellites is sats
        # Gateways: the default 8 Ka antennas × 20 Gbps, whatever the satellites' generations.
        np.testing.assert_allclose(service.gateway_capacity_mbps, 8 * 20_000.0, rtol=1e-12)


def test_generations_without_launch_dates_warn(tmp_path):
    # Blank designators: no generation can be told, so every satellite takes the preset, with a warning.
    _tle_file(tmp_path / "sats.tle", ["", ""])
    path = tmp_path / "blank.toml"
    path.write_text(SCENARIO_TEXT.replace("GENERATIONS", "launch-date"))
    with pytest.warns(LeosimWarning, match="no satellite has a launch date"):
        sats = Scenario.from_toml(path).plan.capacity_satellites
    assert sats.beams.tolist() == [75, 75]
    empty = SatelliteCapacity.of_generations([])
    assert empty.beams.size == 0 and empty.ceiling_mbps.size == 0
