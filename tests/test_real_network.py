"""The real network of a date: Starlink PoPs as of a date, the operator's published PoP assignment, and
scenarios on a real element file (the shared 2025-12-06 snapshot).

References: the PoP assignment rows transcribed from Starlink's GeoIP feed with DNS PTR records, as
archived by clarkzjw/starlink-geoip-data (snapshots of 2024-10-12 and 2024-10-24): in October 2024 Ukraine's
subnets pointed to Frankfurt (1,152 IPv4 addresses) and Sofia (768), Japan's to Tokyo, the Philippines'
IPv4 subnets to Manila.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from leosim.ground.pops import PopAssignment, assign_pops, published_assignment, starlink_pops
from leosim.report import write_report
from leosim.scenario import Scenario
from leosim.scenario.tables import TABLE_COLUMNS

PLACES = (("kyiv", "Kyiv", 50.4501, 30.5234), ("tokyo", "Tokyo", 35.6762, 139.6503),
          ("manila", "Manila", 14.5995, 120.9842), ("sao-paulo", "Sao Paulo", -23.5505, -46.6333))


def _scenario_text(constellation: str, start: str, *, pops: str = "starlink", assignment: str = "published",
                   extra: str = "") -> str:
    sites = "\n".join(f'[[sites]]\nid = "{i}"\nname = "{n}"\nlat = {la}\nlon = {lo}\n' for i, n, la, lo in PLACES)
    return f"""
[scenario]
name = "real network"

[constellation]
{constellation}

[time]
start = {start}
duration_s = 120
step_s = 60

[network]
isl = "plus-grid"
routing = "user"

[ground]
pops = "{pops}"
pop_assignment = "{assignment}"

