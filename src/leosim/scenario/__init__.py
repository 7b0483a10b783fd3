"""Scenarios: a TOML file describes a question, :class:`Scenario` answers it with tables and a report."""

from .api import Scenario, ScenarioResult
from .schema import ScenarioSpec, schema_reference

__all__ = ["Scenario", "ScenarioResult", "ScenarioSpec", "schema_reference"]
