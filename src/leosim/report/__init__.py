"""Report: the self-contained HTML page of a scenario run, its plots and its map.

:func:`build_report` turns the scenario tables (docs/outputs.md) and a ``meta`` dict into one HTML file
with no external resources; :func:`leosim.report.plots.figure` gives any single plot as a matplotlib figure.
"""

from . import plots
from .html import build_report

__all__ = ["build_report", "plots"]
