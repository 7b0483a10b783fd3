"""Running a scenario: split the window into chunks, run them on a backend, write the results atomically.

Backends: in-process (``workers=1``) and local processes (``workers=N``). Every chunk writes its own
Parquet parts; the final tables are assembled from the parts in time order, so they are identical whatever
the backend, the number of workers or the order chunks finish in.

The output folder is built under a temporary name beside the target and renamed into place only when it
is complete (``manifest.json`` is its last file): an interrupted or failed run never leaves a folder that
looks complete.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from ..timebase import Times
from . import summaries
from .engine import ChunkEngine
from .tables import TABLE_COLUMNS

PER_INSTANT_TABLES = ("coverage", "access", "latency")
SUMMARY_TABLES = ("sites", "territory_state", "availability", "latency_summary", "path_changes", "whatif", "cost")
DEFAULT_CHUNK_STEPS = 60
"""Instants per chunk: small enough to bound memory (a chunk of starlink-gen1 states is ~25 MB), large
enough to amortise the per-chunk set-up."""

_ENGINES: dict[str, ChunkEngine] = {}


def _chunk_task(plan, first: int, last: int, parts_dir: str) -> tuple[int, dict[str, int]]:
    """Run instants ``[first, last)`` and write their Parquet parts; returns the rows written per table."""
    engine = _ENGINES.get(plan.fingerprint)
    if engine is None:
        _ENGINES.clear()
        engine = _ENGINES[plan.fingerprint] = ChunkEngine(plan)
    columns = engine.run(plan.times[first:last])
    rows = {}
    for table, data in columns.items():
        path = Path(parts_dir) / f"{table}-{first:09d}.parquet"
        tmp = path.with_suffix(".tmp")
        pq.write_table(pa.table(data), tmp, compression="zstd")
        os.replace(tmp, path)
        rows[table] = len(next(iter(data.values()))) if data else 0
    return first, rows


def chunk_bounds(n_steps: int, chunk_steps: int) -> list[tuple[int, int]]:
    """``[first, last)`` instant ranges of the chunks."""
    chunk_steps = max(1, int(chunk_steps))
    return [(a, min(a + chunk_steps, n_steps)) for a in range(0, n_steps, chunk_steps)]


def run_chunks(plan, parts_dir: Path, *, workers: int = 1, chunk_steps: int = DEFAULT_CHUNK_STEPS,
               progress: Callable[[int, int], None] | None = None) -> None:
    """Run every chunk of ``plan`` into ``parts_dir`` on ``workers`` processes (1 = in this process)."""
    bounds = chunk_bounds(len(plan.times), chunk_steps)
    done = 0
    if workers <= 1:
        for first, last in bounds:
            _chunk_task(plan, first, last, str(parts_dir))
            done += 1
            if progress:
                progress(done, len(bounds))
        return
    with ProcessPoolExecutor(max_workers=workers) as pool:
        futures = [pool.submit(_chunk_task, plan, first, last, str(parts_dir)) for first, last in bounds]
        for future in futures:
            future.result()
            done += 1
            if progress:
                progress(done, len(bounds))


def _read_parts(parts_dir: Path, table: str) -> pd.DataFrame:
    files = sorted(parts_dir.glob(f"{table}-*.parquet"))
    if not files:
        return pd.DataFrame()
    return pa.concat_tables([pq.read_table(f) for f in files]).to_pandas()


def sites_table(plan) -> pd.DataFrame:
    """The ``sites`` table: every site with its territory, region, fleet and group."""
    sites, attrs = plan.sites, plan.site_attributes
    return pd.DataFrame({"site_id": sites.ids.astype(str), "name": sites.names.astype(str),
                         "kind": sites.kinds.astype(str), "lat_deg": sites.lat_deg, "lon_deg": sites.lon_deg,
                         "country": sites.country.astype(str), "territory": attrs["territory"],
                         "region": attrs["region"], "fleet": attrs["fleet"], "group": attrs["group"]})


def territory_state_table(plan, variant_index: int = 0) -> pd.DataFrame:
    """Service state of every country and custom region at the window's start (for the map)."""
    from ..policy.rules import evaluate

    territories = plan.territories
    variant = plan.variants[variant_index]
    codes = territories.codes.astype(str)
    regions = np.array(territories.region_names, dtype=str)
    keys = np.concatenate([codes, regions])
    layer = np.array(["country"] * codes.size + ["region"] * regions.size)
    country = np.concatenate([codes, np.full(regions.size, "")])
    region = np.concatenate([np.full(codes.size, ""), regions])
    instant = plan.times[:1]
    _, rule_index = evaluate(variant.rules, territory=country, region=region, fleet=None, terminal_id=None,
                             instants=instant, default_state=plan.spec.policy.default_state, check=False)
    rule_index = rule_index[:, 0]
    rules = variant.rules
    state = np.array([rules[i].state if i >= 0 else "none" for i in rule_index.tolist()])
    rule = np.array([f"{rules[i].subject} {rules[i].state}: {rules[i].reason}" if i >= 0 else ""
                     for i in rule_index.tolist()])
    since = np.array([rules[i].valid_from if i >= 0 else np.datetime64("NaT", "ns") for i in rule_index.tolist()],
                     dtype="datetime64[ns]")
    return pd.DataFrame({"territory": keys, "layer": layer, "state": state, "rule": rule, "since": since})


