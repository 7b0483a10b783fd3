"""Bad HTTP input (issue 11 and issue 14's last globe bullet): one error body, one status per kind of fault.

Every error answer is ``{"error": str, "status": int, "code": str, "field": str | null}`` (validation
422s add ``detail``); 400 = the request cannot be read, 401/403 = token, 413 = body too large, 422 = a
refused value (wrong type, out of range, unknown), 503 = the policy store is busy. Instants outside the
supported range are 422 and are never answered for a wrapped date (2600 answered for 2015 before).
"""

from __future__ import annotations

import logging
import logging.config
import subprocess
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

pytest.importorskip("fastapi")
from fastapi.testclient import TestClient

from leosim.policy import store as store_module
from leosim.policy.store import PolicyStore
from leosim.policy.tokens import create_token
from leosim.web import ServerState, create_app
from leosim.web.app import REDACTED, RedactTokenFilter, redact_url, uvicorn_log_config

START = "2024-10-25T06:00:00Z"
SITE = "@site"  # replaced by the first terminal's id of the served state
BASE = "http://127.0.0.1"
ERROR_STATUSES = ("400", "401", "403", "413", "422", "503")


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    return tmp_path_factory.mktemp("bad-http") / "policy.sqlite"


@pytest.fixture(scope="module")
def client(db):
    state = ServerState.default(db_path=db, start=START, terminals=3)
    with TestClient(create_app(state), base_url=BASE) as c:
        yield c


@pytest.fixture(scope="module")
def tokens(db, client):
    with PolicyStore(db) as store:
        return {role: create_token(store, name=f"{role}-bad-http", role=role) for role in ("viewer", "operator")}


@pytest.fixture(scope="module")
def site(client):
    return next(s["id"] for s in client.get("/api/sites").json()["sites"] if s["kind"] == "city")


def _with_site(params: dict, site: str) -> dict:
    return {k: (site if v == SITE else v) for k, v in params.items()}


def _bearer(token):
    return {"Authorization": f"Bearer {token}"}


def assert_error(response, status: int, field: str | None = "any") -> dict:
    """The one error body, with the status repeated and a code; ``field`` checked unless "any"."""
    assert response.status_code == status, response.text
    body = response.json()
    assert isinstance(body["error"], str) and body["error"]
    assert body["status"] == status and isinstance(body["code"], str) and body["code"]
    assert "field" in body
    if field != "any":
        assert body["field"] == field, body
    return body


# ----- instants outside the supported range: 422 before any conversion --------------------------------------
FAR = ["2600-01-01T00:00:00Z", "1600-01-01T00:00:00Z", "9999-12-31T23:59:59Z", "2262-04-12T00:00:00Z",
       "0001-01-01T00:00:00Z", "2101-01-01T00:00:01Z", "1957-10-03T00:00:00Z", "2600-01-01T00:00:00+14:00"]


@pytest.mark.parametrize("t", FAR)
def test_positions_out_of_range_is_422(client, t):
    body = assert_error(client.get("/api/positions", params={"t": t}), 422, field="t")
    assert body["code"] == "invalid_input" and "supported range" in body["error"]


@pytest.mark.parametrize(("path", "params", "field"), [
    ("/api/access", {"lat": 50, "lon": 30, "t": "2600-01-01T00:00:00Z"}, "t"),
    ("/api/route", {"src": SITE, "t": "2600-01-01T00:00:00Z"}, "t"),
    ("/api/rtt", {"src": SITE, "from": START, "to": "2600-01-01T00:00:00Z"}, "to"),
    ("/api/rtt", {"src": SITE, "from": "1600-01-01T00:00:00Z", "to": START}, "from"),
    ("/api/policy", {"at": "2600-01-01T00:00:00Z"}, "at"),
    ("/api/territories", {"at": "9999-01-01"}, "at"),
])
def test_every_time_parameter_is_range_checked(client, site, path, params, field):
    assert_error(client.get(path, params=_with_site(params, site)), 422, field=field)


@pytest.mark.parametrize("change", [
    {"from": "2600-01-01T00:00:00Z"},                              # the case: stored as 2015
    {"from": "1600-01-01T00:00:00Z"},
    {"from": "2022-01-01T00:00:00Z", "until": "2600-01-01T00:00:00Z"},
    {"from": "9999-12-31T23:59:59-05:00"},
    {"territory": "UKRR"},                                          # unknown: suggestions, nothing stored
    {"territory": "planet:Mars"},
])
def test_post_policy_refused_values_are_422_and_store_nothing(client, tokens, db, change):
    before = len(PolicyStore(db, read_only=True).entries())
    body = {"territory": "FRA", "state": "denied", "from": "2022-01-01T00:00:00Z", "reason": "test", **change}
    assert_error(client.post("/api/policy", json=body, headers=_bearer(tokens["operator"])), 422)
    assert len(PolicyStore(db, read_only=True).entries()) == before


