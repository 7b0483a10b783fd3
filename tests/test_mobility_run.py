"""The four per-terminal rule behaviours of issue 13 through a scenario run (the service engine), identical
with any chunking and with two worker processes.

Expected instants come from the tracks' construction (tests/data/mobility/*.csv say how); the engine's
answers are checked against them within one time step.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from leosim.constants import NAUTICAL_MILE_KM
from leosim.scenario import Scenario
from leosim.territory.coast import distance_to_land_km

DATA = Path(__file__).resolve().parent / "data" / "mobility"
STEP = np.timedelta64(1200, "s")

TEXT = """
[scenario]
name = "per-terminal rules"
[constellation]
preset = "starlink-gen1"
[time]
start = 2026-02-02T22:00:00Z
duration_s = 36000
step_s = 1200
[analyses]
latency = false
path_dynamics = false
whatif = false
cost = false
[output]
report = false

[[sites]]
id = "kyiv-registered"
name = "Kyiv registered"
lat = 50.45
lon = 30.52
[[sites]]
id = "kyiv-unlisted"
name = "Kyiv unlisted"
lat = 50.45
lon = 30.52
[[sites]]
id = "car"
name = "Car"
track = "car-speeding.csv"
track_kind = "vehicle"
[[sites]]
id = "roam"
name = "Roam"
track = "roam-crossing.csv"
[[sites]]
id = "ship"
name = "Ship"
track_kind = "ship"
route = { waypoints = [[46.49, 30.76], [46.30, 30.85], [45.90, 31.05]], speed_kmh = 25.0, start = 2026-02-02T23:00:00Z }

[[registry.terminals]]
terminal_id = "kyiv-registered"
country = "UKR"
plan = "residential"
registered_on = 2026-01-20
[[registry.terminals]]
terminal_id = "car"
country = "UKR"
plan = "residential"
registered_on = 2026-01-20
[[registry.terminals]]
terminal_id = "roam"
country = "POL"
plan = "roam"
[[registry.terminals]]
terminal_id = "ship"
country = "UKR"
plan = "residential"

