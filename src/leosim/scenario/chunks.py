"""Chunk tasks: the unit of work a backend runs. A task computes instants ``[first, last)`` of one plan with
its worker's engine (:func:`~leosim.scenario.engine_cache.engine_for`) and writes them as parts
(:mod:`leosim.scenario.parts`). A worker holds one chunk's arrays at a time."""

from __future__ import annotations

import os
import resource
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from .engine_cache import engine_for
from .parts import part_path, write_marker, write_part

DEFAULT_CHUNK_STEPS = 60
"""Instants per chunk: small enough to bound memory (a chunk of starlink-gen1 states is ~25 MB), large
enough to amortise the per-chunk set-up."""


@dataclass(frozen=True)
class ChunkTask:
    """One chunk of one plan: instants ``[first, last)``, written into ``parts_dir``."""

    plan: object
    first: int
    last: int
    parts_dir: str


@dataclass(frozen=True)
class ChunkDone:
    """What a finished chunk task reports: rows written per table, and its worker's pid and peak memory."""

    parts_dir: str
    first: int
    rows: dict[str, int]
    pid: int
    peak_rss_mib: float


def run_chunk_task(task: ChunkTask) -> ChunkDone:
    """Run one chunk and write its Parquet parts and its marker (module level: picklable for any backend).

    The engine is called as ``engine.run(times) -> {table name: {column: array}}`` over the chunk's instants.
    """
    engine = engine_for(task.plan)
    columns = engine.run(engine.plan.times[task.first:task.last])
    job_dir = Path(task.parts_dir)
    rows, parts = {}, {}
    for table, data in columns.items():
        arrow = pa.table(data)
        parts[table] = write_part(part_path(job_dir, table, task.first), arrow)
        rows[table] = arrow.num_rows
    write_marker(job_dir, task.plan, task.first, task.last, parts, rows)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB on Linux
    return ChunkDone(task.parts_dir, task.first, rows, os.getpid(), peak)


def chunk_bounds(n_steps: int, chunk_steps: int) -> list[tuple[int, int]]:
    """``[first, last)`` instant ranges of the chunks."""
    chunk_steps = max(1, int(chunk_steps))
    return [(a, min(a + chunk_steps, n_steps)) for a in range(0, n_steps, chunk_steps)]
