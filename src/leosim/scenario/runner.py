"""Running a scenario: split the window into chunks, run them on a backend, assemble and write the results.

**Chunks.** The window is split into chunks of ``chunk_steps`` instants. A chunk task rebuilds (or reuses,
per worker) a :class:`~leosim.scenario.engine.ChunkEngine`, computes its instants and writes one Parquet
part per per-instant table, each atomically (temporary name, then rename), and last a small
``chunk-<first>.json`` marker: a chunk is complete when its marker exists. A worker holds one chunk's
arrays at a time.

**Parts folder.** Parts live in a stable folder beside the output, ``.leosim-parts-<out name>/`` (a sweep
variant's under ``variants/<name>/`` inside it), with a ``manifest.json`` naming each plan's fingerprint
(a hash of the scenario text and every input file), leosim's version and the chunking. ``resume=True``
keeps the complete chunks of a matching manifest and refuses (:class:`LeosimInputError`) a folder made by
another scenario, other inputs, another version or another chunking; without it, stale parts are
discarded. The folder is removed once the results are in place.

**Assembly.** Per-instant tables (coverage, access, latency) are streamed from the parts into their final
Parquet file with a ``ParquetWriter``, in time order, in row groups of a fixed number of rows (so the bytes
do not depend on the chunking). Summary tables are computed by the functions of :mod:`.summaries` on
batches of whole territories whose access rows are read selectively from the parts, then put in the order
a single pass would give: identical to computing them on the whole table, without holding it in memory.

**Output.** The output folder is built under a temporary name beside the target and renamed into place
only when it is complete (``manifest.json`` is its last file): an interrupted or failed run never leaves
a folder that looks complete.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import tempfile
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ..errors import LeosimInputError
from . import summaries
from .engine import ChunkEngine
from .tables import TABLE_COLUMNS

PER_INSTANT_TABLES = ("coverage", "access", "latency")
SUMMARY_TABLES = ("sites", "territory_state", "availability", "latency_summary", "path_changes", "whatif", "cost")
DEFAULT_CHUNK_STEPS = 60
"""Instants per chunk: small enough to bound memory (a chunk of starlink-gen1 states is ~25 MB), large
enough to amortise the per-chunk set-up."""

PARTS_PREFIX = ".leosim-parts-"
"""The parts folder of output ``<dir>/<name>`` is ``<dir>/.leosim-parts-<name>``."""
PARTS_FORMAT = 1
"""Version of the parts folder layout (a resume across layouts is refused)."""
ROW_GROUP_ROWS = 1 << 17
"""Rows per row group of the per-instant tables: fixed, so that the file bytes do not depend on chunking;
~10-30 MB of access rows in memory while writing."""
SUMMARY_BATCH_ROWS = 2_000_000
"""Access rows (sites x instants x policy variants) read at once to compute the summaries; whole
territories are kept together, so one very large territory may exceed it."""
_ENGINE_CACHE_SIZE = 2
"""Engines (one per plan) a worker keeps: a sweep's chunks are scheduled plan by plan."""

_ENGINES: OrderedDict[str, ChunkEngine] = OrderedDict()


# -- chunk tasks ---------------------------------------------------------------------------------------------
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


def _engine_for(plan) -> ChunkEngine:
    key = plan.fingerprint
    engine = _ENGINES.get(key)
    if engine is None:
        engine = _ENGINES[key] = ChunkEngine(plan)
        while len(_ENGINES) > _ENGINE_CACHE_SIZE:
            _ENGINES.popitem(last=False)
    _ENGINES.move_to_end(key)
    return engine


