"""CLI commands of the policy layer (to be written)."""

from __future__ import annotations


def register(group) -> None:
    """Add this module's commands to the top-level leosim group."""
