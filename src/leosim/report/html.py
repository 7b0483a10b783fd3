"""The self-contained HTML report: one file, no external resources, opens offline.

Figures are embedded as base64 PNG ``data:`` URIs, the style sheet is inline, fonts are the reader's own.
Every piece of text from the tables or ``meta`` is escaped. A section whose tables are missing or empty is
left out (and so is its entry in the table of contents). The output depends only on the tables and
``meta``: identical input gives identical bytes (``meta['generated_at']`` is printed as given).
"""

from __future__ import annotations

import html
from collections.abc import Callable

import numpy as np
import pandas as pd

from ..constants import MIN_STRETCH_DISTANCE_KM
from ..timebase import format_duration
from . import plots
from .maps import map_figures
from .render import (
    SPLIT_LABELS,
    STATE_COLOURS,
    png_data_uri,
    site_groups,
    site_names,
    site_order,
    territory_names,
    usable,
)

#: States whose badge colour is light enough to need dark text.
_DARK_TEXT = {"none": "#1d2430", "restricted": "#1d2430"}

_CSS = """
:root { --ink: #1d2430; --muted: #5b6472; --line: #d9dee6; --band: #f5f7fa; --accent: #08306b; }
* { box-sizing: border-box; }
body { margin: 0; color: var(--ink); background: #fff;
       font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
header { background: var(--accent); color: #fff; padding: 1.4rem 2rem 1.1rem; }
header h1 { margin: 0 0 .3rem; font-size: 1.6rem; }
header p { margin: .15rem 0; opacity: .9; }
main { max-width: 1240px; margin: 0 auto; padding: 1rem 2rem 3rem; }
nav ol { columns: 2; padding-left: 1.2rem; }
h2 { border-bottom: 2px solid var(--line); padding-bottom: .2rem; margin-top: 2.2rem; }
h3 { margin-top: 1.4rem; }
section.limitations { background: #fff8e6; border-left: 4px solid #f2a900; padding: .3rem 1rem; }
figure { margin: 1rem 0; }
figure img { max-width: 100%; height: auto; border: 1px solid var(--line); }
figcaption { color: var(--muted); font-size: .88rem; }
.maps { display: flex; flex-wrap: wrap; gap: 1rem; }
.table-wrap { overflow-x: auto; }
table { border-collapse: collapse; margin: .6rem 0 1rem; font-size: .88rem; }
th, td { padding: .25rem .6rem; border-bottom: 1px solid var(--line); text-align: left; vertical-align: top; }
td { white-space: nowrap; }
td.wrap { white-space: normal; min-width: 8rem; }
table.kv td { white-space: normal; overflow-wrap: anywhere; }
.tag { display: inline-block; padding: 0 .4rem; border-radius: 3px; background: #fff3cd; color: #6b4e00;
       font-size: .8rem; }
th.group { text-align: center; border-bottom: 2px solid var(--accent); }
th { background: var(--band); }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
tbody tr:nth-child(even) { background: #fafbfc; }
.cards { display: flex; flex-wrap: wrap; gap: .8rem; margin: .8rem 0; }
.card { border: 1px solid var(--line); border-radius: 6px; padding: .5rem .9rem; min-width: 9.5rem; }
.card b { display: block; font-size: 1.35rem; }
.card span { color: var(--muted); font-size: .82rem; }
.state { display: inline-block; padding: 0 .45rem; border-radius: 3px; font-size: .82rem; color: #fff; }
.muted { color: var(--muted); }
code { font-size: .82rem; word-break: break-all; }
footer { color: var(--muted); font-size: .82rem; margin-top: 3rem; border-top: 1px solid var(--line); }
""" + "".join(f".state-{state} {{ background: {colour}; color: {_DARK_TEXT.get(state, '#fff')}; }}\n"
              for state, colour in STATE_COLOURS.items())

_LIMITATIONS_CLASS = ' class="limitations"'
#: Shown for a missing value (NaN) in tables.
MISSING = "—"


# ----- formatting ---------------------------------------------------------------------------------------
def esc(value) -> str:
    """Text escaped for HTML content and attribute values."""
    return html.escape("" if value is None else str(value), quote=True)


def _missing(value) -> bool:
    try:
        return value is None or bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def fmt_pct(value) -> str:
    return MISSING if _missing(value) else f"{100.0 * float(value):.1f}\u00a0%"


def fmt_ms(value) -> str:
    return MISSING if _missing(value) else f"{float(value):.1f}"


def fmt_float(digits: int) -> Callable[[object], str]:
    return lambda value: MISSING if _missing(value) else f"{float(value):,.{digits}f}"


def fmt_int(value) -> str:
    return MISSING if _missing(value) else f"{int(value):,}"


def fmt_usd(value) -> str:
    return MISSING if _missing(value) else f"${float(value):,.0f}"


def fmt_text(value) -> str:
    return "" if _missing(value) else str(value)


def fmt_time(value) -> str:
    if _missing(value):
        return MISSING
    return pd.Timestamp(value).strftime("%Y-%m-%d %H:%M:%S") + " UTC"


