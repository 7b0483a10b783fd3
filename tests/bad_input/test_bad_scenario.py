"""Malformed scenario files given to ``leosim run``: each ends in exit 2 and one ``error:`` line naming the
file and the key (and the line where there is one), before any work starts."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from bad_input_cli import assert_one_error, invoke
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

SITE = '[[sites]]\nid = "kyiv"\nname = "Kyiv"\nlat = 50.45\nlon = 30.52\n'
SCENARIO = """[scenario]
name = "bad"
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
GOOD = SCENARIO + SITE


def _run(tmp_path: Path, text: str | bytes, *needles: str, name: str = "s.toml") -> str:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    return assert_one_error(invoke(["run", path, "--out", tmp_path / "out", "--no-report"]), name, *needles)


def _swap(old: str, new: str, text: str = GOOD) -> str:
    assert old in text, old
    return text.replace(old, new, 1)


# (id, scenario text, what the error line must name besides the file)
CASES = [
    # -- the [scenario] table
    ("no-scenario-table", _swap('[scenario]\nname = "bad"\n', ""), ("scenario", "Field required")),
    ("empty-name", _swap('name = "bad"', 'name = ""'), ("scenario.name", "line 2")),
    ("name-not-text", _swap('name = "bad"', "name = 123"), ("scenario.name",)),
    ("unknown-top-key", GOOD + "[scenaro]\nname = 'x'\n", ("unknown key 'scenaro'",)),
    ("unknown-scenario-key", _swap('name = "bad"', 'name = "bad"\ntitle = "x"'), ("unknown key 'title'",)),
    # -- [time]
    ("unknown-time-key", _swap("step_s = 60", "step_s = 60\nstep = 60"), ("time", "unknown key 'step'")),
    ("no-start", _swap("start = 2024-10-25T06:00:00Z\n", ""), ("time.start", "Field required")),
    ("no-duration", _swap("duration_s = 60\n", ""), ("time.duration_s",)),
    ("no-step", _swap("step_s = 60\n", ""), ("time.step_s",)),
    ("zero-duration", _swap("duration_s = 60", "duration_s = 0"), ("time.duration_s", "line 7")),
    ("negative-duration", _swap("duration_s = 60", "duration_s = -60"), ("time.duration_s",)),
    ("zero-step", _swap("step_s = 60", "step_s = 0"), ("time.step_s", "line 8")),
    ("negative-step", _swap("step_s = 60", "step_s = -1"), ("time.step_s",)),
    ("nan-step", _swap("step_s = 60", "step_s = nan"), ("time.step_s", "not a number")),
    ("inf-duration", _swap("duration_s = 60", "duration_s = inf"), ("time.duration_s", "not a number")),
    ("text-step", _swap("step_s = 60", 'step_s = "sixty"'), ("time.step_s",)),
    ("tiny-step", _swap("step_s = 60", "step_s = 1e-9"), ("time.step_s", "instants", "at most")),
    ("long-window", _swap("duration_s = 60", "duration_s = 1e12"), ("time.duration_s",)),
    ("bad-start", _swap("start = 2024-10-25T06:00:00Z", 'start = "next tuesday"'), ("start",)),
    ("time-not-a-table", _swap("[time]\nstart = 2024-10-25T06:00:00Z\nduration_s = 60\nstep_s = 60\n",
                               "time = [1, 2]\n"), ("time",)),
    # -- [constellation]
    ("preset-and-tle", _swap('preset = "starlink-gen1"', 'preset = "starlink-gen1"\ntle = "x.tle"'),
     ("constellation", "exactly one")),
    ("no-constellation", _swap('preset = "starlink-gen1"\n', ""), ("constellation", "exactly one")),
    ("unknown-preset", _swap("starlink-gen1", "starlink-gen9"), ("constellation", "starlink-gen9")),
    ("tle-missing", _swap('preset = "starlink-gen1"', 'tle = "missing.tle"'), ("constellation.tle", "not found")),
    ("tle-is-a-folder", _swap('preset = "starlink-gen1"', 'tle = "."'), ("constellation.tle", "is a directory")),
    ("hypatia-missing", _swap('preset = "starlink-gen1"', 'hypatia = "nowhere"'),
     ("constellation.hypatia", "not found")),
    # -- [[sites]]
    ("lat-above-90", _swap("lat = 50.45", "lat = 91"), ("sites[0].lat", "line 17")),
    ("lat-nan", _swap("lat = 50.45", "lat = nan"), ("sites[0].lat", "not a number")),
    ("lon-above-180", _swap("lon = 30.52", "lon = 181"), ("sites[0].lon",)),
    ("lon-minus-inf", _swap("lon = 30.52", "lon = -inf"), ("sites[0].lon", "not a number")),
    ("lat-text", _swap("lat = 50.45", 'lat = "north"'), ("sites[0].lat",)),
    ("alt-too-high", _swap("lon = 30.52", "lon = 30.52\nalt_m = 1e6"), ("sites[0].alt_m",)),
    ("site-no-name", _swap('name = "Kyiv"\n', ""), ("sites[0].name", "Field required")),
    ("site-bad-kind", _swap('name = "Kyiv"', 'name = "Kyiv"\nkind = "spaceship"'), ("sites[0].kind",)),
    ("site-unknown-key", _swap("lat = 50.45", "latitude = 50.45"), ("sites[0]", "unknown key 'latitude'")),
    ("duplicate-ids", GOOD + SITE.replace("Kyiv", "Kyiv again"), ("duplicate", "kyiv")),
    ("no-sites", SCENARIO, ("a scenario needs [[sites]]",)),
    ("sites-as-table", SCENARIO + '[sites]\nname = "Kyiv"\n', ("sites",)),
    ("site-file-missing", GOOD + '[[site_files]]\npath = "missing.csv"\n', ("site_files[0].path", "not found")),
    ("site-file-is-a-folder", GOOD + '[[site_files]]\npath = "."\n', ("site_files[0].path", "is a directory")),
    ("site-file-format", GOOD + '[[site_files]]\npath = "x.csv"\nformat = "xml"\n', ("site_files[0].format",)),
    ("group-count-zero", GOOD + '[[site_groups]]\nkind = "largest-cities"\nterritories = ["UKR"]\ncount = 0\n',
     ("site_groups[0].count",)),
    ("group-kind", GOOD + '[[site_groups]]\nkind = "villages"\nterritories = ["UKR"]\ncount = 2\n',
     ("site_groups[0].kind",)),
    ("group-territory", GOOD + '[[site_groups]]\nkind = "largest-cities"\nterritories = ["ATLANTIS"]\ncount = 2\n',
     ("site_groups[0].territories", "ATLANTIS")),
    # -- [network]
    ("mask-above-90", GOOD + "[network]\nterminal_min_elevation_deg = 95\n",
     ("network.terminal_min_elevation_deg",)),
    ("mask-nan", GOOD + "[network]\ngateway_min_elevation_deg = nan\n",
     ("network.gateway_min_elevation_deg", "not a number")),
    ("routing-unknown", GOOD + '[network]\nrouting = "teleport"\n', ("network.routing",)),
    ("isl-file-missing", GOOD + '[network]\nisl = "missing-isls.txt"\n', ("network.isl", "not found")),
    ("gsl-negative", GOOD + "[network]\nmax_gsl_length_km = -5\n", ("network.max_gsl_length_km",)),
    ("isl-shift-negative", GOOD + "[network]\nisl_shift = -1\n", ("network.isl_shift",)),
    ("network-unknown-key", GOOD + "[network]\nrouter = 'isl'\n", ("network", "unknown key 'router'")),
    # -- [policy], [analyses], [output], [ground], [sweep], [[regions]]
    ("default-state", _swap('default_state = "active"', 'default_state = "maybe"'), ("policy.default_state",)),
    ("analyses-list", _swap("whatif = false", "whatif = [1]"), ("analyses.whatif",)),
    ("analyses-unknown", _swap("cost = false", "cost = false\nweather = true"), ("unknown key 'weather'",)),
    ("output-unknown", GOOD + "[output]\nformat = 'xlsx'\n", ("output", "unknown key 'format'")),
    ("gateways-missing", GOOD + '[ground]\ngateways = "missing-gateways.csv"\n', ("ground.gateways", "not found")),
    ("region-two-points", GOOD + '[[regions]]\nname = "R"\npolygon = [[0.0, 0.0], [1.0, 1.0]]\n',
     ("regions[0]", "at least 3 points")),
    ("sweep-baseline", GOOD + '[sweep]\n[[sweep.variants]]\nname = "baseline"\n'
     'set = { "network.terminal_min_elevation_deg" = 40.0 }\n', ("sweep", "reserved")),
    ("sweep-unknown-setting", GOOD + '[sweep]\n[[sweep.variants]]\nname = "v"\nset = { "time.colour" = 1 }\n',
     ("sweep", "cannot sweep")),
    # -- the file itself
    ("not-toml", "this is not = = toml\n", ("not valid TOML", "line 1")),
    ("duplicate-key", _swap('name = "bad"', 'name = "bad"\nname = "again"'), ("not valid TOML",)),
    ("not-utf8", b"\xff\xfe[scenario]\n", ("cannot read",)),
]


