"""Demand placement on H3 cells, terminal rows, the table frames and the capacity summary."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import shapely

from leosim.capacity import Terminals, capacity_summary, cells_of, locate_in_cells, spread_by_population, spread_uniform
from leosim.capacity.demand import group_by_cell
from leosim.constants import MEAN_EARTH_RADIUS_KM
from leosim.errors import LeosimInputError


def test_cells_and_centres_round_trip():
    rng = np.random.default_rng(0)
    lat, lon = rng.uniform(-60, 60, 500), rng.uniform(-180, 180, 500)
    table, row = locate_in_cells(lat, lon, 5)
    assert (row >= 0).all() and np.array_equal(table.cell[row], cells_of(lat, lon, 5))
    # A cell's centre lies in that cell, and a res-5 cell's centre is within ~10 km of its points
    # (edge length ~8.5 km, H3 res-5 average).
    assert np.array_equal(cells_of(table.lat_deg, table.lon_deg, 5), table.cell)
    d = np.linalg.norm(table.ecef_km[row] - np.c_[np.cos(np.radians(lat)) * np.cos(np.radians(lon)),
                                                   np.cos(np.radians(lat)) * np.sin(np.radians(lon)),
                                                   np.sin(np.radians(lat))] * MEAN_EARTH_RADIUS_KM, axis=1)
    assert d.max() < 10.0 + 25.0  # + the sphere/ellipsoid difference, up to ~21 km in radius
    assert table.index(np.array([1], dtype=np.uint64))[0] == -1


def test_spread_uniform_inside_and_deterministic():
    square = shapely.box(10.0, 40.0, 12.0, 42.0)
    lat, lon = spread_uniform(square, 2000, seed=3)
    assert shapely.contains_xy(square, lon, lat).all()
    again = spread_uniform(square, 2000, seed=3)
    assert np.array_equal(lat, again[0]) and np.array_equal(lon, again[1])
    # Uniform on the sphere: about half the points in the northern half of the square (±5 sigma).
    assert abs((lat > 41.0).mean() - 0.5) < 5 * np.sqrt(0.25 / 2000) + 0.01


def test_spread_by_population_follows_population():
    lat, lon = spread_by_population([0.0, 30.0], [0.0, 30.0], [9_000, 1_000], 5000, seed=1, spread_km=10.0)
    near_big = np.hypot(lat - 0.0, lon - 0.0) < 1.0
    assert abs(near_big.mean() - 0.9) < 0.03  # 90 % of the population, binomial sd 0.004
    square = shapely.box(-0.5, -0.5, 0.5, 0.5)
    lat, lon = spread_by_population([0.0], [0.0], [1], 300, seed=2, spread_km=50.0, geometry=square)
    assert shapely.contains_xy(square, lon, lat).all()
    rows, count = group_by_cell([3, 1, 3, 3])
    assert list(rows) == [1, 3] and list(count) == [1.0, 3.0]


def test_terminal_rows_are_checked():
    t = Terminals.make([0, 1], tier=1, count=[1, 5])
    assert list(t.tier) == [1, 1] and list(t.count) == [1.0, 5.0] and not t.new.any()
    with pytest.raises(LeosimInputError):
        Terminals.make([0], demand_mbps=-1.0)
    with pytest.raises(LeosimInputError):
        Terminals.make([0], activity=1.5)


def test_capacity_summary_by_hand():
    t0, t1 = np.datetime64("2025-01-01T00:00:12"), np.datetime64("2025-01-01T00:00:27")
    df = pd.DataFrame({
        "time_utc": [t0, t0, t1, t1],
        "site_id": ["a", "b", "a", "b"],
        "fleet": ["army", "home", "army", "home"],
        "terminals": [2.0, 10.0, 2.0, 10.0],
        "demand_mbps": [50.0, 4.0, 50.0, 4.0],
        "served_mbps": [50.0, 2.0, 25.0, 4.0],
        "available_mbps": [300.0, 10.0, 100.0, 20.0],
        "bottleneck": ["none", "beam", "feeder", "none"],
        "refused": [False, True, False, False],
        "at_capacity": [False, True, False, False],
    })
    df["territory"] = ["UKR", "POL", "UKR", "POL"]
    summary = capacity_summary(df)
    assert list(summary["scope"]) == ["territory", "territory", "fleet", "fleet"]
    s = summary[summary["scope"] == "fleet"].set_index("key")
    assert s.loc["army", "terminals"] == 2.0 and s.loc["army", "mean_demand_mbps"] == 50.0
    assert s.loc["army", "served_fraction"] == pytest.approx(75.0 / 100.0)
    assert s.loc["home", "served_fraction"] == pytest.approx(60.0 / 80.0)
    # Weighted (inverted-CDF) quantiles over terminal-slots: army has 2 terminals at 300 and 2 at 100.
    assert s.loc["army", "median_mbps"] == 100.0 and s.loc["home", "p5_mbps"] == 10.0
    assert s.loc["home", "at_capacity_frac"] == 0.5 and s.loc["home", "refused"] == 10.0
    t = summary[summary["scope"] == "territory"].set_index("key")
    assert t.loc["UKR", "served_fraction"] == s.loc["army", "served_fraction"]


@pytest.mark.slow
def test_place_in_territory_by_population_and_uniform():
    from leosim.capacity.demand import place_in_territory
    from leosim.ground.geodesy import geodetic_to_ecef
    from leosim.ground.sites import default_cities
    from leosim.policy.fleets import Fleet, Tenant, tenant_priority
    from leosim.territory import Territories

    territories = Territories.default()
    lat, lon = place_in_territory(territories, "BEL", 400, seed=1, spread_km=5.0)
    assert (np.asarray(territories.lookup(lat, lon)) == "BEL").all()
    # By population: every point within 5 sigma (25 km) of a listed Belgian city.
    cities = default_cities()
    bel = np.asarray(territories.lookup(cities.lat_deg, cities.lon_deg)) == "BEL"
    city_xyz = geodetic_to_ecef(cities.lat_deg[bel], cities.lon_deg[bel], 0.0)
    d = np.linalg.norm(geodetic_to_ecef(lat, lon, 0.0)[:, None, :] - city_xyz[None], axis=2).min(axis=1)
    assert d.max() < 25.0
    # Luxembourg has no city in the shipped table: uniform fallback, still inside.
    lat, lon = place_in_territory(territories, "LUX", 100, seed=1)
    assert (np.asarray(territories.lookup(lat, lon)) == "LUX").all()
    lat, lon = place_in_territory(territories, "UKR", 2000, by="uniform", seed=2)
    assert (np.asarray(territories.lookup(lat, lon)) == "UKR").all()
    with pytest.raises(LeosimInputError):
        place_in_territory(territories, "UKR", 10, by="census")
    # Tiers come from the fleets' tenant priority.
    fleets = [Fleet("army", 10, tenant=Tenant("gov", priority=2)), Fleet("home", 10)]
    assert list(tenant_priority(fleets, ["army", "home", "army"])) == [2, 0, 2]
