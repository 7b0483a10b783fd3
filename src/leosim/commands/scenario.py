"""CLI commands for scenarios: ``leosim run`` and ``leosim schema``."""

from __future__ import annotations

import sys

import click

from ..errors import LeosimInputError


def register(group) -> None:
    """Add this module's commands to the top-level ``leosim`` group."""
    group.add_command(run)
    group.add_command(schema)


def _progress_bar(total_label: str):
    """A callback drawing a tqdm bar on an interactive terminal, or None (quiet) otherwise."""
    if not sys.stderr.isatty():
        return None, lambda: None
    from tqdm import tqdm

    bar = tqdm(total=None, desc=total_label, unit="chunk")

    def update(done: int, total: int) -> None:
        bar.total = total
        bar.n = done
        bar.refresh()

    return update, bar.close


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
def run(scenario_file, out, workers, backend, scheduler, resume, chunk_steps, no_report):
    """Run a scenario: Parquet tables, the resolved scenario and report.html in --out."""
    from ..scenario import Scenario
    from ..scenario.backends import make_backend

    # The backend first: a missing extra (dask) or a bad --scheduler fails before the scenario loads.
    backend = make_backend(backend, workers=workers, scheduler=scheduler)
    scenario = Scenario.from_toml(scenario_file)
    _ = scenario.plan  # resolve inputs first: bad input fails before any work starts
    update, close = _progress_bar("run")
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
    summary = result.summary()
    click.echo(f"{result.meta['scenario']}: {result.meta['start']} .. {result.meta['end']}, "
               f"{result.meta['instants']} instants, {result.meta['satellites']} satellites")
    if not summary.empty:
        click.echo(f"{'territory':18s} {'covered':>8s} {'routable':>8s} {'allowed':>8s} {'served':>8s} "
                   f"{'RTT ms':>8s} {'RTT if allowed':>15s}")
        for row in summary.itertuples():
            click.echo(f"{row.key:18s} {row.covered_frac:8.1%} {row.routable_frac:8.1%} {row.allowed_frac:8.1%} "
                       f"{row.service_frac:8.1%} {_ms(row.median_rtt_ms):>8s} {_ms(row.median_rtt_if_allowed_ms):>15s}")
    click.echo(f"results in {out}" + (f" (open {out}/report.html)" if want_report else ""))


def _ms(value) -> str:
    """An RTT in ms for the summary table, '-' when there is none."""
    return "-" if value != value else f"{value:.1f}"  # NaN is the only value unequal to itself


@click.command()
@click.option("--out", "out", type=click.Path(dir_okay=False), help="Write to this file instead of stdout.")
def schema(out):
    """Print the scenario file reference (Markdown), generated from the schema."""
    from ..scenario import schema_reference

    text = schema_reference()
    if out is None:
        click.echo(text)
        return
    try:
        with open(out, "w", encoding="utf-8") as handle:
            handle.write(text + "\n")
    except OSError as error:
        raise LeosimInputError(f"cannot write: {error.strerror}", source=out) from None
