"""Bad time inputs (issue 11, part 1): every instant is range-checked *before* it becomes datetime64[ns].

datetime64[ns] wraps silently outside 1678-09-21 .. 2262-04-11 (2600-01-01 became 2015-06-13); every door
must refuse such instants with one LeosimInputError (CLI: one ``error:`` line, exit 2). The reference for
"not wrapped" is Python's own ``datetime`` (which holds years 1-9999 exactly): an accepted instant must
equal it to the microsecond.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leosim.cli import main
from leosim.errors import LeosimInputError
from leosim.timebase import EARLIEST_UTC, LATEST_UTC, Times, add_seconds, check_utc_range, parse_utc

ROOT = Path(__file__).resolve().parents[2]
SEED = ROOT / "examples" / "ukraine-taiwan-2024.toml"
EARLIEST = dt.datetime(1957, 10, 4)
LATEST = dt.datetime(2101, 1, 1)


def _as_datetime(value: np.datetime64) -> dt.datetime:
    """An accepted instant as a Python datetime (exact to the microsecond)."""
    ns = int(value.astype(np.int64))
    return dt.datetime(1970, 1, 1) + dt.timedelta(microseconds=ns // 1000)


@pytest.mark.parametrize("text", [
    "2600-01-01T00:00:00Z",            # the case: became 2015-06-13
    "2262-04-12T00:00:00Z",            # just past datetime64[ns]'s end
    "2263-01-01",
    "1600-01-01T00:00:00Z",            # before datetime64[ns]'s start
    "1677-12-31",
    "0001-01-01T00:00:00Z",
    "9999-12-31T23:59:59Z",
    "9999-12-31T23:59:59-05:00",       # astimezone would overflow
    "0001-01-01T00:30:00+01:00",
    "1957-10-03T23:59:59Z",            # one second before the range
    "2101-01-01T00:00:01Z",            # one second after the range
    "2101-01-01T00:00:00.000001Z",
    "1957-10-04T00:30:00+01:00",       # 1957-10-03T23:30Z in UTC
    "2100-12-31T23:30:00-01:00",       # 2101-01-01T00:30Z in UTC
    "1900-01-01",
    "3000-06-15T12:00:00",
])
def test_out_of_range_strings_are_refused(text):
    with pytest.raises(LeosimInputError, match="outside the supported range"):
        parse_utc(text)


@pytest.mark.parametrize("text", [
    "", " ", "yesterday", "2024-13-01", "2024-02-30", "2024-10-25T25:00:00Z", "2024-10-25T12:61:00",
    "2024-1-5T1:2", "2024-10-25T12:00:00+25:00", "2024/10/25", "NaT", "nan", "inf", "1e9", "2024-10-25Z",
    "2024-10-25T12:00:00ZZ", "\x00", "2024-10-25T12:00:00\n2600-01-01", "--", "T12:00:00",
])
def test_malformed_strings_are_refused(text):
    with pytest.raises(LeosimInputError):
        parse_utc(text)


@pytest.mark.parametrize("value", [
    np.datetime64("2600-01-01", "D"), np.datetime64("1600", "Y"), np.datetime64("2262-05-01T00:00", "m"),
    np.datetime64("NaT"), np.datetime64(10**15, "D"), np.datetime64(-(10**12), "s"),
    dt.datetime(2600, 1, 1), dt.datetime(1, 1, 1), dt.datetime(9999, 12, 31, tzinfo=dt.UTC),
    dt.date(2024, 1, 1), 5, 1.5, None, b"2024-01-01",
])
def test_out_of_range_or_wrong_type_values_are_refused(value):
    with pytest.raises(LeosimInputError):
        parse_utc(value)


def test_range_ends_are_included():
    assert parse_utc("1957-10-04T00:00:00Z") == EARLIEST_UTC
    assert parse_utc("2101-01-01T00:00:00Z") == LATEST_UTC
    assert parse_utc(np.datetime64("2101-01-01", "D")) == LATEST_UTC


@pytest.mark.parametrize("array", [
    np.array(["2024-01-01", "2600-01-01"], dtype="datetime64[D]"),
    np.array(["2024-01-01T00:00", "NaT"], dtype="datetime64[m]"),
    np.array(["1000-01-01"], dtype="datetime64[D]"),
    ["2024-01-01T00:00:00", "2600-01-01T00:00:00"],
    ["not a time"],
])
def test_times_refuse_arrays_outside_the_range(array):
    with pytest.raises(LeosimInputError):
        Times(array)


@pytest.mark.parametrize(("start", "duration_s"), [
    ("2100-12-31T00:00:00Z", 2 * 86_400.0),   # start in range, end past it
    ("2024-01-01T00:00:00Z", 1e12),           # would overflow datetime64[ns]
    ("2024-01-01T00:00:00Z", 1e300),
    ("2024-01-01T00:00:00Z", float("inf")),
    ("2024-01-01T00:00:00Z", float("nan")),
    ("2024-01-01T00:00:00Z", -60.0),
    ("2600-01-01T00:00:00Z", 60.0),
])
def test_start_plus_duration_is_checked(start, duration_s):
    with pytest.raises(LeosimInputError):
        Times.from_range(start, duration_s, 60.0)


@pytest.mark.parametrize("seconds", [1e12, -1e12, 200 * 365.25 * 86_400, float("nan"), float("inf")])
def test_add_seconds_never_wraps(seconds):
    with pytest.raises(LeosimInputError):
        add_seconds(parse_utc("2024-01-01T00:00:00Z"), seconds)


def test_add_seconds_agrees_with_python_datetime():
    # Reference: datetime arithmetic, exact to the microsecond over this span.
    start = dt.datetime(2024, 10, 25, 6)
    got = add_seconds(parse_utc(start), 10_800.5)
    assert _as_datetime(got) == start + dt.timedelta(seconds=10_800.5)


@settings(max_examples=150, deadline=None)
@given(st.datetimes(min_value=dt.datetime(1, 1, 2), max_value=dt.datetime(9999, 12, 30),
                    timezones=st.sampled_from([None, dt.UTC, dt.timezone(dt.timedelta(hours=5, minutes=30)),
                                               dt.timezone(dt.timedelta(hours=-11))])))
def test_any_datetime_is_exact_or_refused(value):
    """Property: a datetime is either accepted exactly (same instant as Python's) or refused; never wrapped."""
    utc = value if value.tzinfo is None else value.astimezone(dt.UTC).replace(tzinfo=None)
    for form in (value, value.isoformat()):
        try:
            got = parse_utc(form)
        except LeosimInputError:
            assert not EARLIEST <= utc <= LATEST, f"{form!r} is in range but refused"
            continue
        assert EARLIEST <= utc <= LATEST
        assert _as_datetime(got) == utc


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(alphabet=st.sampled_from("0123456789-:T Z+.zt/e"), max_size=40) | st.text(max_size=30))
def test_any_text_is_an_instant_in_range_or_an_input_error(text):
    """Property: text gives an instant in the range or a LeosimInputError; nothing else escapes."""
    try:
        got = parse_utc(text)
    except LeosimInputError:
        return
    assert EARLIEST_UTC <= got <= LATEST_UTC


