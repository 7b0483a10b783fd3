"""Capacity in a scenario run: the [capacity] section, its tables and their contract, policy first, and
identical tables whatever the chunking and the backend."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from leosim.scenario.api import Scenario
from leosim.scenario.tables import CAPACITY_TABLES, TABLE_COLUMNS
from leosim.timebase import Times

SCENARIO = """
[scenario]
name = "capacity test"
[constellation]
preset = "starlink-gen1"
[time]
start = 2024-10-25T06:00:00Z
duration_s = 60
step_s = 15
[network]
isl = "plus-grid"
routing = "user"
[ground]
gateways = "default"
pops = "default"
[[sites]]
name = "Kyiv"
lat = 50.45
lon = 30.52
fleet = "ua"
[[sites]]
name = "Warsaw"
lat = 52.23
lon = 21.01
[[sites]]
name = "Taipei"
lat = 25.03
lon = 121.56
[policy]
default_state = "denied"
[[policy.rules]]
subject = "UKR"
state = "active"
from = 2020-01-01T00:00:00Z
[[policy.rules]]
subject = "POL"
state = "active"
from = 2020-01-01T00:00:00Z
[[policy.fleets]]
name = "ua"
terminals = 300
tenant = "gov"
priority = 10
[[whatif]]
name = "Taiwan on"
[[whatif.rules]]
subject = "TWN"
state = "active"
from = 2020-01-01T00:00:00Z
[capacity]
parameters = { cell_resolution = 3 }
site_counts = { warsaw = 50 }
[[capacity.fleets]]
fleet = "ua"
territories = ["UKR"]
[[capacity.background]]
territory = "POL"
subscribers = 2000
[[capacity.background]]
territory = "TWN"
subscribers = 1000
busy_hour_mbps = 5.0
"""


@pytest.fixture(scope="module")
def scenario_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("cap") / "cap.toml"
    path.write_text(SCENARIO)
    return path


@pytest.fixture(scope="module")
def result(scenario_file, tmp_path_factory):
    return Scenario.from_toml(scenario_file).run(tmp_path_factory.mktemp("out") / "out", chunk_steps=4)


@pytest.mark.slow
def test_capacity_tables_and_policy_first(result):
    for name in CAPACITY_TABLES:
        assert tuple(result[name].columns) == TABLE_COLUMNS[name], name
    thr = result["throughput"]
    # Four instants of 15 s from 06:00:00: slots at :12, :27, :42, :57.
    seconds = sorted(pd.DatetimeIndex(thr["time_utc"].unique()).second)
    assert seconds == [12, 27, 42, 57]
    taipei = thr[thr["site_id"] == "taipei"]
    assert (taipei["bottleneck"] == "policy").all() and (taipei["served_mbps"] == 0).all()
    twn = thr[thr["site_id"].str.startswith("bg:TWN:")]
    assert len(twn) and (twn["demand_mbps"] == 0).all()  # denied subscribers offer no demand
    kyiv = thr[thr["site_id"] == "kyiv"]
    assert (kyiv["served_mbps"] == 3.4).all() and (kyiv["available_mbps"] > 0).all()
    summary = result["capacity_summary"].set_index(["scope", "key"])
    assert summary.loc[("fleet", "ua"), "served_fraction"] > 0.99
    assert summary.loc[("territory", "POL"), "terminals"] == pytest.approx(2050.0, abs=10)
    load = result["gateway_load"]
    assert (load["load_mbps"] <= load["capacity_mbps"] * (1 + 1e-9)).all() and load["load_mbps"].sum() > 0
    # The what-if switches Taiwan on: its subscribers get Mbps; the baseline gives them none.
    whatif = result["whatif"]
    twn_rows = whatif[(whatif["scope"] == "territory") & (whatif["key"] == "TWN")].set_index("variant")
    assert np.isnan(twn_rows.loc["baseline", "median_mbps"]) and twn_rows.loc["Taiwan on", "median_mbps"] > 0


@pytest.mark.slow
def test_capacity_identical_across_chunking_and_workers(result, scenario_file, tmp_path):
    other = Scenario.from_toml(scenario_file).run(tmp_path / "one", chunk_steps=1)
    pooled = Scenario.from_toml(scenario_file).run(tmp_path / "two", chunk_steps=3, workers=2, backend="processes")
    for name in (*CAPACITY_TABLES, "whatif"):
        pd.testing.assert_frame_equal(result[name], other[name], check_exact=True)
        pd.testing.assert_frame_equal(result[name], pooled[name], check_exact=True)


@pytest.mark.slow
def test_capacity_command(scenario_file):
    import json

    from click.testing import CliRunner

    from leosim.cli import main

    run = CliRunner().invoke(main, ["capacity", "--scenario", str(scenario_file), "--at", "2024-10-25T06:00:30Z",
                                    "--json", "--variant", "Taiwan on"])
    assert run.exit_code == 0, run.output
    answer = json.loads(run.output)
    assert answer["slot_utc"] == "2024-10-25T06:00:27.000Z" and answer["variant"] == "Taiwan on"
    twn = next(r for r in answer["summary"] if r["scope"] == "territory" and r["key"] == "TWN")
    assert twn["mean_demand_mbps"] == pytest.approx((1000 * 5.0 + 3.4) / 1001)  # subscribers + the Taipei site
    assert twn["median_mbps"] > 0
    bad = CliRunner().invoke(main, ["capacity", "--scenario", str(scenario_file), "--at", "2024-10-25T06:00:30Z",
                                    "--variant", "nope"])
    assert bad.exit_code == 2 and "unknown variant" in bad.output


@pytest.mark.slow
def test_report_has_a_capacity_section(result):
    import re

    from leosim.report.html import build_report

    page = build_report(dict(result.tables.items()), {"title": "capacity"})
    section = re.search(r'<section id="capacity">(.*?)</section>', page, re.S)
    assert section, "no Capacity section"
    body = section.group(1)
    assert body.count("<img") == 4  # cell map, throughput CDFs, gateway utilisation, bottlenecks
    assert "What-if: median Mbps per territory" in body and "Taiwan on" in body
    # A run without capacity tables has no such section.
    plain = {k: v for k, v in result.tables.items() if k not in ("capacity_summary", "capacity_cells")}
    assert 'id="capacity"' not in build_report(plain, {})


@pytest.mark.slow
def test_gateway_antennas_from_the_ground_data_then_the_scenario(tmp_path):
    # A gateways CSV with an `antennas` column: 12 at Frankfurt, blank (the default 8) at Warsaw; the
    # scenario's [capacity] gateway_antennas then sets Warsaw's to 3. Feeder = antennas × 20 Gbps (v1.5).
    (tmp_path / "gw.csv").write_text("id,name,country,lat,lon,kind,antennas\n"
                                     "gw-frankfurt,Frankfurt,DE,50.11,8.68,gateway,12\n"
                                     "gw-warsaw,Warsaw,PL,52.23,21.01,gateway,\n")
    text = SCENARIO.replace('gateways = "default"', 'gateways = "gw.csv"')
    path = tmp_path / "gw.toml"
    path.write_text(text)
    service = Scenario.from_toml(path).plan.capacity_service
    np.testing.assert_allclose(service.gateway_capacity_mbps, [12 * 20_000.0, 8 * 20_000.0])
    path.write_text(text.replace("site_counts = { warsaw = 50 }",
                                 "site_counts = { warsaw = 50 }\ngateway_antennas = { gw-warsaw = 3 }"))
    service = Scenario.from_toml(path).plan.capacity_service
    np.testing.assert_allclose(service.gateway_capacity_mbps, [12 * 20_000.0, 3 * 20_000.0])


@pytest.mark.slow
def test_gateway_overflow_spills_to_gateways_with_room(tmp_path):
    # Feeders of 8 × 100 Mbps per gateway against ~7 Gbps of Polish and Ukrainian demand: with "none" the
    # routes keep their idle-network gateways and some are offered more than their feeders; with "spill" the
    # overflow lands at other gateways: more gateways carry load and more is served. The offered load per
    # gateway (what the beams carry, on the engine's spilled routes) then fits every gateway's feeders, or,
    # at a gateway already overloaded in the idle network, is no heavier than there.
    from leosim.capacity.beams import candidate_pairs
    from leosim.capacity.slot import beam_capped_demand
    from leosim.service.engine import FeederLoad

    base = SCENARIO.replace("parameters = { cell_resolution = 3 }",
                            "parameters = { cell_resolution = 3, gateway_mbps_per_antenna = 100 }")
    instant = np.datetime64("2024-10-25T06:00:12")
    served, loaded, offered_load = {}, {}, {}
    for mode in ("none", "spill"):
        path = tmp_path / f"{mode}.toml"
        path.write_text(base.replace("[capacity]\n", f'[capacity]\ngateway_overflow = "{mode}"\n', 1))
        plan = Scenario.from_toml(path).plan
        service, engine = plan.capacity_service, plan.service_engine
        times = Times.from_utc([instant])
        position = engine.positions_km(times)[0]
        slot = service.slot(instant, position, [plan.rule_book()])[0]
        served[mode] = float((slot.served_mbps * service.demand.count).sum())
        loaded[mode] = int((slot.gateway_load_mbps > 0).sum())
        pairs = candidate_pairs(service.cells.ecef_km, service.cells.up, position, service.params,
                                site_tree=service.cells.tree)

        def offered(eligible, service=service, position=position, pairs=pairs):
            return beam_capped_demand(service.cells, service.demand, eligible, position, service.params, pairs=pairs)

        load = FeederLoad(offered, service.gateway_capacity_mbps) if mode == "spill" else None
        answer = engine.serve(times, position[None], [plan.rule_book()], service.asked, load=load)
        gateway = answer.gateway[0, 0]
        eligible = answer.allowed[0, 0] & (gateway >= 0)
        offered_load[mode] = np.bincount(np.searchsorted(engine.gateways, gateway[eligible]),
                                         weights=offered(eligible)[eligible], minlength=engine.gateways.size)
    capacity = service.gateway_capacity_mbps
    assert served["spill"] > served["none"] and loaded["spill"] > loaded["none"]
    idle_over = offered_load["none"] > capacity * (1 + 1e-12)
    assert idle_over.any()  # the case exercises spilling
    fits = offered_load["spill"] <= capacity * (1 + 1e-12)
    assert (fits | (idle_over & (offered_load["spill"] <= offered_load["none"] * (1 + 1e-12)))).all()


@pytest.mark.slow
def test_capacity_rows_reach_the_published_pops(tmp_path):
    # With pop_assignment = "published", capacity rows go to the PoP the access table's terminals go to: the
    # fixed sites to plan.assigned_pop, the spread rows to their country's published PoP (not the nearest).
    path = tmp_path / "published.toml"
    path.write_text(SCENARIO.replace('pops = "default"', 'pops = "starlink"\npop_assignment = "published"'))
    plan = Scenario.from_toml(path).plan
    service = plan.capacity_service
    fixed = service.order < int((service.rows.site >= 0).sum())
    by_site = dict(zip(plan.sites.ids[plan.terminals].tolist(), plan.assigned_pop.tolist(), strict=True))
    want = [by_site[i] for i in service.rows.site_id[service.order[fixed]].tolist()]
    assert service.asked.pop[fixed].tolist() == want and (np.asarray(want) >= 0).any()
    territory = service.territory[~fixed]
    listed = territory == "UKR"  # the feed assigns Ukraine a PoP (not Poland or Taiwan: their rows go nearest)
    assert listed.any() and (service.asked.pop[~fixed][listed] >= 0).all()
