"""The HTTP API of ``leosim serve`` (FastAPI TestClient, in process): every endpoint, auth, safety limits."""

from __future__ import annotations

import hashlib
import math
import sqlite3

import numpy as np
import pytest
import shapely
from click.testing import CliRunner

pytest.importorskip("fastapi")
from fastapi.testclient import TestClient

from leosim.cli import main as cli
from leosim.policy.store import PolicyStore
from leosim.policy.tokens import create_token, token_sha256, verify_token
from leosim.service.access import ACCESS_KEYS
from leosim.web import ServerState, create_app
from leosim.web.state import MAX_RTT_STEPS

START = "2024-10-25T06:00:00Z"
C_KM_S = 299_792.458  # speed of light in vacuum (SI definition)
FIBRE_INDEX = 1.468  # refractive index of fibre the network layer uses (Hypatia's and the literature's figure)
MEAN_EARTH_KM = 6371.0088  # IUGG mean Earth radius, for the great-circle fibre length
BASE = "http://127.0.0.1"


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    return tmp_path_factory.mktemp("web") / "policy.sqlite"


@pytest.fixture(scope="module")
def state(db):
    return ServerState.default(db_path=db, start=START, terminals=40)


@pytest.fixture(scope="module")
def client(state):
    with TestClient(create_app(state), base_url=BASE) as c:
        yield c


@pytest.fixture(scope="module")
def tokens(db):
    with PolicyStore(db) as store:
        return {role: create_token(store, name=f"{role}-alice", role=role) for role in ("viewer", "operator", "admin")}


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


# ----- reads ---------------------------------------------------------------------------------------------------
def test_health_and_openapi(client):
    health = client.get("/api/health").json()
    assert health["status"] == "ok" and health["satellites"] == 4408
    assert health["window"]["start"] == "2024-10-25T06:00:00.000Z" and health["window"]["step_s"] == 60.0
    schema = client.get("/openapi.json").json()
    for path in ("/api/health", "/api/constellation", "/api/positions", "/api/sites", "/api/access", "/api/route",
                 "/api/rtt", "/api/policy", "/api/policy/log", "/api/policy/verify", "/api/territories"):
        assert path in schema["paths"], path
    assert "post" in schema["paths"]["/api/policy"]


def test_constellation(client):
    answer = client.get("/api/constellation").json()
    assert answer["count"] == len(answer["sat_id"]) == len(answer["shell"]) == 4408
    # starlink-gen1: 72x22 + 72x22 + 36x20 + 6x58 + 4x43 satellites (FCC 21-48)
    assert np.bincount(answer["shell"]).tolist() == [1584, 1584, 720, 348, 172]
    pairs = np.array(answer["isls"]).reshape(-1, 2)
    assert pairs.min() >= 0 and pairs.max() < 4408 and len(pairs) > 4000


def test_positions_match_skyfield(client, state, ts):
    """The API's geodetic positions against skyfield's own SGP4 → ITRS → WGS84 chain for the same records."""
    from skyfield.api import EarthSatellite, wgs84

    answer = client.get("/api/positions", params={"t": START}).json()
    assert answer["count"] == 4408 and len(answer["lat_deg"]) == 4408
    t = ts.utc(2024, 10, 25, 6, 0, 0)
    for i in (0, 1000, 2500, 3500, 4407):
        sat = EarthSatellite.from_satrec(state.constellation.satrecs[i], ts)
        place = sat.at(t)
        lat, lon = wgs84.latlon_of(place)
        # 0.01 deg ~ 1.1 km: the answer is rounded to 1e-4 deg; skyfield's ITRS includes polar motion-free
        # UT1 rotation like ours, so the two agree to well within a kilometre.
        assert answer["lat_deg"][i] == pytest.approx(lat.degrees, abs=0.01)
        assert (answer["lon_deg"][i] - lon.degrees + 180) % 360 - 180 == pytest.approx(0, abs=0.01)
        assert answer["alt_km"][i] == pytest.approx(wgs84.height_of(place).km, abs=1.0)


