"""`leosim rtt`: the column contract, the modes, and RTTs checked against the router and references."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from leosim.cli import main
from leosim.commands.network import RTT_COLUMNS
from leosim.constants import SPEED_OF_LIGHT_KM_S
from leosim.ground.sites import default_cities
from leosim.network.references import great_circle_km


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_isl_mode_pairs(tmp_path, suffix):
    out = tmp_path / f"rtt{suffix}"
    result = run("rtt", "--constellation", "starlink-550", "--sites", "default-cities:50", "--pair", "Shanghai",
                 "Beijing", "--pair", "Kinshasa", "Lagos", "--start", "2000-01-01T00:00:00Z", "--duration", 30,
                 "--step", 10, "--out", out)
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out, keep_default_na=False) if suffix == ".csv" else pd.read_parquet(out)
    assert tuple(table.columns) == RTT_COLUMNS
    assert len(table) == 3 * 2
    assert table["time_s"].tolist() == [0, 0, 10, 10, 20, 20]
    cities = default_cities(50)
    for row in table.itertuples():
        a, b = cities.index_of(row.src), cities.index_of(row.dst)
        vacuum_ms = 2 * great_circle_km(cities.lat_deg[a], cities.lon_deg[a], cities.lat_deg[b],
                                        cities.lon_deg[b]) / SPEED_OF_LIGHT_KM_S * 1000
        assert row.rtt_ms > vacuum_ms  # never beats light along the ground
        nodes = [int(n) for n in str(row.path).split()]
        assert nodes[0] == 1584 + a and nodes[-1] == 1584 + b  # Hypatia numbering: sites after satellites
        assert all(n < 1584 for n in nodes[1:-1]) and row.hops == len(nodes) - 1


def test_all_pairs_and_symmetry(tmp_path):
    out = tmp_path / "all.parquet"
    result = run("rtt", "--constellation", "starlink-550", "--sites", "default-cities:8", "--all-pairs",
                 "--start", "2000-01-01T00:00:00Z", "--duration", 1, "--step", 1, "--out", out)
    assert result.exit_code == 0, result.output
    table = pd.read_parquet(out)
    assert len(table) == 8 * 7 // 2
    assert (table["src"] != table["dst"]).all()


def test_user_mode_to_best_pop(tmp_path):
    out = tmp_path / "user.csv"
    result = run("rtt", "--constellation", "starlink-gen1", "--sites", "default-cities:30", "--pair", "Tokyo",
                 "pop", "--mode", "user", "--start", "2024-10-25T00:00:00Z", "--duration", 120, "--step", 60,
                 "--out", out)
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out)
    assert (table["dst"] == "pop-tyo").all()
    assert np.isfinite(table["rtt_ms"]).all()


def test_bent_pipe_needs_no_isls(tmp_path):
    out = tmp_path / "bp.csv"
    result = run("rtt", "--constellation", "starlink-gen1", "--sites", "default-cities:60", "--pair", "Shanghai",
                 "Beijing", "--pair", "Shanghai", "Kinshasa", "--mode", "bent-pipe", "--start",
                 "2024-10-25T00:00:00Z", "--duration", 1, "--step", 1, "--out", out)
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out, keep_default_na=False)
    # Shanghai–Beijing (~1,070 km) fits under one satellite's footprint (~1,900 km across at a 25° mask
    # from 550 km): site, one satellite, site.
    assert table["hops"].iloc[0] == 2 and len(table["path"].iloc[0].split()) == 3
    # Shanghai–Kinshasa (~11,000 km) cannot share a satellite: no path, NaN RTT ("nan" in CSV), empty path.
    assert table["rtt_ms"].iloc[1] == "nan" and table["path"].iloc[1] == "" and table["hops"].iloc[1] == -1


@pytest.mark.parametrize(("args", "message"), [
    (["--constellation", "starlink-550", "--sites", "default-cities:5", "--duration", "1", "--step", "1"],
     "--pair"),
    (["--constellation", "starlink-550", "--sites", "default-cities:5", "--pair", "Shanghai", "Atlantis",
      "--duration", "1", "--step", "1"], "Atlantis"),
    (["--sites", "default-cities:5", "--all-pairs", "--duration", "1", "--step", "1"], "exactly one"),
    (["--constellation", "starlink-550", "--sites", "default-cities:x", "--all-pairs", "--duration", "1",
      "--step", "1"], "default-cities:N"),
    (["--constellation", "starlink-550", "--sites", "hypatia", "--all-pairs", "--duration", "1", "--step", "1"],
     "--hypatia"),
])
def test_bad_input(tmp_path, args, message):
    result = run("rtt", *args, "--out", tmp_path / "x.csv")
    assert result.exit_code == 2, result.output
    assert message in result.output


def test_isls_that_cannot_be_used_are_reported(tmp_path):
    # An explicit ISL between satellites on opposite sides of the Earth (slots 0 and 11 of the same 22-slot
    # plane, half an orbit apart) is Earth-blocked: it is left out of routing and the CLI says so.
    isls = tmp_path / "isls.txt"
    isls.write_text("0 1\n0 11\n")
    out = tmp_path / "rtt.csv"
    result = CliRunner().invoke(main, [
        "rtt", "--constellation", "starlink-550", "--sites", "default-cities:10", "--pair", "Shanghai", "Beijing",
        "--isl", str(isls), "--start", "2000-01-01T00:00:00Z", "--duration", "2", "--step", "1", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "ISLs left out" in result.stderr and "earth blocked" in result.stderr


def test_names_typed_are_written(tmp_path):
    # the user typed names, not the cities' GeoNames ids, come back in src/dst ("Kyiv", not "703448")
    out = tmp_path / "rtt.csv"
    result = run("rtt", "--constellation", "starlink-550", "--sites", "default-cities:50", "--pair", "shanghai",
                 "Beijing", "--start", "2000-01-01T00:00:00Z", "--duration", 1, "--step", 1, "--out", out)
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out)
    assert table["src"].tolist() == ["shanghai"] and table["dst"].tolist() == ["Beijing"]


def test_isl_note_counts_each_link_once(tmp_path):
    # a link both too long and Earth-blocked (equivalent conditions with the default length limit) is one
    # link-instant: 2 instants x 1 bad link = 2, not "2 earth blocked, 2 too long"
    isls = tmp_path / "isls.txt"
    isls.write_text("0 1\n0 11\n")
    out = tmp_path / "rtt.csv"
    result = CliRunner().invoke(main, [
        "rtt", "--constellation", "starlink-550", "--sites", "default-cities:10", "--pair", "Shanghai", "Beijing",
        "--isl", str(isls), "--start", "2000-01-01T00:00:00Z", "--duration", "2", "--step", "1", "--out", str(out)])
    assert result.exit_code == 0, result.output
    note = next(line for line in result.stderr.splitlines() if "ISLs left out" in line)
    assert note.endswith("2 earth blocked and too long"), note
