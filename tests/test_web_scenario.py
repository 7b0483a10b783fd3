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


def test_capacity_cells_from_results_match_computed(clients, scenario):
    served, computed = clients
    # The seed computes one slot in 20 (every 5 min); 06:00:12 + k·15 s. Ask for an instant inside a slot.
    answers = [served.get("/api/capacity", params={"t": f"2024-10-25T06:0{m}:{s:02d}Z"}).json()
               for m in (0, 1, 2) for s in (13, 28, 43, 58)]
    assert all(a["slot_utc"].endswith(("12.000Z", "27.000Z", "42.000Z", "57.000Z")) for a in answers)
    from_results = [a for a in answers if a["source"] == "results"]
    assert from_results  # slot 06:00:12 is one of the seed's (its number since the epoch is a multiple of 20)
    answer = from_results[0]
    again = computed.get("/api/capacity", params={"t": answer["time_utc"]}).json()
    assert again["source"] == "computed" and again["slot_utc"] == answer["slot_utc"]
    assert len(answer["cells"]) > 0 and set(answer["cells"][0]) == {
        "cell", "territory", "demand_mbps", "served_mbps", "beams", "bottleneck", "boundary"}
    mine = {c["cell"]: c for c in answer["cells"]}
    theirs = {c["cell"]: c for c in again["cells"]}
    assert mine.keys() == theirs.keys()
    for key, cell in mine.items():
        assert cell["served_mbps"] == pytest.approx(theirs[key]["served_mbps"], rel=1e-9, abs=1e-9)
        assert cell["beams"] == theirs[key]["beams"] and len(cell["boundary"]) >= 5


def test_capacity_needs_a_capacity_scenario(tmp_path):
    state = ServerState.default(db_path=tmp_path / "c.sqlite")
    with TestClient(create_app(state), base_url="http://127.0.0.1") as client:
        answer = client.get("/api/capacity", params={"t": START})
    assert answer.status_code == 422 and "capacity" in answer.json()["error"]