def test_positions_ecef_consistent_and_cached(client, state):
    geo = client.get("/api/positions", params={"t": START}).json()
    ecef = np.array(client.get("/api/positions", params={"t": START, "frame": "ecef"}).json()["ecef_km"]).reshape(-1, 3)
    radius = np.linalg.norm(ecef, axis=1)
    # geocentric radius = altitude + local Earth radius (6357..6378 km): within 25 km of R_eq + altitude
    assert np.all(np.abs(radius - (6378.137 + np.array(geo["alt_km"]))) < 25.0)
    lon = np.degrees(np.arctan2(ecef[:, 1], ecef[:, 0]))
    assert np.allclose((lon - np.array(geo["lon_deg"]) + 180) % 360 - 180, 0, atol=1e-3)
    assert client.get("/api/positions", params={"t": START}).content == client.get(
        "/api/positions", params={"t": START}).content


def test_sites(client):
    sites = client.get("/api/sites").json()["sites"]
    kinds = {s["kind"] for s in sites}
    assert {"city", "gateway", "pop"} <= kinds
    assert len({s["id"] for s in sites}) == len(sites)
    tokyo = next(s for s in sites if s["name"] == "Tokyo")
    assert tokyo["territory"] == "JPN" and tokyo["lat_deg"] == pytest.approx(35.69, abs=0.05)


def test_access_same_as_cli(client, db):
    answer = client.get("/api/access", params={"lat": 50.45, "lon": 30.52, "t": START}).json()
    result = CliRunner().invoke(cli, ["access", "--lat", "50.45", "--lon", "30.52", "--at", START, "--db", str(db),
                                      "--json"])
    assert result.exit_code == 0, result.output
    import json

    expected = json.loads(result.output)
    for key in ACCESS_KEYS:
        assert answer[key] == expected[key], key
    assert answer["territory"] == "UKR" and answer["covered"] and answer["visible_sats"] > 0


def _segments_km(path):
    xyz = np.array([node["ecef_km"] for node in path])
    return np.linalg.norm(np.diff(xyz, axis=0), axis=1)


def _great_circle_km(a, b):
    lat1, lon1, lat2, lon2 = map(math.radians, (a["lat_deg"], a["lon_deg"], b["lat_deg"], b["lon_deg"]))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * MEAN_EARTH_KM * math.asin(math.sqrt(h))


def test_route_to_best_pop_rtt_from_geometry(client):
    """RTT = 2 × (light time over the space segments + fibre time gateway → PoP), from the returned nodes."""
    answer = client.get("/api/route", params={"src": "tokyo", "t": START}).json()
    assert answer["routable"] and answer["mode"] == "user"
    path = answer["path"]
    assert path[0]["name"] == "Tokyo" and path[-1]["kind"] == "pop" and path[-2]["kind"] == "gateway"
    assert all(node["kind"] == "satellite" for node in path[1:-2])
    assert path[-1]["id"] == answer["pop"] and path[-2]["id"] == answer["gateway"]
    space_km = _segments_km(path[:-1]).sum()
    fibre_km = _great_circle_km(path[-2], path[-1])
    expected_ms = 2000.0 * (space_km / C_KM_S + fibre_km * FIBRE_INDEX / C_KM_S)
    # node positions are rounded to 10 m: 0.001 ms is 300 m of light, far above that
    assert answer["rtt_ms"] == pytest.approx(expected_ms, abs=0.001)
    for node in path[1:-2]:  # satellites at their shells' altitudes (540..570 km, SGP4 oscillation ~ ±15 km)
        assert 500 < node["alt_km"] < 600


