"""Lazy public names for a package's ``__init__``: a module ``__getattr__`` and ``__dir__`` (PEP 562).

``import leosim`` (or ``import leosim.network``) then loads nothing heavy; the module behind a public name is
imported the first time the name is used, and the value is cached in the package's namespace.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping


def lazy_exports(package: str, exports: Mapping[str, str]) -> tuple[Callable[[str], object], Callable[[], list]]:
    """``(__getattr__, __dir__)`` for ``package`` whose public name ``name`` lives in ``exports[name]``.

    ``exports`` maps a public name to the relative module that defines it (``".orbits.constellation"``); a
    name mapped to its own submodule (``{"plots": ".plots"}``) exports that submodule.
    """
    namespace = sys.modules[package].__dict__

    def __getattr__(name: str):
        try:
            module_name = exports[name]
        except KeyError:
            raise AttributeError(f"module {package!r} has no attribute {name!r}") from None
        module = importlib.import_module(module_name, package)
        value = module if module_name == f".{name}" else getattr(module, name)
        namespace[name] = value
        return value

    def __dir__() -> list:
        return sorted(set(namespace) | set(exports))

    return __getattr__, __dir__
