"""Report: the self-contained HTML page of a scenario run, its plots and its map.

:func:`write_report` renders a run's result (:class:`~leosim.scenario.ScenarioResult`) into
``report.html``; :func:`build_report` turns the scenario tables (docs/outputs.md) and a ``meta`` dict into
that one HTML page with no external resources; :func:`leosim.report.plots.figure` gives any single plot as a
matplotlib figure.
"""

from .._lazy import lazy_exports

_EXPORTS = {
    "build_report": ".html",
    "plots": ".plots",
    "write_report": ".files",
}

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

__all__ = ["build_report", "plots", "write_report"]