def test_route_between_sites_isl_mode(client):
    answer = client.get("/api/route", params={"src": "tokyo", "dst": "delhi", "t": START}).json()
    assert answer["mode"] == "isl" and answer["routable"]
    assert answer["path"][0]["name"] == "Tokyo" and answer["path"][-1]["name"] == "Delhi"
    expected_ms = 2000.0 * _segments_km(answer["path"]).sum() / C_KM_S
    assert answer["rtt_ms"] == pytest.approx(expected_ms, abs=0.001)
    # longer than light in vacuum along the ground (Tokyo–Delhi ~5,850 km great circle)
    assert answer["rtt_ms"] > 2000.0 * 5800.0 / C_KM_S


def test_rtt_series(client):
    params = {"src": "tokyo", "from": START, "to": "2024-10-25T06:10:00Z", "step": 120}
    answer = client.get("/api/rtt", params=params).json()
    assert len(answer["time_utc"]) == len(answer["rtt_ms"]) == 6
    first = client.get("/api/route", params={"src": "tokyo", "t": START}).json()
    assert answer["rtt_ms"][0] == pytest.approx(first["rtt_ms"], abs=1e-3)
    too_many = {**params, "to": "2024-10-26T06:00:00Z", "step": 60}
    response = client.get("/api/rtt", params=too_many)
    assert response.status_code == 422 and str(MAX_RTT_STEPS) in response.json()["error"]


def test_policy_reads(client):
    assert client.get("/api/policy", params={"at": START}).status_code == 200
    log = client.get("/api/policy/log").json()
    assert {"total", "entries"} <= set(log)
    verify = client.get("/api/policy/verify").json()
    assert verify["intact"] is True


# ----- writes and auth -------------------------------------------------------------------------------------------
CHANGE = {"territory": "UKR", "state": "active", "from": "2022-02-26T00:00:00Z", "reason": "test: donated terminals"}


def test_write_needs_token(client, tokens):
    response = client.post("/api/policy", json=CHANGE)
    assert response.status_code == 401 and response.headers["www-authenticate"] == "Bearer"
    assert client.post("/api/policy", json=CHANGE, headers=bearer("leosim_not-a-token")).status_code == 401
    assert client.post("/api/policy", json=CHANGE, headers={"Authorization": f"Basic {tokens['operator']}"}
                       ).status_code == 401
    response = client.post("/api/policy", json=CHANGE, headers=bearer(tokens["viewer"]))
    assert response.status_code == 403 and "operator" in response.json()["error"]


def test_write_records_token_name_as_author(client, tokens):
    response = client.post("/api/policy", json=CHANGE, headers=bearer(tokens["operator"]))
    assert response.status_code == 201, response.text
    entry = response.json()
    assert entry["author"] == "operator-alice" and entry["reason"] == CHANGE["reason"]
    log = client.get("/api/policy/log").json()["entries"]
    assert log[-1]["author"] == "operator-alice" and log[-1]["rule"]["subject"] == "UKR"
    assert client.get("/api/policy/verify").json()["intact"] is True
    rules = client.get("/api/policy", params={"at": "2024-10-25T00:00:00Z"}).json()["rules"]
    assert any(r["subject"] == "UKR" and r["state"] == "active" and r["by"] == "operator-alice" for r in rules)
    # The change is in force for the next answer: Kyiv now allowed, and Ukraine drawn active.
    kyiv = client.get("/api/access", params={"lat": 50.45, "lon": 30.52, "t": START}).json()
    assert kyiv["allowed"] is True and kyiv["rule"].startswith("UKR active")
    features = client.get("/api/territories", params={"at": START}).json()["features"]
    ukraine = next(f for f in features if f["properties"]["code"] == "UKR")
    assert ukraine["properties"]["state"] == "active"
    assert shapely.geometry.shape(ukraine["geometry"]).contains(shapely.Point(30.52, 50.45))
    before = client.get("/api/territories", params={"at": "2022-02-25T00:00:00Z"}).json()["features"]
    assert next(f for f in before if f["properties"]["code"] == "UKR")["properties"]["state"] == "none"