def fmt_instant(value) -> str:
    """An instant from ``meta`` (ISO text such as ``2024-10-25T06:00:00.000Z``) as ``2024-10-25 06:00 UTC``
    (seconds shown only when not zero); the text as given when it does not parse."""
    try:
        stamp = pd.Timestamp(str(value))
    except (ValueError, TypeError):
        return str(value)
    stamp = stamp.tz_convert("UTC") if stamp.tzinfo is not None else stamp
    return stamp.strftime("%Y-%m-%d %H:%M" + (":%S" if stamp.second or stamp.microsecond else "")) + " UTC"


def link(url, text) -> str:
    """An ``<a>`` to an http(s) URL (escaped, opens in a new tab); just the escaped text for other URLs."""
    url = "" if _missing(url) else str(url)
    if not url.lower().startswith(("https://", "http://")):
        return esc(text)
    return f'<a href="{esc(url)}" rel="noopener noreferrer" target="_blank">{esc(text)}</a>'


_NUMERIC = {fmt_pct, fmt_ms, fmt_int, fmt_usd}
#: Columns of long text, allowed to wrap in tables.
WRAPPED_COLUMNS = {"rule", "description", "name", "display", "pair", "status", "route"}

#: A column of an HTML table: header text, the DataFrame column, a formatter, and whether it is numeric.
Column = tuple[str, str, Callable[[object], str]]


def html_table(frame: pd.DataFrame, columns: list[Column], *, raw: dict[str, Callable[[object], str]] | None = None,
               numeric: set[str] | None = None, groups: list[tuple[str, int]] | None = None) -> str:
    """An HTML ``<table>`` of ``frame`` with the given columns; every cell is escaped, except the columns in
    ``raw`` whose function returns ready HTML (it must escape what it inserts). ``groups``: an optional
    header row above, as (text, number of columns spanned). Cells do not wrap, except in the columns named
    in :data:`WRAPPED_COLUMNS`."""
    raw = raw or {}
    numeric = set(numeric or ())
    kinds = ["num" if (fmt in _NUMERIC or col in numeric) else ("wrap" if col in WRAPPED_COLUMNS else "")
             for _, col, fmt in columns]
    head = "".join(f'<th class="{k}">{esc(h)}</th>' if k else f"<th>{esc(h)}</th>"
                   for (h, _, _), k in zip(columns, kinds, strict=True))
    if groups:
        head = ("".join(f'<th colspan="{span}" class="group">{esc(text)}</th>' for text, span in groups)
                + "</tr><tr>" + head)
    body = []
    for row in frame.itertuples(index=False):
        record = row._asdict()
        cells = []
        for (_, col, fmt), kind in zip(columns, kinds, strict=True):
            value = record.get(col)
            content = raw[col](value) if col in raw else esc(fmt(value))
            cells.append(f'<td class="{kind}">{content}</td>' if kind else f"<td>{content}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return (f'<div class="table-wrap"><table><thead><tr>{head}</tr></thead>'
            f"<tbody>{''.join(body)}</tbody></table></div>")


def _state_badge(value) -> str:
    state = str(value) if not _missing(value) else "none"
    css = state if state in STATE_COLOURS else "none"
    return f'<span class="state state-{css}">{esc(state)}</span>'


def _figure(fig, caption: str, alt: str) -> str:
    if fig is None:
        return ""
    return f'<figure><img src="{png_data_uri(fig)}" alt="{esc(alt)}"><figcaption>{esc(caption)}</figcaption></figure>'


def _frame(records) -> pd.DataFrame:
    """A DataFrame from plain records with pandas' default dtypes (avoids object-dtype surprises)."""
    return pd.DataFrame.from_records(records)


# ----- sections -----------------------------------------------------------------------------------------
def _limitations(tables, meta) -> str | None:
    items = [str(x) for x in (meta.get("limitations") or [])]
    if not items:
        return None
    return "<ul>" + "".join(f"<li>{esc(item)}</li>" for item in items) + "</ul>"


def _served_rtt(access: pd.DataFrame | None) -> tuple[float, float]:
    if access is None or "status" not in access:
        return float("nan"), float("nan")
    served = access["status"].astype(str) == "ok"
    rtt = access.loc[served, "rtt_ms"].to_numpy(dtype=float) if "rtt_ms" in access else np.array([])
    rtt = rtt[np.isfinite(rtt)]
    return float(served.mean()), float(np.median(rtt)) if rtt.size else float("nan")


