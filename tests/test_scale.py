"""Scale-out: backends (in-process, local processes, Dask), fault tolerance, resume, streaming assembly, sweeps.

The reference for every backend, fault and resume test is an undisturbed in-process run of the same
scenario: tables must be equal exactly and the Parquet files byte for byte. Physical checks on sweeps:
a higher elevation mask never sees more satellites; switching a territory on serves it.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from leosim.cli import main
from leosim.errors import LeosimInputError
from leosim.scenario import Scenario, summary_batches, tablewriter
from leosim.scenario.backends import DaskBackend, InProcessBackend, ProcessBackend, make_backend
from leosim.scenario.parts import parts_dir_for
from leosim.scenario.sweep import SWEEP_COLUMNS

ROOT = Path(__file__).resolve().parents[1]
SEED = ROOT / "examples" / "ukraine-taiwan-2024.toml"

SWEEP = """
[sweep]
[[sweep.variants]]
name = "mask-40"
description = "Terminals need 40 degrees of elevation."
set = { "network.terminal_min_elevation_deg" = 40.0 }

[[sweep.variants]]
name = "taiwan-on"
[[sweep.variants.rules]]
subject = "TWN"
state = "active"
from = 2024-01-01T00:00:00Z
decided_at = 2100-01-01T00:00:00Z
reason = "Sweep: Taiwan switched on."
"""


def seed_text(duration_s: int = 600, step_s: int = 60, extra: str = "") -> str:
    """The seed scenario on a reduced window, with absolute region paths (so it can live in tmp_path)."""
    text = SEED.read_text()
    assert "duration_s = 10800" in text and "step_s = 60" in text
    return (text.replace("duration_s = 10800", f"duration_s = {duration_s}")
            .replace("step_s = 60", f"step_s = {step_s}")
            .replace('geojson = "regions/', f'geojson = "{ROOT}/examples/regions/') + extra)


def write_seed(path: Path, **kwargs) -> Path:
    path.write_text(seed_text(**kwargs))
    return path


def assert_same_results(a: Path, b: Path, names) -> None:
    """Tables equal exactly, and their Parquet files byte for byte."""
    for name in names:
        pd.testing.assert_frame_equal(pd.read_parquet(a / f"{name}.parquet"), pd.read_parquet(b / f"{name}.parquet"),
                                      check_exact=True, obj=name)
        assert (a / f"{name}.parquet").read_bytes() == (b / f"{name}.parquet").read_bytes(), name


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """An undisturbed in-process run of the reduced seed scenario (20 instants at 30 s)."""
    folder = tmp_path_factory.mktemp("reference")
    scenario = write_seed(folder / "s.toml", duration_s=600, step_s=30)
    result = Scenario.from_toml(scenario).run(folder / "out", chunk_steps=4)
    return folder / "out", list(result.tables)


class _Interrupted(Exception):
    pass


class StopAfter(InProcessBackend):
    """Runs ``n`` chunks, then fails as an interrupted run would; records how many tasks it was given."""

    def __init__(self, n: int):
        self.n = n
        self.given = None

    def map(self, function, tasks, on_result):
        self.given = len(tasks)
        for index, task in enumerate(tasks):
            if index == self.n:
                raise _Interrupted
            on_result(index, function(task))


def test_identical_outputs_in_process_and_two_processes(tmp_path, reference):
    ref_out, names = reference
    scenario = write_seed(tmp_path / "s.toml", duration_s=600, step_s=30)
    result = Scenario.from_toml(scenario).run(tmp_path / "out", workers=2, chunk_steps=3)
    assert list(result.tables) == names
    assert_same_results(ref_out, tmp_path / "out", names)
    assert not parts_dir_for(tmp_path / "out").exists()  # removed after success


@pytest.mark.slow
def test_identical_outputs_on_a_dask_local_cluster(tmp_path, reference):
    pytest.importorskip("distributed")
    ref_out, names = reference
    scenario = write_seed(tmp_path / "s.toml", duration_s=600, step_s=30)
    result = CliRunner().invoke(main, ["run", str(scenario), "--out", str(tmp_path / "out"), "--backend", "dask",
                                       "--workers", "2", "--chunk-steps", "5", "--no-report"])
    assert result.exit_code == 0, result.output
    assert_same_results(ref_out, tmp_path / "out", names)


def test_streamed_tables_have_fixed_row_groups_in_time_order(tmp_path, reference, monkeypatch):
    ref_out, names = reference
    # Small row groups and small summary batches: the same tables as one big pass.
    monkeypatch.setattr(tablewriter, "ROW_GROUP_ROWS", 64)
    monkeypatch.setattr(summary_batches, "SUMMARY_BATCH_ROWS", 40)
    scenario = write_seed(tmp_path / "s.toml", duration_s=600, step_s=30)
    Scenario.from_toml(scenario).run(tmp_path / "out", chunk_steps=7)
    for name in names:
        pd.testing.assert_frame_equal(pd.read_parquet(ref_out / f"{name}.parquet"),
                                      pd.read_parquet(tmp_path / "out" / f"{name}.parquet"), check_exact=True,
                                      obj=name)
    meta = pq.ParquetFile(tmp_path / "out" / "access.parquet").metadata
    sizes = [meta.row_group(i).num_rows for i in range(meta.num_row_groups)]
    assert meta.num_row_groups > 3 and set(sizes[:-1]) == {64} and 0 < sizes[-1] <= 64
    times = pd.read_parquet(tmp_path / "out" / "coverage.parquet")["time_utc"].to_numpy()
    assert (np.diff(times) >= np.timedelta64(0)).all()


def test_broken_process_pool_resubmits_unfinished_chunks(tmp_path, reference):
    psutil = pytest.importorskip("psutil")
    ref_out, names = reference
    scenario = write_seed(tmp_path / "s.toml", duration_s=600, step_s=30)
    me = psutil.Process()
    killed = []

    def kill_a_worker(done, total):
        if done >= 1 and not killed:
            workers = [p for p in me.children() if p.cmdline() == me.cmdline()]  # forked pool workers
            assert workers
            os.kill(workers[0].pid, signal.SIGKILL)
            killed.append(workers[0].pid)

    backend = ProcessBackend(2)
    Scenario.from_toml(scenario).run(tmp_path / "out", backend=backend, chunk_steps=2,
                                     progress=kill_a_worker)
    assert killed and backend.restarts >= 1
    assert_same_results(ref_out, tmp_path / "out", names)


@pytest.mark.slow
def test_killed_dask_worker_costs_only_its_chunk(tmp_path, reference):
    distributed = pytest.importorskip("distributed")
    Client, LocalCluster = distributed.Client, distributed.LocalCluster

    ref_out, names = reference
    scenario = write_seed(tmp_path / "s.toml", duration_s=600, step_s=30)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        before = client.run(os.getpid)
        killed = []

        def kill_a_worker(done, total):
            if done >= 1 and not killed:  # chunks are queued on both workers: one is lost mid-run
                pid = sorted(before.values())[0]
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)

        Scenario.from_toml(scenario).run(tmp_path / "out", backend=DaskBackend(client=client), chunk_steps=2,
                                         progress=kill_a_worker)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and len(client.scheduler_info()["workers"]) < 2:
            time.sleep(0.2)
        after = client.run(os.getpid)
    assert killed and killed[0] not in after.values()  # the nanny started a fresh worker process
    assert_same_results(ref_out, tmp_path / "out", names)


def test_resume_continues_from_completed_chunks(tmp_path, reference):
    ref_out, names = reference
    scenario = write_seed(tmp_path / "s.toml", duration_s=600, step_s=30)
    out = tmp_path / "out"
    with pytest.raises(_Interrupted):
        Scenario.from_toml(scenario).run(out, backend=StopAfter(2), chunk_steps=4)
    parts = parts_dir_for(out)
    assert not out.exists() and len(list(parts.glob("chunk-*.json"))) == 2
    counting = StopAfter(10**6)
    result = Scenario.from_toml(scenario).run(out, backend=counting, chunk_steps=4, resume=True)
    assert counting.given == 5 - 2  # 20 instants in chunks of 4: only the 3 missing chunks ran
    assert list(result.tables) == names
    assert_same_results(ref_out, out, names)
    assert not parts.exists()


@pytest.mark.slow
def test_cli_resume_after_an_interrupted_run_and_refusals(tmp_path, reference):
    ref_out, names = reference
    scenario = write_seed(tmp_path / "s.toml", duration_s=600, step_s=30)
    out = tmp_path / "out"
    with pytest.raises(_Interrupted):
        Scenario.from_toml(scenario).run(out, backend=StopAfter(3), chunk_steps=4)
    # Other chunking: refused.
    refused = CliRunner().invoke(main, ["run", str(scenario), "--out", str(out), "--resume", "--chunk-steps", "5"])
    assert refused.exit_code == 2 and "cannot resume" in refused.output and "--chunk-steps" in refused.output
    # Edited scenario: refused, and the parts are kept for a resume of the original.
    original = scenario.read_text()
    scenario.write_text(original.replace('reason = "Never switched on', 'reason = "Not switched on'))
    refused = CliRunner().invoke(main, ["run", str(scenario), "--out", str(out), "--resume", "--chunk-steps", "4"])
    assert refused.exit_code == 2, refused.output
    assert "cannot resume" in refused.output and "changed" in refused.output and "s.toml" in refused.output
    assert len(list(parts_dir_for(out).glob("chunk-*.json"))) == 3
    scenario.write_text(original)
    done = CliRunner().invoke(main, ["run", str(scenario), "--out", str(out), "--resume", "--chunk-steps", "4",
                                     "--no-report"])
    assert done.exit_code == 0, done.output
    assert_same_results(ref_out, out, names)


def test_without_resume_stale_parts_are_discarded(tmp_path, reference):
    ref_out, names = reference
    scenario = write_seed(tmp_path / "s.toml", duration_s=600, step_s=30)
    out = tmp_path / "out"
    with pytest.raises(_Interrupted):
        Scenario.from_toml(scenario).run(out, backend=StopAfter(1), chunk_steps=4)
    stale = parts_dir_for(out)
    (stale / "access-000000999.parquet").write_bytes(b"not parquet")
    counting = StopAfter(10**6)
    Scenario.from_toml(scenario).run(out, backend=counting, chunk_steps=4)
    assert counting.given == 5 and not stale.exists()
    assert_same_results(ref_out, out, names)


def test_backend_choice_and_bad_input():
    assert isinstance(make_backend(None, workers=1), InProcessBackend)
    assert isinstance(make_backend(None, workers=3), ProcessBackend)
    assert isinstance(make_backend(None, scheduler="tcp://127.0.0.1:8786"), DaskBackend)
    with pytest.raises(LeosimInputError, match="unknown backend"):
        make_backend("threads")
    with pytest.raises(LeosimInputError, match="needs the dask backend"):
        make_backend("processes", scheduler="tcp://127.0.0.1:8786")
    with pytest.raises(LeosimInputError, match="resume needs an output folder"):
        Scenario.from_text(seed_text(duration_s=60), base_dir=ROOT / "examples").run(resume=True)


@pytest.mark.slow
def test_sweep_runs_every_variant_and_compares_them(tmp_path):
    scenario = tmp_path / "s.toml"
    scenario.write_text(seed_text(duration_s=600, step_s=60, extra=SWEEP))
    out = tmp_path / "out"
    result = Scenario.from_toml(scenario).run(out, workers=2, chunk_steps=4)
    sweep = result.tables["sweep"]
    assert tuple(sweep.columns) == SWEEP_COLUMNS
    assert list(dict.fromkeys(sweep["variant"])) == ["baseline", "mask-40", "taiwan-on"]
    pd.testing.assert_frame_equal(pd.read_parquet(out / "sweep.parquet"), sweep, check_exact=True)
    for name in ("mask-40", "taiwan-on"):
        assert (out / "variants" / name / "manifest.json").exists()
        assert (out / "variants" / name / "access.parquet").exists()
    # A higher mask sees a subset of the satellites a lower one sees, at every instant and place.
    low = result["coverage"]
    high = pd.read_parquet(out / "variants" / "mask-40" / "coverage.parquet")
    assert (high["visible_sats"].to_numpy() <= low["visible_sats"].to_numpy()).all()
    assert (high["visible_sats"].to_numpy() < low["visible_sats"].to_numpy()).any()
    by = sweep.set_index(["variant", "scope", "key"])
    assert by.loc[("baseline", "territory", "TWN"), "service_frac"] == 0.0
    assert by.loc[("taiwan-on", "territory", "TWN"), "service_frac"] == 1.0
    assert np.isfinite(by.loc[("taiwan-on", "territory", "TWN"), "median_rtt_ms"])
    assert by.loc[("taiwan-on", "territory", "UKR"), "service_frac"] == by.loc[("baseline", "territory", "UKR"),
                                                                               "service_frac"]
    # The variant equals the scenario edited by hand and run on its own.
    alone = tmp_path / "alone.toml"
    alone.write_text(seed_text(duration_s=600, step_s=60).replace("terminal_min_elevation_deg = 25.0",
                                                                  "terminal_min_elevation_deg = 40.0"))
    single = Scenario.from_toml(alone).run(tmp_path / "alone", chunk_steps=4)
    assert_same_results(tmp_path / "alone", out / "variants" / "mask-40", list(single.tables))


def test_sweep_errors_name_the_variant(tmp_path):
    bad = SWEEP.replace('"network.terminal_min_elevation_deg" = 40.0', '"network.colour" = 1')
    scenario = tmp_path / "bad.toml"
    scenario.write_text(seed_text(extra=bad))
    result = CliRunner().invoke(main, ["run", str(scenario), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2 and "cannot sweep 'network.colour'" in result.output
    bad = SWEEP.replace('"network.terminal_min_elevation_deg" = 40.0', '"network.terminal_min_elevation_deg" = 95')
    scenario.write_text(seed_text(extra=bad))
    result = CliRunner().invoke(main, ["run", str(scenario), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2 and "mask-40" in result.output and "sweep.variants[0]" in result.output

