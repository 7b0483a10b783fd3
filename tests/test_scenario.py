"""Scenarios end to end: the seed scenario on a reduced window, table contracts, determinism across
workers, atomic output, and clear errors for bad scenario files."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from leosim.cli import main
from leosim.scenario import Scenario
from leosim.scenario.tables import TABLE_COLUMNS

ROOT = Path(__file__).resolve().parents[1]
SEED = ROOT / "examples" / "ukraine-taiwan-2024.toml"


def reduced(scenario: Scenario, duration_s: float = 600.0, step_s: float = 60.0) -> Scenario:
    """The same scenario on a shorter window (same start)."""
    return scenario.with_window(duration_s=duration_s, step_s=step_s)


@pytest.fixture(scope="module")
def seed_result():
    return reduced(Scenario.from_toml(SEED)).run()


def status_of(result, site_id, table="access", variant=None):
    frame = result[table]
    if variant is not None:
        frame = frame[frame["variant"] == variant]
    return frame[frame["site_id"] == site_id]


def test_seed_scenario_policy_outcomes(seed_result):
    for site in ("taipei", "kaohsiung", "taichung", "hualien", "kinmen"):
        rows = status_of(seed_result, site)
        assert rows["covered"].all() and rows["routable"].all(), site
        assert (rows["status"] == "denied").all(), site
        assert rows["rule"].str.startswith("TWN denied").all()
        assert np.isfinite(rows["rtt_ms"]).all()  # what it would get
    kyiv = status_of(seed_result, "kyiv")
    assert (kyiv["status"] == "ok").all() and kyiv["rule"].str.startswith("UKR active").all()
    for site, region in (("sevastopol", "Crimea"), ("simferopol", "Crimea"), ("donetsk", "Occupied-2024-10")):
        rows = status_of(seed_result, site)
        assert (rows["status"] == "denied").all(), site
        assert rows["rule"].str.startswith(f"region:{region} denied").all()
    assert (status_of(seed_result, "warsaw")["status"] == "ok").all()
    assert (status_of(seed_result, "tokyo")["status"] == "ok").all()


def test_whatif_switches_taiwan_on(seed_result):
    on = status_of(seed_result, "taipei", "access_variants", "Taiwan switched on")
    assert (on["status"] == "ok").all() and np.isfinite(on["rtt_ms"]).all()
    # No gateway on the island: traffic lands in Japan, the Philippines or Guam.
    sites = seed_result["sites"].set_index("site_id")
    assert set(sites.loc[on["gateway"].unique(), "country"]) <= {"JP", "PH", "GU"}
    whatif = seed_result["whatif"]
    twn = whatif[(whatif["scope"] == "territory") & (whatif["key"] == "TWN")].set_index("variant")
    assert twn.loc["baseline", "service_frac"] == 0.0 and twn.loc["Taiwan switched on", "service_frac"] == 1.0
    # Other places are untouched by the what-if.
    ukr = whatif[(whatif["scope"] == "territory") & (whatif["key"] == "UKR")].set_index("variant")
    assert ukr.loc["baseline", "service_frac"] == ukr.loc["Taiwan switched on", "service_frac"]


def test_tables_match_their_documented_columns(seed_result):
    docs = (ROOT / "docs" / "outputs.md").read_text()
    for name, frame in seed_result.tables.items():
        assert tuple(frame.columns) == TABLE_COLUMNS[name], name
        section = re.search(rf"## `{name}`\n(.*?)(\n## |\Z)", docs, re.S)
        assert section, f"docs/outputs.md has no section for {name}"
        for column in TABLE_COLUMNS[name]:
            assert f"`{column}`" in section.group(1), (name, column)


def test_availability_downtime_adds_up(seed_result):
    availability = seed_result["availability"]
    total = availability[["service_frac", "down_no_coverage_frac", "down_no_route_frac",
                          "down_denied_frac"]].sum(axis=1)
    np.testing.assert_allclose(total, 1.0)
    twn = availability[(availability["scope"] == "territory") & (availability["key"] == "TWN")].iloc[0]
    assert twn["covered_frac"] == 1.0 and twn["down_denied_frac"] == 1.0


def test_latency_references_are_never_beaten(seed_result):
    summary = seed_result["latency_summary"].set_index(["src", "dst"])
    served = summary[summary["denied_frac"] == 0.0]
    assert len(served) > 5 and (served["min_ms"] > served["vacuum_rtt_ms"]).all()
    # Taipei is denied: it gets no path (no statistics) to Tokyo or to its PoP, though the route exists.
    assert summary.loc[("taipei", "tokyo"), "denied_frac"] == 1.0
    assert np.isnan(summary.loc[("taipei", "tokyo"), "median_ms"])
    latency = seed_result["latency"]
    taipei_tokyo = latency[(latency["src"] == "taipei") & (latency["dst"] == "tokyo")]
    assert (~taipei_tokyo["allowed"]).all() and taipei_tokyo["rtt_ms"].isna().all()
    assert (taipei_tokyo["path"] == "").all() and np.isfinite(taipei_tokyo["rtt_if_allowed_ms"]).all()
    kyiv_warsaw = latency[(latency["src"] == "kyiv") & (latency["dst"] == "warsaw")]
    assert kyiv_warsaw["allowed"].all()
    np.testing.assert_array_equal(kyiv_warsaw["rtt_ms"], kyiv_warsaw["rtt_if_allowed_ms"])


def test_cost_rolls_up_per_payer_and_month(seed_result):
    cost = seed_result["cost"]
    october = cost[cost["month"] == "2024-10"]
    assert october["payer"].tolist() == ["US Department of Defense"]
    # 25,000 terminals x 1,300 USD (the scenario's illustrative figures).
    assert october["cost_usd"].iloc[0] == pytest.approx(25_000 * 1_300.0)
    march_2022 = cost[cost["month"] == "2022-02"]
    # From 26 Feb 00:00 to 1 Mar: 3 of 28 days.
    assert march_2022["cost_usd"].iloc[0] == pytest.approx(25_000 * 1_300.0 * 3 / 28)


@pytest.mark.slow
def test_identical_tables_across_runs_and_workers(tmp_path):
    scenario = reduced(Scenario.from_toml(SEED), duration_s=300, step_s=30)
    one = scenario.run(tmp_path / "one", chunk_steps=4)
    two = reduced(Scenario.from_toml(SEED), duration_s=300, step_s=30).run(tmp_path / "two", workers=2,
                                                                           chunk_steps=3)
    assert set(one.tables) == set(two.tables)
    for name in one.tables:
        pd.testing.assert_frame_equal(one[name], two[name], check_exact=True, obj=name)
        written = [(tmp_path / run / f"{name}.parquet").read_bytes() for run in ("one", "two")]
        assert written[0] == written[1], name


def test_cli_run_writes_a_complete_folder(tmp_path):
    scenario = tmp_path / "s.toml"
    scenario.write_text(SEED.read_text().replace("duration_s = 10800", "duration_s = 120").replace(
        'geojson = "regions/', f'geojson = "{ROOT}/examples/regions/'))
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["run", str(scenario), "--out", str(out), "--no-report"])
    assert result.exit_code == 0, result.output
    assert "TWN" in result.output and "UKR" in result.output
    assert (out / "manifest.json").exists() and (out / "scenario.resolved.json").exists()
    # `sweep` is written only for scenarios with a [sweep] section (docs/outputs.md); the seed has none.
    assert {p.stem for p in out.glob("*.parquet")} == set(TABLE_COLUMNS) - {"sweep"}


def test_killed_run_leaves_no_complete_looking_folder(tmp_path):
    scenario = tmp_path / "long.toml"
    scenario.write_text(SEED.read_text().replace("duration_s = 10800", "duration_s = 86400").replace(
        "step_s = 60", "step_s = 10").replace('geojson = "regions/', f'geojson = "{ROOT}/examples/regions/'))
    out = tmp_path / "out"
    process = subprocess.Popen([sys.executable, "-m", "leosim.cli", "run", str(scenario), "--out", str(out)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        # Wait until it has started writing chunk parts, then kill it hard.
        while time.monotonic() < deadline and not any(tmp_path.glob(".leosim-parts-*/*.parquet")):
            time.sleep(0.2)
        assert any(tmp_path.glob(".leosim-parts-*/*.parquet")), "the run never started writing"
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    assert not out.exists()


@pytest.mark.parametrize(("edit", "message"), [
    (lambda t: t.replace('[scenario]\n', '[scenario]\ncolour = "red"\n'), "unknown key 'colour'"),
    (lambda t: t.replace("step_s = 60", "step_s = -60"), "time.step_s"),
    (lambda t: t.replace('geojson = "regions/crimea.geojson"', 'geojson = "regions/nowhere.geojson"'),
     "file not found"),
    (lambda t: t.replace('subject = "RUS"', 'subject = "RUZ"'), "unknown territory 'RUZ'"),
    (lambda t: t.replace('subject = "region:Crimea"', 'subject = "region:Krim"'), "unknown region 'Krim'"),
    (lambda t: t.replace('[[pairs]]\nsrc = "Kyiv"', '[[pairs]]\nsrc = "Kyjiw"'), "Kyjiw"),
])
def test_scenario_errors_exit_2_with_a_clear_message(tmp_path, edit, message):
    scenario = tmp_path / "bad.toml"
    scenario.write_text(edit(SEED.read_text()).replace('geojson = "regions/', f'geojson = "{ROOT}/examples/regions/'))
    result = CliRunner().invoke(main, ["run", str(scenario), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert "bad.toml" in result.output
    assert not (tmp_path / "out").exists()


def test_unknown_key_error_names_the_line(tmp_path):
    text = SEED.read_text().replace('[scenario]\n', '[scenario]\ncolour = "red"\n')
    line = text.splitlines().index('colour = "red"') + 1
    scenario = tmp_path / "bad.toml"
    scenario.write_text(text)
    result = CliRunner().invoke(main, ["run", str(scenario), "--out", str(tmp_path / "out")])
    assert f"line {line}" in result.output and "scenario.colour" in result.output
