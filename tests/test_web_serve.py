"""`leosim serve` as a real process: it starts, answers, logs requests, and never logs a token."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

import pytest

httpx = pytest.importorskip("httpx")
pytest.importorskip("uvicorn")

from leosim.policy.store import PolicyStore  # noqa: E402
from leosim.policy.tokens import create_token  # noqa: E402

pytestmark = pytest.mark.slow
START_TIMEOUT_S = 90.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_serve_process_logs_no_token(tmp_path):
    db = tmp_path / "p.sqlite"
    with PolicyStore(db) as store:
        token = create_token(store, name="carol", role="operator")
    port = _free_port()
    log_path = tmp_path / "serve.log"
    with log_path.open("w") as log:
        command = [sys.executable, "-m", "leosim.cli", "serve", "--port", str(port), "--db", str(db)]
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT,
                                   env={**os.environ, "PYTHONUNBUFFERED": "1"})
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            try:
                if httpx.get(base + "/api/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert process.poll() is None, "server exited"
            assert time.monotonic() < deadline, "server did not start"
            time.sleep(0.3)
        change = {"territory": "UKR", "state": "active", "from": "2022-02-26T00:00:00Z", "reason": "logged?"}
        answer = httpx.post(base + "/api/policy", json=change, headers={"Authorization": f"Bearer {token}"})
        assert answer.status_code == 201 and answer.json()["author"] == "carol"
        assert httpx.post(base + "/api/policy", json=change).status_code == 401
        assert httpx.get(base + "/api/positions", params={"t": "2024-10-25T06:00:00Z"}).status_code == 200
        # A token sent in a query string is not used for auth (401 for a write) and never reaches the log.
        assert httpx.post(base + "/api/policy", params={"token": token}, json=change).status_code == 401
        assert httpx.get(base + "/api/health", params={"access_token": token}).status_code == 200
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=30)
    output = log_path.read_text()
    assert "POST /api/policy" in output and "201" in output  # the access log is on...
    assert token not in output and token[len("leosim_"):][:12] not in output  # ...and carries no token
    assert "/api/policy?token=[redacted]" in output and "/api/health?access_token=[redacted]" in output
