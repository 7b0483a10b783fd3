"""Report pieces for terminals that move and rules that look at each terminal: the tracks on a map,
coloured by status, and who lost (and regained) service, when and by which rule.

Both read the baseline ``access`` table only (its ``lat_deg``, ``lon_deg``, ``speed_kmh`` and
``condition`` columns); a run without them (an older run) gets neither.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.lines import Line2D

from .render import SPLIT_COLOURS, new_figure, report_style, site_names, usable

#: Colour of each status along a track (served green, denied red, no route orange, no coverage grey).
STATUS_COLOURS = {"ok": SPLIT_COLOURS["service_frac"], "denied": SPLIT_COLOURS["down_denied_frac"],
                  "no_route": SPLIT_COLOURS["down_no_route_frac"],
                  "no_coverage": SPLIT_COLOURS["down_no_coverage_frac"]}
#: Degrees of margin around the tracks on the map.
MARGIN_DEG = 1.0
_COLUMNS = ("time_utc", "site_id", "status", "rule", "lat_deg", "lon_deg", "speed_kmh", "condition")


def _baseline(tables: dict) -> pd.DataFrame | None:
    access = usable(tables, "access", _COLUMNS)
    if access is None:
        return None
    if "variant" in access:
        access = access[access["variant"] == "baseline"]
    return access.sort_values(["site_id", "time_utc"], kind="stable")


def moving_sites(access: pd.DataFrame) -> list[str]:
    """Ids of the terminals that move in ``access`` (a position that changes, or absent instants)."""
    by_site = access.groupby("site_id", sort=True)
    spread = by_site["lat_deg"].agg(lambda v: np.nanmax(v) - np.nanmin(v) if np.isfinite(v).any() else 0.0)
    spread += by_site["lon_deg"].agg(lambda v: np.nanmax(v) - np.nanmin(v) if np.isfinite(v).any() else 0.0)
    absent = by_site["status"].agg(lambda s: bool((s == "absent").any()))
    return sorted(set(spread.index[spread.to_numpy() > 0]) | set(absent.index[absent.to_numpy()]))


def tracks_figure(tables: dict, meta: dict | None = None):
    """(title, figure): the moving terminals' positions at each instant, coloured by status, over the
    territories' service states; None when nothing moves."""
    from .maps import _MapData

    access = _baseline(tables)
    if access is None:
        return None
    moving = moving_sites(access)
    if not moving:
        return None
    rows = access[access["site_id"].isin(moving) & (access["status"] != "absent")]
    if rows.empty:
        return None
    lat, lon = rows["lat_deg"].to_numpy(float), rows["lon_deg"].to_numpy(float)
    extent = (np.nanmin(lon) - MARGIN_DEG, np.nanmax(lon) + MARGIN_DEG, np.nanmin(lat) - MARGIN_DEG,
              np.nanmax(lat) + MARGIN_DEG)
    names = site_names(tables)
    with report_style():
        fig = new_figure(9.0, 6.0)
        ax = fig.add_subplot()
        _MapData(tables, meta).draw(ax, *extent, labels=False, marker_scale=0.5)
        for site_id, part in rows.groupby("site_id", sort=True):
            ax.plot(part["lon_deg"], part["lat_deg"], color="#333333", linewidth=0.8, zorder=40)
            colours = [STATUS_COLOURS.get(s, "#000000") for s in part["status"].astype(str)]
            ax.scatter(part["lon_deg"], part["lat_deg"], c=colours, s=16, zorder=41, edgecolors="#222222",
                       linewidths=0.4)
            ax.annotate(names.get(site_id, site_id), (part["lon_deg"].iloc[-1], part["lat_deg"].iloc[-1]),
                        xytext=(4, 3), textcoords="offset points", fontsize=7, zorder=42)
        handles = [Line2D([], [], marker="o", linestyle="", markerfacecolor=colour, markeredgecolor="white",
                          markersize=7, label=status) for status, colour in STATUS_COLOURS.items()]
        fig.legend(handles=handles, loc="outside lower center", ncols=len(handles))
        ax.set_title("Moving terminals, one dot per instant, by status")
    return "Moving terminals by status", fig


def service_changes(tables: dict) -> pd.DataFrame:
    """Who lost or regained service, when, and by which rule: one row per change of a terminal between
    served (``ok``) and denied by policy, per change of the denying rule, and for terminals denied from
    their first instant.

    Columns: ``site_id``, ``name``, ``time_utc``, ``change`` (``denied from the start``, ``lost``,
    ``regained``, ``denied by another rule``), ``rule``, ``condition``, ``speed_kmh``, ``lat_deg``, ``lon_deg``.
    """
    columns = ["site_id", "name", "time_utc", "change", "rule", "condition", "speed_kmh", "lat_deg", "lon_deg"]
    access = _baseline(tables)
    if access is None:
        return pd.DataFrame(columns=columns)
    names = site_names(tables)
    present = access[access["status"].isin(("ok", "denied"))]
    out = []
    for site_id, part in present.groupby("site_id", sort=True):
        denied = (part["status"] == "denied").to_numpy()
        rule = part["rule"].astype(str).to_numpy()
        flips = np.diff(denied.astype(np.int8), prepend=np.int8(denied[0])) != 0
        other_rule = np.zeros(denied.size, bool)
        other_rule[1:] = denied[1:] & denied[:-1] & (rule[1:] != rule[:-1])
        starts = ([0] if denied[0] else []) + np.flatnonzero(flips | other_rule).tolist()
        for i in starts:
            row = part.iloc[i]
            kind = ("denied from the start" if i == 0 else "denied by another rule" if other_rule[i]
                    else "lost" if denied[i] else "regained")
            out.append({"site_id": site_id, "name": names.get(site_id, site_id), "time_utc": row["time_utc"],
                        "change": kind, "rule": row["rule"], "condition": row["condition"],
                        "speed_kmh": row["speed_kmh"], "lat_deg": row["lat_deg"], "lon_deg": row["lon_deg"]})
    return pd.DataFrame(out, columns=columns)
