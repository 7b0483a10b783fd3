"""Figures for the report: one style, deterministic PNG bytes, safe text.

Every figure is a :class:`matplotlib.figure.Figure` drawn on the Agg canvas directly (no pyplot, no global
backend switch), so building a report never opens a window and leaves a notebook's backend alone.
"""

from __future__ import annotations

import base64
import contextlib
import io
import warnings

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

#: Resolution of the embedded PNGs, dots per inch (an 8-inch-wide figure is 880 px: sharp on a laptop screen,
#: ~100-200 kB per plot).
DPI = 110

#: Matplotlib settings for every report figure. ``svg.hashsalt`` fixes the ids matplotlib would otherwise
#: randomise; ``text.parse_math`` off so that a ``$`` in a site name is printed, not parsed as TeX.
REPORT_RC = {
    "svg.hashsalt": "leosim-report",
    "text.parse_math": False,
    "font.family": "DejaVu Sans",
    "font.size": 9.0,
    "axes.titlesize": 11.0,
    "axes.titleweight": "bold",
    "axes.labelsize": 9.0,
    "axes.grid": True,
    "grid.alpha": 0.35,
    "legend.fontsize": 8.0,
    "legend.framealpha": 0.85,
    "figure.dpi": DPI,
    "savefig.dpi": DPI,
    "path.simplify": True,
}

#: Colours of the service states (map fills and legend): active green, denied red, restricted amber, none grey.
STATE_COLOURS = {
    "active": "#2e9d4a",
    "denied": "#d62728",
    "restricted": "#f2a900",
    "none": "#c4c4c4",
}

#: Colours of the availability split: served, then the three causes of downtime.
SPLIT_COLOURS = {
    "service_frac": STATE_COLOURS["active"],
    "down_denied_frac": STATE_COLOURS["denied"],
    "down_no_route_frac": "#e07b00",
    "down_no_coverage_frac": "#8c8c8c",
}
SPLIT_LABELS = {
    "service_frac": "served",
    "down_denied_frac": "down: denied by policy",
    "down_no_route_frac": "down: no route to a gateway/PoP",
    "down_no_coverage_frac": "down: no satellite in view",
}


@contextlib.contextmanager
def report_style():
    """Context in which report figures are built and saved: :data:`REPORT_RC`, and no warnings about
    glyphs missing from DejaVu Sans (names in other scripts are drawn as boxes, the HTML tables show them)."""
    with matplotlib.rc_context(REPORT_RC), warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r".*[Gg]lyph.*missing from.*")
        yield


def new_figure(width_in: float, height_in: float) -> Figure:
    """A blank figure of the given size (inches) on an Agg canvas, laid out with constrained layout."""
    fig = Figure(figsize=(width_in, height_in), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def figure_png(fig: Figure) -> bytes:
    """PNG bytes of a figure; identical figures give identical bytes (no software/date metadata)."""
    buffer = io.BytesIO()
    with report_style():
        fig.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None})
    return buffer.getvalue()


def png_data_uri(fig: Figure) -> str:
    """The figure as a ``data:image/png;base64,...`` URI, for an ``<img src>`` in a self-contained page."""
    return "data:image/png;base64," + base64.b64encode(figure_png(fig)).decode("ascii")


def label(text) -> str:
    """A string safe as a matplotlib legend label (labels starting with ``_`` would be hidden)."""
    text = "" if text is None or (isinstance(text, float) and np.isnan(text)) else str(text)
    return " " + text if text.startswith("_") else text


def utc_times(values) -> np.ndarray:
    """Times as naive ``datetime64[ns]`` in UTC (what matplotlib's date axis expects), from naive-UTC or
    tz-aware input."""
    return pd.to_datetime(pd.Series(values), utc=True).dt.tz_localize(None).to_numpy()


def usable(tables: dict, name: str, columns: tuple[str, ...] = ()) -> pd.DataFrame | None:
    """``tables[name]`` when present, non-empty and holding ``columns``; else ``None`` (section skipped)."""
    frame = tables.get(name) if tables else None
    if frame is None or len(frame) == 0 or not set(columns) <= set(frame.columns):
        return None
    return frame


def site_names(tables: dict) -> dict[str, str]:
    """Display name of each site id (the id itself when the sites table is missing or the name blank)."""
    sites = usable(tables, "sites", ("site_id", "name"))
    if sites is None:
        return {}
    return {str(s): (str(n) if isinstance(n, str) and n else str(s))
            for s, n in zip(sites["site_id"], sites["name"], strict=True)}


def territory_names(tables: dict) -> dict[str, str]:
    """Display name of each territory key: the availability table's name, else the country's name."""
    names: dict[str, str] = {}
    try:
        from ..territory import Territories

        countries = Territories.default()
        names.update({str(code): countries.name(str(code)) for code in countries.codes})
    except (ImportError, OSError):  # the map and names degrade to codes without the territory data
        pass
    availability = usable(tables, "availability", ("scope", "key", "name"))
    if availability is not None:
        rows = availability[availability["scope"] == "territory"]
        for key, name in zip(rows["key"].astype(str), rows["name"].astype(str), strict=True):
            if name and name != key:
                names[key] = name
    return names
