"""The front door: ``import leosim`` and ``leosim --help`` load nothing heavy, the public names still
resolve, and a feature whose optional extra is missing stops with one ``error:`` line naming the extra.

The heavy-import checks run in fresh interpreters and look at ``sys.modules`` (behaviour, not timing:
bench/bench_startup.py measures the time). Missing extras are simulated with ``sys.modules[name] = None``,
which makes the real ``import name`` fail with ImportError, as on a machine without the package.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import leosim

SRC = Path(leosim.__file__).resolve().parents[1]
SEED = Path(__file__).resolve().parents[1] / "examples" / "ukraine-taiwan-2024.toml"
HEAVY = ("pandas", "pyarrow", "scipy", "shapely", "h3", "pydantic", "matplotlib", "fastapi", "uvicorn",
         "skyfield", "distributed")


def _python(code: str, *args: str) -> subprocess.CompletedProcess:
    """Run ``code`` in a fresh interpreter that imports this checkout's leosim."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")])}
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, env=env,
                          timeout=120)


def _heavy_loaded(code: str) -> list[str]:
    """The heavy top-level packages in ``sys.modules`` after running ``code`` in a fresh interpreter."""
    result = _python(code + f"\nimport json, sys\nprint(json.dumps(sorted(set({list(HEAVY)!r}) & "
                            "{name.split('.')[0] for name in sys.modules})))")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_import_leosim_loads_nothing_heavy():
    assert _heavy_loaded("import leosim") == []


def test_sub_packages_load_nothing_heavy_on_import():
    # The sub-packages' own public names are lazy too: importing the package is not using it.
    code = "import leosim.network, leosim.policy, leosim.scenario, leosim.territory, leosim.report, leosim.web"
    assert _heavy_loaded(code) == []


def test_cli_help_loads_nothing_heavy():
    # Every command's --help as well as the top-level one: commands import their heavy modules when they run.
    code = """
from leosim.cli import main
names = [None, *main.commands]
for name in names:
    args = ([name] if name else []) + ["--help"]
    try:
        main(args, prog_name="leosim")
    except SystemExit as stop:
        assert stop.code == 0, (args, stop.code)
"""
    assert _heavy_loaded(code) == []


def test_every_public_name_resolves_and_is_listed():
    for name in leosim.__all__:
        assert getattr(leosim, name) is not None, name
    assert set(leosim.__all__) <= set(dir(leosim))
    from leosim.report import plots
    from leosim.scenario.api import Scenario

    assert leosim.Scenario is Scenario
    assert plots.__name__ == "leosim.report.plots"  # a sub-module exported by name
    with pytest.raises(AttributeError, match="no attribute 'not_a_name'"):
        _ = leosim.not_a_name


def _cli_without(module: str, *args: str) -> subprocess.CompletedProcess:
    """``leosim ARGS`` in a fresh interpreter where ``import module`` fails as if it were not installed."""
    code = (f"import sys\nsys.modules[{module!r}] = None\nsys.argv[0] = 'leosim'\n"
            "from leosim.cli import main\nsys.exit(main())")
    return _python(code, *args)


def _assert_one_error_line(result: subprocess.CompletedProcess, extra: str) -> None:
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert f"pip install 'leosim[{extra}]'" in lines[0]


@pytest.mark.parametrize("module", ["fastapi", "uvicorn"])
def test_serve_without_the_serve_extra(module):
    _assert_one_error_line(_cli_without(module, "serve", "--no-run"), "serve")


@pytest.mark.parametrize("args", [["--backend", "dask"], ["--scheduler", "tcp://127.0.0.1:1"]])
def test_dask_backend_without_the_dask_extra(tmp_path, args):
    result = _cli_without("distributed", "run", str(SEED), "--out", str(tmp_path / "out"), *args)
    _assert_one_error_line(result, "dask")
    assert not (tmp_path / "out").exists()


def test_dask_backend_in_python_without_the_dask_extra():
    code = """
import sys
sys.modules["distributed"] = None
from leosim._extras import MissingExtraError
from leosim.errors import LeosimInputError
from leosim.scenario.backends import make_backend
try:
    make_backend("dask")
except MissingExtraError as error:
    assert isinstance(error, LeosimInputError)
    print(error)
"""
    result = _python(code)
    assert result.returncode == 0, result.stderr
    assert "pip install 'leosim[dask]'" in result.stdout
