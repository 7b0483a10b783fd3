"""The report's Capacity section: figures and tables built from the capacity tables (docs/outputs.md).

Each function takes the dict of tables and returns a matplotlib figure or a DataFrame, or ``None`` when
the run has no capacity tables: served/demand per cell on a map, per-terminal ``available_mbps`` CDFs per
fleet, gateway utilisation over time, bottleneck shares, and the what-if deltas of the median Mbps.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .render import label, new_figure, report_style, territory_names, usable, utc_times

FULL_WIDTH_IN = 8.0
"""Width of a full-page figure, inches."""
TOP_GATEWAYS = 8
"""Gateways drawn in the utilisation plot: the busiest by peak load."""
BOTTLENECK_COLOURS = {"none": "#2ca02c", "beam": "#d62728", "satellite": "#ff7f0e", "isl": "#9467bd",
                      "feeder": "#8c564b", "policy": "#7f7f7f", "no_coverage": "#c7c7c7"}
"""One colour per bottleneck label."""


def _palette(i: int) -> str:
    from .plots import series_colour

    return series_colour(i)


def cell_map_figure(tables: dict):
    """H3 cells at their centres, coloured by served/demand over all slots, sized by demand."""
    cells = usable(tables, "capacity_cells", ("cell", "demand_mbps", "served_mbps"))
    if cells is None:
        return None
    import h3

    per_cell = cells.groupby("cell", sort=True)[["demand_mbps", "served_mbps"]].sum()
    per_cell = per_cell[per_cell["demand_mbps"] > 0]
    if per_cell.empty:
        return None
    centre = np.array([h3.cell_to_latlng(c) for c in per_cell.index], dtype=np.float64)
    ratio = (per_cell["served_mbps"] / per_cell["demand_mbps"]).to_numpy()
    size = 4.0 + 40.0 * np.sqrt(per_cell["demand_mbps"].to_numpy() / per_cell["demand_mbps"].max())
    with report_style():
        fig = new_figure(FULL_WIDTH_IN, 4.2)
        ax = fig.subplots()
        points = ax.scatter(centre[:, 1], centre[:, 0], c=ratio, s=size, cmap="RdYlGn", vmin=0.0, vmax=1.0,
                            linewidths=0)
        fig.colorbar(points, ax=ax, label="Served / demand")
        ax.set_xlabel("Longitude (°)")
        ax.set_ylabel("Latitude (°)")
        ax.set_title("Demand cells: share of demand served (marker area ∝ demand)")
    return fig


def throughput_cdf_figure(tables: dict):
    """Per fleet, the empirical CDF of ``available_mbps`` over terminal-slots with a route."""
    thr = usable(tables, "throughput", ("fleet", "available_mbps", "bottleneck"))
    if thr is None:
        return None
    thr = thr[~thr["bottleneck"].isin(["policy", "no_coverage"])]
    if thr.empty:
        return None
    with report_style():
        fig = new_figure(FULL_WIDTH_IN, 3.6)
        ax = fig.subplots()
        for i, (fleet, part) in enumerate(thr.groupby("fleet", sort=True)):
            values = np.sort(part["available_mbps"].to_numpy(np.float64))
            ax.step(values, np.arange(1, values.size + 1) / values.size, where="post", color=_palette(i),
                    label=label(fleet or "subscribers (no fleet)"))
        ax.set_xscale("symlog", linthresh=1.0)
        ax.set_xlabel("available_mbps (what a speed test would see), Mbps")
        ax.set_ylabel("Share of terminal-slots")
        ax.set_ylim(0, 1)
        ax.legend(loc="lower right")
        ax.set_title("Per-terminal throughput per fleet")
    return fig


def gateway_utilisation_figure(tables: dict):
    """Load / capacity over time of the busiest gateways."""
    load = usable(tables, "gateway_load", ("time_utc", "gateway", "load_mbps", "capacity_mbps"))
    if load is None:
        return None
    peak = load.groupby("gateway")["load_mbps"].max()
    top = peak[peak > 0].sort_values(ascending=False).index[:TOP_GATEWAYS]
    if len(top) == 0:
        return None
    with report_style():
        fig = new_figure(FULL_WIDTH_IN, 3.4)
        ax = fig.subplots()
        for i, gw in enumerate(top):
            part = load[load["gateway"] == gw].sort_values("time_utc")
            ax.plot(utc_times(part["time_utc"]), part["load_mbps"] / part["capacity_mbps"], color=_palette(i),
                    label=label(gw), marker="." if len(part) < 50 else None)
        ax.set_ylim(0, 1.05)
        ax.set_ylabel("Feeder load / capacity")
        ax.set_xlabel("UTC")
        ax.legend(loc="best", fontsize="small")
        ax.set_title(f"Gateway utilisation (the {len(top)} busiest)")
    return fig


def bottleneck_figure(tables: dict):
    """Share of terminal-slots by bottleneck label."""
    thr = usable(tables, "throughput", ("bottleneck",))
    if thr is None:
        return None
    share = thr["bottleneck"].value_counts(normalize=True)
    order = [k for k in BOTTLENECK_COLOURS if k in share.index]
    with report_style():
        fig = new_figure(FULL_WIDTH_IN, 0.8 + 0.3 * len(order))
        ax = fig.subplots()
        ax.barh(np.arange(len(order)), [share[k] for k in order], color=[BOTTLENECK_COLOURS[k] for k in order])
        ax.set_yticks(np.arange(len(order)), labels=order)
        ax.invert_yaxis()
        ax.set_xlim(0, 1)
        ax.set_xlabel("Share of terminal-slots")
        ax.set_title("What limits each terminal")
    return fig


def whatif_mbps_table(tables: dict) -> pd.DataFrame | None:
    """Per territory: the median Mbps of each variant and its change from the baseline (one column per
    variant), or ``None`` without a ``median_mbps`` column."""
    whatif = usable(tables, "whatif", ("variant", "scope", "key", "median_mbps"))
    if whatif is None:
        return None
    rows = whatif[whatif["scope"] == "territory"]
    wide = rows.pivot_table(index="key", columns="variant", values="median_mbps", aggfunc="first", dropna=False)
    variants = list(dict.fromkeys(rows["variant"].astype(str)))
    wide = wide.reindex(columns=variants)
    names = territory_names(tables)
    out = pd.DataFrame({"key": wide.index.astype(str), "name": [names.get(k, k) for k in wide.index.astype(str)]})
    for n, variant in enumerate(variants):
        out[f"v{n}"] = wide[variant].to_numpy()
        if n:
            out[f"d{n}"] = wide[variant].to_numpy() - wide[variants[0]].to_numpy()
    out.attrs["variants"] = variants
    return out
