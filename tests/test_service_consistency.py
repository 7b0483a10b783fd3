"""One answer through four doors: the run's ``access`` table, ``access_at``, ``leosim access --scenario --json``
and HTTP ``/api/access`` agree for every terminal at every instant of short windows of the seed scenario and
the Hypatia example, with both ``default_state`` values.

This is the test that would have caught the server denying Paris while ``leosim run`` served it.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from leosim.cli import main as cli
from leosim.scenario.api import Scenario
from leosim.service.access import access_at

pytest.importorskip("fastapi")
from fastapi.testclient import TestClient

from leosim.web import ServerState, create_app

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
RTT_TOL_MS = 1e-3
"""1 µs: the doors route the same graph; they may differ only by float summation order (far below)."""
INSTANTS = 5


def _variant(tmp: Path, name: str, *, default_state: str, start: str, step_s: float) -> Path:
    """The example scenario over ``INSTANTS`` instants with ``default_state``, as a file in ``tmp`` (relative
    input paths made absolute, so the copy reads the example's own inputs)."""
    text = (EXAMPLES / name).read_text(encoding="utf-8")
    text = re.sub(r'(?m)^(\s*(?:path|geojson)\s*=\s*")(?!/)', lambda m: m.group(1) + str(EXAMPLES) + "/", text)
    text = re.sub(r"(?m)^start\s*=.*$", f"start = {start}", text)
    text = re.sub(r"(?m)^duration_s\s*=.*$", f"duration_s = {INSTANTS * step_s}", text)
    text = re.sub(r"(?m)^step_s\s*=.*$", f"step_s = {step_s}", text)
    text = re.sub(r'(?m)^default_state\s*=.*$', f'default_state = "{default_state}"', text)
    assert f'default_state = "{default_state}"' in text
    path = tmp / f"{default_state}-{name}"
    path.write_text(text, encoding="utf-8")
    return path


CASES = [
    ("ukraine-taiwan-2024.toml", "2024-10-25T06:00:00Z", 60.0, "denied"),
    ("ukraine-taiwan-2024.toml", "2024-10-25T06:00:00Z", 60.0, "active"),
    ("hypatia-paris-luanda.toml", "2000-01-01T00:00:00Z", 40.0, "active"),
    ("hypatia-paris-luanda.toml", "2000-01-01T00:00:00Z", 40.0, "denied"),
]


@pytest.fixture(scope="module", params=CASES, ids=lambda c: f"{c[0].split('.')[0]}-{c[3]}")
def doors(request, tmp_path_factory):
    name, start, step_s, default_state = request.param
    tmp = tmp_path_factory.mktemp("doors")
    path = _variant(tmp, name, default_state=default_state, start=start, step_s=step_s)
    scenario = Scenario.from_toml(path)
    result = scenario.run(None)
    access = result["access"]
    server = ServerState.from_scenario(Scenario.from_toml(path), db_path=tmp / "empty.sqlite")
    with TestClient(create_app(server), base_url="http://127.0.0.1") as client:
        yield path, scenario, access, client


def _key(answer: dict) -> tuple:
    return (answer["status"], answer["rule"], answer["gateway"] or "", answer["pop"] or "")


@pytest.mark.slow
def test_four_doors_agree(doors):
    path, scenario, access, client = doors
    plan = scenario.plan
    sites = plan.sites
    times = np.unique(access["time_utc"].to_numpy(dtype="datetime64[ns]"))
    assert times.size == INSTANTS
    runner = CliRunner()
    checked = 0
    for row in access.itertuples(index=False):
        at = np.datetime_as_string(np.datetime64(row.time_utc, "ns"), unit="s") + "Z"
        table = {"status": row.status, "rule": row.rule, "gateway": row.gateway, "pop": row.pop,
                 "rtt_ms": row.rtt_ms if np.isfinite(row.rtt_ms) else None}
        i = sites.index_of(row.site_id)
        by_site = access_at(site=row.site_id, at=at, scenario=scenario)
        cli_out = runner.invoke(cli, ["access", "--scenario", str(path), "--site", row.site_id, "--at", at,
                                      "--json"], catch_exceptions=False)
        assert cli_out.exit_code == 0, cli_out.output
        by_cli = json.loads(cli_out.output)
        answers = {"access_at(site)": by_site, "cli --site": by_cli}
        if not plan.site_attributes["fleet"][i]:
            # A place given by coordinates is a terminal of no fleet: the same answer for terminals of none.
            lat, lon = float(sites.lat_deg[i]), float(sites.lon_deg[i])
            answers["access_at(lat, lon)"] = access_at(lat, lon, at, scenario=scenario, alt_m=float(sites.alt_m[i]))
            http = client.get("/api/access", params={"lat": lat, "lon": lon, "t": at})
            assert http.status_code == 200, http.text
            answers["http"] = http.json()
        for door, answer in answers.items():
            where = f"{row.site_id} at {at} through {door}"
            assert _key(answer) == _key(table), where
            if table["rtt_ms"] is None:
                assert answer["rtt_ms"] is None, where
            else:
                assert answer["rtt_ms"] == pytest.approx(table["rtt_ms"], abs=RTT_TOL_MS), where
            assert answer["default_state"] == plan.spec.policy.default_state, where
            assert answer["source"] in ("scenario", "store", "default"), where
        checked += 1
    assert checked == INSTANTS * plan.terminals.size


def test_paris_is_served_in_the_hypatia_example(tmp_path):
    """The bug this engine fixed: the server denied Paris ('default: denied') while the run served it."""
    path = EXAMPLES / "hypatia-paris-luanda.toml"
    at = "2000-01-01T00:00:00Z"
    scenario = Scenario.from_toml(path)
    by_cli = json.loads(CliRunner().invoke(cli, ["access", "--scenario", str(path), "--site", "Paris", "--at", at,
                                                 "--json"], catch_exceptions=False).output)
    server = ServerState.from_scenario(scenario, db_path=tmp_path / "p.sqlite")
    paris = scenario.plan.sites.index_of("Paris")
    lat, lon = float(scenario.plan.sites.lat_deg[paris]), float(scenario.plan.sites.lon_deg[paris])
    with TestClient(create_app(server), base_url="http://127.0.0.1") as client:
        by_http = client.get("/api/access", params={"lat": lat, "lon": lon, "t": at}).json()
    for answer in (by_cli, by_http):
        assert answer["allowed"] is True and answer["status"] == "ok", answer
        assert answer["rule"] == "default: active" and answer["source"] == "default"