def _summary(tables, meta) -> str | None:
    sites = usable(tables, "sites", ("site_id", "kind"))
    access = usable(tables, "access", ("site_id", "status"))
    state = usable(tables, "territory_state", ("territory", "state"))
    availability = usable(tables, "availability", ("scope", "key", "service_frac"))
    if sites is None and access is None and availability is None:
        return None
    cards = []
    if sites is not None:
        kinds = sites["kind"].astype(str).value_counts()
        for kind, text in (("terminal", "terminals"), ("city", "cities"), ("gateway", "gateways"), ("pop", "PoPs")):
            if kind in kinds:
                cards.append((fmt_int(kinds[kind]), text))
    if meta.get("satellites") is not None:
        cards.append((fmt_int(meta["satellites"]), "satellites"))
    hours = plots.window_hours(tables, meta)
    if np.isfinite(hours):
        cards.append((format_duration(hours * 3600.0), "window simulated"))
    served, median = _served_rtt(access)
    if np.isfinite(served):
        cards.append((fmt_pct(served), "of terminal-instants served"))
    if np.isfinite(median):
        cards.append((f"{median:.1f} ms", "median RTT when served"))
    parts = ['<div class="cards">' + "".join(f"<div class=\"card\"><b>{esc(v)}</b><span>{esc(t)}</span></div>"
                                            for v, t in cards) + "</div>"]
    if availability is not None:
        rows = availability[availability["scope"] == "territory"].copy()
        if not rows.empty:
            names = territory_names(tables)
            rows["display"] = [names.get(str(k), str(k)) for k in rows["key"]]
            states = {} if state is None else dict(zip(state["territory"].astype(str), state["state"].astype(str),
                                                       strict=True))
            rules = {} if state is None or "rule" not in state else dict(
                zip(state["territory"].astype(str), state["rule"].astype(str), strict=True))
            rows["state"] = [states.get(str(k), "") for k in rows["key"]]
            rows["rule"] = [rules.get(str(k), "") for k in rows["key"]]
            if access is not None and sites is not None and "territory" in sites and "rtt_ms" in access:
                joined = access.merge(sites[["site_id", "territory"]], on="site_id", how="left")
                ok = joined[joined["status"].astype(str) == "ok"].groupby("territory")["rtt_ms"].median()
                would = (joined[joined["routable"].astype(bool)].groupby("territory")["rtt_ms"].median()
                         if "routable" in joined else pd.Series(dtype=float))
                rows["rtt_served"] = rows["key"].map(ok)
                rows["rtt_would"] = rows["key"].map(would)
            else:
                rows["rtt_served"] = np.nan
                rows["rtt_would"] = np.nan
            parts.append("<h3>Per territory</h3>")
            urls = _rule_urls(meta)
            parts.append(html_table(rows, [
                ("Territory", "display", fmt_text), ("Key", "key", fmt_text), ("State", "state", fmt_text),
                ("Served", "service_frac", fmt_pct), ("Median RTT served (ms)", "rtt_served", fmt_ms),
                ("Median RTT if allowed (ms)", "rtt_would", fmt_ms), ("Deciding rule", "rule", fmt_text)],
                raw={"state": _state_badge, "rule": lambda text: _rule_with_source(text, urls)}))
    return "".join(parts)


def _rule_urls(meta) -> dict[str, str]:
    """The cited URL of each baseline rule's territory key (from ``meta['sources']``)."""
    return {str(s.get("key", "")): str(s["url"]) for s in (meta.get("sources") or [])
            if isinstance(s, dict) and s.get("what") == "rule" and s.get("url")}


def _rule_with_source(text, urls: dict[str, str]) -> str:
    """A deciding rule's text (``SUBJECT state: reason``) with a "source" link when its subject cites one."""
    text = fmt_text(text)
    subject = text.split(" ", 1)[0]
    key = subject.split(":", 1)[1] if ":" in subject else subject
    url = urls.get(key)
    return esc(text) + (" (" + link(url, "source") + ")" if url else "")


def _map(tables, meta) -> str | None:
    figures = map_figures(tables, meta)
    if not figures:
        return None
    legend = ", ".join(f"{state} {colour_name}" for state, colour_name in
                       (("active", "green"), ("denied", "red"), ("restricted", "amber"), ("none", "grey")))
    start = fmt_instant(meta["start"]) if meta.get("start") else ""
    parts = [f"<p>Service state of each territory at the window start{' (' + esc(start) + ')' if start else ''}: "
             f"{esc(legend)}. Custom regions (outlined) are drawn over their countries. Circles are terminals, "
             "triangles gateways, squares PoPs. Equirectangular projection.</p>", '<div class="maps">']
    parts += [_figure(fig, title, f"Map: {title}") for title, fig in figures]
    parts.append("</div>")
    state = usable(tables, "territory_state", ("territory", "state"))
    if state is not None:
        decided = state[state["state"].astype(str) != "none"]
        if not decided.empty:
            parts.append("<h3>Territories with a rule</h3>")
            columns: list[Column] = [("Territory", "territory", fmt_text), ("Layer", "layer", fmt_text),
                                     ("State", "state", fmt_text), ("Rule", "rule", fmt_text),
                                     ("Since", "since", fmt_time)]
            urls = _rule_urls(meta)
            parts.append(html_table(decided, [c for c in columns if c[1] in decided],
                                    raw={"state": _state_badge, "rule": lambda text: _rule_with_source(text, urls)}))
    return "".join(parts)


