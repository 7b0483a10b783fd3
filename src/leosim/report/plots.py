"""The report's charts, each built from the scenario tables (docs/outputs.md) into a matplotlib figure.

Every ``*_figure`` function takes the dict of tables (and ``meta`` where it needs it) and returns a
:class:`~matplotlib.figure.Figure`, or ``None`` when the tables it needs are missing or empty. Times on the
axes are UTC; RTTs in milliseconds; fractions shown as percent. :func:`figure` picks one by name.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib import dates as mdates
from matplotlib import ticker
from matplotlib.lines import Line2D

from ..errors import LeosimInputError
from .render import (
    SPLIT_COLOURS,
    SPLIT_LABELS,
    label,
    new_figure,
    report_style,
    site_names,
    territory_names,
    usable,
    utc_times,
)

#: Width of a full-page figure, inches.
FULL_WIDTH_IN = 8.0
#: Height per bar in horizontal bar charts, inches (one row of text at 8 pt plus spacing).
BAR_ROW_IN = 0.28
#: More series than this in one panel: the coverage plot switches from lines to a heat map.
MAX_LINES = 8
#: Room above the tallest cost bar for the legend (factor on the maximum).
COST_HEADROOM = 1.3
#: Seconds per hour.
SECONDS_PER_HOUR = 3600.0
#: Line style of would-be RTTs at instants the policy denies (dashed, distinct from the references' -- and :).
DENIED_LINESTYLE = (0, (4, 2))
#: Opacity of the would-be RTT series (faded next to the served series).
DENIED_ALPHA = 0.5
#: Colour cycle for series (matplotlib's tab10 then tab20 for more series).
_TAB10 = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22",
          "#17becf")


def series_colour(index: int) -> str:
    """Colour of the ``index``-th series (cycles through tab10)."""
    return _TAB10[index % len(_TAB10)]


def _rtt_axes(series_ax, cdf_ax, series_title: str, cdf_ylabel: str) -> None:
    """Titles, labels and limits shared by the RTT time-series panel and its CDF panel."""
    series_ax.set_title(series_title)
    series_ax.set_ylabel("Round-trip time (ms)")
    series_ax.set_ylim(bottom=0)
    _time_axis(series_ax)
    cdf_ax.set_title("Distribution (CDF)")
    cdf_ax.set_xlabel("Round-trip time (ms)")
    cdf_ax.set_ylabel(cdf_ylabel)
    cdf_ax.set_xlim(left=0)
    cdf_ax.set_ylim(0, 1.02)


def _time_axis(ax) -> None:
    locator = mdates.AutoDateLocator()
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    ax.set_xlabel("Time (UTC)")


def _percent_axis(axis) -> None:
    axis.set_major_formatter(ticker.PercentFormatter(xmax=1.0))


def _ecdf(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sorted finite values and their empirical cumulative fractions (1/n ... 1)."""
    x = np.sort(values[np.isfinite(values)])
    return x, np.arange(1, x.size + 1) / max(x.size, 1)


def denied_would_be_rtt_ms(rows: pd.DataFrame) -> np.ndarray | None:
    """Would-be RTT (ms) at the instants the policy denies, shape (len(rows),): ``rtt_if_allowed_ms`` where
    ``allowed`` is False, NaN elsewhere (served instants, or no physical route either). ``None`` when the
    table lacks ``allowed`` or ``rtt_if_allowed_ms`` (results written before those columns existed)."""
    if not {"allowed", "rtt_if_allowed_ms"} <= set(rows.columns):
        return None
    denied = rows["allowed"].eq(False).fillna(False).to_numpy(dtype=bool)  # a missing flag counts as allowed
    return np.where(denied, rows["rtt_if_allowed_ms"].to_numpy(dtype=float), np.nan)


