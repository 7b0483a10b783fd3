"""CLI command for Hypatia interoperability: ``leosim hypatia-state``."""

from __future__ import annotations

import math

import click

from ._options import progress_bar


def register(group) -> None:
    """Add this module's commands to the top-level ``leosim`` group."""
    group.add_command(hypatia_state)


@click.command("hypatia-state")
@click.option("--hypatia", "hypatia", required=True, type=click.Path(file_okay=False),
              help="A satgenpy output folder (tles.txt, isls.txt, ground_stations.txt, description.txt).")
@click.option("--duration", "duration_s", required=True, type=float, help="Length of the run, seconds.")
@click.option("--step-ms", "step_ms", required=True, type=float, help="Time step, milliseconds.")
@click.option("--out", "out", required=True, type=click.Path(file_okay=False),
              help="Folder in which dynamic_state_<step>ms_for_<duration>s/ is created (often the satgenpy folder).")
@click.option("--workers", "workers", type=click.IntRange(min=1), default=1, show_default=True,
              help="Processes, each computing a contiguous block of time steps (output identical for any N).")
def hypatia_state(hypatia, duration_s, step_ms, out, workers):
    """Write Hypatia's dynamic state (fstate_<t>.txt, gsl_if_bandwidth_<t>.txt) for a satgenpy folder.

    Same files as satgenpy's algorithm_free_one_only_over_isls with one GSL interface per node, so that
    Hypatia's ns-3 simulation runs on them unchanged.
    """
    from ..errors import LeosimInputError
    from ..interop.hypatia import read_satgenpy_folder, write_dynamic_state

    if math.isfinite(step_ms) and step_ms != round(step_ms):  # NaN/inf are rejected by write_dynamic_state
        raise LeosimInputError(f"must be a whole number of milliseconds, as satgenpy and its ns-3 "
                               f"configuration use, got {step_ms}", field="--step-ms")
    network = read_satgenpy_folder(hypatia)
    update, close = progress_bar("hypatia-state")
    try:
        folder = write_dynamic_state(network, out, duration_s, step_ms, workers=workers, progress=update)
    finally:
        close()
    click.echo(f"{folder}  ({network.num_satellites} satellites, {network.num_ground_stations} ground stations)")