def _mobility(tables, meta) -> str | None:
    """Moving terminals and per-terminal rules: shown when something moves or a rule condition decided."""
    from .tracks import moving_sites, service_changes, tracks_figure

    access = usable(tables, "access", ("site_id", "status", "condition", "lat_deg", "lon_deg"))
    if access is None:
        return None
    if not moving_sites(access) and not (access["condition"].astype(str) != "").any():
        return None
    parts = ["<p>Where moving terminals were at each instant, coloured by status (served green, denied red, "
             "no route orange, no coverage grey), and every change between served and denied by policy: who "
             "lost service, when, and by which rule and condition (speed, roaming, offshore, plan, or "
             "<code>allow</code>: not on a restricted rule's allow list).</p>"]
    drawn = tracks_figure(tables, meta)
    if drawn is not None:
        parts.append(_figure(drawn[1], drawn[0], "Map: moving terminals by status"))
    changes = service_changes(tables)
    if not changes.empty:
        columns: list[Column] = [("Terminal", "name", fmt_text), ("When", "time_utc", fmt_time),
                                 ("Change", "change", fmt_text), ("Condition", "condition", fmt_text),
                                 ("Speed km/h", "speed_kmh", fmt_float(0)), ("Rule", "rule", fmt_text)]
        parts.append(html_table(changes, columns))
    return "".join(parts)


def _coverage(tables, meta) -> str | None:
    coverage = usable(tables, "coverage", ("time_utc", "site_id", "visible_sats"))
    if coverage is None:
        return None
    names = site_names(tables)
    stats = coverage.groupby("site_id", sort=True)["visible_sats"].agg(
        minimum="min", median="median", maximum="max", covered=lambda v: float((v > 0).mean())).reset_index()
    stats["name"] = [names.get(str(s), str(s)) for s in stats["site_id"]]
    stats = _grouped(tables, stats, "site_id")
    return (_figure(plots.coverage_figure(tables), "Satellites above each terminal's elevation mask, per instant.",
                    "Satellites in view over time")
            + html_table(stats, _group_column(stats) + [("Terminal", "name", fmt_text), ("Min", "minimum", fmt_int),
                                 ("Median", "median", fmt_float(1)), ("Max", "maximum", fmt_int),
                                 ("Covered", "covered", fmt_pct)], numeric={"median"}))


def _grouped(tables, frame: pd.DataFrame, id_column: str) -> pd.DataFrame:
    """``frame`` with a ``group`` column (the scenario's group of each site) and its rows ordered by group,
    then by the scenario's order of the sites (see :func:`site_order`)."""
    groups = site_groups(tables)
    frame = frame.iloc[site_order(tables, frame[id_column])].reset_index(drop=True)
    return frame.assign(group=[groups.get(str(s), "") for s in frame[id_column]])


def _group_column(frame: pd.DataFrame) -> list[Column]:
    """The "Group" column, when some site has a group."""
    return [("Group", "group", fmt_text)] if "group" in frame and (frame["group"] != "").any() else []


def _pair_status(row) -> str:
    """What a pair got over the window, in words: served share, denied share (with the RTT it would have had
    when always denied), share without a physical path."""
    denied = float(row.get("denied_frac", 0.0) or 0.0) if not _missing(row.get("denied_frac")) else 0.0
    no_path = float(row["no_path_frac"]) if not _missing(row.get("no_path_frac")) else 0.0
    would = row.get("median_if_allowed_ms")
    if denied >= 1.0:
        return (f"denied (would be {float(would):.1f} ms)" if not _missing(would)
                else "denied (and no physical path)")
    parts = [f"served {fmt_pct(1.0 - no_path)}"]
    if denied > 0:
        parts.append(f"denied {fmt_pct(denied)}")
    if no_path - denied > 1e-12:
        parts.append(f"no path {fmt_pct(no_path - denied)}")
    return ", ".join(parts)


