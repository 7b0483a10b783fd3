"""The capacity tables of one slot as data frames, and their summary per territory and fleet.

Columns follow the contracts of issue 12 (``capacity_cells``, ``throughput``, ``gateway_load``,
``capacity_summary``); the extra columns ``at_capacity`` and ``refused`` (cells and terminals) and
``territory`` / ``terminals`` (terminals) feed :func:`capacity_summary`.
"""

from __future__ import annotations

import numpy as np

from .cells import CellTable
from .slot import SlotCapacity


def capacity_cells_frame(time_utc, cells: CellTable, slot: SlotCapacity):
    """``capacity_cells`` rows of one slot: ``time_utc, cell, territory, terminals, demand_mbps, served_mbps,
    beams, satellites, bottleneck`` (+ ``at_capacity``, ``refused``); only cells with terminals. ``cell``
    is the H3 index as a string."""
    import h3
    import pandas as pd

    keep = np.flatnonzero(slot.cell_terminals > 0)
    return pd.DataFrame({
        "time_utc": np.full(keep.size, np.datetime64(time_utc, "ns")),
        "cell": [h3.int_to_str(int(c)) for c in cells.cell[keep].tolist()],
        "territory": cells.territory[keep],
        "terminals": slot.cell_terminals[keep],
        "demand_mbps": slot.cell_demand_mbps[keep],
        "served_mbps": slot.cell_served_mbps[keep],
        "beams": slot.cell_beams[keep],
        "satellites": slot.cell_satellites[keep],
        "bottleneck": slot.cell_bottleneck[keep],
        "at_capacity": slot.cell_at_capacity[keep],
        "refused": slot.cell_refused[keep],
    })


def throughput_frame(time_utc, site_id, fleet, slot: SlotCapacity, *, cell_row=None, territory=None, terminals=None):
    """``throughput`` rows of one slot, one per terminal row: ``time_utc, site_id, fleet, demand_mbps,
    served_mbps, available_mbps, bottleneck`` (+ ``refused``, and ``territory``, ``terminals`` and
    ``at_capacity`` when given the rows' ``territory``, ``terminals`` counts and ``cell_row``)."""
    import pandas as pd

    n = slot.served_mbps.size
    frame = pd.DataFrame({
        "time_utc": np.full(n, np.datetime64(time_utc, "ns")),
        "site_id": np.asarray(site_id, dtype=str),
        "fleet": np.broadcast_to(np.asarray(fleet, dtype=str), (n,)),
        "demand_mbps": slot.demand_mbps,
        "served_mbps": slot.served_mbps,
        "available_mbps": slot.available_mbps,
        "bottleneck": slot.bottleneck,
        "refused": slot.refused,
    })
    if territory is not None:
        frame["territory"] = np.broadcast_to(np.asarray(territory, dtype=str), (n,))
    if terminals is not None:
        frame["terminals"] = np.broadcast_to(np.asarray(terminals, dtype=np.float64), (n,))
    if cell_row is not None:
        rows = np.asarray(cell_row, dtype=np.int64)
        frame["at_capacity"] = np.where(rows >= 0, slot.cell_at_capacity[np.maximum(rows, 0)], False)
    return frame


def gateway_load_frame(time_utc, gateway_ids, slot: SlotCapacity):
    """``gateway_load`` rows of one slot: ``time_utc, gateway, load_mbps, capacity_mbps``; ``gateway_ids``
    names the gateways in the order of ``slot.gateway_sites``."""
    import pandas as pd

    n = slot.gateway_sites.size
    return pd.DataFrame({"time_utc": np.full(n, np.datetime64(time_utc, "ns")),
                         "gateway": np.asarray(gateway_ids, dtype=str), "load_mbps": slot.gateway_load_mbps,
                         "capacity_mbps": slot.gateway_capacity_mbps})


