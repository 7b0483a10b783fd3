"""Benchmark: `leosim serve` under 32 concurrent clients on loopback.

A real server (``leosim serve`` in a subprocess: uvicorn, one worker) answers ``/api/positions`` (all
4,408 starlink-gen1 satellites, instants cycling over the window's first 30 minutes, as the globe asks
for them) and ``/api/access`` (random places, instants on the window's minute grid), each for a bounded
time (``--seconds``, default 10 s). Prints responses/s, p50/p99 latency and errors.
Target: >= 200 responses/s for positions with p99 < 200 ms and no errors, on the 2-core machine.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np

CLIENTS = 32
START = "2024-10-25T06:00:00Z"
POSITIONS_INSTANTS = 30  # minutes of the window the positions requests cycle over (cached after first)
ACCESS_INSTANTS = 10
TARGET_RPS = 200.0
TARGET_P99_MS = 200.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _iso(minute: int) -> str:
    return f"2024-10-25T06:{minute:02d}:00Z"


LOAD_PROCESSES = 4
"""The 32 clients run as 4 processes of 8: one Python process cannot drive 32 connections of 130 kB answers
without becoming the bottleneck itself (its own scheduling then shows up as server tail latency)."""


async def _load_async(base: str, make_params, path: str, seconds: float, clients: int, first: int) -> dict:
    latencies: list[float] = []
    errors = 0
    stop = time.perf_counter() + seconds
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30.0) as client:
        async def worker(k: int) -> None:
            nonlocal errors
            rng = np.random.default_rng(k)
            n = 0
            while time.perf_counter() < stop:
                began = time.perf_counter()
                try:
                    response = await client.get(path, params=make_params(rng, k, n))
                    await response.aread()
                    ok = response.status_code == 200
                except httpx.HTTPError:
                    ok = False
                latencies.append(time.perf_counter() - began)
                errors += not ok
                n += 1

        began = time.perf_counter()
        await asyncio.gather(*(worker(first + k) for k in range(clients)))
        elapsed = time.perf_counter() - began
    return {"latencies": latencies, "elapsed": elapsed, "errors": errors}


def _load_one(args) -> dict:
    base, kind, path, seconds, clients, first = args
    make_params = _positions_params if kind == "positions" else _access_params
    return asyncio.run(_load_async(base, make_params, path, seconds, clients, first))


def _load(base: str, kind: str, path: str, seconds: float) -> dict:
    """``CLIENTS`` concurrent clients in :data:`LOAD_PROCESSES` processes; responses/s and latency percentiles."""
    import multiprocessing

    per = CLIENTS // LOAD_PROCESSES
    jobs = [(base, kind, path, seconds, per, p * per) for p in range(LOAD_PROCESSES)]
    with multiprocessing.get_context("spawn").Pool(LOAD_PROCESSES) as pool:
        parts = pool.map(_load_one, jobs)
    ms = np.concatenate([np.array(p["latencies"]) for p in parts]) * 1000.0
    elapsed = max(p["elapsed"] for p in parts)
    return {"requests": int(ms.size), "rps": ms.size / elapsed, "p50_ms": float(np.percentile(ms, 50)),
            "p99_ms": float(np.percentile(ms, 99)), "errors": sum(p["errors"] for p in parts)}


def _positions_params(rng, k, n):
    return {"t": _iso((k + n) % POSITIONS_INSTANTS), "frame": "ecef"}


def _access_params(rng, k, n):
    return {"lat": round(float(rng.uniform(-60, 60)), 3), "lon": round(float(rng.uniform(-180, 180)), 3),
            "t": _iso(int(rng.integers(ACCESS_INSTANTS)))}


def _wait_ready(base: str, process, timeout_s: float = 120.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit("server exited during start-up")
        try:
            if httpx.get(base + "/api/health", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.3)
    raise SystemExit("server did not start")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="load time per endpoint")
    args = parser.parse_args()
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "policy.sqlite"
        # --no-run: no background scenario run competing for the CPU while the load is measured.
        process = subprocess.Popen([sys.executable, "-m", "leosim.cli", "serve", "--port", str(port), "--db", str(db),
                                    "--no-run"],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                   env={**os.environ, "PYTHONUNBUFFERED": "1"})
        try:
            _wait_ready(base, process)
            # Warm-up: territory index, first propagation, and the positions of the instants the load cycles over
            # (each is computed once and then served from the cache): the steady state is what is measured.
            httpx.get(base + "/api/access", params={"lat": 50.45, "lon": 30.52, "t": START}, timeout=60)
            for minute in range(POSITIONS_INSTANTS):
                httpx.get(base + "/api/positions", params={"t": _iso(minute), "frame": "ecef"}, timeout=60)
            results = {
                "positions": _load(base, "positions", "/api/positions", args.seconds),
                "access": _load(base, "access", "/api/access", args.seconds),
            }
        finally:
            process.send_signal(signal.SIGINT)
            process.wait(timeout=30)
    print(f"leosim serve, {CLIENTS} concurrent clients on loopback, {args.seconds:g} s per endpoint "
          f"({os.cpu_count()} CPUs)")
    for name, r in results.items():
        print(f"  /api/{name:<10} {r['rps']:8.1f} responses/s  p50 {r['p50_ms']:7.1f} ms  p99 {r['p99_ms']:7.1f} ms  "
              f"{r['requests']} requests, {r['errors']} errors")
    pos = results["positions"]
    met = pos["rps"] >= TARGET_RPS and pos["p99_ms"] < TARGET_P99_MS and pos["errors"] == 0
    print(f"  target positions >= {TARGET_RPS:.0f}/s, p99 < {TARGET_P99_MS:.0f} ms, no errors: "
          f"{'met' if met else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