[policy]
default_state = "active"
{extra}
{sites}
"""


def test_assign_pops_shares_are_deterministic_and_unknown_countries_fall_back():
    table = PopAssignment(snapshot=np.array(["2024-10-12", "2024-10-12", "2025-01-01"], dtype="datetime64[D]"),
                          country=np.array(["UKR", "UKR", "UKR"]), pop=np.array(["frntdeu1", "sfiabgr1", "wrswpol1"]),
                          weight=np.array([3.0, 1.0, 1.0]))
    ids = [f"t{i}" for i in range(4000)]
    site, reason = assign_pops(["UKR"] * 4000, ids, "2024-10-25", ["frntdeu1", "sfiabgr1", "wrswpol1"], table=table)
    # The 2024-10-12 snapshot (the latest on or before the date): 3:1 Frankfurt:Sofia; Warsaw comes later.
    assert set(site.tolist()) == {0, 1}
    assert (site == 0).mean() == pytest.approx(0.75, abs=0.03)  # 4,000 draws: 3 sigma = 0.021
    again, _ = assign_pops(["UKR"] * 4000, ids, "2024-10-25", ["frntdeu1", "sfiabgr1", "wrswpol1"], table=table)
    assert (again == site).all()  # a terminal always gets the same PoP
    assert reason[0].startswith("published: UKR -> ")
    site, reason = assign_pops(["BRA", ""], ["a", "b"], "2024-10-25", ["frntdeu1"], table=table)
    assert (site == -1).all() and "BRA is not in the published PoP assignment" in reason[0]
    site, reason = assign_pops(["UKR"], ["a"], "2024-01-01", ["frntdeu1", "sfiabgr1"], table=table)
    assert site[0] >= 0 and "after the scenario date" in reason[0]
    # A PoP not among the scenario's: matched by place within 100 km, else best PoP with the reason.
    site, _ = assign_pops(["JPN"], ["a"], "2024-10-25", ["pop-tyo"], pop_lat_deg=[35.78], pop_lon_deg=[139.77])
    assert site[0] == 0
    site, reason = assign_pops(["JPN"], ["a"], "2024-10-25", ["pop-syd"], pop_lat_deg=[-33.86], pop_lon_deg=[151.21])
    assert site[0] == -1 and "not among the scenario's PoPs" in reason[0]


def test_starlink_pops_as_of_a_date():
    all_pops, first_seen = starlink_pops()
    assert len(all_pops) >= 55 and (all_pops.kinds == "pop").all()
    # Sofia: absent from the 2024-08-07 snapshot's PTR records, present on 2024-09-19.
    assert first_seen[all_pops.ids.tolist().index("sfiabgr1")] == np.datetime64("2024-09-19")
    october, _ = starlink_pops("2024-10-25")
    ids = set(october.ids.tolist())
    assert {"frntdeu1", "sfiabgr1", "wrswpol1", "tkyojpn1", "mnlaphl1", "nrbiken1", "dohaqat1"} <= ids
    assert not {"mlnnita1", "jhngzaf1", "mlbeaus1"} & ids  # first seen in 2025
    assert len(october) < len(all_pops)
    table = published_assignment()
    assert set(np.unique(table.pop).tolist()) <= set(all_pops.ids.tolist())  # every assigned PoP is listed


@pytest.mark.slow
def test_published_assignment_october_2024_in_a_scenario():
    scenario = Scenario.from_text(_scenario_text('preset = "starlink-gen1"', "2024-10-25T06:00:00Z"))
    plan = scenario.plan
    reasons = dict(zip(plan.sites.ids[plan.terminals].tolist(), plan.pop_reason.tolist(), strict=True))
    assert reasons["sao-paulo"].startswith("nearest: BRA is not in the published PoP assignment")
    access = scenario.run()["access"]
    pops = access.groupby("site_id")["pop"].agg(lambda s: set(s.dropna()))
    assert pops["kyiv"] <= {"frntdeu1", "sfiabgr1"} and pops["kyiv"]
    assert pops["tokyo"] == {"tkyojpn1"}
    assert pops["manila"] == {"mnlaphl1"}
    # With "nearest" Kyiv's best PoP by delay is not necessarily the published one, but it is reachable.
    nearest = Scenario.from_text(_scenario_text('preset = "starlink-gen1"', "2024-10-25T06:00:00Z",
                                                assignment="nearest")).run()["access"]
    assert nearest[nearest["site_id"] == "kyiv"]["routable"].all()


@pytest.mark.shared_data
@pytest.mark.slow
def test_real_snapshot_scenario_runs_end_to_end_with_report(starlink_snapshot, tmp_path):
    text = _scenario_text(f'tle = "{starlink_snapshot}"', "2025-12-06T12:00:00Z")
    result = Scenario.from_text(text, base_dir=tmp_path).run(tmp_path / "out")
    out = tmp_path / "out"
    write_report(result)  # the report is rendered from the run's result (as `leosim run` does)
    assert (out / "report.html").is_file() and (out / "constellation.parquet").is_file()
    constellation = pd.read_parquet(out / "constellation.parquet")
    assert tuple(constellation.columns) == TABLE_COLUMNS["constellation"]
    docs = (Path(__file__).resolve().parents[1] / "docs" / "outputs.md").read_text(encoding="utf-8")
    section = docs.split("## `constellation`", 1)[1].split("\n## ", 1)[0]
    assert all(f"`{column}`" in section for column in TABLE_COLUMNS["constellation"])
    assert (constellation["status"] == "operational").all()  # non-operational excluded with plus-grid
    assert 7000 <= len(constellation) <= 8500
    access = result["access"]
    for site in ("kyiv", "tokyo", "manila"):
        rows = access[access["site_id"] == site]
        assert rows["routable"].all(), site
        # Physical bounds: at least up to a 475 km shell and down twice (2 x 2 x 475 km / c = 6.3 ms), and
        # under 200 ms (half the globe over lasers is ~140 ms).
        assert ((rows["rtt_ms"] > 6.3) & (rows["rtt_ms"] < 200.0)).all(), site


@pytest.mark.shared_data
@pytest.mark.slow
def test_as_of_keeps_satellites_launched_by_the_date_and_warns_about_epochs(starlink_snapshot, tmp_path):
    base = Scenario.from_text(_scenario_text(f'tle = "{starlink_snapshot}"', "2025-12-06T12:00:00Z",
                                             assignment="nearest"), base_dir=tmp_path)
    full = len(base.plan.constellation)
    text = _scenario_text(f'tle = "{starlink_snapshot}"\nas_of = 2024-10-25', "2024-10-25T06:00:00Z",
                          assignment="nearest")
    with pytest.warns(UserWarning, match=r"element epochs are \d+ days .* expect position errors of about"):
        plan = Scenario.from_text(text, base_dir=Path(tmp_path)).plan
    launched = len(plan.constellation)
    # Satellites launched from late October 2024 to December 2025 (roughly 2,500 over 14 months) are gone.
    assert 0.55 * full < launched < 0.9 * full
