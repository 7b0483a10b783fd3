"""Scenario sites from files and generated within territories; the schema reference stays in step; the
Hypatia example runs."""

from __future__ import annotations

from pathlib import Path

import h3
import numpy as np
import pytest

from leosim.scenario import Scenario, schema_reference
from leosim.territory import Territories

ROOT = Path(__file__).resolve().parents[1]

BASE = """
[scenario]
name = "sites"
[constellation]
preset = "starlink-gen1"
[time]
start = 2024-10-25T06:00:00Z
duration_s = 60
step_s = 60
[policy]
default_state = "active"
[analyses]
whatif = false
cost = false
"""


def plan_of(text: str, base_dir: Path = ROOT):
    return Scenario.from_text(BASE + text, base_dir=base_dir, source="sites.toml").plan


def terminals(plan):
    return plan.sites.subset(plan.terminals)


def test_largest_cities_of_a_territory_are_inside_it_and_sorted():
    plan = plan_of('[[site_groups]]\nkind = "largest-cities"\nterritories = ["UKR", "TWN"]\ncount = 3\n')
    sites = terminals(plan)
    assert len(sites) == 6
    where = Territories.default().lookup(sites.lat_deg, sites.lon_deg)
    assert list(where) == ["UKR"] * 3 + ["TWN"] * 3
    assert "Kyiv" in sites.names[:3] and np.all(np.diff(sites.population[:3]) <= 0)


def test_population_sample_is_reproducible_and_inside():
    text = '[[site_groups]]\nkind = "population-sample"\nterritories = ["POL"]\ncount = 25\nseed = 7\n'
    first, again = terminals(plan_of(text)), terminals(plan_of(text))
    assert len(first) == 25
    np.testing.assert_array_equal(first.lat_deg, again.lat_deg)
    assert (Territories.default().lookup(first.lat_deg, first.lon_deg) == "POL").all()
    # Weighted by population: the most populous city (Warsaw) is drawn more than once in 25 draws.
    assert (first.names.astype(str).astype("U6") == "Warsaw").sum() >= 2


def test_h3_cells_cover_a_region():
    text = ('[[regions]]\nname = "Box"\npolygon = [[30.0, 50.0], [31.0, 50.0], [31.0, 51.0], [30.0, 51.0]]\n'
            '[[site_groups]]\nkind = "h3-cells"\nterritories = ["Box"]\nresolution = 4\ncount = 1000\n')
    sites = terminals(plan_of(text))
    # A 1° x 1° box at 50° N is ~7,900 km²; resolution-4 cells average ~1,770 km²: a handful of cells.
    assert 2 <= len(sites) <= 10
    assert ((sites.lat_deg > 50.0) & (sites.lat_deg < 51.0) & (sites.lon_deg > 30.0) & (sites.lon_deg < 31.0)).all()
    for site_id, lat, lon in zip(sites.ids, sites.lat_deg, sites.lon_deg, strict=True):
        assert h3.latlng_to_cell(lat, lon, 4) == site_id.removeprefix("h3-")


def test_site_files_csv_and_hypatia(tmp_path):
    (tmp_path / "places.csv").write_text("id,name,lat,lon\nk,Kyiv,50.45,30.52\nw,Warsaw,52.23,21.01\n")
    (tmp_path / "gs.txt").write_text("0,Paris,48.85341,2.3488,0\n1,Luanda,-8.83682,13.23432,0\n")
    text = ('[[site_files]]\npath = "places.csv"\n[[site_files]]\npath = "gs.txt"\nformat = "hypatia"\n'
            'kind = "city"\n')
    plan = plan_of(text, base_dir=tmp_path)
    assert list(terminals(plan).names) == ["Kyiv", "Warsaw", "Paris", "Luanda"]
    assert "site_files[1].path" in plan.input_hashes


def test_generated_schema_reference_is_up_to_date():
    documented = (ROOT / "docs" / "scenario-schema.md").read_text(encoding="utf-8")
    assert documented.strip() == schema_reference().strip(), "run: leosim schema --out docs/scenario-schema.md"


