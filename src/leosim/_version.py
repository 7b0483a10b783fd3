"""leosim's installed version (a module of its own so that any layer can ask without an import cycle)."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version


def leosim_version() -> str:
    """The installed distribution's version, ``'unknown'`` when running from a bare source tree."""
    try:
        return version("leosim")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "unknown"