@settings(max_examples=100, deadline=None)
@given(st.integers(min_value=-(2**62), max_value=2**62),
       st.sampled_from(["Y", "M", "D", "h", "m", "s", "ms", "us", "ns"]))
def test_any_datetime64_is_in_range_or_refused(count, unit):
    """Property over every datetime64 unit: accepted values equal their own value, refused ones raise."""
    value = np.datetime64(count, unit)
    try:
        got = check_utc_range(value)
    except LeosimInputError:
        return
    assert EARLIEST_UTC <= got <= LATEST_UTC
    assert got.astype(f"datetime64[{unit}]") == value  # no wrap: converting back gives the same value


# ----- the doors: CLI, scenario ------------------------------------------------------------------------
@pytest.mark.parametrize("args", [
    ["policy", "show", "--at", "2600-01-01T00:00:00Z"],
    ["policy", "show", "--at", "2024-01-01", "--as-of", "1600-01-01"],
    ["policy", "set", "FRA", "denied", "--from", "2024-01-01", "--until", "2600-01-01", "--by", "a",
     "--reason", "r"],
    ["access", "--lat", "50", "--lon", "30", "--at", "2600-01-01T00:00:00Z"],
])
def test_cli_time_options_out_of_range_exit_2(tmp_path, args):
    from leosim.policy.store import PolicyStore

    PolicyStore(tmp_path / "p.sqlite").close()  # an existing, empty store: the time is what is wrong
    result = CliRunner().invoke(main, [*args, "--db", str(tmp_path / "p.sqlite")])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert [line for line in result.output.splitlines() if line.startswith("error:")], result.output
    assert "supported range" in result.output


def _seed_text(**replace) -> str:
    text = SEED.read_text().replace('geojson = "regions/', f'geojson = "{ROOT}/examples/regions/')
    for old, new in replace.items():
        assert old in text, old
        text = text.replace(old, new)
    return text


@pytest.mark.parametrize(("old", "new", "field"), [
    ("start = 2024-10-25T06:00:00Z", "start = 2600-01-01T00:00:00Z", "time.start"),
    ("start = 2024-10-25T06:00:00Z", "start = 1600-01-01T00:00:00Z", "time.start"),
    ("start = 2024-10-25T06:00:00Z", 'start = "2600-01-01T00:00:00Z"', "time.start"),
    ("start = 2024-10-25T06:00:00Z", "start = 2101-01-01T00:00:00Z", "time.duration_s"),  # start + duration
])
def test_scenario_start_out_of_range(tmp_path, old, new, field):
    scenario = tmp_path / "far.toml"
    scenario.write_text(_seed_text(**{old: new}))
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["run", str(scenario), "--out", str(out), "--no-report"])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output and "supported range" in result.output
    assert field in result.output and "far.toml" in result.output
    assert not out.exists()
