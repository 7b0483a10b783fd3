"""Scenario files with moving terminals, a registry and rule conditions: schema, loaders and errors."""

from __future__ import annotations

import pytest

from leosim.errors import LeosimInputError
from leosim.scenario.mobility import scenario_registry, site_tracks
from leosim.scenario.plan import Plan
from leosim.scenario.schema import parse_scenario_text

HEAD = """[scenario]
name = "moving"
[constellation]
preset = "starlink-gen1"
[time]
start = 2026-02-03T00:00:00Z
duration_s = 3600
step_s = 60
"""


def test_moving_sites_registry_and_conditions_parse_and_load(tmp_path):
    (tmp_path / "car.csv").write_text("time_utc,lat_deg,lon_deg\n2026-02-03T00:00:00Z,50,30\n"
                                      "2026-02-03T01:00:00Z,50.5,30\n")
    (tmp_path / "reg.csv").write_text("terminal_id,country,plan,registered_on\ncar,UKR,roam,2026-01-01\n")
    text = HEAD + """
[[sites]]
id = "car"
name = "Car"
track = "car.csv"
track_kind = "vehicle"

[[sites]]
name = "Drone"
track_kind = "drone"
route = { waypoints = [[48.0, 37.8], [48.5, 37.2]], speed_kmh = 150, start = 2026-02-03T00:10:00Z, alt_m = 100 }

[registry]
files = ["reg.csv"]
[[registry.terminals]]
terminal_id = "drone"
country = "RUS"
[[registry.synthetic]]
id_prefix = "S-"
count = 50
box = [30.0, 50.0, 31.0, 51.0]
share_registered = 0.5
country = "UKR"

[[policy.rules]]
subject = "UKR"
state = "denied"
from = 2026-02-01
when = { speed_above_kmh = 75, exempt_plans = ["aviation"] }
"""
    spec = parse_scenario_text(text)
    tracks = site_tracks(spec, base_dir=tmp_path)
    assert list(tracks) == ["car", "drone"]
    assert tracks["drone"].kind == "drone" and tracks["drone"].alt_m[0] == 100.0
    registry, synthetic = scenario_registry(spec, base_dir=tmp_path)
    assert len(registry) == 52 and synthetic.terminal_id.size == 50
    assert registry.columns(["car", "drone"])["country"].tolist() == ["UKR", "RUS"]
    assert ((synthetic.lat_deg >= 50) & (synthetic.lat_deg <= 51)).all()
    plan = Plan(spec, base_dir=tmp_path, source="s.toml", text=text)
    assert plan.rules[0].when.speed_above_kmh == 75.0
    # Moving terminals' sites stand at their first fix; synthesised terminals are sites with their ids.
    sites = plan.sites
    assert sites.lat_deg[sites.index_of("car")] == 50.0 and sites.index_of("S-0050") >= 0
    asked = plan.asked_terminals()
    assert asked.mobility.moving.size == 2 and len(asked) == 52


@pytest.mark.parametrize(("site", "words"), [
    ('name = "X"\nlat = 50.0\nlon = 30.0\ntrack = "t.csv"', "exactly one of lat/lon, track, route"),
    ('name = "X"\nlat = 50.0', "both lat and lon"),
    ('name = "X"', "exactly one of lat/lon, track, route (got none)"),
    ('name = "X"\nkind = "gateway"\ntrack = "t.csv"', "only terminals move"),
    ('name = "X"\nroute = { waypoints = [[1.0, 2.0]], speed_kmh = 10, start = 2026-02-03 }', "at least 2"),
])
def test_bad_moving_sites_name_the_key(site, words):
    with pytest.raises(LeosimInputError) as info:
        parse_scenario_text(HEAD + "\n[[sites]]\n" + site + "\n")
    assert words in info.value.message
    assert info.value.field.startswith("sites[0]")
    assert info.value.line is not None


def test_bad_condition_and_registry_keys_name_the_key():
    text = HEAD + '[[sites]]\nname = "K"\nlat = 50\nlon = 30\n[[policy.rules]]\nsubject = "UKR"\nstate = "denied"\n' \
                  'from = 2026-02-01\nwhen = { speed = 75 }\n'
    with pytest.raises(LeosimInputError, match="unknown key 'speed'") as info:
        parse_scenario_text(text)
    assert info.value.field == "policy.rules[0].when.speed"
    text = HEAD + '[[registry.synthetic]]\nid_prefix = "S"\ncount = 5\nshare_registered = 0.5\n'
    with pytest.raises(LeosimInputError, match="exactly one of territory, box"):
        parse_scenario_text(text)


def test_track_file_errors_keep_their_line(tmp_path):
    (tmp_path / "bad.csv").write_text("time_utc,lat_deg,lon_deg\n2026-02-03T00:00:00Z,50,30\n"
                                      "2026-02-03T00:00:00Z,50.5,30\n")
    spec = parse_scenario_text(HEAD + '[[sites]]\nname = "Car"\ntrack = "bad.csv"\n')
    with pytest.raises(LeosimInputError) as info:
        site_tracks(spec, base_dir=tmp_path)
    assert (info.value.source, info.value.line, info.value.field) == (str(tmp_path / "bad.csv"), 3, "time_utc")
