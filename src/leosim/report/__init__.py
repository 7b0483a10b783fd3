"""Report: the self-contained HTML page of a scenario run, its plots and its map.

:func:`write_report` renders a run's result (:class:`~leosim.scenario.ScenarioResult`) into
``report.html``; :func:`build_report` turns the scenario tables (docs/outputs.md) and a ``meta`` dict into
that one HTML page with no external resources; :func:`leosim.report.plots.figure` gives any single plot as a
matplotlib figure.
"""

from . import plots
from .files import write_report
from .html import build_report

__all__ = ["build_report", "plots", "write_report"]