def test_admin_may_write_and_bad_bodies_are_4xx(client, tokens):
    headers = bearer(tokens["admin"])
    ok = client.post("/api/policy", headers=headers, json={**CHANGE, "territory": "TWN", "state": "denied",
                                                            "from": "2019-05-24T00:00:00Z", "reason": "never on"})
    assert ok.status_code == 201 and ok.json()["author"] == "admin-alice"
    # One status per kind of fault: every refused value is a 422, whoever refuses it (pydantic or leosim).
    for body, status in (({**CHANGE, "territory": "UKX"}, 422), ({**CHANGE, "state": "on"}, 422),
                         ({**CHANGE, "from": "yesterday"}, 422), ({**CHANGE, "extra": 1}, 422),
                         ({**CHANGE, "until": "2020-01-01T00:00:00Z"}, 422), ({"territory": "UKR"}, 422)):
        response = client.post("/api/policy", headers=headers, json=body)
        assert response.status_code == status, (body, response.text)
        assert "error" in response.json()
    unknown = client.post("/api/policy", headers=headers, json={**CHANGE, "territory": "UKX"}).json()
    assert "UKR" in unknown["error"]  # close matches listed


def test_tokens_stored_only_as_hashes(db, tokens):
    raw = db.read_bytes()
    with sqlite3.connect(db) as con:
        stored = {row[0] for row in con.execute("SELECT token_sha256 FROM api_tokens")}
    for token in tokens.values():
        assert token.encode() not in raw
        assert token_sha256(token) == hashlib.sha256(token.encode()).hexdigest()
        assert hashlib.sha256(token.encode()).hexdigest() in stored
    with PolicyStore(db) as store:
        assert verify_token(store, tokens["operator"]).role == "operator"
        assert verify_token(store, tokens["operator"][:-1]) is None
        assert verify_token(store, "") is None


def test_reads_need_token_off_loopback(state, tokens):
    app = create_app(state, host="0.0.0.0")
    with TestClient(app, base_url="http://192.0.2.10") as c:
        assert c.get("/api/health").status_code == 401
        assert c.get("/api/positions", params={"t": START}).status_code == 401
        assert c.get("/api/health", headers=bearer(tokens["viewer"])).status_code == 200
        assert c.get("/api/health", headers=bearer("leosim_wrong")).status_code == 401


# ----- safety ------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("params", [{"t": "garbage"}, {"t": "3000-01-01T00:00:00Z"}, {"t": "1900-01-01T00:00:00Z"},
                                    {"t": START, "frame": "eci"}, {}])
def test_bad_positions_params(client, params):
    response = client.get("/api/positions", params=params)
    assert 400 <= response.status_code < 500 and response.json()["error"]


@pytest.mark.parametrize("path,params", [
    ("/api/access", {"lat": 100, "lon": 0, "t": START}), ("/api/access", {"lat": "nan", "lon": 0, "t": START}),
    ("/api/access", {"lat": 0, "lon": 0}), ("/api/route", {"src": "atlantis", "t": START}),
    ("/api/route", {"src": "tokyo", "dst": "tokyo", "t": START}), ("/api/route", {"src": "pop-tyo", "t": START}),
    ("/api/rtt", {"src": "tokyo", "from": START, "to": "2024-10-25T05:00:00Z"}),
    ("/api/rtt", {"src": "tokyo", "from": START, "to": START, "step": 0}), ("/api/policy", {"at": "soon"}),
    ("/api/policy/log", {"limit": 0}), ("/api/territories", {"at": "x" * 100}),
])
def test_bad_params_are_4xx_json(client, path, params):
    response = client.get(path, params=params)
    assert 400 <= response.status_code < 500, response.text
    assert response.json()["error"]


def test_body_too_large(client, tokens):
    body = b'{"territory": "UKR", "reason": "' + b"x" * 200_000 + b'"}'
    response = client.post("/api/policy", content=body, headers={**bearer(tokens["operator"]),
                                                                  "Content-Type": "application/json"})
    assert response.status_code == 413


