"""Malformed command lines: missing required options, bad choices and types, unknown options and commands,
absurd windows, bad paths. Each ends in exit 2 and one ``error:`` line naming the option (never click's
usage block, never a traceback)."""

from __future__ import annotations

import math

import pytest
from bad_input_cli import assert_one_error, invoke
from hypothesis import given, settings
from hypothesis import strategies as st

POS = ["positions", "--constellation", "starlink-gen1"]
VIS = ["visible", "--constellation", "starlink-gen1", "--lat", "50.45", "--lon", "30.52"]
RTT = ["rtt", "--constellation", "starlink-gen1", "--sites", "default-cities:3", "--all-pairs", "--duration", "60",
       "--step", "60"]
ACCESS = ["access", "--lat", "50.45", "--lon", "30.52", "--at", "2024-10-25T12:00:00Z"]


def _cases(tmp):
    """(id, arguments, what the error line must name); ``tmp`` is a scratch folder."""
    out = str(tmp / "o.csv")
    return [
        # -- leosim run
        ("run-no-scenario", ["run"], ("SCENARIO.toml",)),
        ("run-no-out", ["run", "s.toml"], ("--out",)),
        ("run-bad-backend", ["run", "s.toml", "--out", "o", "--backend", "cloud"], ("--backend", "cloud")),
        ("run-workers-zero", ["run", "s.toml", "--out", "o", "--workers", "0"], ("--workers",)),
        ("run-workers-text", ["run", "s.toml", "--out", "o", "--workers", "two"], ("--workers",)),
        ("run-chunk-steps-zero", ["run", "s.toml", "--out", "o", "--chunk-steps", "0"], ("--chunk-steps",)),
        ("run-unknown-option", ["run", "s.toml", "--out", "o", "--fast"], ("--fast",)),
        ("run-out-missing-value", ["run", "s.toml", "--out"], ("--out",)),
        ("run-scheduler-without-dask", ["run", "s.toml", "--out", "o", "--backend", "processes", "--scheduler",
                                        "tcp://x:1"], ("--scheduler",)),
        # -- the group
        ("unknown-command", ["simulate"], ("simulate",)),
        ("unknown-global-option", ["--colour"], ("--colour",)),
        # -- positions
        ("positions-no-out", POS, ("--out",)),
        ("positions-tiny-step", [*POS, "--duration", "60", "--step", "1e-9", "--out", out],
         ("--step", "instants", "at most")),
        ("positions-nan-step", [*POS, "--step", "nan", "--out", out], ("--step", "not a number")),
        ("positions-negative-step", [*POS, "--step", "-1", "--out", out], ("--step",)),
        ("positions-zero-step", [*POS, "--step", "0", "--out", out], ("--step",)),
        ("positions-negative-duration", [*POS, "--duration", "-5", "--out", out], ("--duration",)),
        ("positions-inf-duration", [*POS, "--duration", "inf", "--out", out], ("--duration", "not a number")),
        ("positions-text-step", [*POS, "--step", "fast", "--out", out], ("--step",)),
        ("positions-bad-start", [*POS, "--start", "yesterday", "--out", out], ("yesterday",)),
        ("positions-both-sources", [*POS, "--tle", "x.tle", "--out", out], ("--constellation/--tle",)),
        ("positions-no-source", ["positions", "--out", out], ("--constellation/--tle",)),
        ("positions-unknown-preset", ["positions", "--constellation", "starlink-gen9", "--out", out],
         ("starlink-gen9",)),
        ("positions-tle-missing", ["positions", "--tle", str(tmp / "none.tle"), "--out", out], ("none.tle",)),
        ("positions-tle-is-a-folder", ["positions", "--tle", str(tmp), "--out", out], ("--tle", "is a directory")),
        ("positions-bad-extension", [*POS, "--out", str(tmp / "o.xlsx")], ("--out", ".xlsx")),
        ("positions-out-is-a-folder", [*POS, "--out", str(tmp)], ("--out",)),
        # -- visible
        ("visible-no-lat", ["visible", "--constellation", "starlink-gen1", "--lon", "30"], ("--lat",)),
        ("visible-lat-95", [*VIS[:3], "--lat", "95", "--lon", "30"], ("lat",)),
        ("visible-lat-nan", [*VIS[:3], "--lat", "nan", "--lon", "30"], ("lat",)),
        ("visible-lon-text", [*VIS[:3], "--lat", "50", "--lon", "east"], ("--lon",)),
        ("visible-mask-text", [*VIS, "--min-elevation", "low"], ("--min-elevation",)),
        ("visible-tiny-step", [*VIS, "--duration", "600", "--step", "1e-9"], ("--step", "instants")),
        # -- rtt
        ("rtt-no-step", RTT[:-2] + ["--out", out], ("--step",)),
        ("rtt-bad-mode", [*RTT, "--mode", "warp", "--out", out], ("--mode", "warp")),
        ("rtt-no-out", RTT, ("--out",)),
        ("rtt-tiny-step", [*RTT[:-1], "1e-9", "--out", out], ("--step", "instants")),
        ("rtt-pair-one-value", [*RTT[:5], "--duration", "60", "--step", "60", "--out", out, "--pair", "kyiv"],
         ("--pair",)),
        # -- access
        ("access-no-at", ACCESS[:5], ("--at",)),
        ("access-lat-text", ["access", "--lat", "north", "--lon", "30", "--at", "now"], ("--lat",)),
        ("access-bad-at", [*ACCESS[:5], "--at", "soon"], ("soon",)),
        # -- hypatia-state
        ("hypatia-no-folder", ["hypatia-state", "--duration", "1", "--step-ms", "100", "--out", str(tmp)],
         ("--hypatia",)),
        ("hypatia-fractional-ms", ["hypatia-state", "--hypatia", str(tmp), "--duration", "1", "--step-ms", "0.5",
                                   "--out", str(tmp)], ("--step-ms",)),
        ("hypatia-workers-zero", ["hypatia-state", "--hypatia", str(tmp), "--duration", "1", "--step-ms", "100",
                                  "--out", str(tmp), "--workers", "0"], ("--workers",)),
    ]


_IDS = [case[0] for case in _cases(__import__("pathlib").Path("/tmp"))]


@pytest.mark.parametrize("case_id", _IDS)
def test_bad_command_line(tmp_path, case_id):
    args, needles = next((a, n) for i, a, n in _cases(tmp_path) if i == case_id)
    assert_one_error(invoke(args), *needles)


def test_case_ids_are_distinct():
    assert len(set(_IDS)) == len(_IDS)


def test_bare_group_prints_its_help_not_an_error():
    result = invoke(["policy"])
    assert result.exit_code == 0 and "Usage" in result.output


@settings(max_examples=30, deadline=None)
@given(st.one_of(st.floats(max_value=0.0), st.sampled_from([math.nan, math.inf, -math.inf]),
                 st.floats(min_value=1e-15, max_value=1e-7)))
def test_any_bad_step_is_one_error_line(step_s):
    result = invoke([*POS, "--duration", "3600", "--step", repr(step_s), "--out", "/nonexistent/o.csv"])
    assert_one_error(result, "--step")
