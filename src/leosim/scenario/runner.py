"""Running a scenario: split the window into chunks, run them on a backend, assemble and write the results.

The orchestration only; each step is a module of its own:

- **chunks** (:mod:`.chunks`): a chunk task computes instants ``[first, last)`` with its worker's engine
  (:mod:`.engine_cache`) and writes one Parquet part per per-instant table;
- **parts** (:mod:`.parts`): the parts folder beside the output, its manifest, and the verified markers that
  let ``resume=True`` keep complete chunks (and refuse a folder of another scenario, inputs, version or
  chunking);
- **assembly** (here): per-instant tables (coverage, access, latency) are streamed from the parts into their
  final Parquet file in time order (:mod:`.tablewriter`, fixed row groups: the bytes do not depend on the
  chunking); summary tables are computed by batches of territories (:mod:`.summary_batches`);
- **output** (:mod:`.outputs`, :mod:`leosim.output`): the result folder is built under a temporary name
  and swapped into place when complete (``manifest.json`` last).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow.compute as pc
import pyarrow.parquet as pq

from . import summaries
from .chunks import DEFAULT_CHUNK_STEPS, ChunkDone, ChunkTask, chunk_bounds, run_chunk_task
from .outputs import ResultTables, in_contract_order, write_frame
from .parts import Job, completed_chunks, part_files, prepare_parts
from .plan_tables import sites_table, territory_state_table
from .summary_batches import batched_summaries
from .tables import TABLE_COLUMNS
from .tablewriter import RowGroupWriter

PER_INSTANT_TABLES = ("coverage", "access", "latency")
SUMMARY_TABLES = ("sites", "territory_state", "availability", "latency_summary", "path_changes", "whatif", "cost")

__all__ = [
    "DEFAULT_CHUNK_STEPS",
    "PER_INSTANT_TABLES",
    "SUMMARY_TABLES",
    "Assembled",
    "Job",
    "assemble",
    "run_chunks",
]


def run_chunks(jobs: list[Job], parts_dir: Path, *, backend=None, chunk_steps: int = DEFAULT_CHUNK_STEPS,
               resume: bool = False, progress: Callable[[int, int], None] | None = None) -> list[ChunkDone]:
    """Run every chunk of every job into ``parts_dir`` on ``backend`` (default: in this process); chunks of
    all jobs are scheduled together, job by job. With ``resume``, complete chunks already there are skipped.
    Returns what each chunk run here reported."""
    from .backends import InProcessBackend

    backend = backend or InProcessBackend()
    prepare_parts(parts_dir, jobs, chunk_steps, resume=resume)
    tasks, total = [], 0
    for job in jobs:
        bounds = chunk_bounds(len(job.plan.times), chunk_steps)
        total += len(bounds)
        job_dir = Path(parts_dir) / job.subdir
        skip = completed_chunks(job_dir, job.plan, bounds) if resume else set()
        tasks += [ChunkTask(job.plan, first, last, str(job_dir)) for first, last in bounds if first not in skip]
    results: list[ChunkDone] = []
    done = total - len(tasks)
    if progress:
        progress(done, total)

    def on_result(_index: int, result: ChunkDone) -> None:
        nonlocal done
        results.append(result)
        done += 1
        if progress:
            progress(done, total)

    backend.map(run_chunk_task, tasks, on_result)
    return results


def stream_per_instant(plan, job_dir: Path, dest: Path) -> list[str]:
    """Write coverage, access (baseline), access_variants (all, if several) and latency into ``dest``;
    returns the names of the tables written, in the order of the results."""
    analyses = plan.spec.analyses
    names = [v.name for v in plan.variants]
    written = []
    if analyses.coverage:
        writer = RowGroupWriter(dest / "coverage.parquet", TABLE_COLUMNS["coverage"])
        for path in part_files(job_dir, "coverage"):
            writer.write(pq.read_table(path))
        writer.close()
        written.append("coverage")
    access_files = part_files(job_dir, "access")
    baseline = RowGroupWriter(dest / "access.parquet", TABLE_COLUMNS["access"])
    every = (RowGroupWriter(dest / "access_variants.parquet", TABLE_COLUMNS["access_variants"])
             if len(names) > 1 else None)
    for name in names:  # variant-major, then time
        for path in access_files:
            part = pq.read_table(path)
            mine = part.filter(pc.equal(part["variant"], name))
            if name == "baseline":
                baseline.write(mine)
            if every is not None:
                every.write(mine)
    baseline.close()
    written.append("access")
    if every is not None:
        every.close()
        written.append("access_variants")
    if analyses.latency:
        writer = RowGroupWriter(dest / "latency.parquet", TABLE_COLUMNS["latency"])
        for path in part_files(job_dir, "latency"):
            writer.write(pq.read_table(path))
        writer.close()
        written.append("latency")
    return written


@dataclass
class Assembled:
    """One plan's assembled results: its tables and its per-territory comparison (for sweeps)."""

    tables: ResultTables
    comparison: pd.DataFrame


def assemble(plan, job_dir: Path, dest: Path) -> Assembled:
    """Write every result table of ``plan`` from its chunk parts in ``job_dir`` into folder ``dest``
    (streaming the per-instant tables); returns them with summary tables in memory."""
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    analyses = plan.spec.analyses
    sites = sites_table(plan)
    on_disk = stream_per_instant(plan, Path(job_dir), dest)
    computed, comparison = batched_summaries(plan, Path(job_dir), sites)
    frames: dict[str, pd.DataFrame | None] = {"sites": sites, "territory_state": territory_state_table(plan)}
    for name in ("coverage", "access", "access_variants"):
        if name in on_disk:
            frames[name] = None
    if analyses.availability:
        frames["availability"] = computed["availability"]
    if analyses.latency:
        frames["latency"] = None
        frames["latency_summary"] = computed["latency_summary"]
    if analyses.path_dynamics:
        frames["path_changes"] = computed["path_changes"]
    if "whatif" in computed:
        frames["whatif"] = computed["whatif"]
    if analyses.cost:
        frames["cost"] = summaries.cost(plan.fleets, plan.times.utc[-1])
    for name, frame in frames.items():
        if frame is not None:
            frame = frames[name] = in_contract_order(name, frame)
            write_frame(dest / f"{name}.parquet", frame)
    return Assembled(ResultTables(frames, dest), comparison)