@pytest.mark.parametrize("path", ["/static/%2e%2e/app.py", "/static/..%2fapp.py", "/ui/%2e%2e/app.py",
                                  "/ui/..%2f..%2fpolicy%2fstore.py", "/static/cesium/%2e%2e/%2e%2e/app.py",
                                  "/ui/%2e%2e%2f%2e%2e%2f%2e%2e%2f%2e%2e%2fpyproject.toml"])
def test_static_path_traversal_refused(client, path):
    response = client.get(path)
    assert response.status_code in (400, 404)
    assert b"create_app" not in response.content and b"PolicyStore" not in response.content


def test_page_and_headers(client):
    page = client.get("/")
    assert page.status_code == 200 and b'src="/ui/app.js"' in page.content
    assert page.headers["x-content-type-options"] == "nosniff"
    csp = page.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "connect-src 'self'" in csp
    script = client.get("/ui/app.js")
    assert script.status_code == 200 and b"TileMapServiceImageryProvider" in script.content
    # no outside URL anywhere in the page's own files
    for name in ("/", "/ui/app.js", "/ui/style.css"):
        text = client.get(name).text
        assert "http://" not in text and "https://" not in text, name


def test_cors_closed_and_host_checked(client):
    response = client.get("/api/health", headers={"Origin": "http://evil.example"})
    assert response.status_code == 200 and "access-control-allow-origin" not in response.headers
    preflight = client.options("/api/policy", headers={"Origin": "http://evil.example",
                                                       "Access-Control-Request-Method": "POST"})
    assert "access-control-allow-origin" not in preflight.headers
    assert client.get("/api/health", headers={"Host": "evil.example"}).status_code == 400


def test_serves_api_without_cesium_assets(state, tmp_path):
    with TestClient(create_app(state, static_dir=tmp_path / "absent"), base_url=BASE) as c:
        assert c.get("/api/health").json()["globe"] is False
        assert c.get("/").status_code == 200
        assert c.get("/static/cesium/Cesium.js").status_code == 404
        assert c.get("/api/sites").status_code == 200


def test_token_create_cli(tmp_path):
    db = tmp_path / "p.sqlite"
    result = CliRunner().invoke(cli, ["token", "create", "--role", "operator", "--name", "bob", "--db", str(db)])
    assert result.exit_code == 0, result.output
    token = result.stdout.strip().splitlines()[-1]
    assert token.startswith("leosim_") and len(token) > 40
    with PolicyStore(db) as store:
        info = verify_token(store, token)
    assert info.name == "bob" and info.role == "operator"
    bad = CliRunner().invoke(cli, ["token", "create", "--role", "root", "--name", "bob", "--db", str(db)])
    assert bad.exit_code == 2


def test_post_policy_with_conditions(client, tokens):
    # A conditional rule goes through the request model into the audited store and back out of /api/policy.
    headers = bearer(tokens["operator"])
    body = {**CHANGE, "territory": "UKR", "state": "denied", "from": "2026-02-01T00:00:00Z",
            "reason": "speed limit against strike drones (reported)",
            "when": {"speed_above_kmh": 75, "exempt_plans": ["military", "aviation"]}}
    response = client.post("/api/policy", headers=headers, json=body)
    assert response.status_code == 201, response.text
    assert response.json()["rule"]["when"] == {"speed_above_kmh": 75.0, "exempt_plans": ["military", "aviation"]}
    rules = client.get("/api/policy", params={"at": "2026-02-02T00:00:00Z"}).json()["rules"]
    assert any(r["when"] == {"speed_above_kmh": 75.0, "exempt_plans": ["military", "aviation"]} for r in rules)
    assert client.get("/api/policy/verify").json()["intact"] is True
    for when, status in (({"speed": 75}, 422), ({"speed_above_kmh": -1}, 422), ({}, 422),
                         ({"days_abroad_above": 60, "abroad_year": "fiscal"}, 422)):
        response = client.post("/api/policy", headers=headers, json={**body, "when": when})
        assert response.status_code == status, (when, response.text)