def _isolated(values: np.ndarray) -> list[int]:
    """Indices of finite values whose neighbours are both non-finite: a line draws nothing there, so they
    get a marker."""
    finite = np.isfinite(values)
    before = np.concatenate(([False], finite[:-1]))
    after = np.concatenate((finite[1:], [False]))
    return np.flatnonzero(finite & ~before & ~after).tolist()


def _lone_markers(values: np.ndarray) -> dict:
    """Line keywords putting a marker on each lone finite value (see :func:`_isolated`); none when there is none."""
    lone = _isolated(values)
    return {"marker": ".", "markevery": lone} if lone else {}


def _pair_label(names: dict[str, str], src, dst) -> str:
    return f"{names.get(str(src), str(src))} → {names.get(str(dst), str(dst))}"


# ----- satellites in view -------------------------------------------------------------------------------
def coverage_figure(tables: dict):
    """Satellites in view per terminal over time: lines for a few terminals, a heat map for many."""
    coverage = usable(tables, "coverage", ("time_utc", "site_id", "visible_sats"))
    if coverage is None:
        return None
    names = site_names(tables)
    grid = coverage.pivot_table(index="site_id", columns="time_utc", values="visible_sats", aggfunc="max",
                                sort=True)
    times = utc_times(grid.columns)
    labels = [names.get(str(s), str(s)) for s in grid.index]
    with report_style():
        if len(grid) <= MAX_LINES:
            fig = new_figure(FULL_WIDTH_IN, 3.6)
            ax = fig.add_subplot()
            for i, (row_label, row) in enumerate(zip(labels, grid.to_numpy(dtype=float), strict=True)):
                ax.step(times, row, where="post", color=series_colour(i), label=label(row_label))
            ax.set_ylabel("Satellites in view")
            ax.set_ylim(bottom=0)
            ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0))
        else:
            fig = new_figure(FULL_WIDTH_IN, 1.2 + BAR_ROW_IN * len(grid))
            ax = fig.add_subplot()
            step = np.diff(times).min() if times.size > 1 else np.timedelta64(60, "s")
            edges = np.append(times, times[-1] + step)
            mesh = ax.pcolormesh(edges, np.arange(len(grid) + 1), grid.to_numpy(dtype=float), cmap="viridis",
                                 vmin=0, shading="flat")
            ax.set_yticks(np.arange(len(grid)) + 0.5, labels=labels)
            ax.invert_yaxis()
            ax.grid(False)
            fig.colorbar(mesh, ax=ax, label="Satellites in view", pad=0.01)
        ax.set_title("Satellites in view (above each terminal's elevation mask)")
        _time_axis(ax)
    return fig


