"""A Parquet writer whose bytes depend on the rows only, not on how they were handed to it."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

ROW_GROUP_ROWS = 1 << 17
"""Rows per row group of the per-instant tables: fixed, so that the file bytes do not depend on chunking;
~10-30 MB of access rows in memory while writing."""


class RowGroupWriter:
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
        """Append the rows of ``table`` (its columns are selected and cast to the first table's schema)."""
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
        """Write the last, shorter row group and the file's footer."""
        if self._writer is None:
            return
        if self._buffered:
            self._flush(self._buffered)
        self._writer.close()
