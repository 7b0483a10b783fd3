"""The physical layer's CLI contracts: constellations, positions, visible; clear errors with exit code 2."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from leosim.cli import main
from leosim.ground.geodesy import ecef_to_geodetic
from leosim.orbits.constellation import Constellation
from leosim.timebase import Times

POSITION_COLUMNS = ["time_utc", "sat_id", "name", "x_km", "y_km", "z_km", "lat_deg", "lon_deg", "alt_km"]
VISIBLE_COLUMNS = ["time_utc", "sat_id", "elevation_deg", "azimuth_deg", "range_km"]


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def test_constellations_lists_presets_with_counts():
    result = run("constellations")
    assert result.exit_code == 0
    assert "starlink-gen1" in result.output and "4408" in result.output
    assert "kuiper" in result.output and "3236" in result.output


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_positions_table(tmp_path, suffix):
    out = tmp_path / f"p{suffix}"
    result = run("positions", "--constellation", "starlink-550", "--start", "2000-01-01T00:10:00Z",
                 "--duration", 120, "--step", 60, "--out", out)
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out) if suffix == ".csv" else pd.read_parquet(out)
    assert list(table.columns) == POSITION_COLUMNS
    assert len(table) == 2 * 1584
    expected = Constellation.preset("starlink-550").positions_km(
        Times.from_range("2000-01-01T00:10:00Z", 120, 60))
    # CSV keeps 15-17 significant digits: micrometres.
    np.testing.assert_allclose(table[["x_km", "y_km", "z_km"]].to_numpy(), expected.reshape(-1, 3), atol=1e-6)
    _, _, alt = ecef_to_geodetic(expected.reshape(-1, 3))
    np.testing.assert_allclose(table["alt_km"], alt, atol=1e-6)
    assert table["sat_id"].iloc[1584 + 5] == 5
    if suffix == ".csv":
        assert table["time_utc"].iloc[-1] == "2000-01-01T00:11:00.000Z"


def test_positions_default_start_is_the_epoch(tmp_path):
    out = tmp_path / "p.csv"
    assert run("positions", "--constellation", "starlink-550", "--out", out).exit_code == 0
    assert pd.read_csv(out)["time_utc"].iloc[0] == "2000-01-01T00:00:00.000Z"


def test_visible_table_and_summary(tmp_path):
    out = tmp_path / "v.parquet"
    args = ["visible", "--constellation", "starlink-gen1", "--lat", 50.45, "--lon", 30.52,
            "--start", "2024-10-25T12:00:00Z", "--duration", 300, "--step", 60]
    result = run(*args, "--out", out)
    assert result.exit_code == 0, result.output
    table = pd.read_parquet(out)
    assert list(table.columns) == VISIBLE_COLUMNS
    assert (table["elevation_deg"] >= 25.0).all()
    assert table["time_utc"].nunique() == 5
    summary = run(*args)
    assert summary.exit_code == 0
    assert "2024-10-25T12:04:00.000Z" in summary.output


@pytest.mark.parametrize(("args", "message"), [
    (["positions", "--constellation", "nope", "--out", "x.csv"], "unknown constellation preset"),
    (["positions", "--constellation", "starlink-550", "--out", "x.txt"], "unsupported output extension"),
    (["positions", "--out", "x.csv"], "exactly one of"),
    (["positions", "--constellation", "starlink-550", "--step", "-5", "--out", "x.csv"], "step"),
    (["positions", "--constellation", "starlink-550", "--start", "soon", "--out", "x.csv"], "ISO 8601"),
    (["visible", "--constellation", "starlink-550", "--lat", "95", "--lon", "0"], "latitude"),
    (["positions", "--tle", "missing.tle", "--out", "x.csv"], "missing.tle"),
])
def test_bad_input_exits_2_with_a_message(tmp_path, monkeypatch, args, message):
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "x.csv").exists()


def test_bad_element_file_names_file_and_line(tmp_path):
    bad = tmp_path / "bad.tle"
    bad.write_text("ISS\n1 25544U 98067A   08264.51782528 -.00002182  00000-0 -11606-4 0  2928\n"
                   "2 25544  51.6416 247.4627 0006703 130.5360 325.0288 15.72125391563537\n")
    result = CliRunner().invoke(main, ["positions", "--tle", str(bad), "--out", str(tmp_path / "p.csv")])
    assert result.exit_code == 2
    assert "bad.tle" in result.output and "line 2" in result.output and "checksum" in result.output


def test_entry_point_runs_as_a_program():
    result = subprocess.run([sys.executable, "-m", "leosim.cli", "--help"], capture_output=True, text=True,
                            check=False)
    assert result.returncode == 0
    for command in ("constellations", "positions", "visible"):
        assert command in result.stdout
