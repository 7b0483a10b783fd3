"""Writing result tables to CSV or Parquet, chosen by the file's extension, atomically.

A :class:`TableWriter` streams chunks of rows to a temporary file beside the target and moves it into
place only when every chunk was written: an interrupted run never leaves a complete-looking file.
Timestamps are written as ``timestamp[ns, UTC]`` in Parquet and as ISO 8601 strings (``...Z``) in CSV.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from .errors import LeosimInputError

TABLE_FORMATS = {".csv": "csv", ".parquet": "parquet"}
"""Accepted output extensions and their formats."""


def table_format(path) -> str:
    """``'csv'`` or ``'parquet'`` from the extension of ``path``; anything else is an input error."""
    suffix = Path(path).suffix.lower()
    if suffix not in TABLE_FORMATS:
        raise LeosimInputError(f"unsupported output extension {suffix or '(none)'!r}; accepted: "
                               f"{', '.join(TABLE_FORMATS)}", source=str(path), field="--out")
    return TABLE_FORMATS[suffix]


def _for_csv(table: pa.Table) -> pa.Table:
    """Timestamps as ISO 8601 strings with millisecond precision and a ``Z``."""
    columns = []
    for column, field in zip(table.columns, table.schema, strict=True):
        if pa.types.is_timestamp(field.type):
            values = column.to_numpy().astype("datetime64[ms]")
            column = pa.array(np.char.add(np.datetime_as_string(values, unit="ms"), "Z"))
        columns.append(column)
    return pa.table(columns, names=table.column_names)


class TableWriter:
    """Write a table in chunks to ``path`` (``.csv`` or ``.parquet``); use as a context manager.

    ``write(columns)`` takes a dict of equal-length arrays (or a pyarrow Table). On leaving the ``with``
    block without an exception the file is moved into place; on an exception it is removed.
    """

    def __init__(self, path, schema: pa.Schema | None = None):
        self.path = Path(path)
        self.format = table_format(self.path)
        self.schema = schema
        self._writer = None
        self._tmp_path: Path | None = None
        self._rows = 0

    def __enter__(self) -> TableWriter:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".tmp", dir=self.path.parent)
        os.close(fd)
        self._tmp_path = Path(name)
        return self

    def write(self, columns) -> None:
        """Append rows: a dict of column name -> 1-D array, or a pyarrow Table."""
        table = columns if isinstance(columns, pa.Table) else pa.table(columns)
        if self.schema is not None:
            table = table.select(self.schema.names).cast(self.schema)
        if self._writer is None:
            self.schema = table.schema
            if self.format == "parquet":
                self._writer = pq.ParquetWriter(self._tmp_path, table.schema, compression="zstd")
            else:
                self._writer = pa_csv.CSVWriter(self._tmp_path, _for_csv(table).schema)
        self._writer.write_table(table if self.format == "parquet" else _for_csv(table))
        self._rows += table.num_rows

    @property
    def rows(self) -> int:
        """Rows written so far."""
        return self._rows

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            if self._writer is None and exc_type is None and self.schema is not None:
                self.write(self.schema.empty_table())
            if self._writer is not None:
                self._writer.close()
            if exc_type is None:
                os.replace(self._tmp_path, self.path)
        finally:
            if self._tmp_path is not None and self._tmp_path.exists():
                self._tmp_path.unlink()


def write_table(path, columns, schema: pa.Schema | None = None) -> None:
    """Write one table at once (see :class:`TableWriter`)."""
    with TableWriter(path, schema) as writer:
        writer.write(columns)


#: Rows converted at a time by :func:`parquet_folder_to_csv` (bounds memory on big access tables).
CSV_BATCH_ROWS = 1_000_000


def parquet_folder_to_csv(results_dir, csv_dir) -> list[Path]:
    """Every Parquet table under ``results_dir`` (a run's folder, sweep variants included) written as CSV
    under ``csv_dir`` with the same relative path and name (``access.parquet`` -> ``access.csv``), timestamps
    as ISO 8601 UTC text (see :class:`TableWriter`). Returns the CSV files written, sorted. Raises
    :class:`LeosimInputError` when ``results_dir`` holds no Parquet table."""
    results_dir, csv_dir = Path(results_dir), Path(csv_dir)
    tables = sorted(p for p in results_dir.rglob("*.parquet") if not p.name.startswith("."))
    if csv_dir.resolve() != results_dir.resolve():  # a CSV folder inside the results: not a source
        tables = [p for p in tables if csv_dir.resolve() not in p.resolve().parents]
    if not tables:
        raise LeosimInputError("no Parquet tables found (expected a leosim results folder)",
                               source=str(results_dir))
    written = []
    for table in tables:
        target = csv_dir / table.relative_to(results_dir).with_suffix(".csv")
        source = pq.ParquetFile(table)
        with TableWriter(target, source.schema_arrow) as writer:
            for batch in source.iter_batches(batch_size=CSV_BATCH_ROWS):
                writer.write(pa.Table.from_batches([batch], schema=source.schema_arrow))
        written.append(target)
    return written