def _weighted_quantile(values: np.ndarray, weights: np.ndarray, q: float) -> float:
    """Quantile ``q`` of ``values`` with ``weights`` (inverted CDF: the least value whose cumulative weight
    reaches ``q`` of the total); NaN when there is no weight."""
    ok = weights > 0
    if not ok.any():
        return float("nan")
    values, weights = values[ok], weights[ok]
    order = np.argsort(values, kind="stable")
    cum = np.cumsum(weights[order])
    return float(values[order][min(np.searchsorted(cum, q * cum[-1]), values.size - 1)])


SUMMARY_COLUMNS = ("scope", "key", "terminals", "mean_demand_mbps", "served_fraction", "p5_mbps", "median_mbps",
                   "at_capacity_frac", "refused")
"""Columns of ``capacity_summary``."""


def capacity_summary(throughput, scopes=("territory", "fleet")):
    """``capacity_summary``: one row per territory and per fleet (``scope``, ``key``) over all slots of a
    ``throughput`` frame (:func:`throughput_frame` with ``terminals``/``territory``/``at_capacity`` when
    present; a row counts as one terminal otherwise). Background subscribers have fleet ``''``.

    Columns (:data:`SUMMARY_COLUMNS`): ``terminals`` (mean per slot), ``mean_demand_mbps`` (per terminal,
    over terminal-slots), ``served_fraction`` (served / demand, NaN without demand), ``p5_mbps`` and
    ``median_mbps`` (of ``available_mbps`` over terminal-slots with a route: what a speed test sees),
    ``at_capacity_frac`` (share of terminal-slots in cells at capacity), ``refused`` (terminals refused,
    summed over slots).
    """
    import pandas as pd

    df = throughput
    weight = df["terminals"].to_numpy(np.float64) if "terminals" in df else np.ones(len(df))
    rows = []
    for scope in scopes:
        if scope not in df:
            continue
        for key, idx in sorted(df.groupby(scope, sort=True).indices.items()):
            w = weight[idx]
            demand = df["demand_mbps"].to_numpy(np.float64)[idx]
            served = df["served_mbps"].to_numpy(np.float64)[idx]
            avail = df["available_mbps"].to_numpy(np.float64)[idx]
            routed = ~np.isin(df["bottleneck"].to_numpy()[idx], ("policy", "no_coverage"))
            slots = df["time_utc"].to_numpy()[idx]
            total_demand = float((w * demand).sum())
            at_cap = (df["at_capacity"].to_numpy(bool)[idx] if "at_capacity" in df else np.zeros(idx.size, bool))
            refused = df["refused"].to_numpy(bool)[idx] if "refused" in df else np.zeros(idx.size, bool)
            total = float(w.sum())
            rows.append({
                "scope": scope, "key": str(key),
                "terminals": total / max(np.unique(slots).size, 1),
                "mean_demand_mbps": total_demand / total if total > 0 else float("nan"),
                "served_fraction": float((w * served).sum()) / total_demand if total_demand > 0 else float("nan"),
                "p5_mbps": _weighted_quantile(avail[routed], w[routed], 0.05),
                "median_mbps": _weighted_quantile(avail[routed], w[routed], 0.5),
                "at_capacity_frac": float((w * at_cap).sum()) / total if total > 0 else float("nan"),
                "refused": float((w * refused).sum()),
            })
    return pd.DataFrame(rows, columns=list(SUMMARY_COLUMNS))


def median_available_mbps(throughput, by=("variant", "site_id")):
    """Per-terminal median ``available_mbps`` per group of ``by`` over the terminal-slots with a route
    (weighted by ``terminals`` when present): a frame of the ``by`` columns and ``median_mbps``."""
    import pandas as pd

    df = throughput[~throughput["bottleneck"].isin(["policy", "no_coverage"])]
    weight = df["terminals"].to_numpy(np.float64) if "terminals" in df else np.ones(len(df))
    avail = df["available_mbps"].to_numpy(np.float64)
    rows = [(*(key if isinstance(key, tuple) else (key,)), _weighted_quantile(avail[idx], weight[idx], 0.5))
            for key, idx in sorted(df.groupby(list(by), sort=True).indices.items())]
    return pd.DataFrame(rows, columns=[*by, "median_mbps"])
