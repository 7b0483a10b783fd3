"""The report of a run as a file: rendered from a :class:`~leosim.scenario.ScenarioResult` by whoever ran it
(the scenario layer never renders it)."""

from __future__ import annotations

from pathlib import Path

from ..output import write_text_atomically
from .html import build_report


def write_report(result, out_dir=None) -> Path:
    """Write ``report.html`` of ``result`` (a :class:`~leosim.scenario.ScenarioResult`) into ``out_dir``
    (default: the run's output folder), atomically; returns its path."""
    folder = Path(out_dir) if out_dir is not None else result.out_dir
    if folder is None:
        raise ValueError("the result has no output folder: give out_dir")
    path = Path(folder) / "report.html"
    write_text_atomically(path, build_report(result.tables, result.meta))
    return path
