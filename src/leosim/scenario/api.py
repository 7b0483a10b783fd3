"""The friendly layer for scenarios: :class:`Scenario` to build and run, :class:`ScenarioResult` to read."""

from __future__ import annotations

import datetime as dt
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from .._version import leosim_version
from ..errors import LeosimInputError
from ..output import output_errors, remove_stale_staging, staging_dir, swap_into_place
from .chunks import DEFAULT_CHUNK_STEPS
from .plan import Plan
from .runner import Job, assemble, run_chunks
from .schema import ScenarioSpec, load_scenario_spec, parse_scenario_text

LIMITATIONS = (
    "Orbits are SGP4 propagations of ideal Walker shells (presets) or published elements (~1 km at epoch); "
    "no drag, manoeuvres or station-keeping for generated shells.",
    "Latency is propagation delay only: no processing, queueing, scheduling (Starlink's 15 s reconfiguration "
    "interval), retransmission or last-mile delays. Measured Starlink RTTs are typically 20-40 ms higher.",
    "Capacity (with [capacity] only) is a fluid busy-hour model: one cell per beam per 15 s slot, max-min fair "
    "flows in strict priority tiers on beams, satellites, lasers and gateway feeders, every terminal a persistent "
    "flow (no burstiness, TCP or queueing), a C/N link budget without interference; routes stay shortest-delay. "
    "Weather fade (optional rain fade aside) and obstructions are not modelled.",
    "Gateways, PoPs, territories and policy rules are public, approximate facts; custom regions are "
    "hand-drawn outlines; cost figures are as stated in the scenario (often illustrative).",
    "Territories follow Natural Earth's German point of view (Crimea within Ukraine, Taiwan separate); "
    "custom regions overlay it.",
)


