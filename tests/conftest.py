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


def _hypothesis_profiles() -> None:
    """Property-based tests explore new examples on a developer's machine, and run a fixed, derandomized
    set in CI (CI=true), so that a green CI stays green for the same code."""
    import os

    from hypothesis import settings

    settings.register_profile("ci", derandomize=True, print_blob=True)
    settings.register_profile("dev", print_blob=True)
    settings.load_profile("ci" if os.environ.get("CI") else "dev")


_hypothesis_profiles()
