"""Docs that run: every ```python block of docs/api.md (in order, one namespace) and of the README."""

from __future__ import annotations

import re
from pathlib import Path

import matplotlib
import pytest

ROOT = Path(__file__).resolve().parents[1]
BLOCK = re.compile(r"```python\n(.*?)```", re.S)


def blocks(path: Path) -> list[str]:
    return BLOCK.findall(path.read_text(encoding="utf-8"))


def run_blocks(path: Path, monkeypatch) -> dict:
    matplotlib.use("Agg")
    monkeypatch.chdir(ROOT)
    namespace: dict = {"__name__": "docs"}
    found = blocks(path)
    assert found, f"no python blocks in {path}"
    for number, code in enumerate(found, start=1):
        try:
            exec(compile(code, f"{path.name}[block {number}]", "exec"), namespace)
        except Exception as error:  # pragma: no cover - the message says which block failed
            pytest.fail(f"{path.name}, python block {number} failed: {error!r}")
    return namespace


@pytest.mark.slow
def test_api_walkthrough_runs(monkeypatch):
    namespace = run_blocks(ROOT / "docs" / "api.md", monkeypatch)
    assert "result" in namespace and not namespace["result"]["access"].empty


@pytest.mark.slow
def test_readme_examples_run(monkeypatch):
    namespace = run_blocks(ROOT / "README.md", monkeypatch)
    assert namespace["states"].position_km.shape == (600, 4408, 3)
