"""Options shared by several commands: where the satellites come from, time windows, progress bars."""

from __future__ import annotations

import sys

import click

from ..errors import LeosimInputError


def constellation_options(func):
    """``--constellation PRESET`` or ``--tle FILE`` (TLE 2/3-line, or OMM .json/.csv)."""
    func = click.option("--tle", "tle", type=click.Path(dir_okay=False),
                        help="Element file: TLE (2- or 3-line) or OMM (.json, .csv).")(func)
    func = click.option("--constellation", "constellation",
                        help="A preset name (see `leosim constellations`).")(func)
    return func


def load_constellation(constellation: str | None, tle: str | None):
    """The :class:`~leosim.orbits.constellation.Constellation` named by exactly one of the two options."""
    from ..orbits.constellation import Constellation

    if (constellation is None) == (tle is None):
        raise LeosimInputError("give exactly one of --constellation PRESET or --tle FILE",
                               field="--constellation/--tle")
    if constellation is not None:
        return Constellation.preset(constellation)
    return Constellation.from_file(tle)


def time_window_options(func):
    """``--start ISO8601``, ``--duration SECONDS``, ``--step SECONDS``."""
    func = click.option("--step", "step_s", type=float, default=60.0, show_default=True,
                        help="Time step, seconds.")(func)
    func = click.option("--duration", "duration_s", type=float, default=0.0, show_default=True,
                        help="Length of the window, seconds (end excluded; 0 = one instant).")(func)
    func = click.option("--start", "start",
                        help="First instant, ISO 8601 UTC (e.g. 2024-10-25T12:00:00Z) or 'now'. "
                             "Defaults to the elements' epoch.")(func)
    return func


def make_times(start, duration_s, step_s, default_start):
    """A :class:`~leosim.timebase.Times` from the window options, ``default_start`` when no --start."""
    from ..timebase import Times

    try:
        return Times.from_range(default_start if start is None else start, duration_s, step_s)
    except LeosimInputError as error:
        if error.field not in ("step", "duration", "start") or error.source is not None:
            raise
        raise LeosimInputError(error.message, field=f"--{error.field}") from None


def progress(iterable, *, total: int, desc: str):
    """A progress bar on an interactive terminal (stderr), the plain iterable otherwise."""
    if not sys.stderr.isatty():
        return iterable
    from tqdm import tqdm

    return tqdm(iterable, total=total, desc=desc, unit="chunk", leave=False)