# ----- one status per kind of fault ------------------------------------------------------------------------
@pytest.mark.parametrize(("path", "params", "field"), [
    ("/api/access", {"lat": 95, "lon": 0, "t": START}, "lat"),     # pydantic's range check: 422 like the rest
    ("/api/access", {"lat": -90.5, "lon": 0, "t": START}, "lat"),
    ("/api/access", {"lat": 0, "lon": 181, "t": START}, "lon"),
    ("/api/access", {"lat": "nan", "lon": 0, "t": START}, "lat"),
    ("/api/access", {"lat": "north", "lon": 0, "t": START}, "lat"),
    ("/api/access", {"lat": 0, "lon": 0}, "t"),
    ("/api/access", {"lat": 0, "lon": 0, "t": "yesterday"}, "t"),
    ("/api/positions", {"t": START, "frame": "eci"}, "frame"),
    ("/api/positions", {"t": ""}, "t"),
    ("/api/positions", {"t": "x" * 65}, "t"),
    ("/api/route", {"src": "atlantis", "t": START}, "src"),        # unknown site: leosim's check, same status
    ("/api/route", {"src": "", "t": START}, "src"),
    ("/api/rtt", {"src": SITE, "from": START, "to": START, "step": 0}, "step"),
    ("/api/rtt", {"src": SITE, "from": START, "to": START, "step": "inf"}, "step"),
    ("/api/rtt", {"src": SITE, "from": START, "to": "2024-10-25T05:00:00Z"}, "to"),
    ("/api/rtt", {"src": SITE, "from": START, "to": "2024-10-27T06:00:00Z", "step": 60}, None),
    ("/api/policy/log", {"limit": 0}, "limit"),
    ("/api/policy/log", {"offset": -1}, "offset"),
    ("/api/policy/log", {"offset": "many"}, "offset"),
])
def test_refused_values_are_422_with_the_one_body(client, site, path, params, field):
    body = assert_error(client.get(path, params=_with_site(params, site)), 422)
    assert body["code"] == "invalid_input"
    if field is not None:
        assert body["field"] == field, body


@pytest.mark.parametrize(("content", "headers", "status"), [
    (b"{not json", {"Content-Type": "application/json"}, 400),
    (b"", {"Content-Type": "application/json"}, 422),                     # no body: a missing value
    (b"[1, 2]", {"Content-Type": "application/json"}, 422),
    (b'{"territory": "FRA"}', {"Content-Type": "application/json"}, 422),
    (b'{"territory": "FRA", "state": "on", "from": "2022-01-01", "reason": "r"}',
     {"Content-Type": "application/json"}, 422),
    (b'{"territory": "FRA", "state": "denied", "from": 2022, "reason": "r"}',
     {"Content-Type": "application/json"}, 422),
    (b'{"territory": "FRA", "state": "denied", "from": "2022-01-01", "reason": "r", "x": 1}',
     {"Content-Type": "application/json"}, 422),
    (b"x" * 70_000, {"Content-Type": "application/json"}, 413),
])
def test_bad_bodies(client, tokens, content, headers, status):
    response = client.post("/api/policy", content=content, headers={**headers, **_bearer(tokens["operator"])})
    assert_error(response, status)


def test_auth_faults_share_the_body(client, tokens):
    body = {"territory": "FRA", "state": "denied", "from": "2022-01-01T00:00:00Z", "reason": "r"}
    assert assert_error(client.post("/api/policy", json=body), 401)["code"] == "unauthorized"
    assert assert_error(client.post("/api/policy", json=body, headers=_bearer("leosim_wrong")), 401)
    assert assert_error(client.post("/api/policy", json=body, headers=_bearer(tokens["viewer"])),
                        403)["code"] == "forbidden"
    assert_error(client.get("/api/nothing-here"), 404)
    assert_error(client.delete("/api/policy"), 405)
    assert_error(client.post("/api/policy", content=b"{}", headers={"Content-Length": "abc",
                                                                     **_bearer(tokens["operator"])}), 400)


def test_token_in_the_query_string_is_not_accepted(client, tokens):
    body = {"territory": "FRA", "state": "denied", "from": "2022-01-01T00:00:00Z", "reason": "r"}
    for key in ("token", "access_token"):
        response = client.post(f"/api/policy?{key}={tokens['operator']}", json=body)
        assert_error(response, 401)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(t=st.text(max_size=40) | st.datetimes().map(lambda d: d.isoformat()))
def test_any_t_is_an_answer_in_range_or_a_422(client, t):
    """Property: any ``t`` gives 200 or the one 422 body naming ``t``; never a 500."""
    response = client.get("/api/access", params={"lat": 50.45, "lon": 30.52, "t": t})
    if response.status_code == 200:
        return
    assert_error(response, 422, field="t")