# ----- latency ------------------------------------------------------------------------------------------
def pair_latency_figure(tables: dict):
    """RTT over time and its CDF for each named pair, with the ideal-fibre and vacuum references.

    Where the latency table has ``allowed`` and ``rtt_if_allowed_ms``, the instants the policy denies a pair
    are drawn from ``rtt_if_allowed_ms`` in the pair's colour, dashed and faded ("(denied: would be)"), with
    their own faded CDF; a pair never served gets only that series. Served instants are drawn as before.
    """
    latency = usable(tables, "latency", ("time_utc", "src", "dst", "rtt_ms"))
    if latency is None:
        return None
    names = site_names(tables)
    summary = usable(tables, "latency_summary", ("src", "dst", "fibre_rtt_ms", "vacuum_rtt_ms"))
    refs = {} if summary is None else {
        (str(s), str(d)): (f, v) for s, d, f, v in
        zip(summary["src"], summary["dst"], summary["fibre_rtt_ms"], summary["vacuum_rtt_ms"], strict=True)}
    with report_style():
        fig = new_figure(FULL_WIDTH_IN + 1.5, 3.8)
        series_ax, cdf_ax = fig.subplots(1, 2, width_ratios=(1.6, 1.0))
        for i, ((src, dst), rows) in enumerate(latency.groupby(["src", "dst"], sort=True)):
            rows = rows.sort_values("time_utc")
            colour = series_colour(i)
            times = utc_times(rows["time_utc"])
            rtt = rows["rtt_ms"].to_numpy(dtype=float)
            would = denied_would_be_rtt_ms(rows)
            denied = would is not None and bool(np.isfinite(would).any())
            pair = _pair_label(names, src, dst)
            if not denied or np.isfinite(rtt).any():  # older tables: always, as before
                # denial leaves lone served instants between gaps: mark them (older tables: as before)
                series_ax.plot(times, rtt, color=colour, label=label(pair),
                               **(_lone_markers(rtt) if denied else {}))
                x, y = _ecdf(rtt)
                cdf_ax.step(x, y, where="post", color=colour)
            if denied:
                series_ax.plot(times, would, color=colour, linestyle=DENIED_LINESTYLE, alpha=DENIED_ALPHA,
                               label=label(f"{pair} (denied: would be)"), **_lone_markers(would))
                x, y = _ecdf(would)
                cdf_ax.step(x, y, where="post", color=colour, linestyle=DENIED_LINESTYLE, alpha=DENIED_ALPHA)
            fibre, vacuum = refs.get((str(src), str(dst)), (np.nan, np.nan))
            for ref, style in ((fibre, "--"), (vacuum, ":")):
                if np.isfinite(ref):
                    series_ax.axhline(ref, color=colour, linestyle=style, linewidth=1.0)
                    cdf_ax.axvline(ref, color=colour, linestyle=style, linewidth=1.0)
        _rtt_axes(series_ax, cdf_ax, "RTT between named pairs", "Fraction of instants")
        handles, labels = series_ax.get_legend_handles_labels()
        handles += [Line2D([], [], color="black", linestyle="--", linewidth=1.0),
                    Line2D([], [], color="black", linestyle=":", linewidth=1.0)]
        labels += ["ideal fibre on the great circle", "vacuum on the great circle"]
        fig.legend(handles, labels, loc="outside lower center", ncols=3)
    return fig


def user_latency_figure(tables: dict):
    """User mode: RTT from terminals to their best PoP, grouped by territory (median over terminals with the
    min-max band, and the CDF over all terminal-instants), when routable — denied places included, showing
    what they would get. References: the median over the group's terminals of the ideal fibre RTT to the PoP.
    """
    access = usable(tables, "access", ("time_utc", "site_id", "routable", "rtt_ms"))
    if access is None:
        return None
    routable = access[access["routable"].astype(bool) & np.isfinite(access["rtt_ms"].astype(float))]
    if routable.empty:
        return None
    sites = usable(tables, "sites", ("site_id", "territory"))
    territory_of = {} if sites is None else dict(zip(sites["site_id"].astype(str), sites["territory"].astype(str),
                                                     strict=True))
    names = territory_names(tables)
    group = routable["site_id"].astype(str).map(lambda s: territory_of.get(s, "") or "(sea)")
    summary = usable(tables, "latency_summary", ("src", "dst", "fibre_rtt_ms"))
    with report_style():
        fig = new_figure(FULL_WIDTH_IN + 1.5, 3.8)
        series_ax, cdf_ax = fig.subplots(1, 2, width_ratios=(1.6, 1.0))
        for i, (key, rows) in enumerate(routable.groupby(group, sort=True)):
            colour = series_colour(i)
            per_time = rows.groupby("time_utc")["rtt_ms"].agg(["median", "min", "max"]).sort_index()
            times = utc_times(per_time.index)
            allowed = bool(rows["allowed"].any()) if "allowed" in rows else True
            terminals = rows["site_id"].nunique()
            text = f"{names.get(key, key)} ({terminals} terminal{'s' if terminals != 1 else ''})"
            if not allowed:
                text += ", denied: would-be RTT"
            linestyle = "-" if allowed else (0, (4, 2))
            series_ax.plot(times, per_time["median"], color=colour, linestyle=linestyle, label=label(text))
            series_ax.fill_between(times, per_time["min"], per_time["max"], color=colour, alpha=0.15, linewidth=0)
            x, y = _ecdf(rows["rtt_ms"].to_numpy(dtype=float))
            cdf_ax.step(x, y, where="post", color=colour, linestyle=linestyle)
            if summary is not None:
                fibre = summary.loc[summary["src"].astype(str).isin(set(rows["site_id"].astype(str))),
                                    "fibre_rtt_ms"].to_numpy(dtype=float)
                fibre = fibre[np.isfinite(fibre)]
                if fibre.size:
                    cdf_ax.axvline(float(np.median(fibre)), color=colour, linestyle="--", linewidth=1.0)
        _rtt_axes(series_ax, cdf_ax, "RTT from terminals to their PoP (median, min-max band)",
                  "Fraction of terminal-instants")
        handles, labels = series_ax.get_legend_handles_labels()
        if summary is not None:
            handles.append(Line2D([], [], color="black", linestyle="--", linewidth=1.0))
            labels.append("ideal fibre to the PoP (median over terminals)")
        fig.legend(handles, labels, loc="outside lower center", ncols=2)
    return fig


