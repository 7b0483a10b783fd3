"""The friendly layer for scenarios: :class:`Scenario` to build and run, :class:`ScenarioResult` to read."""

from __future__ import annotations

import datetime as dt
import shutil
import tempfile
from collections.abc import Callable
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import pandas as pd

from .plan import Plan
from .runner import DEFAULT_CHUNK_STEPS, assemble, run_chunks, write_results
from .schema import ScenarioSpec, load_scenario_spec, parse_scenario_text

LIMITATIONS = (
    "Orbits are SGP4 propagations of ideal Walker shells (presets) or published elements (~1 km at epoch); "
    "no drag, manoeuvres or station-keeping for generated shells.",
    "Latency is propagation delay only: no processing, queueing, scheduling (Starlink's 15 s reconfiguration "
    "interval), retransmission or last-mile delays. Measured Starlink RTTs are typically 20-40 ms higher.",
    "Links have no capacity: every terminal gets the shortest-delay path; there is no congestion, beam "
    "assignment or spectrum sharing. Weather fade and obstructions are not modelled.",
    "Gateways, PoPs, territories and policy rules are public, approximate facts; custom regions are "
    "hand-drawn outlines; cost figures are as stated in the scenario (often illustrative).",
    "Territories follow Natural Earth's German point of view (Crimea within Ukraine, Taiwan separate); "
    "custom regions overlay it.",
)


def leosim_version() -> str:
    try:
        return version("leosim")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "unknown"


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
            progress: Callable[[int, int], None] | None = None, report: bool | None = None) -> ScenarioResult:
        """Run every analysis. With ``out``, write the tables (Parquet), the resolved scenario and the report
        there, atomically. Returns a :class:`ScenarioResult`."""
        plan = self.plan
        parts = Path(tempfile.mkdtemp(prefix=".leosim-parts-",
                                      dir=Path(out).resolve().parent if out is not None else None))
        try:
            if out is not None:
                Path(out).resolve().parent.mkdir(parents=True, exist_ok=True)
            run_chunks(plan, parts, workers=workers, chunk_steps=chunk_steps, progress=progress)
            tables = assemble(plan, parts)
        finally:
            shutil.rmtree(parts, ignore_errors=True)
        result = ScenarioResult(tables, self._meta(plan), out_dir=Path(out) if out is not None else None)
        want_report = self.spec.output.report if report is None else report
        if out is not None:
            write_results(Path(out), tables, plan, result.report_html() if want_report else None)
        return result

    def _meta(self, plan: Plan) -> dict:
        times = plan.times
        return {
            "title": self.spec.scenario.name, "scenario": self.spec.scenario.name,
            "description": self.spec.scenario.description, "source": self.source,
            "start": str(times.iso[0]), "end": str(times.iso[-1]), "step_s": self.spec.time.step_s,
            "instants": len(times), "constellation": plan.constellation.description,
            "satellites": len(plan.constellation), "routing": self.spec.network.routing,
            "isl": self.spec.network.isl, "input_sha256": plan.input_hashes,
            "generated_at": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "leosim_version": leosim_version(), "limitations": list(LIMITATIONS),
            "notes": [f"{r.name}: {r.note}" for r in self.spec.regions if r.note]
            + [f"fleet {f.name}: {f.source}" for f in self.spec.policy.fleets if f.source],
            "variants": [{"name": v.name, "description": v.description} for v in plan.variants],
            "geometries": {key: plan.territories.geometry(key) for key in _map_keys(plan)},
        }


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

    def report_html(self) -> str:
        """The self-contained HTML report."""
        from ..report import build_report

        return build_report(self.tables, self.meta)

    def plot(self, name: str):
        """A matplotlib figure of one report plot (``coverage``, ``latency``, ``availability``, ``map``, ...)."""
        from ..report import plots

        return plots.figure(name, self.tables, self.meta)
