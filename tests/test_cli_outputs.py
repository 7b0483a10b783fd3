"""What the command line gives people: CSV copies of a run's tables (`leosim export`, `run --format csv`) and
the run summary with the what-if side by side."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
from click.testing import CliRunner

from leosim.cli import main
from leosim.commands.scenario import summary_lines
from leosim.output import parquet_folder_to_csv, write_table


def _results(folder):
    times = np.array(["2024-10-25T06:00:00", "2024-10-25T06:01:00"], dtype="datetime64[ns]")
    write_table(folder / "access.parquet", {"time_utc": times, "site_id": ["kyiv", "kyiv"],
                                            "rtt_ms": [13.25, np.nan]})
    write_table(folder / "variants" / "a" / "sites.parquet", {"site_id": ["kyiv"], "name": ["Kyiv"]})
    (folder / "report.html").write_text("<html></html>")


def test_export_writes_every_table_as_csv(tmp_path):
    _results(tmp_path / "run")
    result = CliRunner().invoke(main, ["export", str(tmp_path / "run"), "--csv", str(tmp_path / "csv")])
    assert result.exit_code == 0, result.output
    access = pd.read_csv(tmp_path / "csv" / "access.csv")
    # the same rows and values as the Parquet table, times as ISO 8601 UTC text
    assert access["time_utc"].tolist() == ["2024-10-25T06:00:00.000Z", "2024-10-25T06:01:00.000Z"]
    parquet = pq.read_table(tmp_path / "run" / "access.parquet").to_pandas()
    np.testing.assert_array_equal(access["rtt_ms"].to_numpy(), parquet["rtt_ms"].to_numpy())
    assert pd.read_csv(tmp_path / "csv" / "variants" / "a" / "sites.csv")["name"].tolist() == ["Kyiv"]


def test_csv_beside_the_parquet_and_an_empty_folder_is_refused(tmp_path):
    _results(tmp_path)
    written = parquet_folder_to_csv(tmp_path, tmp_path)  # what `leosim run --format csv` does
    assert sorted(p.relative_to(tmp_path).as_posix() for p in written) == ["access.csv", "variants/a/sites.csv"]
    result = CliRunner().invoke(main, ["export", str(tmp_path / "variants" / "b"), "--csv", str(tmp_path / "x")])
    assert result.exit_code == 2
    (tmp_path / "empty").mkdir()
    result = CliRunner().invoke(main, ["export", str(tmp_path / "empty"), "--csv", str(tmp_path / "x")])
    assert result.exit_code == 2 and "no Parquet tables" in result.output


def test_run_summary_puts_the_whatif_beside_the_baseline_and_names_each_statistic():
    summary = pd.DataFrame({"key": ["TWN", ""], "name": ["TWN", "(outside any territory)"],
                            "covered_frac": [1.0, 1.0], "routable_frac": [1.0, 1.0], "allowed_frac": [0.0, 1.0],
                            "service_frac": [0.0, 1.0], "median_rtt_ms": [np.nan, 12.0],
                            "median_rtt_if_allowed_ms": [11.2, 12.0]})
    whatif = pd.DataFrame({"variant": ["baseline", "Taiwan switched on"], "scope": ["territory", "territory"],
                           "key": ["TWN", "TWN"], "service_frac": [0.0, 1.0], "median_rtt_ms": [np.nan, 11.18]})
    lines = summary_lines(summary, whatif)
    assert "[1] served" in lines[0] and "if allowed" in lines[0]
    twn = next(line for line in lines if line.startswith("TWN"))
    assert twn.split("|")[1].split() == ["100.0%", "11.2"]  # the what-if's served share and median RTT
    assert any(line.startswith("(outside any territory)") for line in lines)  # no blank territory name
    assert any("median round-trip time over the served" in line for line in lines)
    assert any(line.startswith("[1] what-if 'Taiwan switched on'") for line in lines)
    assert summary_lines(summary, None)[0].count("|") == 0


def test_progress_bars_stay_quiet_off_a_terminal(capsys):
    from leosim.commands._options import progress_bar

    update, close = progress_bar("rtt")  # pytest's stderr is not a TTY: no bar, nothing printed
    assert update is None
    close()
    assert capsys.readouterr().err == ""