class Scenario:
    """A scenario: what to simulate and which analyses to run.

    Build it from a file with :meth:`from_toml`, from TOML text with :meth:`from_text`, or from a
    :class:`~leosim.scenario.schema.ScenarioSpec` (or a dict with the same structure) in code.
    """

    def __init__(self, spec: ScenarioSpec | dict, *, base_dir: str | Path = ".", source: str = "<scenario>",
                 text: str = ""):
        self.spec = spec if isinstance(spec, ScenarioSpec) else ScenarioSpec.model_validate(spec)
        self.base_dir = Path(base_dir)
        self.source = source
        self.text = text or self.spec.model_dump_json()
        self._plan: Plan | None = None

    @classmethod
    def from_toml(cls, path) -> Scenario:
        """Read and validate a scenario file (paths in it are relative to its folder)."""
        spec, text = load_scenario_spec(path)
        return cls(spec, base_dir=Path(path).resolve().parent, source=str(path), text=text)

    @classmethod
    def from_text(cls, text: str, *, base_dir: str | Path = ".", source: str = "<scenario>") -> Scenario:
        """Validate scenario TOML text."""
        return cls(parse_scenario_text(text, source), base_dir=base_dir, source=source, text=text)

    def with_window(self, *, start=None, duration_s: float | None = None, step_s: float | None = None) -> Scenario:
        """The same scenario over another time window (unchanged parts are kept)."""
        update = {k: v for k, v in (("start", start), ("duration_s", duration_s), ("step_s", step_s)) if v is not None}
        spec = self.spec.model_copy(update={"time": self.spec.time.model_validate(
            {**self.spec.time.model_dump(), **update})})
        return Scenario(spec, base_dir=self.base_dir, source=self.source, text=self.text + f"\n# window {update}")

    @property
    def plan(self) -> Plan:
        """The resolved plan (constellation, sites, rules, variants); errors in the inputs surface here."""
        if self._plan is None:
            plan = Plan(self.spec, base_dir=self.base_dir, source=self.source, text=self.text)
            plan.validate()
            self._plan = plan
        return self._plan

    def run(self, out: str | Path | None = None, *, workers: int = 1, chunk_steps: int = DEFAULT_CHUNK_STEPS,
            progress: Callable[[int, int], None] | None = None, backend=None, scheduler: str | None = None,
            resume: bool = False) -> ScenarioResult:
        """Run every analysis (and every ``[sweep]`` variant). With ``out``, write the tables (Parquet) and the
        resolved scenario there, atomically. Returns a :class:`ScenarioResult`; render its report with
        :func:`leosim.report.write_report` (``leosim run`` does, unless ``--no-report`` or
        ``[output] report = false``).

        ``backend``: ``'in-process'``, ``'processes'`` (``workers`` local processes), ``'dask'`` (a
        LocalCluster of ``workers`` processes, or the cluster at ``scheduler``, ``tcp://HOST:PORT``) or a
        backend object from :mod:`leosim.scenario.backends`; by default in-process for one worker, local
        processes for more. Every backend gives identical tables. ``resume``: continue an interrupted run
        into ``out`` from its completed chunks (refused if the scenario, its inputs or the chunking changed).
        With ``out``, per-instant tables (coverage, access, latency) are read from their Parquet files when
        asked for, not held in memory. A sweep's variants are in ``result.variants`` (name → result) and its
        comparison in ``result.tables['sweep']``. A failure to write (full disk, no permission) raises
        :class:`~leosim.errors.LeosimOutputError` naming ``out``; nothing half-written is left there.
        """
        from .backends import make_backend
        from .sweep import variant_spec, variant_text

        plan = self.plan
        jobs = [Job("baseline", plan)]
        for i, variant in enumerate(self.spec.sweep.variants if self.spec.sweep else ()):
            vplan = Plan(variant_spec(self.spec, variant, i, self.source), base_dir=self.base_dir,
                         source=self.source, text=variant_text(self.text, variant))
            vplan.validate()
            jobs.append(Job(variant.name, vplan, f"variants/{variant.name}"))
        if isinstance(backend, str) or backend is None:
            backend = make_backend(backend, workers=workers, scheduler=scheduler)
        if out is None and resume:
            raise LeosimInputError("resume needs an output folder (--out)", field="--resume")
        out_dir = Path(out).resolve() if out is not None else None
        if out_dir is None:
            return self._run_jobs(jobs, backend, None, chunk_steps=chunk_steps, resume=resume, progress=progress)
        with output_errors(out):
            remove_stale_staging(out_dir)  # left by a killed run
            result = self._run_jobs(jobs, backend, out_dir, chunk_steps=chunk_steps, resume=resume,
                                    progress=progress)
            remove_stale_staging(out_dir)
        return result

    def _run_jobs(self, jobs: list[Job], backend, out_dir: Path | None, *, chunk_steps: int, resume: bool,
                  progress) -> ScenarioResult:
        """Run ``jobs`` into their parts, assemble them, and (with ``out_dir``) swap the results into place."""
        from .outputs import write_run_files
        from .parts import parts_dir_for
        from .sweep import sweep_table

        plan = jobs[0].plan
        if out_dir is None:
            parts, staging = Path(tempfile.mkdtemp(prefix=".leosim-parts-")), Path(tempfile.mkdtemp())
        else:
            parts, staging = parts_dir_for(out_dir), staging_dir(out_dir)
        try:
            run_chunks(jobs, parts, backend=backend, chunk_steps=chunk_steps, resume=resume, progress=progress)
            assembled = {job.name: assemble(job.plan, parts / job.subdir, staging / job.subdir) for job in jobs}
            tables = assembled["baseline"].tables
            meta = self._meta(plan)
            if len(jobs) > 1:
                sweep = sweep_table({name: a.comparison for name, a in assembled.items()})
                tables.add("sweep", sweep)
                meta["sweep"] = [{"name": job.name, "description": "The scenario as declared." if job.name ==
                                  "baseline" else next(v.description for v in self.spec.sweep.variants
                                                       if v.name == job.name)} for job in jobs]
            result = ScenarioResult(tables, meta, out_dir=out_dir)
            result.variants = {job.name: ScenarioResult(assembled[job.name].tables, self._meta(job.plan),
                                                        out_dir=None) for job in jobs[1:]}
            if out_dir is None:
                result.tables = tables.materialize()
                for variant in result.variants.values():
                    variant.tables = variant.tables.materialize()
                return result
            for job in reversed(jobs):  # the baseline's manifest.json last
                write_run_files(staging / job.subdir, assembled[job.name].tables, job.plan)
            swap_into_place(staging, out_dir)
            for job in jobs:
                assembled[job.name].tables.folder = out_dir / job.subdir
            for name, variant in result.variants.items():
                variant.out_dir = out_dir / "variants" / name
        finally:
            shutil.rmtree(staging, ignore_errors=True)
            if out_dir is None:
                shutil.rmtree(parts, ignore_errors=True)
        shutil.rmtree(parts, ignore_errors=True)  # complete: the parts are no longer needed
        return result

    def _meta(self, plan: Plan) -> dict:
        times = plan.times
        return {
            "title": self.spec.scenario.name, "scenario": self.spec.scenario.name,
            "description": self.spec.scenario.description, "source": self.source,
            "start": str(times.iso[0]), "end": str(times.iso[-1]), "step_s": self.spec.time.step_s,
            "instants": len(times), "constellation": plan.constellation.description,
            "satellites": len(plan.constellation), "routing": self.spec.network.routing,
            "gateway_selection": self.spec.network.gateway_selection,
            "isl": self.spec.network.isl, "input_sha256": plan.input_hashes,
            "generated_at": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "leosim_version": leosim_version(), "limitations": list(LIMITATIONS),
            "notes": [f"{r.name}: {r.note}" for r in self.spec.regions if r.note],  # fleets' sources: "sources"
            "variants": [{"name": v.name, "description": v.description} for v in plan.variants],
            "sources": _sources(plan),
            "geometries": {key: plan.territories.geometry(key) for key in _map_keys(plan)},
        }