# ----- the store busy: reads go on, writes get 503 ----------------------------------------------------------
HOLD_LOCK = """
import sqlite3, sys
connection = sqlite3.connect(sys.argv[1], isolation_level=None)
connection.execute("BEGIN IMMEDIATE")
connection.execute("UPDATE api_tokens SET name = name")
print("locked", flush=True)
sys.stdin.read()
connection.execute("ROLLBACK")
"""


def test_reads_answer_and_writes_get_503_while_the_store_is_locked(client, tokens, db, monkeypatch):
    monkeypatch.setattr(store_module, "BUSY_TIMEOUT_S", 0.5)
    process = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(db)], stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout.readline().strip() == "locked"
        for path, params in (("/api/policy", {"at": START}), ("/api/policy/log", {}), ("/api/policy/verify", {}),
                             ("/api/access", {"lat": 50.45, "lon": 30.52, "t": START})):
            response = client.get(path, params=params, headers=_bearer(tokens["viewer"]))
            assert response.status_code == 200, (path, response.text)
        change = {"territory": "ITA", "state": "active", "from": "2023-01-01T00:00:00Z", "reason": "r"}
        response = client.post("/api/policy", json=change, headers=_bearer(tokens["operator"]))
        body = assert_error(response, 503)
        assert body["code"] == "store_busy" and "busy" in body["error"]
    finally:
        process.stdin.close()
        process.wait(timeout=60)
        process.stdout.close()


# ----- the schema documents every error -----------------------------------------------------------------------
def test_openapi_documents_every_error_with_one_shape(client):
    schema = client.get("/openapi.json").json()
    error = schema["components"]["schemas"]["ErrorBody"]
    assert {"error", "status", "code", "field"} <= set(error["properties"])
    operations = [(path, method, op) for path, item in schema["paths"].items() if path.startswith("/api/")
                  for method, op in item.items()]
    assert len(operations) >= 12
    for path, method, op in operations:
        for status in ERROR_STATUSES:
            assert status in op["responses"], (path, method, status)
            ref = op["responses"][status]["content"]["application/json"]["schema"]["$ref"]
            assert ref.endswith("/ErrorBody"), (path, method, status, ref)


# ----- tokens never reach the access log ---------------------------------------------------------------------
@pytest.mark.parametrize("url", [
    "/api/policy?token=leosim_abcDEF123_-x", "/api/health?access_token=secret123&x=1",
    "/api/health?x=1&api_key=s3cr3t", "/api/health?key=leosim_abc", "/api/route?src=leosim_abcdef&t=1",
    "/api/health?TOKEN=hidden;other=1", "/api/health?auth=Bearer%20leosim_zzz",
])
def test_redact_url_hides_tokens(url):
    redacted = redact_url(url)
    assert REDACTED in redacted
    for secret in ("leosim_abc", "secret123", "s3cr3t", "hidden", "leosim_zzz"):
        assert secret not in redacted
    assert redact_url("/api/positions?t=2024-10-25T06:00:00Z") == "/api/positions?t=2024-10-25T06:00:00Z"


def test_uvicorn_access_log_is_redacted(capsys):
    config = uvicorn_log_config()
    logging.config.dictConfig(config)
    access = logging.getLogger("uvicorn.access")
    try:
        # The record uvicorn's h11/httptools protocols log for each request (uvicorn/protocols/http).
        access.info('%s - "%s %s HTTP/%s" %d', "127.0.0.1:5000", "GET",
                    "/api/health?token=leosim_SECRETvalue", "1.1", 401)
        out = capsys.readouterr()
        text = out.out + out.err
        assert "GET /api/health?token=" in text and "leosim_SECRETvalue" not in text and REDACTED in text
        assert any(isinstance(f, RedactTokenFilter) for h in access.handlers for f in h.filters)
    finally:
        for handler in list(access.handlers):
            access.removeHandler(handler)


@pytest.mark.parametrize("head", ["", "abc", "1:", "1:" + "0" * 63, "x:" + "0" * 64, "1:" + "z" * 64])
def test_malformed_expect_head_is_422(client, head):
    assert_error(client.get("/api/policy/verify", params={"expect_head": head}), 422, field="expect_head")


def test_verify_against_an_expected_head(client, tokens, db):
    change = {"territory": "DEU", "state": "active", "from": "2021-01-01T00:00:00Z", "reason": "head"}
    assert client.post("/api/policy", json=change, headers=_bearer(tokens["operator"])).status_code == 201
    seq, digest = PolicyStore(db, read_only=True).head()
    answer = client.get("/api/policy/verify", params={"expect_head": f"{seq}:{digest}"}).json()
    assert answer["intact"] and answer["entries"] == seq
    forged = client.get("/api/policy/verify", params={"expect_head": f"{seq}:{'0' * 64}"}).json()
    assert not forged["intact"] and forged["broken"]["seq"] == seq
    ahead = client.get("/api/policy/verify", params={"expect_head": f"{seq + 5}:{digest}"}).json()
    assert not ahead["intact"]