def _latency(tables, meta) -> str | None:
    pairs = plots.pair_latency_figure(tables)
    users = plots.user_latency_figure(tables)
    summary = usable(tables, "latency_summary", ("src", "dst", "median_ms"))
    if pairs is None and users is None and summary is None:
        return None
    parts = ["<p>Round-trip propagation delay. References on the great circle between the two ends: ideal "
             "fibre (light at c/1.468, dashed) and vacuum at ground level (dotted). Stretch = median RTT over "
             "the reference.</p>"]
    if pairs is not None:
        caption = "Named pairs: RTT over time (gaps: no path) and its distribution."
        latency = usable(tables, "latency", ("src", "dst", "allowed", "rtt_if_allowed_ms"))
        if latency is not None and np.isfinite(plots.denied_would_be_rtt_ms(latency)).any():
            caption += (" Faded dashed lines: instants the policy denies a pair, with the RTT its physical route "
                        "would give if allowed (their CDF covers the denied instants only).")
        parts.append(_figure(pairs, caption, "RTT between named pairs"))
    if users is not None:
        caption = ("User mode: RTT from each terminal to its best PoP when routable (denied places included, with "
                   "the RTT they would get). "
                   + ("Per PoP, over the terminal-instants it served (box: quartiles and median, whiskers: 5th to "
                      "95th percentile; term.: terminals that used it at some instant), and the CDF over all "
                      "terminal-instants." if plots.user_latency_as_distributions(tables)
                      else "Grouped by territory: median over its terminals with the min-max band."))
        parts.append(_figure(users, caption, "RTT from terminals to PoPs"))
    if summary is not None:
        names = site_names(tables)
        rows = summary.copy()
        rows["pair"] = [f"{names.get(str(s), str(s))} → {names.get(str(d), str(d))}"
                        for s, d in zip(rows["src"], rows["dst"], strict=True)]
        rows["status"] = [_pair_status(r) for r in rows.to_dict("records")]
        if "path_changes" in rows and "no_path_frac" in rows:  # a pair that never had a path: no count
            never = rows["no_path_frac"].astype(float) >= 1.0
            rows["path_changes"] = rows["path_changes"].astype(float).where(~never)
        columns: list[Column] = [
            ("Pair", "pair", fmt_text), ("Over the window", "status", fmt_text),
            ("Min (ms)", "min_ms", fmt_ms), ("Median (ms)", "median_ms", fmt_ms),
            ("p95 (ms)", "p95_ms", fmt_ms), ("Max (ms)", "max_ms", fmt_ms),
            ("Median if allowed (ms)", "median_if_allowed_ms", fmt_ms),
            ("Path changes", "path_changes", fmt_int), ("Distance (km)", "great_circle_km", fmt_float(0)),
            ("Fibre (ms)", "fibre_rtt_ms", fmt_ms), ("Vacuum (ms)", "vacuum_rtt_ms", fmt_ms),
            ("Stretch vs fibre", "stretch_fibre", fmt_float(2)), ("Stretch vs vacuum", "stretch_vacuum", fmt_float(2))]
        parts.append("<h3>Latency summary</h3>")
        parts.append(_would_be_summary(rows))
        parts.append(f"<p class=\"muted\">RTT statistics cover the instants served. Stretch is given only for "
                     f"ends at least {MIN_STRETCH_DISTANCE_KM:.0f} km apart: closer, the climb to the shell and "
                     f"back dominates the RTT and the ratio measures the altitude, not the route.</p>")
        parts.append(html_table(rows, [c for c in columns if c[1] in rows],
                                numeric={"great_circle_km", "stretch_fibre", "stretch_vacuum"}))
    return "".join(parts)


def _would_be_summary(rows: pd.DataFrame) -> str:
    """One sentence on what the denied pairs would get if allowed (median RTT of their physical route)."""
    if "median_if_allowed_ms" not in rows or "denied_frac" not in rows:
        return ""
    denied = rows[(rows["denied_frac"].astype(float) > 0) & np.isfinite(rows["median_if_allowed_ms"].astype(float))]
    if denied.empty:
        return ""
    would = denied["median_if_allowed_ms"].to_numpy(dtype=float)
    listed = "; ".join(f"{p} {w:.1f} ms" for p, w in list(zip(denied["pair"], would, strict=True))[:6])
    more = f" and {len(denied) - 6} more" if len(denied) > 6 else ""
    return (f"<p>{len(denied)} pair{'s' if len(denied) != 1 else ''} denied by policy at some instant would get "
            f"a median RTT of {np.min(would):.1f}–{np.max(would):.1f} ms if allowed "
            f"(median of their medians {np.median(would):.1f} ms): {esc(listed)}{esc(more)}.</p>")


_AVAILABILITY_COLUMNS: list[Column] = [
    ("Name", "name", fmt_text), ("Key", "key", fmt_text), ("Instants", "steps", fmt_int),
    ("Covered", "covered_frac", fmt_pct), ("Routable", "routable_frac", fmt_pct),
    ("Allowed", "allowed_frac", fmt_pct), ("Served", "service_frac", fmt_pct),
    ("Down: " + SPLIT_LABELS["down_no_coverage_frac"].removeprefix("down: "), "down_no_coverage_frac", fmt_pct),
    ("Down: " + SPLIT_LABELS["down_no_route_frac"].removeprefix("down: "), "down_no_route_frac", fmt_pct),
    ("Down: " + SPLIT_LABELS["down_denied_frac"].removeprefix("down: "), "down_denied_frac", fmt_pct),
]


def _availability(tables, meta) -> str | None:
    availability = usable(tables, "availability", ("scope", "key"))
    if availability is None:
        return None
    parts = []
    for scope, heading in (("territory", "Per territory"), ("site", "Per terminal")):
        rows = availability[availability["scope"] == scope]
        if rows.empty:
            continue
        parts.append(f"<h3>{esc(heading)}</h3>")
        parts.append(_figure(plots.availability_figure(tables, scope),
                             "Share of instants served, and the downtime split by cause.", f"Availability {heading}"))
        if scope == "site":
            rows = _grouped(tables, rows, "key")
        parts.append(html_table(rows, _group_column(rows) + [c for c in _AVAILABILITY_COLUMNS if c[1] in rows]))
    return "".join(parts) or None


