"""Helpers of the bad-input suite: run the CLI in-process and check the one promise every malformed input
gets: exit 2, one ``error:`` line (naming the file, line or field), and no traceback."""

from __future__ import annotations

from click.testing import CliRunner

from leosim.cli import main


def invoke(args: list[str]):
    """Run ``leosim ARGS`` in this process (stdout and stderr together, as a terminal shows them)."""
    return CliRunner().invoke(main, [str(a) for a in args])


def assert_one_error(result, *needles: str, code: int = 2) -> str:
    """Exit ``code``, exactly one non-empty output line, starting ``error:``, containing every needle."""
    assert "Traceback" not in result.output, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert result.exit_code == code, (result.exit_code, result.output)
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.output
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    return lines[0]
