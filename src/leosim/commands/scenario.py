"""CLI commands for scenarios: ``leosim run`` and ``leosim schema``."""

from __future__ import annotations

import click

from ._options import progress_bar


def register(group) -> None:
    """Add this module's commands to the top-level ``leosim`` group."""
    group.add_command(run)
    group.add_command(schema)
    group.add_command(export)


@click.command()
@click.argument("scenario_file", metavar="SCENARIO.toml", type=click.Path(dir_okay=False))
@click.option("--out", "out", required=True, type=click.Path(file_okay=False),
              help="Output folder (replaced atomically when the run completes).")
@click.option("--workers", type=click.IntRange(1, 256), default=1, show_default=True,
              help="Worker processes (local processes, or the processes of a Dask LocalCluster).")
@click.option("--backend", type=click.Choice(["in-process", "processes", "dask"]), default=None,
              help="Where chunks run: in this process, local processes, or Dask. "
                   "[default: in-process for 1 worker, processes for more, dask with --scheduler]")
@click.option("--scheduler", metavar="tcp://HOST:PORT", default=None,
              help="A running Dask scheduler to use (implies --backend dask).")
@click.option("--resume", is_flag=True,
              help="Continue an interrupted run into --out from its completed chunks (same scenario, inputs "
                   "and --chunk-steps; refused otherwise).")
@click.option("--chunk-steps", type=click.IntRange(1, 1_000_000), default=60, show_default=True,
              help="Instants per chunk of work.")
@click.option("--no-report", is_flag=True, help="Write the tables only.")
@click.option("--format", "formats", type=click.Choice(["parquet", "csv"]), multiple=True,
              help="Also write the tables as CSV (--format csv: each table.parquet gets a table.csv beside it, "
                   "for spreadsheets). Parquet is always written.")
def run(scenario_file, out, workers, backend, scheduler, resume, chunk_steps, no_report, formats):
    """Run a scenario: Parquet tables, the resolved scenario and report.html in --out."""
    from ..scenario import Scenario
    from ..scenario.backends import make_backend

    # The backend first: a missing extra (dask) or a bad --scheduler fails before the scenario loads.
    backend = make_backend(backend, workers=workers, scheduler=scheduler)
    scenario = Scenario.from_toml(scenario_file)
    _ = scenario.plan  # resolve inputs first: bad input fails before any work starts
    update, close = progress_bar("run", unit="chunk")
    try:
        result = scenario.run(out, workers=workers, chunk_steps=chunk_steps, progress=update, backend=backend,
                              resume=resume)
    finally:
        close()
    want_report = scenario.spec.output.report and not no_report
    if want_report:
        from ..output import output_errors
        from ..report import write_report

        with output_errors(out):
            write_report(result)
    if "csv" in formats:
        from ..output import output_errors, parquet_folder_to_csv

        with output_errors(out):
            written = parquet_folder_to_csv(out, out)
        click.echo(f"wrote {len(written)} CSV tables beside the Parquet ones in {out}", err=True)
    from ..timebase import format_duration

    meta = result.meta
    window = format_duration(meta["instants"] * float(meta["step_s"]))
    click.echo(f"{meta['scenario']}: {meta['instants']} instants every {float(meta['step_s']):g} s from "
               f"{meta['start']} ({window}), {meta['satellites']} satellites")
    for line in summary_lines(result.summary(), result.tables.get("whatif")):
        click.echo(line)
    click.echo(f"results in {out}" + (f" (open {out}/report.html)" if want_report else ""))


def _ms(value) -> str:
    """An RTT in ms for the summary table, '-' when there is none."""
    return "-" if value != value else f"{value:.1f}"  # NaN is the only value unequal to itself


def _pct(value) -> str:
    return "-" if value != value else f"{value:.1%}"


def summary_lines(summary, whatif=None) -> list[str]:
    """The run summary as text lines: per territory, the baseline's shares and RTTs, then each what-if
    variant's served share and median RTT side by side, with a legend saying which statistic each column is.
    ``summary``: :meth:`ScenarioResult.summary`; ``whatif``: the whatif table (or None)."""
    if summary is None or summary.empty:
        return []
    variants = [] if whatif is None or whatif.empty else [
        v for v in dict.fromkeys(whatif["variant"].astype(str)) if v != "baseline"]
    width = max(18, *(len(_territory(row)) for row in summary.itertuples()))
    head = (f"{'territory':{width}s} {'covered':>8s} {'routable':>8s} {'allowed':>8s} {'served':>8s} "
            f"{'RTT ms':>7s} {'if allowed':>10s}")
    head += "".join(f" | {f'[{n}] served':>10s} {'RTT ms':>7s}" for n, _ in enumerate(variants, start=1))
    lines = [head]
    territory_rows = None if not variants else whatif[whatif["scope"] == "territory"]
    for row in summary.itertuples():
        line = (f"{_territory(row):{width}s} {_pct(row.covered_frac):>8s} {_pct(row.routable_frac):>8s} "
                f"{_pct(row.allowed_frac):>8s} {_pct(row.service_frac):>8s} {_ms(row.median_rtt_ms):>7s} "
                f"{_ms(row.median_rtt_if_allowed_ms):>10s}")
        for variant in variants:
            match = territory_rows[(territory_rows["variant"] == variant) & (territory_rows["key"] == row.key)]
            served = float(match["service_frac"].iloc[0]) if len(match) else float("nan")
            rtt = float(match["median_rtt_ms"].iloc[0]) if len(match) else float("nan")
            line += f" | {_pct(served):>10s} {_ms(rtt):>7s}"
        lines.append(line)
    lines.append("covered/routable/allowed/served: share of instants over the window (baseline policy); RTT ms: "
                 "median round-trip time over the served terminal-instants; if allowed: median over the "
                 "instants with a physical route, whatever the policy.")
    lines += [f"[{n}] what-if {name!r}: share of instants served and median RTT when served"
              for n, name in enumerate(variants, start=1)]
    return lines


def _territory(row) -> str:
    """A territory's key for the summary ('(outside any territory)' for sites at sea or unclaimed land)."""
    from ..scenario.summaries import NO_TERRITORY_NAME

    return str(row.key) or NO_TERRITORY_NAME


@click.command()
@click.argument("results_dir", metavar="RESULTS_DIR", type=click.Path(exists=True, file_okay=False))
@click.option("--csv", "csv_dir", required=True, type=click.Path(file_okay=False),
              help="Folder to write the CSV tables into (same names as the Parquet tables, .csv).")
def export(results_dir, csv_dir):
    """Convert the Parquet tables of a finished run (RESULTS_DIR, the --out of `leosim run`) to CSV."""
    from ..output import parquet_folder_to_csv

    written = parquet_folder_to_csv(results_dir, csv_dir)
    click.echo(f"wrote {len(written)} CSV tables to {csv_dir}")


@click.command()
@click.option("--out", "out", type=click.Path(dir_okay=False), help="Write to this file instead of stdout.")
def schema(out):
    """Print the scenario file reference (Markdown), generated from the schema."""
    from ..scenario import schema_reference

    text = schema_reference()
    if out is None:
        click.echo(text)
        return
    from ..output import write_text_atomically

    write_text_atomically(out, text + "\n")  # a failure: LeosimOutputError naming --out (exit 1)