def _whatif(tables, meta) -> str | None:
    whatif = usable(tables, "whatif", ("variant", "scope", "key"))
    if whatif is None:
        return None
    parts = []
    described = [v for v in (meta.get("variants") or []) if isinstance(v, dict)]
    if described:
        parts.append("<ul>" + "".join(f"<li><b>{esc(v.get('name', ''))}</b>: {esc(v.get('description', ''))}</li>"
                                      for v in described) + "</ul>")
    parts.append(_figure(plots.whatif_figure(tables), "Each policy variant side by side, per territory.",
                         "What-if comparison"))
    variants = list(dict.fromkeys(whatif["variant"].astype(str)))
    whatif = whatif.assign(route=[_route_text(g, p) for g, p in zip(
        whatif["gateway"] if "gateway" in whatif else [""] * len(whatif),
        whatif["pop"] if "pop" in whatif else [""] * len(whatif), strict=True)])
    measures = [(c, h, f) for c, h, f in (("service_frac", "served", fmt_pct), ("denied_frac", "denied", fmt_pct),
                                          ("median_rtt_ms", "median RTT (ms)", fmt_ms),
                                          ("p95_rtt_ms", "p95 RTT (ms)", fmt_ms),
                                          ("route", "gateway → PoP", fmt_text)) if c in whatif]
    names = territory_names(tables)
    for scope, heading in (("territory", "Per territory"), ("site", "Per terminal")):
        rows = whatif[whatif["scope"] == scope]
        if rows.empty:
            continue
        keys = list(dict.fromkeys(rows["key"].astype(str)))
        wide = pd.DataFrame({"key": keys})
        display = dict(zip(rows["key"].astype(str), rows["name"].astype(str), strict=False)) if "name" in rows else {}
        wide["name"] = [names.get(k, display.get(k, k)) if scope == "territory" else display.get(k, k) for k in keys]
        if scope == "site":
            wide = _grouped(tables, wide, "key")
        parts.append(f"<h3>{esc(heading)}</h3>")
        # at most WHATIF_VARIANTS_PER_TABLE variants side by side: more would not fit the page's width
        for first in range(0, len(variants), WHATIF_VARIANTS_PER_TABLE):
            shown = variants[first:first + WHATIF_VARIANTS_PER_TABLE]
            lead: list[Column] = [("Name", "name", fmt_text)]  # terminals in group order (no column: width)
            columns: list[Column] = list(lead)
            groups = [("", len(lead))] + [(variant, len(measures)) for variant in shown]
            for n, variant in enumerate(shown, start=first):
                mine = rows[rows["variant"].astype(str) == variant].drop_duplicates("key")
                part = mine.set_index(mine["key"].astype(str))
                for column, header, fmt in measures:
                    field = f"v{n}_{column}"
                    wide[field] = wide["key"].map(part[column]) if not part.empty else np.nan
                    columns.append((header, field, fmt))
            parts.append(html_table(wide, columns, groups=groups))
    return "".join(parts)


def _capacity(tables, meta) -> str | None:
    """The Capacity section (:mod:`leosim.report.capacity`); only for runs with capacity tables."""
    from . import capacity

    summary = usable(tables, "capacity_summary", ("scope", "key"))
    if summary is None:
        return None
    parts = [_figure(capacity.cell_map_figure(tables), "Served share of demand per H3 cell, over all slots.",
                     "Capacity map"),
             _figure(capacity.throughput_cdf_figure(tables), "available_mbps per fleet (speed-test view).",
                     "Throughput CDFs"),
             _figure(capacity.gateway_utilisation_figure(tables), "Feeder load over capacity.",
                     "Gateway utilisation"),
             _figure(capacity.bottleneck_figure(tables), "Bottleneck of each terminal-slot.", "Bottlenecks")]
    parts.append(html_table(summary, [("Scope", "scope", fmt_text), ("Key", "key", fmt_text),
                                      ("Terminals", "terminals", fmt_int),
                                      ("Demand (Mbps)", "mean_demand_mbps", fmt_float(1)),
                                      ("Served", "served_fraction", fmt_pct), ("p5 Mbps", "p5_mbps", fmt_float(1)),
                                      ("Median Mbps", "median_mbps", fmt_float(1)),
                                      ("At capacity", "at_capacity_frac", fmt_pct), ("Refused", "refused", fmt_int)]))
    deltas = capacity.whatif_mbps_table(tables)
    if deltas is not None and len(deltas.attrs["variants"]) > 1:
        variants = deltas.attrs["variants"]
        columns: list[Column] = [("Territory", "name", fmt_text), (variants[0], "v0", fmt_float(1))]
        for n, variant in enumerate(variants[1:], start=1):
            columns += [(variant, f"v{n}", fmt_float(1)), ("change", f"d{n}", fmt_float(1))]
        parts.append("<h3>What-if: median Mbps per territory</h3>" + html_table(deltas, columns))
    return "".join(parts)