@pytest.mark.slow
def test_hypatia_example_runs_with_hypatias_gsl_rule():
    scenario = Scenario.from_toml(ROOT / "examples" / "hypatia-paris-luanda.toml").with_window(duration_s=2.0)
    result = scenario.run()
    latency = result["latency"]
    assert len(latency) == 20 and (latency["src"] == "24").all() and (latency["dst"] == "66").all()
    assert np.isfinite(latency["rtt_ms"]).all()
    # Paris–Luanda is ~6,400 km: the vacuum round trip along the ground is ~43 ms. A +Grid path runs along
    # planes and across them like a Manhattan grid (up to ~sqrt(2) longer on a diagonal), at 550 km altitude
    # and with detours to where the planes meet; it is longer, but well under three times that.
    vacuum_ms = 2 * 6_400.0 / 299_792.458 * 1000
    assert (latency["rtt_ms"] > vacuum_ms).all() and (latency["rtt_ms"] < 3 * vacuum_ms).all()
    # Over two seconds the path is stable and the RTT drifts smoothly (< 0.1 ms between 0.1 s steps).
    assert np.abs(np.diff(latency["rtt_ms"])).max() < 0.1
    nodes = [int(n) for n in latency["path"].iloc[0].split()]
    assert nodes[0] == 1584 + 24 and nodes[-1] == 1584 + 66


def test_other_inputs_element_files_isl_none_ground_files_and_a_policy_store(tmp_path):
    from leosim.policy import PolicyStore, Rule

    (tmp_path / "gw.csv").write_text("id,name,lat,lon,kind\ngw-pl,Wola,51.86,20.92,gateway\n")
    (tmp_path / "pop.csv").write_text("id,name,lat,lon,kind\npop-fra,Frankfurt,50.12,8.68,pop\n")
    with PolicyStore(tmp_path / "policy.sqlite") as store:
        store.set(Rule("UKR", "active", "2022-02-26", decided_at="2022-02-26"), by="ops", reason="on")
    text = BASE.replace('preset = "starlink-gen1"', f'tle = "{ROOT}/tests/data/elements/sample.3le"').replace(
        'default_state = "active"', 'default_state = "denied"\nstore = "policy.sqlite"') + (
        '[network]\nisl = "none"\n[ground]\ngateways = "gw.csv"\npops = "pop.csv"\n'
        '[[sites]]\nname = "Kyiv"\nlat = 50.45\nlon = 30.52\n')
    scenario = Scenario.from_text(text, base_dir=tmp_path, source="other.toml")
    # The sample's epochs (2008, 2025) are years from the window: the run says so, and what it costs.
    with pytest.warns(UserWarning, match="element epochs are .* days .* position errors"):
        plan = scenario.plan
        assert len(plan.constellation) == 2 and plan.isls.shape == (0, 2)
        assert list(plan.sites.kinds) == ["terminal", "gateway", "pop"]
        assert [r.subject for r in plan.rules] == ["UKR"]
        access = scenario.run()["access"]
    assert access["allowed"].all() and access["rule"].str.startswith("UKR active").all()
    assert {"policy.store", "ground.gateways", "ground.pops"} <= set(plan.input_hashes)


def test_a_hypatia_folder_as_the_constellation():
    text = BASE.replace('preset = "starlink-gen1"', f'hypatia = "{ROOT}/tests/data/hypatia/tiny"').replace(
        'start = 2024-10-25T06:00:00Z', 'start = 2000-01-01T00:00:00Z') + (
        '[network]\nrouting = "isl"\n[[site_files]]\npath = "tests/data/hypatia/tiny/ground_stations.basic.txt"\n'
        'format = "hypatia"\n')
    plan = Scenario.from_text(text, base_dir=ROOT, source="hyp.toml").plan
    assert len(plan.constellation) == 16 and len(plan.isls) == 32
    assert any(k.startswith("hypatia/") for k in plan.input_hashes)
