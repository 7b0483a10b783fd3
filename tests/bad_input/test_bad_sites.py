"""Malformed site CSV files, through a scenario's ``[[site_files]]`` and ``leosim rtt --sites``: each ends in
exit 2 and one ``error:`` line naming the CSV file, the line and the column."""

from __future__ import annotations

import string
from pathlib import Path

import pytest
from bad_input_cli import assert_one_error, invoke
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from test_bad_scenario import SCENARIO

HEADER = "id,name,lat_deg,lon_deg\n"
GOOD_ROW = "kyiv,Kyiv,50.45,30.52\n"

# (id, CSV bytes or text, what the error line must name besides the file)
CASES = [
    ("no-lat-column", "id,name,lon_deg\nkyiv,Kyiv,30.52\n", ("lat",)),
    ("no-lon-column", "id,name,lat_deg\nkyiv,Kyiv,50.45\n", ("lon",)),
    ("no-name-column", "id,lat_deg,lon_deg\nkyiv,50.45,30.52\n", ("name",)),
    ("lat-not-a-number", HEADER + "kyiv,Kyiv,north,30.52\n", ("line 2", "lat")),
    ("lon-not-a-number", HEADER + "kyiv,Kyiv,50.45,east\n", ("line 2", "lon")),
    ("lat-above-90", HEADER + "kyiv,Kyiv,95,30.52\n", ("line 2", "lat")),
    ("lat-below-minus-90", HEADER + GOOD_ROW + "pole,Pole,-90.5,0\n", ("line 3", "lat")),
    ("lon-above-180", HEADER + "kyiv,Kyiv,50.45,180.5\n", ("line 2", "lon")),
    ("lat-nan", HEADER + "kyiv,Kyiv,nan,30.52\n", ("line 2", "lat")),
    ("lon-inf", HEADER + "kyiv,Kyiv,50.45,inf\n", ("line 2", "lon")),
    ("lat-empty", HEADER + "kyiv,Kyiv,,30.52\n", ("line 2", "lat")),
    ("duplicate-id", HEADER + GOOD_ROW + "kyiv,Kyiv 2,50.0,30.0\n", ("line 3", "duplicate", "kyiv")),
    ("empty-id", HEADER + ",Kyiv,50.45,30.52\n", ("line 2", "id")),
    ("bad-kind", "id,name,lat_deg,lon_deg,kind\nkyiv,Kyiv,50.45,30.52,spaceship\n", ("line 2", "kind")),
    ("alt-not-a-number", "id,name,lat_deg,lon_deg,alt_m\nkyiv,Kyiv,50.45,30.52,high\n", ("line 2", "alt")),
    ("population-negative", "id,name,lat_deg,lon_deg,population\nkyiv,Kyiv,50.45,30.52,-5\n",
     ("line 2", "population")),
    ("population-fraction", "id,name,lat_deg,lon_deg,population\nkyiv,Kyiv,50.45,30.52,2.5\n",
     ("line 2", "population")),
    ("too-few-cells", HEADER + "kyiv,Kyiv,50.45\n", ("line 2",)),
    ("not-utf8", b"id,name,lat_deg,lon_deg\nkyiv,K\xffyiv,50.45,30.52\n", ("UTF-8",)),
    ("empty-file", "", ()),
]


def _scenario(tmp_path: Path, csv: str | bytes) -> Path:
    path = tmp_path / "sites.csv"
    if isinstance(csv, bytes):
        path.write_bytes(csv)
    else:
        path.write_text(csv)
    scenario = tmp_path / "s.toml"
    scenario.write_text(SCENARIO + '[[site_files]]\npath = "sites.csv"\n')
    return scenario


@pytest.mark.parametrize(("csv", "needles"), [pytest.param(c, n, id=i) for i, c, n in CASES])
def test_bad_site_file_in_a_scenario(tmp_path, csv, needles):
    scenario = _scenario(tmp_path, csv)
    assert_one_error(invoke(["run", scenario, "--out", tmp_path / "out", "--no-report"]), "sites.csv", *needles)


@pytest.mark.parametrize(("csv", "needles"), [pytest.param(c, n, id=i) for i, c, n in CASES[3:12]])
def test_bad_site_file_given_to_rtt(tmp_path, csv, needles):
    path = tmp_path / "sites.csv"
    path.write_text(csv)
    result = invoke(["rtt", "--constellation", "starlink-gen1", "--sites", path, "--all-pairs", "--duration", "60",
                     "--step", "60", "--out", tmp_path / "rtt.csv"])
    assert_one_error(result, "sites.csv", *needles)


def test_site_file_that_is_a_folder_given_to_rtt(tmp_path):
    result = invoke(["rtt", "--constellation", "starlink-gen1", "--sites", tmp_path, "--all-pairs", "--duration",
                     "60", "--step", "60", "--out", tmp_path / "rtt.csv"])
    assert_one_error(result, str(tmp_path), "directory")


_CELL = st.text(alphabet=string.ascii_letters + string.digits + "+-.eE", min_size=1, max_size=12)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(_CELL)
def test_any_latitude_cell_that_is_not_a_latitude_is_an_error(tmp_path, cell):
    try:
        value = float(cell)
    except ValueError:
        value = None
    assume(value is None or not -90 <= value <= 90)  # anything else is a valid latitude
    scenario = _scenario(tmp_path, HEADER + f"kyiv,Kyiv,{cell},30.52\n")
    result = invoke(["run", scenario, "--out", tmp_path / "out", "--no-report"])
    assert_one_error(result, "sites.csv", "line 2", "lat")
