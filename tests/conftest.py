"""Shared fixtures: the skyfield timescale and the path to ../shared/data."""

from __future__ import annotations

from pathlib import Path

import pytest

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
STARLINK_SNAPSHOT = SHARED_DATA / "starlink-2025-12-06.tle"


@pytest.fixture(scope="session")
def ts():
    """skyfield's built-in timescale (offline)."""
    from skyfield.api import load

    return load.timescale(builtin=True)


@pytest.fixture(scope="session")
def starlink_snapshot() -> Path:
    """The real Starlink TLE snapshot in ../shared/data, or a skip when it is absent."""
    if not STARLINK_SNAPSHOT.exists():
        pytest.skip(f"shared data not found: {STARLINK_SNAPSHOT}")
    return STARLINK_SNAPSHOT
