"""Scenarios: a TOML file describes a question, :class:`Scenario` answers it with tables and a report."""

from .._lazy import lazy_exports

_EXPORTS = {
    "Scenario": ".api",
    "ScenarioResult": ".api",
    "ScenarioSpec": ".schema",
    "schema_reference": ".schema",
}

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

__all__ = ["Scenario", "ScenarioResult", "ScenarioSpec", "schema_reference"]