#: Policy variants side by side in one what-if table (each takes five columns).
WHATIF_VARIANTS_PER_TABLE = 2


def _route_text(gateway, pop) -> str:
    """``gateway → PoP`` of the most used route ('' when never served)."""
    gateway, pop = fmt_text(gateway), fmt_text(pop)
    return f"{gateway} → {pop}" if gateway and pop else gateway or pop


def _cost(tables, meta) -> str | None:
    cost = usable(tables, "cost", ("month", "payer", "cost_usd"))
    if cost is None:
        return None
    grid = cost.pivot_table(index="month", columns="payer", values="cost_usd", aggfunc="sum", fill_value=0.0,
                            sort=True)
    payers = [str(p) for p in grid.columns]
    table = pd.DataFrame({"month": [str(m) for m in grid.index]})
    columns: list[Column] = [("Month", "month", fmt_text)]
    for n, payer in enumerate(payers):
        table[f"p{n}"] = grid.iloc[:, n].to_numpy(dtype=float)
        columns.append((f"{payer} (USD)", f"p{n}", fmt_usd))
    table["total"] = grid.to_numpy(dtype=float).sum(axis=1)
    columns.append(("Total (USD)", "total", fmt_usd))
    totals = {"month": "Total", **{c: table[c].sum() for c in table.columns if c != "month"}}
    table = pd.concat([table, _frame([totals])], ignore_index=True)
    parts = [_figure(plots.cost_figure(tables, meta), "Monthly cost per payer (pro rata for part months).",
                     "Cost per payer per month"), html_table(table, columns)]
    fleets_columns = [c for c in ("fleet", "payer", "kind") if c in cost]
    if "fleet" in cost:
        agg = {"first_month": ("month", "min"), "last_month": ("month", "max"), "total": ("cost_usd", "sum")}
        if "terminals" in cost:
            agg["terminals"] = ("terminals", "max")
        fleets = cost.groupby(fleets_columns, sort=True).agg(**agg).reset_index()
        parts.append("<h3>Per fleet</h3>")
        columns = [(c.capitalize(), c, fmt_text) for c in fleets_columns]
        columns += [("From", "first_month", fmt_text), ("To", "last_month", fmt_text)]
        if "terminals" in fleets:
            columns.append(("Terminals (max)", "terminals", fmt_int))
        columns.append(("Total (USD)", "total", fmt_usd))
        parts.append(html_table(fleets, columns))
    return "".join(parts)


def _paths(tables, meta) -> str | None:
    rates = plots.path_change_rates(tables, meta)
    if rates.empty:
        return None
    names = site_names(tables)
    rates = rates.copy()
    rates["pair"] = [f"{names.get(s, s)} → {names.get(d, d)}" for s, d in zip(rates["src"], rates["dst"], strict=True)]
    step_s = plots.step_seconds(tables, meta)
    limited = rates["step_limited"].to_numpy(dtype=bool)
    rates["per_hour"] = [("at least " if lim else "") + fmt_float(1)(v)
                         for v, lim in zip(rates["changes_per_hour"], limited, strict=True)]
    rates["note"] = [f"limited by the {step_s:g} s step" if lim else "" for lim in limited]
    parts = []
    if limited.any():
        parts.append(f"<p>The run samples every {step_s:g} s, so it sees at most {3600.0 / step_s:.0f} changes per "
                     f"hour. {int(limited.sum())} of {len(rates)} pairs changed path at (nearly) every instant: "
                     "their route changes at least that often, and a finer step would be needed to see how "
                     "often.</p>")
    columns: list[Column] = [("Pair", "pair", fmt_text), ("Changes", "changes", fmt_int),
                             ("Per hour", "per_hour", fmt_text),
                             ("Median minutes between", "median_minutes_between", fmt_float(1))]
    if limited.any():
        columns.append(("What the step can see", "note", fmt_text))
    return "".join(parts) + (_figure(plots.path_changes_figure(tables, meta),
                                     "Changes of the node sequence between consecutive instants (satellite handovers, "
                                     "ISL reroutes); a pair that never had a path has no count (—).",
                                     "Path changes per hour")
                             + html_table(rates, columns, numeric={"per_hour", "median_minutes_between"}))


def _notes(tables, meta) -> str | None:
    notes = [str(n) for n in (meta.get("notes") or [])]
    sources = [s for s in (meta.get("sources") or []) if isinstance(s, dict) and (s.get("url") or s.get("source"))]
    if not notes and not sources:
        return None
    parts = ["<ul>" + "".join(f"<li>{esc(n)}</li>" for n in notes) + "</ul>"] if notes else []
    if sources:
        items = []
        for s in sources:
            what = (f"{s.get('subject', '')} {s.get('state', '')}" if s.get("what") == "rule"
                    else f"fleet {s.get('subject', '')}")
            cited = fmt_text(s.get("source")) or fmt_text(s.get("reason"))
            url = fmt_text(s.get("url"))
            items.append(f"<li><b>{esc(what)}</b>: {esc(cited)}"
                         + (f" — {link(url, url)}" if url else "") + "</li>")
        parts.append("<h3>Sources cited by the policy</h3><ul>" + "".join(items) + "</ul>")
    return "".join(parts)


