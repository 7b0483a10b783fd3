"""Times: ranges, Julian dates and UT1, against skyfield's timescale."""

from __future__ import annotations

import numpy as np
import pytest

from leosim.errors import LeosimInputError
from leosim.timebase import Times, parse_utc

ONE_MICROSECOND_DAYS = 1e-6 / 86_400.0


def test_range_excludes_end_and_keeps_one_instant():
    times = Times.from_range("2024-10-25T00:00:00Z", 3600, 60)
    assert len(times) == 60
    assert times.iso[0] == "2024-10-25T00:00:00.000Z"
    assert times.iso[-1] == "2024-10-25T00:59:00.000Z"
    assert len(Times.from_range("2024-10-25T00:00:00Z", 0, 60)) == 1
    assert len(Times.from_range("2024-10-25T00:00:00Z", 0.35, 0.1)) == 4
    np.testing.assert_array_equal(times.offset_s, np.arange(60) * 60.0)


def test_offsets_and_timezones():
    assert parse_utc("2024-10-25T03:00:00+03:00") == np.datetime64("2024-10-25T00:00:00", "ns")
    assert parse_utc("2024-10-25T00:00:00") == parse_utc("2024-10-25T00:00:00Z")


@pytest.mark.parametrize("bad", ["yesterday", "2024-13-01T00:00:00Z", ""])
def test_bad_instants_are_input_errors(bad):
    with pytest.raises(LeosimInputError, match="ISO 8601"):
        parse_utc(bad)


def test_bad_steps_are_input_errors():
    with pytest.raises(LeosimInputError, match="step"):
        Times.from_range("2024-10-25T00:00:00Z", 60, -1)
    with pytest.raises(LeosimInputError, match="duration"):
        Times.from_range("2024-10-25T00:00:00Z", -60, 1)


def test_julian_dates_match_skyfield(ts):
    times = Times.from_range("2023-06-30T23:59:00Z", 7 * 86_400, 3_333.3)
    whole, fraction = times.jd_utc
    assert np.all(whole % 1.0 == 0.5)
    assert np.all((fraction >= 0) & (fraction < 1))
    seconds = times.offset_s
    t = ts.utc(2023, 6, 30, 23, 59, seconds)
    sky_utc_fraction = t.tai_fraction - t._leap_seconds() / 86_400.0
    # Compare two-part dates part by part (a one-part JD only resolves 40 µs). One microsecond is far
    # below any effect on positions (7.6 mm of orbital motion).
    np.testing.assert_allclose((whole - t.whole) + (fraction - sky_utc_fraction), 0.0, rtol=0,
                               atol=ONE_MICROSECOND_DAYS)
    np.testing.assert_allclose(times.dut1_s, t.dut1, rtol=0, atol=1e-6)
    ut1_whole, ut1_fraction = times.jd_ut1
    np.testing.assert_allclose((ut1_whole - t.whole) + (ut1_fraction - t.ut1_fraction), 0.0, rtol=0,
                               atol=ONE_MICROSECOND_DAYS)


def test_slices_and_chunks_cover_everything():
    times = Times.from_range("2024-01-01T00:00:00Z", 100, 1)
    pieces = list(times.chunks(7))
    assert sum(len(p) for p in pieces) == 100
    np.testing.assert_array_equal(np.concatenate([p.utc for p in pieces]), times.utc)
    assert times[10:12] == Times(times.utc[10:12])
