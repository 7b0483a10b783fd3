"""Writing outputs atomically: single files, whole folders, and result tables in CSV or Parquet.

The one place for "never leave a half-written output" (every writer of files and folders calls it):

- :func:`write_atomically` writes a file under a unique hidden temporary name beside the target and renames
  it into place (optionally fsynced first);
- :func:`staging_dir` and :func:`swap_into_place` build a folder under a temporary name and swap it in,
  :func:`remove_stale_staging` removes what a killed process left behind;
- a :class:`TableWriter` streams chunks of rows to a temporary file and moves it into place only when
  every chunk was written. Timestamps are written as ``timestamp[ns, UTC]`` in Parquet and as ISO 8601
  strings (``...Z``) in CSV.

Files and folders are created with the process's umask, like any other program's. A failure of the
system (full disk, no permission) raises :class:`~leosim.errors.LeosimOutputError` naming the target, never
the temporary name, and leaves nothing behind.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from .errors import LeosimInputError, LeosimOutputError

TABLE_FORMATS = {".csv": "csv", ".parquet": "parquet"}
"""Accepted output extensions and their formats."""


STAGING_MARK = ".tmp-"
"""Infix of a staging folder's name: ``.<target name>.tmp-<pid>-<random>`` beside its target."""


def _reason(error: OSError) -> str:
    """What the system said, in lower case (``no space left on device``), from an OSError or pyarrow's."""
    if error.errno is not None and error.errno in errno.errorcode:
        return os.strerror(error.errno).lower()
    text = str(error)
    for code in (errno.ENOSPC, errno.EACCES, errno.EROFS, errno.EDQUOT, errno.EISDIR, errno.ENOTDIR):
        if os.strerror(code).lower() in text.lower():
            return os.strerror(code).lower()
    return text


@contextlib.contextmanager
def output_errors(path) -> Iterator[None]:
    """Turn a system failure while writing ``path`` into a :class:`LeosimOutputError` naming ``path`` (an
    inner one naming a temporary or inner path is renamed: the outermost caller knows the user's path)."""
    try:
        yield
    except LeosimOutputError as error:
        if error.path == str(path):
            raise
        raise LeosimOutputError(path, error.reason) from error
    except (ConnectionError, TimeoutError):  # a network fault (a Dask scheduler), not a write
        raise
    except OSError as error:
        raise LeosimOutputError(path, _reason(error)) from error


def current_umask() -> int:
    """The process's umask (read by setting and restoring it)."""
    umask = os.umask(0)
    os.umask(umask)
    return umask


def temporary_name(path) -> Path:
    """A unique hidden name beside ``path`` (process id and random part: retries never collide)."""
    path = Path(path)
    return path.with_name(f".{path.name}.{os.getpid()}-{uuid.uuid4().hex[:8]}.tmp")


def fsync_path(path) -> None:
    """Flush a file's (or a folder's) data to the disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomically(path, write: Callable[[Path], None], *, fsync: bool = False) -> None:
    """``write(tmp)`` then rename ``tmp`` to ``path``; with ``fsync``, the data and the rename reach the disk
    before returning. On any failure the temporary file is removed and ``path`` is untouched."""
    path = Path(path)
    tmp = temporary_name(path)
    try:
        with output_errors(path):
            write(tmp)
            if fsync:
                fsync_path(tmp)
            os.replace(tmp, path)
            if fsync:
                fsync_path(path.parent)
    finally:
        if tmp.exists():
            tmp.unlink()


def write_text_atomically(path, text: str, *, fsync: bool = False) -> None:
    """Write a UTF-8 text file atomically (see :func:`write_atomically`)."""
    write_atomically(path, lambda tmp: tmp.write_text(text, encoding="utf-8"), fsync=fsync)


def staging_dir(target) -> Path:
    """A fresh folder beside ``target`` to build it in: ``.<name>.tmp-<pid>-<random>``, with the umask's
    permissions (an ordinary folder once swapped in)."""
    target = Path(target)
    with output_errors(target):
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{target.name}{STAGING_MARK}{os.getpid()}-", dir=target.parent))
        staging.chmod(0o777 & ~current_umask())  # mkdtemp makes it private
    return staging


def swap_into_place(staging, target) -> None:
    """Rename folder ``staging`` to ``target``; an existing ``target`` is moved aside first, then removed."""
    staging, target = Path(staging), Path(target)
    with output_errors(target):
        old = None
        if target.exists():
            old = target.with_name(f".{target.name}.old-{os.getpid()}-{uuid.uuid4().hex[:8]}")
            os.replace(target, old)
        os.replace(staging, target)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def remove_stale_staging(target) -> list[Path]:
    """Remove the staging and set-aside folders of ``target`` left by processes that no longer exist
    (a killed run); returns what was removed. Folders of live processes are kept."""
    target = Path(target)
    removed = []
    if not target.parent.is_dir():
        return removed
    for entry in target.parent.glob(f".{glob_escape(target.name)}.*"):
        rest = entry.name[len(target.name) + 1:]
        match = re.match(r"\.(?:tmp|old)-(\d+)-", rest)
        if match and entry.is_dir() and not _alive(int(match.group(1))):
            shutil.rmtree(entry, ignore_errors=True)
            removed.append(entry)
    return removed


def glob_escape(name: str) -> str:
    """``name`` with glob's special characters escaped."""
    return re.sub(r"([*?\[])", r"[\1]", name)


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
        with output_errors(self.path):
            if self.path.is_dir():
                raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(self.path))
            self.path.parent.mkdir(parents=True, exist_ok=True)
            if not os.access(self.path.parent, os.W_OK):
                raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(self.path.parent))
        self._tmp_path = temporary_name(self.path)
        return self

    def write(self, columns) -> None:
        """Append rows: a dict of column name -> 1-D array, or a pyarrow Table."""
        table = columns if isinstance(columns, pa.Table) else pa.table(columns)
        if self.schema is not None:
            table = table.select(self.schema.names).cast(self.schema)
        with output_errors(self.path):
            self._write(table)

    def _write(self, table: pa.Table) -> None:
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
            with output_errors(self.path):
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
