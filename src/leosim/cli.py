"""The ``leosim`` command line. Each concept's commands live in :mod:`leosim.commands`.

Bad input (:class:`~leosim.errors.LeosimInputError`) prints one ``error:`` line to stderr and exits 2.
"""

from __future__ import annotations

import sys

import click

from .commands import access, hypatia, network, physical, policy, scenario, serve
from .errors import LeosimInputError


class _LeosimGroup(click.Group):
    """A click group that turns leosim's input errors into a clear message and exit code 2."""

    def invoke(self, ctx):
        import warnings

        # leosim's warnings (e.g. stale element epochs) as one "warning:" line each, not a source excerpt.
        warnings.formatwarning = lambda message, category, *args, **kwargs: f"warning: {message}\n"
        try:
            return super().invoke(ctx)
        except LeosimInputError as error:
            click.echo(f"error: {error}", err=True)
            ctx.exit(2)
        except FileNotFoundError as error:
            click.echo(f"error: {error.filename or error}: no such file", err=True)
            ctx.exit(2)


@click.group(cls=_LeosimGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="leosim")
def main():
    """leosim: a simulator of a Starlink-style satellite-internet system."""


for _module in (physical, network, policy, access, scenario, hypatia, serve):
    _module.register(main)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
