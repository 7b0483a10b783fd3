"""Summary tables of a scenario run, computed from the per-instant tables (pandas, at the edge).

Column contracts are documented in docs/outputs.md; every function returns a new DataFrame.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..constants import MIN_STRETCH_DISTANCE_KM
from ..network.references import fibre_rtt_ms, great_circle_km, vacuum_rtt_ms
from ..network.rtt import rtt_statistics

_DOWN = ("no_coverage", "no_route", "denied")
#: Display name of sites outside every territory (at sea, or on land no territory covers).
NO_TERRITORY_NAME = "(outside any territory)"


def availability(access: pd.DataFrame, sites: pd.DataFrame) -> pd.DataFrame:
    """Per site and per territory: fractions of instants covered / routable / allowed / served, and the
    downtime split into no coverage, no route and denied (baseline variant only; instants where a moving
    terminal is absent, off its track, are not counted)."""
    base = access[(access["variant"] == "baseline") & (access["status"] != "absent")].merge(
        sites[["site_id", "name", "territory"]], on="site_id", how="left")
    rows = []
    for scope, key_column in (("site", "site_id"), ("territory", "territory")):
        for key, part in base.groupby(key_column, sort=True):
            status = part["status"].to_numpy()
            name = part["name"].iloc[0] if scope == "site" else (str(key) or NO_TERRITORY_NAME)
            rows.append({
                "scope": scope, "key": str(key), "name": str(name), "steps": len(part),
                "covered_frac": float(part["covered"].mean()), "routable_frac": float(part["routable"].mean()),
                "allowed_frac": float(part["allowed"].mean()), "service_frac": float((status == "ok").mean()),
                **{f"down_{s}_frac": float((status == s).mean()) for s in _DOWN},
            })
    return pd.DataFrame(rows, columns=["scope", "key", "name", "steps", "covered_frac", "routable_frac",
                                       "allowed_frac", "service_frac", "down_no_coverage_frac",
                                       "down_no_route_frac", "down_denied_frac"])


def _path_change_count(paths: pd.Series) -> int:
    values = paths.to_numpy()
    return int(np.count_nonzero(values[1:] != values[:-1])) if values.size > 1 else 0


def latency_summary(latency: pd.DataFrame, access: pd.DataFrame, sites: pd.DataFrame) -> pd.DataFrame:
    """Per pair (named pairs, then each terminal to its most used PoP), under the baseline policy: RTT
    statistics over the instants with a path (a denied end means no path), path changes, the fraction of
    instants denied, the median RTT the physical route would give if the policy allowed it (every instant
    with a physical route, ``median_if_allowed_ms``), and the physical references (great circle, ideal
    fibre, vacuum at ground level) with the stretch (NaN under :data:`MIN_STRETCH_DISTANCE_KM`)."""
    coords = sites.set_index("site_id")[["lat_deg", "lon_deg"]]
    rows = []
    for (src, dst), part in latency.groupby(["src", "dst"], sort=False):
        part = part.sort_values("time_utc")
        would = part["rtt_if_allowed_ms"] if "rtt_if_allowed_ms" in part else part["rtt_ms"]
        rows.append(_summary_row(src, dst, part, coords, part["allowed"].to_numpy(dtype=bool), would))
    base = access[(access["variant"] == "baseline") & (access["pop"] != "")]
    for src, part in base.groupby("site_id", sort=False):
        pop = part["pop"].value_counts().index[0]
        mine = access[(access["variant"] == "baseline") & (access["site_id"] == src)].sort_values("time_utc")
        would = mine["rtt_ms"].where(mine["routable"].astype(bool)) if "routable" in mine else mine["rtt_ms"]
        rows.append(_summary_row(src, pop, mine, coords, mine["allowed"].to_numpy(dtype=bool), would))
    columns = ["src", "dst", "min_ms", "median_ms", "p95_ms", "max_ms", "no_path_frac", "path_changes",
               "great_circle_km", "fibre_rtt_ms", "vacuum_rtt_ms", "stretch_fibre", "stretch_vacuum", "denied_frac",
               "median_if_allowed_ms"]
    return pd.DataFrame(rows, columns=columns)


def _summary_row(src: str, dst: str, part: pd.DataFrame, coords: pd.DataFrame, allowed: np.ndarray,
                 would_ms: pd.Series) -> dict:
    rtt = np.where(allowed, part["rtt_ms"].to_numpy(dtype=np.float64), np.nan)
    stats = rtt_statistics(rtt[:, None])
    would = would_ms.to_numpy(dtype=np.float64)
    would = would[np.isfinite(would)]
    distance = float(great_circle_km(coords.at[src, "lat_deg"], coords.at[src, "lon_deg"],
                                     coords.at[dst, "lat_deg"], coords.at[dst, "lon_deg"]))
    fibre, vacuum = float(fibre_rtt_ms(distance)), float(vacuum_rtt_ms(distance))
    median = float(stats.median_ms[0])
    stretch = distance >= MIN_STRETCH_DISTANCE_KM  # shorter: the ratio measures the shell's altitude
    return {"src": src, "dst": dst,
            "min_ms": float(stats.min_ms[0]), "median_ms": median, "p95_ms": float(stats.p95_ms[0]),
            "max_ms": float(stats.max_ms[0]), "no_path_frac": float(stats.fraction_no_path[0]),
            "path_changes": _path_change_count(part["path"].where(allowed, "")), "great_circle_km": distance,
            "fibre_rtt_ms": fibre, "vacuum_rtt_ms": vacuum,
            "stretch_fibre": median / fibre if stretch else np.nan,
            "stretch_vacuum": median / vacuum if stretch else np.nan,
            "denied_frac": float(1.0 - allowed.mean()) if allowed.size else np.nan,
            "median_if_allowed_ms": float(np.median(would)) if would.size else np.nan}


def path_changes(latency: pd.DataFrame, access: pd.DataFrame) -> pd.DataFrame:
    """Every change of path between consecutive instants: named pairs, and each terminal's path to its PoP
    (baseline). Columns: time_utc, src, dst, old_path, new_path."""
    frames = []
    base = access[access["variant"] == "baseline"].rename(columns={"site_id": "src"})
    base = base.assign(dst="PoP")
    for table in (latency, base):
        if table.empty:
            continue
        ordered = table.sort_values(["src", "dst", "time_utc"], kind="stable")
        previous = ordered.groupby(["src", "dst"], sort=False)["path"].shift()
        changed = previous.notna() & (previous != ordered["path"])
        frames.append(pd.DataFrame({"time_utc": ordered["time_utc"][changed], "src": ordered["src"][changed],
                                    "dst": ordered["dst"][changed], "old_path": previous[changed],
                                    "new_path": ordered["path"][changed]}))
    if not frames:
        return pd.DataFrame(columns=["time_utc", "src", "dst", "old_path", "new_path"])
    return pd.concat(frames, ignore_index=True).sort_values(["time_utc", "src", "dst"], ignore_index=True)


def whatif(access: pd.DataFrame, sites: pd.DataFrame, variant_names) -> pd.DataFrame:
    """Each variant side by side, per territory and per site: fraction served and denied, RTT to the PoP
    when served (median, p95), and the most used gateway and PoP."""
    merged = access.merge(sites[["site_id", "name", "territory"]], on="site_id", how="left")
    rows = []
    for variant in variant_names:
        mine = merged[merged["variant"] == variant]
        for scope, key_column in (("territory", "territory"), ("site", "site_id")):
            for key, part in mine.groupby(key_column, sort=True):
                served = part[part["status"] == "ok"]
                stats = rtt_statistics(served["rtt_ms"].to_numpy(dtype=np.float64)[:, None])
                rows.append({
                    "variant": variant, "scope": scope, "key": str(key),
                    "name": str(part["name"].iloc[0]) if scope == "site" else (str(key) or NO_TERRITORY_NAME),
                    "service_frac": float((part["status"] == "ok").mean()),
                    "denied_frac": float((part["status"] == "denied").mean()),
                    "median_rtt_ms": float(stats.median_ms[0]), "p95_rtt_ms": float(stats.p95_ms[0]),
                    "gateway": _most_used(served["gateway"]), "pop": _most_used(served["pop"])})
    return pd.DataFrame(rows, columns=["variant", "scope", "key", "name", "service_frac", "denied_frac",
                                       "median_rtt_ms", "p95_rtt_ms", "gateway", "pop"])


def _most_used(values: pd.Series) -> str:
    values = values[values != ""]
    return str(values.value_counts().sort_index().idxmax()) if len(values) else ""


def cost(fleets, window_end) -> pd.DataFrame:
    """Cost per payer per calendar month, from the first payer period to the end of the window's month."""
    from ..policy.fleets import cost_by_payer_month

    starts = [p.start for f in fleets for p in f.payers]
    columns = ["month", "payer", "fleet", "terminals", "cost_usd"]
    if not starts:
        return pd.DataFrame(columns=columns)
    end = (np.datetime64(window_end, "M") + 1).astype("datetime64[ns]")
    frame = cost_by_payer_month(fleets, min(starts), end, by_fleet=True)
    counts = {f.name: f.terminal_count for f in fleets}
    terminals = [next((p.terminal_count for p in f.payers if p.payer == payer and p.terminal_count is not None),
                      counts[fleet]) for fleet, payer in zip(frame["fleet"], frame["payer"], strict=True)
                 for f in fleets if f.name == fleet]
    return pd.DataFrame({"month": frame["month"], "payer": frame["payer"], "fleet": frame["fleet"],
                         "terminals": np.asarray(terminals, dtype=np.int64), "cost_usd": frame["cost_usd"],
                         "kind": frame["kind"]})
