"""Errors that leosim raises for bad input.

Every error says what is wrong, where (file, line, field) and what is accepted. The CLI turns any
:class:`LeosimInputError` into a one-line message and exit code 2.
"""

from __future__ import annotations


class LeosimError(Exception):
    """Base class of leosim's own errors."""


class LeosimInputError(LeosimError, ValueError):
    """Bad input: a file, a row, a field or an argument that leosim cannot accept.

    ``source`` names the file (or argument), ``line`` the 1-based line number and ``field`` the field,
    where known. ``str(error)`` gives the full message, e.g. ``sats.tle, line 4, field checksum: ...``.
    """

    def __init__(self, message: str, *, source: str | None = None, line: int | None = None,
                 field: str | None = None):
        self.message = message
        self.source = source
        self.line = line
        self.field = field
        super().__init__(self.__str__())

    def __str__(self) -> str:
        where = []
        if self.source is not None:
            where.append(str(self.source))
        if self.line is not None:
            where.append(f"line {self.line}")
        if self.field is not None:
            where.append(f"field {self.field}")
        return f"{', '.join(where)}: {self.message}" if where else self.message


class LeosimStoreError(LeosimError):
    """A policy store that cannot be used: damaged, foreign, unwritable (full disk) or busy.

    Not bad input: the CLI prints one ``error:`` line naming the store and exits 1; the server answers 503
    for :class:`LeosimStoreBusy` and 500 otherwise. ``source`` names the store's file.
    """

    def __init__(self, message: str, *, source: str | None = None):
        self.message = message
        self.source = source
        super().__init__(f"{source}: {message}" if source else message)


class LeosimStoreBusy(LeosimStoreError):
    """Another process held the policy store's write lock for longer than a writer waits."""


class LeosimOutputError(LeosimError, OSError):
    """An output that could not be written (full disk, no permission, a folder in the way...).

    Not bad input but a fault of the environment: the CLI prints one ``error:`` line naming the user's path
    (never a hidden temporary name) and exits 1. ``path`` is that path, ``reason`` what the system said
    (e.g. ``no space left on device``).
    """

    def __init__(self, path, reason: str):
        self.path = str(path)
        self.reason = reason
        super().__init__(f"cannot write {self.path}: {reason}")

    def __str__(self) -> str:
        return f"cannot write {self.path}: {self.reason}"


class LeosimWarning(UserWarning):
    """Something leosim can go on with, but that the user should know (the CLI prints ``warning: ...``)."""


class PropagationWarning(LeosimWarning):
    """Satellites that SGP4 cannot propagate at any instant: their positions are NaN throughout."""