def assemble(plan, parts_dir: Path) -> dict[str, pd.DataFrame]:
    """All result tables from a finished set of chunk parts."""
    analyses = plan.spec.analyses
    tables = {name: _read_parts(parts_dir, name) for name in PER_INSTANT_TABLES}
    sites = sites_table(plan)
    rank = {v.name: i for i, v in enumerate(plan.variants)}
    access = tables["access"]
    if not access.empty:  # variant-major, then time; chunks may interleave variants
        order = np.lexsort((access["time_utc"].to_numpy(), access["variant"].map(rank).to_numpy()))
        access = access.iloc[order].reset_index(drop=True)
    out: dict[str, pd.DataFrame] = {"sites": sites, "territory_state": territory_state_table(plan)}
    if analyses.coverage:
        out["coverage"] = tables["coverage"]
    out["access"] = access[access["variant"] == "baseline"].drop(columns="variant").reset_index(drop=True)
    if len(plan.variants) > 1:
        out["access_variants"] = access
    if analyses.availability:
        out["availability"] = summaries.availability(access, sites)
    if analyses.latency:
        out["latency"] = tables["latency"]
        out["latency_summary"] = summaries.latency_summary(tables["latency"], access, sites)
    if analyses.path_dynamics:
        out["path_changes"] = summaries.path_changes(tables["latency"], access)
    if analyses.whatif and len(plan.variants) > 1:
        out["whatif"] = summaries.whatif(access, sites, [v.name for v in plan.variants])
    if analyses.cost:
        out["cost"] = summaries.cost(plan.fleets, plan.times.utc[-1])
    return {name: _in_contract_order(name, frame) for name, frame in out.items()}


def _in_contract_order(name: str, frame: pd.DataFrame) -> pd.DataFrame:
    """The table's columns in the documented order (an empty table still gets its columns)."""
    columns = list(TABLE_COLUMNS[name])
    if frame.empty and not set(columns) <= set(frame.columns):
        return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})
    return frame[columns].reset_index(drop=True)


def resolved_scenario(plan) -> dict:
    """The scenario with every default filled in, and the hashes of its inputs."""
    return {"scenario": json.loads(plan.spec.model_dump_json(by_alias=True)), "input_sha256": plan.input_hashes,
            "fingerprint": plan.fingerprint, "instants": len(plan.times),
            "satellites": len(plan.constellation), "sites": len(plan.sites)}


def write_results(out_dir: Path, tables: dict[str, pd.DataFrame], plan, report_html: str | None) -> None:
    """Write the tables, the resolved scenario and the report into ``out_dir`` atomically."""
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.tmp-", dir=out_dir.parent))
    try:
        for name, frame in tables.items():
            pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), staging / f"{name}.parquet",
                           compression="zstd")
        (staging / "scenario.resolved.json").write_text(json.dumps(resolved_scenario(plan), indent=2,
                                                                   default=str) + "\n")
        if report_html is not None:
            (staging / "report.html").write_text(report_html, encoding="utf-8")
        manifest = {"complete": True, "fingerprint": plan.fingerprint,
                    "tables": {name: len(frame) for name, frame in tables.items()},
                    "report": report_html is not None}
        (staging / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
        _swap_into_place(staging, out_dir)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)


def _swap_into_place(staging: Path, out_dir: Path) -> None:
    """Rename ``staging`` to ``out_dir``; an existing ``out_dir`` is moved aside first, then removed."""
    old = None
    if out_dir.exists():
        old = out_dir.with_name(f".{out_dir.name}.old-{os.getpid()}")
        os.replace(out_dir, old)
    os.replace(staging, out_dir)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def times_of(plan) -> Times:
    """The run's instants."""
    return plan.times
