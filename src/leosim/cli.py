"""The ``leosim`` command line. Each concept's commands live in :mod:`leosim.commands`.

Every failure ends in one ``error:`` line on stderr, never a traceback:

- bad input (:class:`~leosim.errors.LeosimInputError`, a missing or unreadable input file) and usage errors
  (a missing required option, a bad choice or type, an unknown option) exit 2;
- a failure of the environment while writing (:class:`~leosim.errors.LeosimOutputError`: full disk, no
  permission, named by the user's path) exits 1;
- a policy store that cannot be used (:class:`~leosim.errors.LeosimStoreError`: damaged, foreign, busy,
  full disk) is named and exits 1.
"""

from __future__ import annotations

import errno
import os
import sys
import warnings

import click

from .commands import access, hypatia, network, physical, policy, scenario, serve
from .errors import LeosimInputError, LeosimOutputError, LeosimStoreError, LeosimWarning

EXIT_INPUT = 2
"""Exit status of bad input and usage errors (as click and most Unix tools use it)."""
EXIT_FAILURE = 1
"""Exit status of a failure that is not the input's fault (a full disk, no permission to write)."""


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


class _LeosimGroup(click.Group):
    """A click group whose every failure is one ``error:`` line and an exit status (see the module)."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode, **extra)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("always", LeosimWarning)  # each shown once, as one line
                warnings.showwarning = _show_warning
                code = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except click.exceptions.NoArgsIsHelpError as error:  # bare `leosim` or a bare group: its help
            click.echo(error.ctx.get_help() if error.ctx else error.format_message())
            sys.exit(0)
        except click.UsageError as error:
            where = f"{error.ctx.command_path}: " if error.ctx is not None else ""
            hint = f" (see '{error.ctx.command_path} --help')" if error.ctx is not None else ""
            sys.exit(_fail(f"{where}{error.format_message()}{hint}", EXIT_INPUT))
        except click.exceptions.Abort:
            sys.exit(_fail("aborted", EXIT_FAILURE))
        except click.ClickException as error:
            sys.exit(_fail(error.format_message(), error.exit_code))
        except LeosimInputError as error:
            sys.exit(_fail(str(error), EXIT_INPUT))
        except LeosimStoreError as error:
            sys.exit(_fail(str(error), EXIT_FAILURE))
        except LeosimOutputError as error:
            sys.exit(_fail(str(error), EXIT_FAILURE))
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError) as error:  # an input path
            reason = "no such file" if isinstance(error, FileNotFoundError) else os.strerror(error.errno).lower()
            sys.exit(_fail(f"{error.filename or error}: {reason}", EXIT_INPUT))
        except OSError as error:
            if error.errno in (errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM):
                path = error.filename or "output"
                sys.exit(_fail(f"cannot write {path}: {os.strerror(error.errno).lower()}", EXIT_FAILURE))
            raise
        sys.exit(code if isinstance(code, int) else 0)


_show_python_warning = warnings.showwarning


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """leosim's warnings as one ``warning:`` line on stderr; others as Python shows them."""
    if issubclass(category, LeosimWarning):
        click.echo(f"warning: {_one_line(message)}", err=True)
    else:
        _show_python_warning(message, category, filename, lineno, file, line)


def _fail(message: str, code: int) -> int:
    click.echo(f"error: {_one_line(message)}", err=True)
    return code


@click.group(cls=_LeosimGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="leosim")
def main():
    """leosim: a simulator of a Starlink-style satellite-internet system."""


for _module in (physical, network, policy, access, scenario, hypatia, serve):
    _module.register(main)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