# ----- availability -------------------------------------------------------------------------------------
def availability_figure(tables: dict, scope: str = "territory"):
    """Stacked horizontal bars per territory (or site): served, and downtime by cause (percent of instants)."""
    availability = usable(tables, "availability", ("scope", "key", "name", *SPLIT_COLOURS))
    if availability is None:
        return None
    rows = availability[availability["scope"] == scope]
    if rows.empty:
        return None
    rows = rows.sort_values(["service_frac", "key"], ascending=[False, True])
    what = "territory" if scope == "territory" else "terminal"
    with report_style():
        fig = new_figure(FULL_WIDTH_IN, 1.4 + BAR_ROW_IN * len(rows))
        ax = fig.add_subplot()
        y = np.arange(len(rows))
        left = np.zeros(len(rows))
        for column, colour in SPLIT_COLOURS.items():
            width = rows[column].to_numpy(dtype=float)
            ax.barh(y, width, left=left, color=colour, label=SPLIT_LABELS[column], height=0.7)
            left += np.nan_to_num(width)
        names = [str(n) if isinstance(n, str) and n else str(k) for n, k in
                 zip(rows["name"], rows["key"], strict=True)]
        ax.set_yticks(y, labels=names)
        ax.invert_yaxis()
        ax.set_xlim(0, 1)
        _percent_axis(ax.xaxis)
        ax.set_xlabel("Share of instants in the window")
        ax.set_title(f"Availability per {what}, with the downtime split")
        ax.grid(axis="y", visible=False)
        fig.legend(loc="outside lower center", ncols=2)
    return fig


# ----- what-if ------------------------------------------------------------------------------------------
def whatif_figure(tables: dict):
    """Per territory, each policy variant side by side: share of time served and median RTT when served."""
    whatif = usable(tables, "whatif", ("variant", "scope", "key", "name", "service_frac", "median_rtt_ms"))
    if whatif is None:
        return None
    rows = whatif[whatif["scope"] == "territory"]
    if rows.empty:
        rows = whatif
    variants = list(dict.fromkeys(rows["variant"].astype(str)))
    keys = sorted(set(rows["key"].astype(str)))
    names = territory_names(tables)
    service = rows.pivot_table(index="key", columns="variant", values="service_frac", aggfunc="first")
    rtt = rows.pivot_table(index="key", columns="variant", values="median_rtt_ms", aggfunc="first")
    with report_style():
        fig = new_figure(FULL_WIDTH_IN + 1.5, 1.6 + 0.22 * len(keys) * max(len(variants), 1))
        service_ax, rtt_ax = fig.subplots(1, 2, sharey=True)
        y = np.arange(len(keys))
        height = 0.8 / max(len(variants), 1)
        for i, variant in enumerate(variants):
            offset = y - 0.4 + height * (i + 0.5)
            colour = series_colour(i)
            service_ax.barh(offset, service.reindex(index=keys).get(variant, pd.Series(np.nan, index=keys)),
                            height=height, color=colour, label=label(variant))
            rtt_ax.barh(offset, rtt.reindex(index=keys).get(variant, pd.Series(np.nan, index=keys)),
                        height=height, color=colour)
        service_ax.set_yticks(y, labels=[names.get(k, k) for k in keys])
        service_ax.invert_yaxis()
        service_ax.set_xlim(0, 1)
        _percent_axis(service_ax.xaxis)
        service_ax.set_xlabel("Share of instants served")
        service_ax.set_title("Service per variant")
        rtt_ax.set_xlabel("Median RTT when served (ms)")
        rtt_ax.set_title("Median RTT per variant")
        for ax in (service_ax, rtt_ax):
            ax.grid(axis="y", visible=False)
        fig.legend(loc="outside lower center", ncols=min(len(variants), 4), title="Policy variant")
    return fig