@pytest.mark.parametrize(("text", "needles"), [pytest.param(t, n, id=i) for i, t, n in CASES])
def test_bad_scenario(tmp_path, text, needles):
    _run(tmp_path, text, *needles)


def test_case_ids_are_distinct():
    assert len({case[0] for case in CASES}) == len(CASES) and len({str(case[1]) for case in CASES}) == len(CASES)


def test_scenario_file_is_a_folder(tmp_path):
    assert_one_error(invoke(["run", tmp_path, "--out", tmp_path / "out"]), str(tmp_path))


def test_scenario_file_missing(tmp_path):
    assert_one_error(invoke(["run", tmp_path / "none.toml", "--out", tmp_path / "out"]), "none.toml")


def test_no_sites_is_one_short_line(tmp_path):
    line = _run(tmp_path, SCENARIO, "a scenario needs [[sites]]")
    assert "field" not in line and "starlink" not in line  # not the whole configuration


def test_duplicate_site_across_toml_and_csv_names_both(tmp_path):
    (tmp_path / "more.csv").write_text("id,name,lat_deg,lon_deg\nlviv,Lviv,49.84,24.03\nkyiv,Kyiv,50.4,30.5\n")
    line = _run(tmp_path, GOOD + '[[site_files]]\npath = "more.csv"\n', "more.csv", "line 3", "line 15", "kyiv")
    assert "s.toml" in line


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.one_of(st.floats(max_value=0.0), st.floats(allow_nan=True).filter(lambda x: not math.isfinite(x)),
                 st.floats(min_value=1e-15, max_value=1e-6)))
def test_any_bad_step_is_refused(tmp_path, step_s):
    text = _swap("step_s = 60", f"step_s = {_toml_float(step_s)}")
    _run(tmp_path, text, "time.step_s")


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.one_of(st.floats(min_value=90.000001, max_value=1e300), st.floats(max_value=-90.000001, min_value=-1e300),
                 st.sampled_from([math.nan, math.inf, -math.inf])))
def test_any_bad_latitude_is_refused(tmp_path, lat):
    _run(tmp_path, _swap("lat = 50.45", f"lat = {_toml_float(lat)}"), "sites[0].lat")


def _toml_float(value: float) -> str:
    if math.isnan(value):
        return "nan"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return repr(float(value))