[policy]
default_state = "denied"
[[policy.rules]]
subject = "UKR"
state = "active"
from = 2022-02-26
[[policy.rules]]
subject = "*"
state = "active"
from = 2024-01-01
[[policy.rules]]
subject = "*"
state = "denied"
from = 2024-01-01
decided_at = 2024-01-02
when = { offshore_above_nm = 12.0, exempt_plans = ["maritime"] }
[[policy.rules]]
subject = "UKR"
state = "denied"
from = 2024-01-01
when = { days_abroad_above = 60.0, plans = ["roam"] }
[[policy.rules]]
subject = "terminal:kyiv-unlisted"
state = "restricted"
from = 2026-02-03
allow = ["registered:UKR"]
[[policy.rules]]
subject = "UKR"
state = "denied"
from = 2026-02-01
decided_at = 2026-02-01T18:00:00Z
when = { speed_above_kmh = 75.0, exempt_plans = ["aviation"] }
"""


def _run(tmp_path_factory, **kwargs) -> pd.DataFrame:
    out = tmp_path_factory.mktemp("run")
    result = Scenario.from_text(TEXT, base_dir=DATA).run(out, **kwargs)
    return result["access"].sort_values(["site_id", "time_utc"], ignore_index=True)


@pytest.fixture(scope="module")
def access(tmp_path_factory):
    return _run(tmp_path_factory)


def _site(access, site_id):
    return access[access["site_id"] == site_id].set_index("time_utc")


def _first(frame, mask) -> np.datetime64:
    return frame.index[np.flatnonzero(mask.to_numpy())[0]].to_datetime64()


@pytest.mark.slow
def test_whitelist_keeps_the_registered_terminal_and_cuts_the_unlisted_one(access):
    registered, unlisted = _site(access, "kyiv-registered"), _site(access, "kyiv-unlisted")
    measure = np.datetime64("2026-02-03T00:00:00", "ns")
    assert (registered["status"] == "ok").all()
    assert (unlisted.loc[unlisted.index < measure, "status"] == "ok").all()
    after = unlisted[unlisted.index >= measure]
    assert (after["status"] == "denied").all() and (after["condition"] == "allow").all()


@pytest.mark.slow
def test_vehicle_loses_and_regains_service_at_the_speed_limit(access):
    car = _site(access, "car")
    present = car[car["status"] != "absent"]
    denied = present["status"] == "denied"
    lost = _first(present, denied)
    regained = _first(present[present.index > lost], ~denied[present.index > lost])
    # 120 km/h from 04:00 to 05:00 (the track's construction), 60 km/h around it.
    assert abs(lost - np.datetime64("2026-02-03T04:00:00", "ns")) <= STEP
    assert abs(regained - np.datetime64("2026-02-03T05:00:00", "ns")) <= STEP
    assert (present.loc[denied, "condition"] == "speed").all()
    assert car.loc[car["status"] == "absent", "lat_deg"].isna().all()
    assert (car["status"] == "absent").any()     # before 02:00 and after 07:00 the car has no track


@pytest.mark.slow
def test_roam_terminal_loses_service_after_60_days_abroad(access):
    roam = _site(access, "roam")
    lost = _first(roam, roam["status"] == "denied")
    assert abs(lost - np.datetime64("2026-02-03T04:00:00", "ns")) <= STEP
    assert (roam.loc[roam.index > lost, "condition"] == "roaming").all()
    assert (roam.loc[roam.index < lost, "status"] == "ok").all()


@pytest.mark.slow
def test_ship_loses_service_past_the_coastal_limit(access):
    ship = _site(access, "ship")
    present = ship[ship["status"] != "absent"]
    assert present["status"].iloc[0] == "ok" and present["status"].iloc[-1] == "denied"
    offshore_nm = distance_to_land_km(present["lat_deg"].to_numpy(), present["lon_deg"].to_numpy()) / NAUTICAL_MILE_KM
    beyond = offshore_nm > 12.0
    np.testing.assert_array_equal(present["status"].to_numpy() == "denied", beyond)
    assert (present.loc[beyond, "condition"] == "offshore").all()


@pytest.mark.slow
def test_same_answers_whatever_the_chunking_and_workers(access, tmp_path_factory):
    for kwargs in ({"chunk_steps": 7}, {"workers": 2, "chunk_steps": 11}):
        other = _run(tmp_path_factory, **kwargs)
        pd.testing.assert_frame_equal(other, access)


@pytest.mark.slow
def test_report_draws_tracks_and_lists_who_lost_service(access, tmp_path_factory):
    from leosim.report.html import build_report
    from leosim.report.tracks import service_changes

    tables = {"access": access.assign(variant="baseline"),
              "sites": pd.DataFrame({"site_id": access["site_id"].unique()}).assign(name=lambda f: f["site_id"])}
    changes = service_changes(tables)
    car = changes[changes["site_id"] == "car"]
    assert car["change"].tolist() == ["lost", "regained"] and car["condition"].tolist()[0] == "speed"
    assert changes.loc[changes["site_id"] == "kyiv-unlisted", "condition"].tolist() == ["allow"]
    page = build_report(tables, {"title": "t"})
    section = page[page.index('id="mobility"'):]
    assert "Moving terminals by status" in section and "data:image/png;base64," in section


@pytest.mark.slow
def test_api_terminals_moves_them_with_the_clock():
    from fastapi.testclient import TestClient

    from leosim.web import ServerState, create_app

    state = ServerState.from_scenario(Scenario.from_text(TEXT, base_dir=DATA))
    with TestClient(create_app(state), base_url="http://127.0.0.1") as client:
        early = {t["id"]: t for t in client.get("/api/terminals", params={"t": "2026-02-03T03:00:00Z"}).json()}
        fast = {t["id"]: t for t in client.get("/api/terminals", params={"t": "2026-02-03T04:30:00Z"}).json()}
        late = {t["id"]: t for t in client.get("/api/terminals", params={"t": "2026-02-03T08:00:00Z"}).json()}
        assert set(early) == {"car", "roam", "ship"}
        assert early["car"]["status"] == "ok" and early["car"]["speed_kmh"] == pytest.approx(60.0, rel=1e-6)
        assert fast["car"]["status"] == "denied" and fast["car"]["lon_deg"] > early["car"]["lon_deg"]
        assert late["car"]["status"] == "absent" and late["car"]["lat_deg"] is None
        assert "/api/terminals" in client.get("/openapi.json").json()["paths"]
        assert 'src="/ui/tracks.js"' in client.get("/").text


@pytest.mark.slow
def test_access_at_a_moving_site_agrees_with_the_run(access):
    from leosim.service import access_at

    scenario = Scenario.from_text(TEXT, base_dir=DATA)
    for site, at in (("car", "2026-02-03T04:20:00"), ("car", "2026-02-03T07:40:00"), ("ship", "2026-02-03T01:00:00")):
        row = _site(access, site).loc[np.datetime64(at, "ns")]
        answer = access_at(site=site, at=at + "Z", scenario=scenario)
        assert (answer["status"], answer["rule"]) == (row["status"], row["rule"])
        if answer["rtt_ms"] is None:                       # absent (the car after 07:00): no route at all
            assert np.isnan(row["rtt_ms"])
        else:
            assert answer["rtt_ms"] == pytest.approx(row["rtt_ms"], abs=1e-6)   # 1 ns: the same engine
