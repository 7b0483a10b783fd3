"""Summary tables computed from the parts by batches of whole territories.

The access rows of a batch of territories are read selectively from the parts, the functions of
:mod:`.summaries` are applied to them, and the pieces are put in the order a single pass would give:
identical to computing them on the whole table, without holding it in memory.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from . import summaries
from .parts import part_files
from .tables import TABLE_COLUMNS

SUMMARY_BATCH_ROWS = 2_000_000
"""Access rows (sites x instants x policy variants) read at once to compute the summaries; whole
territories are kept together, so one very large territory may exceed it."""


_SUMMARY_ACCESS_COLUMNS = ("variant", "time_utc", "site_id", "status", "covered", "routable", "allowed", "rtt_ms",
                           "gateway", "pop", "path")


def _territory_batches(sites: pd.DataFrame, terminal_ids: np.ndarray, rows_per_site: int) -> list[list[str]]:
    """Terminal site ids grouped into batches of whole territories, each about :data:`SUMMARY_BATCH_ROWS`
    access rows."""
    territory = sites.set_index("site_id").loc[terminal_ids, "territory"].to_numpy()
    batches, current, rows = [], [], 0
    for key in sorted(set(territory.tolist())):
        ids = terminal_ids[territory == key].tolist()
        if current and rows + len(ids) * rows_per_site > SUMMARY_BATCH_ROWS:
            batches.append(current)
            current, rows = [], 0
        current += ids
        rows += len(ids) * rows_per_site
    if current:
        batches.append(current)
    return batches


def _read_access(access_files: list[Path], site_ids: list[str] | None, rank: dict[str, int]) -> pd.DataFrame:
    """Access rows of ``site_ids`` (all when None), variant-major then time, as a single pass would sort them."""
    filters = [("site_id", "in", site_ids)] if site_ids is not None else None
    pieces = [pq.read_table(f, columns=list(_SUMMARY_ACCESS_COLUMNS), filters=filters) for f in access_files]
    access = pa.concat_tables(pieces).to_pandas() if pieces else pd.DataFrame(columns=_SUMMARY_ACCESS_COLUMNS)
    if not access.empty:  # variant-major, then time; chunks interleave variants
        order = np.lexsort((access["time_utc"].to_numpy(), access["variant"].map(rank).to_numpy()))
        access = access.iloc[order].reset_index(drop=True)
    return access


def _concat(frames: list[pd.DataFrame], empty: pd.DataFrame) -> pd.DataFrame:
    frames = [f for f in frames if not f.empty]
    return pd.concat(frames, ignore_index=True) if frames else empty


@dataclass
class _Summaries:
    availability: list = field(default_factory=list)
    latency_terminals: list = field(default_factory=list)
    path_changes: list = field(default_factory=list)
    whatif: list = field(default_factory=list)
    comparison: list = field(default_factory=list)


def batched_summaries(plan, job_dir: Path, sites: pd.DataFrame) -> tuple[dict[str, pd.DataFrame], pd.DataFrame]:
    """Summary tables from the parts, plus the per-territory comparison used by sweeps."""
    from .sweep import served_comparison

    analyses = plan.spec.analyses
    names = [v.name for v in plan.variants]
    rank = {name: i for i, name in enumerate(names)}
    access_files = part_files(job_dir, "access")
    latency_files = part_files(job_dir, "latency")
    latency = (pa.concat_tables([pq.read_table(f) for f in latency_files]).to_pandas() if latency_files
               else pd.DataFrame(columns=list(TABLE_COLUMNS["latency"])))
    terminal_ids = np.asarray(plan.sites.ids[plan.terminals], dtype=str)
    batches = _territory_batches(sites, terminal_ids, len(plan.times) * len(names))
    acc = _Summaries()
    for batch in batches:
        access = _read_access(access_files, batch if len(batches) > 1 else None, rank)
        empty_latency = latency.iloc[:0]
        if analyses.availability:
            acc.availability.append(summaries.availability(access, sites))
        if analyses.latency:
            part = summaries.latency_summary(empty_latency, access, sites)
            base = access[(access["variant"] == "baseline") & (access["pop"] != "")]
            first_seen = base.groupby("site_id", sort=False)["time_utc"].min()
            position = {site: i for i, site in enumerate(terminal_ids.tolist())}
            if part.empty:  # no terminal reached a PoP in this batch
                part = part.assign(_time=pd.Series(dtype="datetime64[ns]"), _site=pd.Series(dtype=np.int64))
            else:
                part["_time"] = part["src"].map(first_seen)
                part["_site"] = part["src"].map(position)
            acc.latency_terminals.append(part)
        if analyses.path_dynamics:
            acc.path_changes.append(summaries.path_changes(empty_latency, access))
        if analyses.whatif and len(names) > 1:
            acc.whatif.append(summaries.whatif(access, sites, names))
        acc.comparison.append(served_comparison(access, sites))
    out: dict[str, pd.DataFrame] = {}
    if analyses.availability:
        table = _concat(acc.availability, summaries.availability(_read_access([], None, rank), sites))
        scope_rank = table["scope"].map({"site": 0, "territory": 1})
        out["availability"] = table.iloc[np.lexsort((table["key"].to_numpy(), scope_rank.to_numpy()))]
    if analyses.latency:
        pairs = summaries.latency_summary(latency, _read_access([], None, rank), sites)
        terminals = _concat(acc.latency_terminals, pairs.iloc[:0])
        if not terminals.empty:
            order = np.lexsort((terminals["_site"].to_numpy(), terminals["_time"].to_numpy()))
            terminals = terminals.iloc[order].drop(columns=["_time", "_site"])
        out["latency_summary"] = _concat([pairs, terminals], pairs)
    if analyses.path_dynamics:
        from_pairs = summaries.path_changes(latency, _read_access([], None, rank))
        table = _concat([from_pairs, *acc.path_changes], from_pairs)
        out["path_changes"] = (table.sort_values(["time_utc", "src", "dst"], ignore_index=True)
                               if not table.empty else table)
    if analyses.whatif and len(names) > 1:
        table = _concat(acc.whatif, summaries.whatif(_read_access([], None, rank), sites, names))
        order = np.lexsort((table["key"].to_numpy(), table["scope"].map({"territory": 0, "site": 1}).to_numpy(),
                            table["variant"].map(rank).to_numpy()))
        out["whatif"] = table.iloc[order]
    comparison = _concat(acc.comparison, served_comparison(_read_access([], None, rank), sites))
    return out, comparison