def _sources(plan: Plan) -> list[dict]:
    """The cited sources of the baseline rules and the fleets (report: links): one dict per rule or fleet
    with a ``url`` or ``source``; keys ``what`` ('rule' or 'fleet'), ``subject`` (rule subject or fleet
    name), ``key`` (territory key of a rule), ``state``, ``reason``, ``url``, ``source``."""
    rules = [{"what": "rule", "subject": r.subject, "key": r.key, "state": r.state, "reason": r.reason,
              "url": r.url, "source": r.source} for r in plan.rules if r.url or r.source]
    fleets = [{"what": "fleet", "subject": f.name, "key": "", "state": "", "reason": "", "url": f.url,
               "source": f.source} for f in plan.fleets if f.url or f.source]
    return rules + fleets


def _map_keys(plan) -> list[str]:
    """Territories drawn on the report's map: those of the sites and those named by rules."""
    attrs = plan.site_attributes
    keys = {k for k in (*attrs["country3"].tolist(), *attrs["region"].tolist()) if k}
    for variant in plan.variants:
        keys.update(r.key for r in variant.rules if r.kind in ("country", "region"))
    return sorted(keys)


class ScenarioResult:
    """The tables of a run (pandas DataFrames, see docs/outputs.md) with their report and plots."""

    def __init__(self, tables: dict[str, pd.DataFrame], meta: dict, out_dir: Path | None = None):
        self.tables = tables
        self.meta = meta
        self.out_dir = out_dir
        self.variants: dict[str, ScenarioResult] = {}
        """A sweep's variants by name (empty without ``[sweep]``)."""

    def __getitem__(self, name: str) -> pd.DataFrame:
        return self.tables[name]

    def __repr__(self) -> str:
        listed = ", ".join(f"{k} ({len(v)})" for k, v in self.tables.items())
        return f"ScenarioResult({self.meta['scenario']!r}: {listed})"

    def summary(self) -> pd.DataFrame:
        """Per territory: covered, routable, allowed and served fractions, and the median RTT when served."""
        availability = self.tables.get("availability")
        if availability is None or availability.empty:
            return pd.DataFrame()
        table = availability[availability["scope"] == "territory"].drop(columns=["scope"]).copy()
        access = self.tables["access"].merge(self.tables["sites"][["site_id", "territory"]], on="site_id")
        rtt = (access[access["status"] == "ok"].groupby("territory")["rtt_ms"].median())
        would = access[access["routable"]].groupby("territory")["rtt_ms"].median()
        table["median_rtt_ms"] = table["key"].map(rtt)
        table["median_rtt_if_allowed_ms"] = table["key"].map(would)
        return table.reset_index(drop=True)
