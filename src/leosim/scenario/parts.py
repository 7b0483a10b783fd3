"""The parts folder of a run: one Parquet part per chunk and per-instant table, a marker per chunk, and a
manifest that says which scenario, inputs, version and chunking the parts belong to.

Parts live in a stable folder beside the output, ``.leosim-parts-<out name>/`` (a sweep variant's under
``variants/<name>/`` inside it). ``manifest.json`` names each plan's fingerprint (a hash of the scenario text
and every input file), leosim's version and the chunking. A chunk's parts are written atomically and fsynced,
then its marker ``chunk-<first>.json`` with the size and SHA-256 of each part: a chunk is complete when its
marker exists and every part still has that size and hash (a part truncated or damaged by a crash or a
full disk makes the chunk incomplete, so a resume computes it again).
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from .._version import leosim_version
from ..errors import LeosimInputError
from ..output import write_atomically, write_text_atomically
from .plan import file_sha256

PARTS_PREFIX = ".leosim-parts-"
"""The parts folder of output ``<dir>/<name>`` is ``<dir>/.leosim-parts-<name>``."""
PARTS_FORMAT = 2
"""Version of the parts folder layout (a resume across layouts is refused). 2: parts' sizes and hashes."""


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


def part_path(job_dir: Path, table: str, first: int) -> Path:
    """The part of table ``table`` for the chunk starting at instant ``first``."""
    return Path(job_dir) / f"{table}-{first:09d}.parquet"


def marker_path(job_dir: Path, first: int) -> Path:
    """The marker of the chunk starting at instant ``first``."""
    return Path(job_dir) / f"chunk-{first:09d}.json"


def part_files(job_dir: Path, table: str) -> list[Path]:
    """Every part of ``table`` in ``job_dir``, in time order."""
    return sorted(Path(job_dir).glob(f"{table}-*.parquet"))


def write_part(path: Path, table: pa.Table) -> dict:
    """Write one part atomically and durably; returns its ``bytes`` and ``sha256`` for the marker."""
    write_atomically(path, lambda tmp: pq.write_table(table, tmp, compression="zstd"), fsync=True)
    return {"bytes": path.stat().st_size, "sha256": file_sha256(path)}


def write_marker(job_dir: Path, plan, first: int, last: int, parts: dict[str, dict], rows: dict[str, int]) -> None:
    """Declare the chunk ``[first, last)`` complete: its parts with their sizes, hashes and row counts."""
    marker = {"fingerprint": plan.fingerprint, "first": first, "last": last, "rows": rows, "parts": parts}
    write_text_atomically(marker_path(job_dir, first), json.dumps(marker, sort_keys=True), fsync=True)


def _manifest(jobs: list[Job], chunk_steps: int) -> dict:
    return {"format": PARTS_FORMAT, "leosim_version": leosim_version(), "chunk_steps": int(chunk_steps),
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
    write_text_atomically(manifest_path, json.dumps(wanted, indent=2, sort_keys=True))


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


def _part_intact(path: Path, expected) -> bool:
    """Whether the part at ``path`` still has the size and SHA-256 its marker recorded."""
    if not isinstance(expected, dict) or not path.is_file():
        return False
    try:
        return path.stat().st_size == expected.get("bytes") and file_sha256(path) == expected.get("sha256")
    except OSError:
        return False


def completed_chunks(job_dir: Path, plan, bounds: list[tuple[int, int]]) -> set[int]:
    """First instants of the chunks of ``plan`` whose marker is in ``job_dir`` and whose parts are all intact
    (size and SHA-256 as recorded); any other chunk is to be computed (again)."""
    done = set()
    fingerprint = plan.fingerprint
    for first, last in bounds:
        marker = marker_path(job_dir, first)
        if not marker.is_file():
            continue
        try:
            entry = json.loads(marker.read_text())
        except (OSError, ValueError):
            continue
        if not (isinstance(entry, dict) and entry.get("fingerprint") == fingerprint and entry.get("first") == first
                and entry.get("last") == last and isinstance(entry.get("parts"), dict)):
            continue
        if all(_part_intact(part_path(job_dir, table, first), entry["parts"].get(table))
               for table in entry.get("rows", {})):
            done.add(first)
    return done
