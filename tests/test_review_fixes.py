"""Regression tests for bugs found in review: bad numbers that crashed with a traceback instead of a clear
``error:`` line and exit 2, and error messages that ran two phrases together."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from leosim.cli import main
from leosim.errors import LeosimInputError
from leosim.territory import Territories

ROOT = Path(__file__).resolve().parents[1]
HYPATIA_TINY = ROOT / "tests" / "data" / "hypatia" / "tiny"
SEED = ROOT / "examples" / "ukraine-taiwan-2024.toml"


def _one_error_line(result) -> str:
    """The CLI's single ``error:`` line (no traceback was printed)."""
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    lines = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, result.output
    return lines[0]


@pytest.mark.parametrize("alt_m", ["nan", "inf", "-inf"])
def test_visible_rejects_a_non_finite_height(alt_m):
    # Was: a ValueError traceback from the KD-tree ("data must be finite").
    result = CliRunner().invoke(main, ["visible", "--constellation", "starlink-550", "--lat", "45", "--lon", "10",
                                       "--alt-m", alt_m])
    assert "--alt-m" in _one_error_line(result)


@pytest.mark.parametrize("step_ms", ["nan", "inf"])
def test_hypatia_state_rejects_a_non_finite_step(tmp_path, step_ms):
    # Was: ValueError / OverflowError from round() before the finiteness check.
    result = CliRunner().invoke(main, ["hypatia-state", "--hypatia", str(HYPATIA_TINY), "--duration", "1",
                                       "--step-ms", step_ms, "--out", str(tmp_path / "state")])
    assert "step_ms" in _one_error_line(result)
    assert not (tmp_path / "state").exists() or not any((tmp_path / "state").iterdir())


def test_unknown_territory_message_separates_the_suggestions():
    # Was: "unknown territory 'TUX'close matches: ..." (no separator).
    with pytest.raises(LeosimInputError) as caught:
        Territories.default().geometry("TUX")
    assert "unknown territory 'TUX'; close matches: " in str(caught.value)
    assert "TUR (Turkey)" in str(caught.value)


def test_unknown_territory_in_a_scenario_separates_the_suggestions(tmp_path):
    scenario = tmp_path / "bad.toml"
    scenario.write_text(SEED.read_text().replace('subject = "RUS"', 'subject = "RUZ"')
                        .replace('geojson = "regions/', f'geojson = "{ROOT}/examples/regions/'))
    result = CliRunner().invoke(main, ["run", str(scenario), "--out", str(tmp_path / "out"), "--no-report"])
    line = _one_error_line(result)
    assert "unknown territory 'RUZ'; close matches: " in line and "RUS (Russia)" in line


@pytest.mark.parametrize(("row", "expected"), [
    ("b,B,terminal,95,30", "latitude 95.0 deg"),
    ("b,B,terminal,20,500", "longitude 500.0 deg"),
    ("b,B,terminal,20,nan", "nan is not a finite number"),
])
def test_site_errors_print_plain_numbers(tmp_path, row, expected):
    # Was: "latitude np.float64(95.0) deg ..." (NumPy 2's repr of a scalar).
    from leosim.ground.sites import Sites

    path = tmp_path / "sites.csv"
    path.write_text(f"id,name,kind,latitude_deg,longitude_deg\na,A,terminal,50,30\n{row}\n")
    with pytest.raises(LeosimInputError) as caught:
        Sites.from_csv(path)
    assert expected in str(caught.value) and "np." not in str(caught.value)
    assert caught.value.line == 3


def test_route_from_a_pop_names_the_site_plainly(tmp_path):
    # Was: "site np.str_('pop-sea') is a PoP ..." in the API's 400 answer.
    pytest.importorskip("fastapi")
    from fastapi.testclient import TestClient

    from leosim.web import ServerState, create_app

    state = ServerState.default(db_path=tmp_path / "policy.sqlite", start="2024-10-25T06:00:00Z", terminals=3)
    with TestClient(create_app(state), base_url="http://127.0.0.1") as client:
        pop = next(s["id"] for s in client.get("/api/sites").json()["sites"] if s["kind"] == "pop")
        answer = client.get(f"/api/route?src={pop}&dst=pop&t=2024-10-25T06:00:00Z")
    assert answer.status_code == 422  # a refused value (see leosim.web.app)
    assert f"site '{pop}' is a PoP" in answer.json()["error"]


def test_reading_a_policy_store_that_does_not_exist_is_an_error(tmp_path):
    missing = tmp_path / "typo" / "policy.sqlite"
    for args in (["policy", "verify"], ["policy", "log"], ["policy", "show"],
                 ["access", "--lat", "0", "--lon", "0", "--at", "2024-01-01T00:00:00Z"]):
        result = CliRunner().invoke(main, [*args, "--db", str(missing)])
        assert result.exit_code == 2, (args, result.output)
        assert "no such policy store" in result.output
    assert not missing.parent.exists()  # nothing was created on the way


def test_rtt_reads_hypatia_ground_station_files_and_bounds_default_cities(tmp_path):
    stations = tmp_path / "ground_stations.basic.txt"
    stations.write_text("0,Paris,48.85341,2.3488,0\n1,London,51.50853,-0.12574,0\n")
    out = tmp_path / "rtt.csv"
    result = CliRunner().invoke(main, ["rtt", "--constellation", "starlink-550", "--sites", f"hypatia:{stations}",
                                      "--pair", "Paris", "London", "--start", "2000-01-01T00:00:00Z",
                                      "--duration", "1", "--step", "1", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert out.read_text().count("\n") == 2
    too_many = CliRunner().invoke(main, ["rtt", "--constellation", "starlink-550", "--sites",
                                        "default-cities:99999999", "--all-pairs", "--duration", "1", "--step", "1",
                                        "--out", str(out)])
    assert too_many.exit_code == 2 and "default-cities:N" in too_many.output


def test_hypatia_state_needs_whole_milliseconds(tmp_path):
    result = CliRunner().invoke(main, ["hypatia-state", "--hypatia", str(tmp_path), "--duration", "1",
                                      "--step-ms", "0.5", "--out", str(tmp_path / "out")])
    assert result.exit_code == 2 and "whole number of milliseconds" in result.output


def test_scenario_reports_an_unknown_key_before_missing_ones(tmp_path):
    from leosim.scenario.schema import parse_scenario_text

    with pytest.raises(LeosimInputError, match="unknown key 'foo'"):
        parse_scenario_text("foo = 1\n", source="s.toml")
