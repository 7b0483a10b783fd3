"""A run's result folder: its tables (summaries in memory, per-instant tables on disk), the resolved
scenario and ``manifest.json``, written last. The folder is built under a temporary name and swapped into
place by :mod:`leosim.output`; the report is rendered from the result by the caller
(:func:`leosim.report.write_report`)."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from .tables import TABLE_COLUMNS


def write_frame(path: Path, frame: pd.DataFrame) -> None:
    """One summary table as a Parquet file (zstd), as every result table is written."""
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), path, compression="zstd")


def in_contract_order(name: str, frame: pd.DataFrame) -> pd.DataFrame:
    """The table's columns in the documented order (an empty table still gets its columns)."""
    columns = list(TABLE_COLUMNS[name])
    if frame.empty and not set(columns) <= set(frame.columns):
        return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})
    return frame[columns].reset_index(drop=True)


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
        write_frame(self.path(name), frame)

    def num_rows(self, name: str) -> int:
        """Rows of table ``name`` without reading it."""
        frame = self._frames[name]
        return pq.ParquetFile(self.path(name)).metadata.num_rows if frame is None else len(frame)

    def materialize(self) -> dict[str, pd.DataFrame]:
        """Every table in memory."""
        return {name: self[name] for name in self}


def resolved_scenario(plan) -> dict:
    """The scenario with every default filled in, and the hashes of its inputs."""
    return {"scenario": json.loads(plan.spec.model_dump_json(by_alias=True)), "input_sha256": plan.input_hashes,
            "fingerprint": plan.fingerprint, "instants": len(plan.times),
            "satellites": len(plan.constellation), "sites": len(plan.sites)}


def write_run_files(folder: Path, tables: ResultTables, plan) -> None:
    """The resolved scenario and, last, ``manifest.json`` of one plan's result folder."""
    folder = Path(folder)
    (folder / "scenario.resolved.json").write_text(json.dumps(resolved_scenario(plan), indent=2, default=str) + "\n")
    manifest = {"complete": True, "fingerprint": plan.fingerprint,
                "tables": {name: tables.num_rows(name) for name in tables}}
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
