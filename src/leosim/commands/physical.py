"""CLI commands of the physical layer."""

from __future__ import annotations


def register(group) -> None:
    """Add this module's commands to the top-level leosim group."""