def _inputs(tables, meta) -> str | None:
    rows = [(label, meta.get(key)) for key, label in (
        ("source", "Scenario file"), ("constellation", "Constellation"), ("satellites", "Satellites"),
        ("start", "First instant (UTC)"), ("end", "Last instant (UTC)"), ("step_s", "Step (s)"),
        ("instants", "Instants"), ("routing", "Routing"), ("gateway_selection", "Gateway selection"),
        ("isl", "Inter-satellite links"),
        ("leosim_version", "leosim version"), ("generated_at", "Generated at")) if meta.get(key) not in (None, "")]
    hashes = meta.get("input_sha256") or meta.get("input_hashes") or {}
    if not rows and not hashes:
        return None
    parts = ['<table class="kv"><tbody>' + "".join(f"<tr><th>{esc(k)}</th><td>{esc(v)}</td></tr>" for k, v in rows)
             + "</tbody></table>"]
    if hashes:
        parts.append('<h3>Input files (SHA-256)</h3><table class="kv"><tbody>'
                     + "".join(f"<tr><th>{esc(k)}</th><td><code>{esc(v)}</code></td></tr>"
                               for k, v in sorted(hashes.items())) + "</tbody></table>")
    return "".join(parts)


#: The sections in page order: (anchor id, heading, builder). A builder returns HTML or None to skip.
SECTIONS: tuple[tuple[str, str, Callable[[dict, dict], str | None]], ...] = (
    ("limitations", "What this model does not capture", _limitations),
    ("summary", "Summary", _summary),
    ("map", "Map: territories by service state", _map),
    ("mobility", "Who lost service: moving terminals and rules per terminal", _mobility),
    ("coverage", "Satellites in view", _coverage),
    ("latency", "Latency", _latency),
    ("availability", "Availability", _availability),
    ("whatif", "What-if comparison", _whatif),
    ("capacity", "Capacity", _capacity),
    ("cost", "Cost per payer", _cost),
    ("paths", "Path dynamics", _paths),
    ("notes", "Notes and sources", _notes),
    ("inputs", "Run and inputs", _inputs),
)


def build_report(tables: dict[str, pd.DataFrame], meta: dict) -> str:
    """The report as one self-contained HTML document (str).

    ``tables``: the scenario tables (docs/outputs.md); any may be missing. ``meta``: ``title``, ``scenario``,
    ``description``, ``start``/``end`` (UTC text), ``step_s``, ``constellation``, ``satellites``,
    ``input_sha256`` (name → hash), ``generated_at``, ``leosim_version``, ``notes`` and ``limitations``
    (lists of str), ``variants`` (list of {name, description}) and ``geometries`` (territory key → shapely
    geometry, for custom regions); all optional.
    """
    tables = tables or {}
    meta = meta or {}
    title = str(meta.get("title") or meta.get("scenario") or "leosim scenario report")
    built = []
    for anchor, heading, builder in SECTIONS:
        body = builder(tables, meta)
        if body:
            built.append((anchor, heading, body))
    window = []
    if meta.get("start"):
        hours = plots.window_hours(tables, meta)
        window.append(f"Window from {fmt_instant(meta['start'])}"
                      + (f", {format_duration(hours * 3600.0)}" if np.isfinite(hours) else ""))
    if meta.get("step_s") is not None:
        window.append(f"every {float(meta['step_s']):g} s")
    header = [f"<h1>{esc(title)}</h1>"]
    if meta.get("scenario") and str(meta["scenario"]) != title:
        header.append(f"<p>Scenario: {esc(meta['scenario'])}</p>")
    if window:
        header.append(f"<p>{esc(', '.join(window))}</p>")
    if meta.get("description"):
        header.append(f"<p>{esc(meta['description'])}</p>")
    toc = "".join(f'<li><a href="#{anchor}">{esc(heading)}</a></li>' for anchor, heading, _ in built)
    sections = "".join(
        f'<section id="{anchor}"{_LIMITATIONS_CLASS if anchor == "limitations" else ""}>'
        f"<h2>{esc(heading)}</h2>{body}</section>" for anchor, heading, body in built)
    footer = (f"<footer><p>Generated by leosim {esc(meta.get('leosim_version', ''))}"
              f"{' at ' + esc(meta['generated_at']) if meta.get('generated_at') else ''}.</p></footer>")
    return ("<!DOCTYPE html>\n"
            f'<html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{esc(title)}</title><style>{_CSS}</style></head>"
            f"<body><header>{''.join(header)}</header><main>"
            f'<nav aria-label="Contents"><h2>Contents</h2><ol>{toc}</ol></nav>'
            f"{sections}{footer}</main></body></html>\n")
