"""leosim's own import graph: no cycles, and data flows one way (STYLE.md).

Every module's imports are read with ``ast`` — including those inside functions, which run later but still
tie the two modules together — and relative imports are resolved. ``from package import name`` counts as an
import of the module that defines ``name``, through the package's lazy ``_EXPORTS`` table where it has one.

Layers, bottom to top: foundations (constants, errors, timebase, output, ...) → orbits, ground, territory →
geometry → network (and interop, the Hypatia file formats) → policy → service → scenario → report, web →
commands → cli. A module may import its own layer or a lower one, never a higher one.
"""

from __future__ import annotations

import ast
from pathlib import Path

import leosim

PACKAGE_DIR = Path(leosim.__file__).resolve().parent

LAYERS = {
    "leosim._core": 0, "leosim._extras": 0, "leosim._lazy": 0, "leosim._version": 0, "leosim.constants": 0,
    "leosim.errors": 0,
    "leosim.output": 0, "leosim.timebase": 0, "leosim.units": 0,
    "leosim.ground": 1, "leosim.orbits": 1, "leosim.territory": 1,
    "leosim.geometry": 2, "leosim.visibility": 2,
    "leosim.interop": 3, "leosim.network": 3,
    "leosim.policy": 4,
    "leosim.service": 5,
    "leosim.scenario": 6,
    "leosim.report": 7, "leosim.web": 7,
    "leosim.commands": 8,
    "leosim": 9, "leosim.cli": 9,
}

# Known edges that other branches are removing (issue 10 §4). The lead empties this list as they merge;
# an entry whose edge no longer exists fails test_allowed_edges_still_exist, so it cannot go stale.
ALLOWED: set[tuple[str, str]] = set()


def _modules() -> dict[str, tuple[Path, bool]]:
    """Dotted module name → (file, is_package) for every module of the installed leosim package."""
    modules = {}
    for path in PACKAGE_DIR.rglob("*.py"):
        parts = ["leosim", *path.relative_to(PACKAGE_DIR).with_suffix("").parts]
        is_package = parts[-1] == "__init__"
        modules[".".join(parts[:-1] if is_package else parts)] = (path, is_package)
    return modules


def _lazy_exports(path: Path) -> dict[str, str]:
    """A package ``__init__``'s ``_EXPORTS`` table (public name → relative module), or {}."""
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "_EXPORTS" for t in node.targets):
            return ast.literal_eval(node.value)
    return {}


def import_graph() -> dict[str, set[str]]:
    """Module → the leosim modules it imports anywhere in its source."""
    modules = _modules()
    exports = {name: _lazy_exports(path) for name, (path, is_package) in modules.items() if is_package}

    def existing(name: str) -> str:
        while name not in modules and "." in name:
            name = name.rsplit(".", 1)[0]
        return name

    def defining_module(package: str, name: str) -> str:
        """The module that ``from package import name`` loads: a sub-module, the lazy table's, or the package."""
        if f"{package}.{name}" in modules:
            return f"{package}.{name}"
        relative = exports.get(package, {}).get(name)
        return existing(package + relative) if relative is not None else package

    graph = {}
    for name, (path, is_package) in modules.items():
        package = name if is_package else name.rsplit(".", 1)[0]
        targets = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                targets |= {existing(alias.name) for alias in node.names if alias.name.split(".")[0] == "leosim"}
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")[: len(package.split(".")) - node.level + 1]
                    module = ".".join(base + ([node.module] if node.module else []))
                else:
                    module = node.module or ""
                if module.split(".")[0] != "leosim":
                    continue
                module = existing(module)
                targets |= {defining_module(module, alias.name) for alias in node.names}
        graph[name] = targets - {name}
    return graph


def _layer(module: str) -> int:
    prefix = module
    while prefix not in LAYERS:
        assert "." in prefix, f"{module} has no layer: add it to LAYERS in {__file__}"
        prefix = prefix.rsplit(".", 1)[0]
    return LAYERS[prefix]


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), each sorted."""
    index, low, stack, on_stack, components = {}, {}, [], set(), []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return components


def _without_allowed(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    return {a: {b for b in targets if (a, b) not in ALLOWED} for a, targets in graph.items()}


def test_the_graph_sees_imports_inside_functions_and_through_lazy_exports():
    # Checks of the reader itself, on edges known to be there: a function-level relative import, and a
    # package-level name that resolves through the lazy table to its defining module.
    graph = import_graph()
    assert "leosim.report.maps" in graph["leosim.report.plots"]  # `from .maps import map_figures` in _map()
    assert "leosim.scenario.api" in graph["leosim.commands.scenario"]  # `from ..scenario import Scenario`
    assert "leosim.scenario.backends" in graph["leosim.commands.scenario"]


def test_no_import_cycles():
    assert _cycles(_without_allowed(import_graph())) == []


def test_lower_layers_never_import_higher_ones():
    upward = sorted((a, b) for a, targets in _without_allowed(import_graph()).items() for b in targets
                    if _layer(b) > _layer(a))
    assert upward == []


def test_allowed_edges_still_exist():
    graph = import_graph()
    stale = sorted((a, b) for a, b in ALLOWED if b not in graph.get(a, set()))
    assert stale == [], "remove these from ALLOWED: the edges are gone"
