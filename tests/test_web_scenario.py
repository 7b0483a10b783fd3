"""The server on a scenario: answers inside its window come from its results and agree with computing them."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("fastapi")
from fastapi.testclient import TestClient

from leosim.scenario.api import Scenario
from leosim.web import ServerState, create_app

SEED = Path(__file__).resolve().parents[1] / "examples" / "ukraine-taiwan-2024.toml"
START = "2024-10-25T06:00:00Z"


@pytest.fixture(scope="module")
def scenario():
    return Scenario.from_toml(SEED).with_window(duration_s=180.0, step_s=60.0)


@pytest.fixture(scope="module")
def clients(scenario, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("scenario")
    out = tmp / "results"
    scenario.run(out)
    with_results = ServerState.from_results(out, scenario=scenario, db_path=tmp / "a.sqlite")
    computed = ServerState.from_scenario(scenario, db_path=tmp / "b.sqlite")
    base = "http://127.0.0.1"
    with TestClient(create_app(with_results), base_url=base) as a, TestClient(create_app(computed), base_url=base) as b:
        yield a, b


def test_window_and_sites_from_scenario(clients):
    served, _ = clients
    health = served.get("/api/health").json()
    assert health["window"]["start"] == "2024-10-25T06:00:00.000Z" and health["window"]["instants"] == 3
    assert health["results"] == "loaded"
    ids = {s["id"] for s in served.get("/api/sites").json()["sites"]}
    assert {"kyiv", "taipei", "sevastopol"} <= ids


def test_route_from_results_matches_computed(clients):
    served, computed = clients
    for site in ("kyiv", "warsaw", "taipei"):
        a = served.get("/api/route", params={"src": site, "t": START}).json()
        b = computed.get("/api/route", params={"src": site, "t": START}).json()
        assert a["source"] == "results" and b["source"] == "computed"
        assert [n["node"] for n in a["path"]] == [n["node"] for n in b["path"]], site
        assert a["rtt_ms"] == pytest.approx(b["rtt_ms"], abs=1e-6)
        assert (a["gateway"], a["pop"]) == (b["gateway"], b["pop"])
    taipei = served.get("/api/route", params={"src": "taipei", "t": START}).json()
    assert taipei["routable"] and taipei["allowed"] is False and taipei["rule"].startswith("TWN denied")


def test_rtt_from_results_then_computed_beyond(clients):
    served, computed = clients
    params = {"src": "kyiv", "from": START, "to": "2024-10-25T06:02:00Z", "step": 60}
    a = served.get("/api/rtt", params=params).json()
    b = computed.get("/api/rtt", params=params).json()
    assert a["source"] == "results" and b["source"] == "computed"
    assert a["rtt_ms"] == pytest.approx(b["rtt_ms"], abs=1e-3)  # results keep full precision, answers 1 µs
    beyond = served.get("/api/rtt", params={**params, "to": "2024-10-25T06:05:00Z"}).json()
    assert beyond["source"] == "mixed" and len(beyond["rtt_ms"]) == 6


def test_territories_coloured_by_scenario_policy(clients):
    served, _ = clients
    features = served.get("/api/territories", params={"at": START}).json()["features"]
    state = {f["properties"]["code"]: f["properties"]["state"] for f in features}
    assert state["UKR"] == "active" and state["TWN"] == "denied" and state["RUS"] == "denied"
    assert state["Crimea"] == "denied"
    sevastopol = served.get("/api/access", params={"lat": 44.6167, "lon": 33.5254, "t": START}).json()
    assert sevastopol["territory"] == "Crimea" and sevastopol["allowed"] is False