# ----- cost ---------------------------------------------------------------------------------------------
def _usd(value: float, _position=None) -> str:
    magnitude = abs(value)
    if magnitude >= 1e9:
        return f"${value / 1e9:,.1f}B"
    if magnitude >= 1e6:
        return f"${value / 1e6:,.1f}M"
    if magnitude >= 1e3:
        return f"${value / 1e3:,.0f}k"
    return f"${value:,.0f}"


def cost_figure(tables: dict):
    """Monthly cost per payer (US dollars), stacked by payer."""
    cost = usable(tables, "cost", ("month", "payer", "cost_usd"))
    if cost is None:
        return None
    grid = cost.pivot_table(index="month", columns="payer", values="cost_usd", aggfunc="sum", fill_value=0.0,
                            sort=True)
    months = [str(m) for m in grid.index]
    with report_style():
        fig = new_figure(FULL_WIDTH_IN, 3.8)
        ax = fig.add_subplot()
        x = np.arange(len(months))
        bottom = np.zeros(len(months))
        for i, payer in enumerate(grid.columns):
            values = grid[payer].to_numpy(dtype=float)
            ax.bar(x, values, bottom=bottom, color=series_colour(i), label=label(payer), width=0.8)
            bottom += values
        every = max(1, int(np.ceil(len(months) / 18)))
        ax.set_xticks(x[::every], labels=months[::every], rotation=60, ha="right")
        ax.set_ylim(0, COST_HEADROOM * max(float(bottom.max()), 1.0))
        ax.yaxis.set_major_formatter(ticker.FuncFormatter(_usd))
        ax.set_xlabel("Month")
        ax.set_ylabel("Cost per month (US dollars)")
        ax.set_title("Cost per payer per month")
        ax.grid(axis="x", visible=False)
        ax.legend(loc="upper left", title="Payer")
    return fig


# ----- path dynamics ------------------------------------------------------------------------------------
def window_hours(tables: dict, meta: dict | None = None) -> float:
    """Length of the simulated window in hours: the span of the time columns (first to last instant), else
    ``meta['start']``/``meta['end']``; NaN when neither is known."""
    stamps = [frame["time_utc"] for name in ("coverage", "access", "latency")
              if (frame := usable(tables, name, ("time_utc",))) is not None]
    if stamps:
        times = utc_times(pd.concat(stamps, ignore_index=True))
        span_s = (times.max() - times.min()) / np.timedelta64(1, "s")
        if span_s > 0:
            return float(span_s) / SECONDS_PER_HOUR
    try:
        start, end = pd.Timestamp((meta or {})["start"]), pd.Timestamp((meta or {})["end"])
        return (end - start).total_seconds() / SECONDS_PER_HOUR
    except (KeyError, ValueError, TypeError):
        return float("nan")


