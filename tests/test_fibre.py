"""Measured gateway-to-PoP fibre: the table, its errors, and its effect on user-mode routes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from leosim.cli import main
from leosim.errors import LeosimInputError
from leosim.ground.sites import Sites, default_cities, default_ground_infrastructure
from leosim.network.fibre import fibre_matrix_km
from leosim.network.references import great_circle_km
from leosim.network.routing import Router
from leosim.orbits.constellation import Constellation
from leosim.timebase import Times


@pytest.fixture(scope="module")
def ground():
    return default_ground_infrastructure()


def index(sites, site_id, kind):
    ids = sites.ids[sites.kinds == kind]
    return int(np.flatnonzero(ids == site_id)[0])


def test_listed_pairs_override_the_great_circle(tmp_path, ground):
    table = tmp_path / "fibre.csv"
    table.write_text("gateway,pop,distance_km\ngw-frankfurt,pop-fra,12.5\nWola Krobowska,pop-fra,\n")
    matrix = fibre_matrix_km(table, ground)
    g, q = index(ground, "gw-frankfurt", "gateway"), index(ground, "pop-fra", "pop")
    assert matrix.shape == ((ground.kinds == "gateway").sum(), (ground.kinds == "pop").sum())
    assert matrix[g, q] == 12.5
    assert np.isnan(matrix[index(ground, "gw-wola-krobowska", "gateway"), q])  # listed, not connected
    # An unlisted pair keeps the great-circle distance (hand check: Frankfurt gateway to the London PoP).
    gw, pop = ground.subset([ground.index_of("gw-frankfurt")]), ground.subset([ground.index_of("pop-lon")])
    expected = great_circle_km(gw.lat_deg[0], gw.lon_deg[0], pop.lat_deg[0], pop.lon_deg[0])
    assert matrix[g, index(ground, "pop-lon", "pop")] == pytest.approx(expected)


@pytest.mark.parametrize(("text", "message"), [
    ("gateway,pop\n", "missing column"),
    ("gateway,pop,distance_km\ngw-frankfurt,pop-fra,-3\n", "distance"),
    ("gateway,pop,distance_km\ngw-frankfurt,pop-fra,far\n", "not a number"),
    ("gateway,pop,distance_km\ngw-frankfurt,pop-frx,3\n", "pop-fra"),
    ("gateway,pop,distance_km\npop-fra,pop-fra,3\n", "not a gateway"),
    ("gateway,pop,distance_km\ngw-frankfurt,pop-fra,3\ngw-frankfurt,pop-fra,4\n", "already given on line 2"),
])
def test_bad_tables_name_the_line(tmp_path, ground, text, message):
    table = tmp_path / "fibre.csv"
    table.write_text(text)
    with pytest.raises(LeosimInputError, match=message) as error:
        fibre_matrix_km(table, ground)
    assert "fibre.csv" in str(error.value)


def test_a_shorter_fibre_leg_is_used_and_shortens_the_route(tmp_path):
    sats = Constellation.preset("starlink-gen1")
    sites = Sites.concat([default_cities(30), default_ground_infrastructure()])
    position = sats.positions_km(Times.from_utc(["2024-10-25T12:00:00Z"]))[0]
    isls = np.zeros((0, 2), dtype=np.int64)  # bent pipe: the gateway must be near the city
    src = np.array([sites.index_of("Tokyo")])
    plain = Router(sites.ecef_km, sites.kinds, mode="user", isls=isls, site_up=sites.up, min_elevation_deg=25.0)
    base = plain.route(position, src, np.array([-1]))
    gateway = int(base.gateway[0])
    pop = int(base.dst[0])
    table = tmp_path / "fibre.csv"
    table.write_text(f"gateway,pop,distance_km\n{sites.ids[gateway]},{sites.ids[pop]},0\n")
    fibre = Router(sites.ecef_km, sites.kinds, mode="user", isls=isls, site_up=sites.up, min_elevation_deg=25.0,
                   fibre_km=fibre_matrix_km(table, sites))
    faster = fibre.route(position, src, np.array([-1]))
    gc = great_circle_km(sites.lat_deg[gateway], sites.lon_deg[gateway], sites.lat_deg[pop], sites.lon_deg[pop])
    # The same path with a zero-length fibre leg: shorter by the great-circle leg's round trip at c / 1.468.
    # Tolerance 1e-8 ms: the graph floors a zero delay at 1e-12 s per leg (scipy reads 0 as "no edge").
    saved_ms = 2 * gc / (299_792.458 / 1.468) * 1000
    assert saved_ms > 0.01
    assert faster.rtt_ms[0] == pytest.approx(base.rtt_ms[0] - saved_ms, abs=1e-8)


def test_cli_fibre_option(tmp_path):
    table = tmp_path / "fibre.csv"
    table.write_text("gateway,pop,distance_km\ngw-hitachinaka,pop-tyo,5000\n")
    outputs = {}
    for name, extra in (("plain", []), ("fibre", ["--fibre", str(table)])):
        out = tmp_path / f"{name}.csv"
        result = CliRunner().invoke(main, ["rtt", "--constellation", "starlink-gen1", "--sites", "default-cities:30",
                                           "--pair", "Tokyo", "pop", "--mode", "user", "--start",
                                           "2024-10-25T00:00:00Z", "--duration", "60", "--step", "60",
                                           "--out", str(out), *extra])
        assert result.exit_code == 0, result.output
        outputs[name] = pd.read_csv(out)
    # A 5,000 km fibre between the Hitachinaka gateway and the Tokyo PoP makes the route slower or moves it.
    assert (outputs["fibre"]["rtt_ms"] >= outputs["plain"]["rtt_ms"]).all()
    bad = CliRunner().invoke(main, ["rtt", "--constellation", "starlink-550", "--sites", "default-cities:5",
                                    "--all-pairs", "--duration", "1", "--step", "1", "--fibre", str(table),
                                    "--out", str(tmp_path / "x.csv")])
    assert bad.exit_code == 2 and "--mode user" in bad.output


def test_scenario_fibre_table(tmp_path):
    from leosim.scenario import Scenario

    table = tmp_path / "fibre.csv"
    table.write_text("gateway,pop,distance_km\ngw-frankfurt,pop-fra,0\n")
    text = ('[scenario]\nname = "fibre"\n[constellation]\npreset = "starlink-gen1"\n[time]\n'
            'start = 2024-10-25T06:00:00Z\nduration_s = 120\nstep_s = 60\n[policy]\ndefault_state = "active"\n'
            '[ground]\nfibre = "fibre.csv"\n[[sites]]\nname = "Kyiv"\nlat = 50.45\nlon = 30.52\n'
            '[analyses]\nwhatif = false\ncost = false\n')
    scenario = Scenario.from_text(text, base_dir=tmp_path, source="fibre.toml")
    assert "ground.fibre" in scenario.plan.input_hashes
    access = scenario.run()["access"]
    assert np.isfinite(access["rtt_ms"]).all()