def _write_atomically(path: Path, write: Callable[[Path], None]) -> None:
    """``write(tmp)`` then rename ``tmp`` to ``path`` (a unique temporary name: retries never collide)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}-{uuid.uuid4().hex[:8]}.tmp")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def run_chunk_task(task: ChunkTask) -> ChunkDone:
    """Run one chunk and write its Parquet parts and its marker (module level: picklable for any backend)."""
    engine = _engine_for(task.plan)
    columns = engine.run(engine.plan.times[task.first:task.last])
    parts = Path(task.parts_dir)
    rows = {}
    for table, data in columns.items():
        arrow = pa.table(data)
        _write_atomically(parts / f"{table}-{task.first:09d}.parquet",
                          lambda tmp, arrow=arrow: pq.write_table(arrow, tmp, compression="zstd"))
        rows[table] = arrow.num_rows
    marker = {"fingerprint": task.plan.fingerprint, "first": task.first, "last": task.last, "rows": rows}
    _write_atomically(parts / f"chunk-{task.first:09d}.json",
                      lambda tmp: tmp.write_text(json.dumps(marker, sort_keys=True)))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB on Linux
    return ChunkDone(task.parts_dir, task.first, rows, os.getpid(), peak)


def chunk_bounds(n_steps: int, chunk_steps: int) -> list[tuple[int, int]]:
    """``[first, last)`` instant ranges of the chunks."""
    chunk_steps = max(1, int(chunk_steps))
    return [(a, min(a + chunk_steps, n_steps)) for a in range(0, n_steps, chunk_steps)]


# -- jobs and the parts folder -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Job:
    """One plan to run: the scenario (``baseline``) or a sweep variant; ``subdir`` is its place in the parts
    folder and the output (``''`` for the baseline, ``variants/<name>`` for a variant)."""

    name: str
    plan: object
    subdir: str = ""


def parts_dir_for(out: str | Path) -> Path:
    """The stable parts folder of output folder ``out``."""
    out = Path(out).resolve()
    return out.parent / f"{PARTS_PREFIX}{out.name}"


def _leosim_version() -> str:
    from .api import leosim_version

    return leosim_version()


def _manifest(jobs: list[Job], chunk_steps: int) -> dict:
    return {"format": PARTS_FORMAT, "leosim_version": _leosim_version(), "chunk_steps": int(chunk_steps),
            "jobs": {job.name: {"fingerprint": job.plan.fingerprint, "instants": len(job.plan.times),
                                "subdir": job.subdir} for job in jobs}}


def prepare_parts(parts_dir: Path, jobs: list[Job], chunk_steps: int, *, resume: bool) -> None:
    """Make ``parts_dir`` ready for ``jobs``: with ``resume``, keep a matching folder (refuse one that does
    not match); otherwise start afresh."""
    parts_dir = Path(parts_dir)
    wanted = _manifest(jobs, chunk_steps)
    manifest_path = parts_dir / "manifest.json"
    if resume and manifest_path.is_file():
        try:
            found = json.loads(manifest_path.read_text())
        except (OSError, ValueError):
            found = None
        problem = _resume_mismatch(found, wanted)
        if problem:
            raise LeosimInputError(f"cannot resume from {parts_dir}: {problem}; run again without --resume to "
                                   "start afresh", source=jobs[0].plan.source, field="--resume")
        return
    if parts_dir.exists():
        shutil.rmtree(parts_dir)
    for job in jobs:
        (parts_dir / job.subdir).mkdir(parents=True, exist_ok=True)
    _write_atomically(manifest_path, lambda tmp: tmp.write_text(json.dumps(wanted, indent=2, sort_keys=True)))


def _resume_mismatch(found: dict | None, wanted: dict) -> str:
    """Why a parts folder cannot be resumed ('' when it can)."""
    if not isinstance(found, dict):
        return "its manifest is unreadable"
    if found.get("format") != wanted["format"]:
        return "it was written by another layout of the parts folder"
    if found.get("leosim_version") != wanted["leosim_version"]:
        return f"it was written by leosim {found.get('leosim_version')}, this is {wanted['leosim_version']}"
    if found.get("chunk_steps") != wanted["chunk_steps"]:
        return (f"it was chunked by {found.get('chunk_steps')} instants, this run by {wanted['chunk_steps']} "
                "(give the same --chunk-steps)")
    jobs_found = found.get("jobs", {})
    if set(jobs_found) != set(wanted["jobs"]):
        return "its sweep variants differ from this scenario's"
    for name, job in wanted["jobs"].items():
        if jobs_found[name] != job:
            what = "the scenario" if name == "baseline" else f"sweep variant {name!r}"
            return f"{what} or one of its input files changed since (fingerprint {job['fingerprint'][:12]}, " \
                   f"parts made from {str(jobs_found[name].get('fingerprint'))[:12]})"
    return ""


def completed_chunks(job_dir: Path, plan, bounds: list[tuple[int, int]]) -> set[int]:
    """First instants of the chunks of ``plan`` whose marker and parts are all in ``job_dir``."""
    done = set()
    fingerprint = plan.fingerprint
    for first, last in bounds:
        marker = job_dir / f"chunk-{first:09d}.json"
        if not marker.is_file():
            continue
        try:
            entry = json.loads(marker.read_text())
        except (OSError, ValueError):
            continue
        if (entry.get("fingerprint") == fingerprint and entry.get("first") == first and entry.get("last") == last
                and all((job_dir / f"{t}-{first:09d}.parquet").is_file() for t in entry.get("rows", {}))):
            done.add(first)
    return done


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


# -- tables that do not depend on the chunks -----------------------------------------------------------------
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


# -- streaming the per-instant tables ------------------------------------------------------------------------
class _RowGroupWriter:
    """Writes tables to one Parquet file in row groups of exactly ``rows_per_group`` rows (the last one
    shorter), whatever the sizes of the pieces given: the bytes depend on the rows only."""

    def __init__(self, path: Path, columns: tuple[str, ...], rows_per_group: int | None = None):
        self.path, self.columns = Path(path), columns
        self.rows_per_group = rows_per_group or ROW_GROUP_ROWS
        self._buffer: list[pa.Table] = []
        self._buffered = 0
        self._writer: pq.ParquetWriter | None = None
        self.rows = 0

    def write(self, table: pa.Table) -> None:
        table = table.select(list(self.columns))
        if self._writer is None:
            self._schema = table.schema
            self._writer = pq.ParquetWriter(self.path, table.schema, compression="zstd")
        elif not table.schema.equals(self._schema):
            table = table.cast(self._schema)
        if table.num_rows:
            self._buffer.append(table)
            self._buffered += table.num_rows
        while self._buffered >= self.rows_per_group:
            self._flush(self.rows_per_group)

    def _flush(self, n: int) -> None:
        whole = pa.concat_tables(self._buffer)
        self._writer.write_table(whole.slice(0, n).combine_chunks(), row_group_size=n)
        rest = whole.slice(n)
        self._buffer = [rest] if rest.num_rows else []
        self._buffered = rest.num_rows
        self.rows += n

    def close(self) -> None:
        if self._writer is None:
            return
        if self._buffered:
            self._flush(self._buffered)
        self._writer.close()


def _part_files(job_dir: Path, table: str) -> list[Path]:
    return sorted(Path(job_dir).glob(f"{table}-*.parquet"))


def _stream_per_instant(plan, job_dir: Path, dest: Path) -> list[str]:
    """Write coverage, access (baseline), access_variants (all, if several) and latency into ``dest``;
    returns the names of the tables written, in the order of the results."""
    analyses = plan.spec.analyses
    names = [v.name for v in plan.variants]
    written = []
    if analyses.coverage:
        writer = _RowGroupWriter(dest / "coverage.parquet", TABLE_COLUMNS["coverage"])
        for path in _part_files(job_dir, "coverage"):
            writer.write(pq.read_table(path))
        writer.close()
        written.append("coverage")
    access_files = _part_files(job_dir, "access")
    baseline = _RowGroupWriter(dest / "access.parquet", TABLE_COLUMNS["access"])
    every = (_RowGroupWriter(dest / "access_variants.parquet", TABLE_COLUMNS["access_variants"])
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
        writer = _RowGroupWriter(dest / "latency.parquet", TABLE_COLUMNS["latency"])
        for path in _part_files(job_dir, "latency"):
            writer.write(pq.read_table(path))
        writer.close()
        written.append("latency")
    return written


# -- summaries, by batches of territories --------------------------------------------------------------------
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


def _summaries(plan, job_dir: Path, sites: pd.DataFrame) -> tuple[dict[str, pd.DataFrame], pd.DataFrame]:
    """Summary tables from the parts, plus the per-territory comparison used by sweeps."""
    from .sweep import served_comparison

    analyses = plan.spec.analyses
    names = [v.name for v in plan.variants]
    rank = {name: i for i, name in enumerate(names)}
    access_files = _part_files(job_dir, "access")
    latency_files = _part_files(job_dir, "latency")
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


# -- the result tables ---------------------------------------------------------------------------------------
class ResultTables(Mapping):
    """The tables of a run by name: summary tables held in memory, per-instant tables (coverage, access,
    access_variants, latency) read from their Parquet file each time they are asked for (they can be
    larger than memory; read them with ``pyarrow.parquet`` for selected columns or row groups)."""

    def __init__(self, frames: dict[str, pd.DataFrame | None], folder: Path):
        self._frames = dict(frames)  # None: on disk
        self.folder = Path(folder)

    def path(self, name: str) -> Path:
        """The Parquet file of table ``name``."""
        return self.folder / f"{name}.parquet"

    def __getitem__(self, name: str) -> pd.DataFrame:
        frame = self._frames[name]
        if frame is None:
            return pq.read_table(self.path(name)).to_pandas()
        return frame

    def __iter__(self) -> Iterator[str]:
        return iter(self._frames)

    def __len__(self) -> int:
        return len(self._frames)

    def add(self, name: str, frame: pd.DataFrame) -> None:
        """Add (or replace) a table: kept in memory and written to ``<folder>/<name>.parquet``."""
        self._frames[name] = frame
        pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), self.path(name), compression="zstd")

    def num_rows(self, name: str) -> int:
        """Rows of table ``name`` without reading it."""
        frame = self._frames[name]
        return pq.ParquetFile(self.path(name)).metadata.num_rows if frame is None else len(frame)

    def materialize(self) -> dict[str, pd.DataFrame]:
        """Every table in memory."""
        return {name: self[name] for name in self}


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
    on_disk = _stream_per_instant(plan, Path(job_dir), dest)
    computed, comparison = _summaries(plan, Path(job_dir), sites)
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
    if plan.constellation.structure is not None:  # element files: the inferred structure (issue 15)
        frames["constellation"] = plan.constellation_table()
    for name, frame in frames.items():
        if frame is not None:
            frame = frames[name] = _in_contract_order(name, frame)
            pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), dest / f"{name}.parquet",
                           compression="zstd")
    return Assembled(ResultTables(frames, dest), comparison)


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


def write_run_files(folder: Path, tables: ResultTables, plan, report_html: str | None) -> None:
    """The resolved scenario, the report and, last, ``manifest.json`` of one plan's result folder."""
    folder = Path(folder)
    (folder / "scenario.resolved.json").write_text(json.dumps(resolved_scenario(plan), indent=2, default=str) + "\n")
    if report_html is not None:
        (folder / "report.html").write_text(report_html, encoding="utf-8")
    manifest = {"complete": True, "fingerprint": plan.fingerprint,
                "tables": {name: tables.num_rows(name) for name in tables}, "report": report_html is not None}
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")


def staging_dir(out_dir: Path) -> Path:
    """A fresh temporary folder beside ``out_dir`` to build the results in."""
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.tmp-", dir=out_dir.parent))
    umask = os.umask(0)
    os.umask(umask)
    staging.chmod(0o777 & ~umask)  # mkdtemp makes it private; results are an ordinary folder
    return staging


def swap_into_place(staging: Path, out_dir: Path) -> None:
    """Rename ``staging`` to ``out_dir``; an existing ``out_dir`` is moved aside first, then removed."""
    old = None
    if out_dir.exists():
        old = out_dir.with_name(f".{out_dir.name}.old-{os.getpid()}")
        os.replace(out_dir, old)
    os.replace(staging, out_dir)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
