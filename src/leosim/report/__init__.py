"""Report: the self-contained HTML page of a scenario run, its plots and its map.

:func:`build_report` turns the scenario tables (docs/outputs.md) and a ``meta`` dict into one HTML file
with no external resources; :func:`leosim.report.plots.figure` gives any single plot as a matplotlib figure.
"""

from .._lazy import lazy_exports

_EXPORTS = {
    "build_report": ".html",
    "plots": ".plots",
}

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

__all__ = ["build_report", "plots"]
