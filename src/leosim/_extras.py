"""Optional dependencies: the extras of ``pip install 'leosim[EXTRA]'`` and a clear error when one is missing.

``serve``: fastapi and uvicorn (``leosim serve``, :mod:`leosim.web`). ``dask``: dask and distributed (the
``dask`` backend, ``leosim run --backend dask`` or ``--scheduler``). Everything else is in the core install.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from .errors import LeosimInputError


class MissingExtraError(LeosimInputError):
    """A feature needs an optional dependency that is not installed; the message names the extra.

    A :class:`~leosim.errors.LeosimInputError`, so the CLI prints it as one ``error:`` line (exit code 2).
    """


def import_extra(module: str, *, extra: str, feature: str) -> ModuleType:
    """``import module``, or :class:`MissingExtraError` saying that ``feature`` needs ``leosim[extra]``."""
    try:
        return importlib.import_module(module)
    except ImportError as error:
        raise MissingExtraError(f"{feature} needs the optional dependencies of leosim[{extra}] "
                                f"(cannot import {module}: {error}); install them with "
                                f"pip install 'leosim[{extra}]'") from None