def path_change_rates(tables: dict, meta: dict | None = None) -> pd.DataFrame:
    """Per pair (``src``, ``dst``; ``dst`` = ``PoP`` for a terminal's path to its PoP): ``changes``,
    ``changes_per_hour`` and ``median_minutes_between`` (NaN with fewer than two changes). Named pairs of
    the latency table with no change are listed with 0."""
    columns = ["src", "dst", "changes", "changes_per_hour", "median_minutes_between"]
    changes = usable(tables, "path_changes", ("time_utc", "src", "dst"))
    latency = usable(tables, "latency", ("src", "dst"))
    if changes is None and latency is None:
        return pd.DataFrame(columns=columns)
    hours = window_hours(tables, meta)
    rows = []
    seen = set()
    if changes is not None:
        for (src, dst), group in changes.groupby(["src", "dst"], sort=True):
            times = np.sort(utc_times(group["time_utc"]))
            gaps_min = np.diff(times) / np.timedelta64(60, "s")
            rows.append((str(src), str(dst), len(group), len(group) / hours if hours > 0 else np.nan,
                         float(np.median(gaps_min)) if gaps_min.size else np.nan))
            seen.add((str(src), str(dst)))
    if latency is not None:
        for src, dst in latency[["src", "dst"]].drop_duplicates().itertuples(index=False):
            if (str(src), str(dst)) not in seen:
                rows.append((str(src), str(dst), 0, 0.0, np.nan))
    table = pd.DataFrame(rows, columns=columns)
    return table.sort_values(["changes_per_hour", "src", "dst"], ascending=[False, True, True],
                             ignore_index=True)


def path_changes_figure(tables: dict, meta: dict | None = None):
    """Path changes per hour for each pair (named pairs and each terminal's path to its PoP)."""
    rates = path_change_rates(tables, meta)
    if rates.empty:
        return None
    names = site_names(tables)
    with report_style():
        fig = new_figure(FULL_WIDTH_IN, 1.2 + BAR_ROW_IN * len(rates))
        ax = fig.add_subplot()
        y = np.arange(len(rates))
        ax.barh(y, rates["changes_per_hour"].to_numpy(dtype=float), color=series_colour(0), height=0.7)
        ax.set_yticks(y, labels=[_pair_label(names, s, d) for s, d in zip(rates["src"], rates["dst"], strict=True)])
        ax.invert_yaxis()
        ax.set_xlabel("Path changes per hour")
        ax.set_title("Path dynamics: how often the route changes")
        ax.grid(axis="y", visible=False)
    return fig


# ----- by name ------------------------------------------------------------------------------------------
def _map(tables, meta):
    from .maps import map_figures

    figures = map_figures(tables, meta)
    return figures[0][1] if figures else None


FIGURES = {
    "map": _map,
    "coverage": lambda tables, meta: coverage_figure(tables),
    "latency": lambda tables, meta: pair_latency_figure(tables),
    "user_latency": lambda tables, meta: user_latency_figure(tables),
    "availability": lambda tables, meta: availability_figure(tables, "territory"),
    "availability_sites": lambda tables, meta: availability_figure(tables, "site"),
    "whatif": lambda tables, meta: whatif_figure(tables),
    "cost": lambda tables, meta: cost_figure(tables),
    "path_changes": path_changes_figure,
}


def figure(name: str, tables: dict, meta: dict | None = None):
    """One report plot by name (one of :data:`FIGURES`) as a matplotlib figure.

    Raises :class:`~leosim.errors.LeosimInputError` for an unknown name or when the tables it needs are missing.
    """
    if name not in FIGURES:
        raise LeosimInputError(f"unknown plot {name!r}; accepted: {', '.join(FIGURES)}", field="name")
    fig = FIGURES[name](tables, meta or {})
    if fig is None:
        raise LeosimInputError(f"plot {name!r} needs tables this run does not have (missing or empty)",
                               field="name")
    return fig
