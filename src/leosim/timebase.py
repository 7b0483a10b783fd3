"""Instants in time as arrays: UTC for people and for SGP4, UT1 for the Earth's rotation.

A :class:`Times` holds UTC instants as ``datetime64[ns]`` and gives the two-part Julian dates that SGP4
wants (UTC, per AIAA 2006-6753) and the UT1 offsets the Earth-fixed rotation needs. UT1 − UTC comes
from skyfield's built-in IERS table, which ships with skyfield and works offline; beyond the end of that
table skyfield extrapolates. Using UTC for UT1 would misplace satellites by up to ~0.4 km (|UT1 − UTC| <
0.9 s at 0.46 km/s of ground rotation).

Leap seconds: instants are spaced in UTC seconds; a range that spans a leap second has one instant that
is one second late in TAI. leosim does not model the leap second itself.
"""

from __future__ import annotations

import datetime as _dt
from functools import lru_cache

import numpy as np

from .constants import JD_UNIX_EPOCH, SECONDS_PER_DAY
from .errors import LeosimInputError

_NS_PER_S = 1_000_000_000
_NS_PER_DAY = 86_400 * _NS_PER_S


@lru_cache(maxsize=1)
def _timescale():
    from skyfield.api import load

    return load.timescale(builtin=True)


def parse_utc(value: str | _dt.datetime | np.datetime64, *, source: str = "time") -> np.datetime64:
    """Parse an ISO 8601 instant (``2024-10-25T12:00:00Z``; no offset means UTC; ``now``) to datetime64[ns]."""
    if isinstance(value, np.datetime64):
        return value.astype("datetime64[ns]")
    if isinstance(value, str):
        text = value.strip()
        if text.lower() == "now":
            return np.datetime64(_dt.datetime.now(_dt.UTC).replace(tzinfo=None), "ns")
        try:
            value = _dt.datetime.fromisoformat(text)
        except ValueError:
            raise LeosimInputError(
                f"{value!r} is not an ISO 8601 instant; expected e.g. 2024-10-25T12:00:00Z or 'now'",
                source=source) from None
    if not isinstance(value, _dt.datetime):
        raise LeosimInputError(f"{value!r} is not a date and time", source=source)
    if value.tzinfo is not None:
        value = value.astimezone(_dt.UTC).replace(tzinfo=None)
    return np.datetime64(value, "ns")


def instants_ns(instants) -> np.ndarray:
    """Int64 nanoseconds since 1970 (UTC) of :class:`Times`, datetime64, int64 ns or ISO strings, shape (T,)."""
    if isinstance(instants, Times):
        return instants.utc.astype(np.int64)
    array = np.atleast_1d(np.asarray(instants))
    if array.dtype.kind == "M":
        return array.astype("datetime64[ns]").astype(np.int64)
    if array.dtype.kind in "iu":
        return array.astype(np.int64)
    return Times.from_utc(array).utc.astype(np.int64)


class Times:
    """A 1-D array of UTC instants.

    Build one with :meth:`from_range` (start, duration, step; the end is excluded) or :meth:`from_utc`.
    Slicing gives another :class:`Times`; :meth:`chunks` walks it in memory-bounded pieces.
    """

    __slots__ = ("_utc_ns",)

    def __init__(self, utc):
        utc = np.atleast_1d(np.asarray(utc, dtype="datetime64[ns]"))
        if utc.ndim != 1:
            raise ValueError("Times needs a 1-D array of instants")
        self._utc_ns = utc.astype(np.int64)

    @classmethod
    def from_range(cls, start, duration_s: float, step_s: float) -> Times:
        """Instants ``start, start + step, ...`` before ``start + duration`` (at least one instant)."""
        if not np.isfinite(step_s) or step_s <= 0:
            raise LeosimInputError(f"step must be a positive number of seconds, got {step_s}", field="step")
        if not np.isfinite(duration_s) or duration_s < 0:
            raise LeosimInputError(f"duration must be >= 0 seconds, got {duration_s}", field="duration")
        start_ns = parse_utc(start, source="start").astype(np.int64)
        step_ns = round(step_s * _NS_PER_S)
        if step_ns <= 0:
            raise LeosimInputError(f"step {step_s} s is below one nanosecond", field="step")
        count = max(1, -(-round(duration_s * _NS_PER_S) // step_ns))
        return cls((start_ns + step_ns * np.arange(count, dtype=np.int64)).astype("datetime64[ns]"))

    @classmethod
    def from_utc(cls, instants) -> Times:
        """Explicit instants: ISO strings, datetimes or datetime64 values."""
        values = [parse_utc(v) for v in np.atleast_1d(np.asarray(instants, dtype=object))]
        return cls(np.array(values, dtype="datetime64[ns]"))

    def __len__(self) -> int:
        return self._utc_ns.size

    def __getitem__(self, index) -> Times:
        return Times(np.atleast_1d(self._utc_ns[index]).astype("datetime64[ns]"))

    def __repr__(self) -> str:
        if len(self) == 0:
            return "Times([])"
        return f"Times({len(self)} instants, {self.iso[0]} .. {self.iso[-1]})"

    def __eq__(self, other) -> bool:
        return isinstance(other, Times) and np.array_equal(self._utc_ns, other._utc_ns)

    __hash__ = None

    @property
    def utc(self) -> np.ndarray:
        """UTC instants, ``datetime64[ns]``, shape (time,)."""
        return self._utc_ns.astype("datetime64[ns]")

    @property
    def iso(self) -> np.ndarray:
        """UTC instants as ISO 8601 strings ending in ``Z`` (millisecond precision), shape (time,)."""
        return np.char.add(np.datetime_as_string(self.utc.astype("datetime64[ms]"), unit="ms"), "Z")

    @property
    def offset_s(self) -> np.ndarray:
        """Seconds since the first instant, float64, shape (time,)."""
        return (self._utc_ns - self._utc_ns[0]) / _NS_PER_S if len(self) else np.zeros(0)

    @property
    def jd_utc(self) -> tuple[np.ndarray, np.ndarray]:
        """Two-part Julian date in UTC ``(whole, fraction)``: whole ends in .5, fraction in [0, 1)."""
        days, rem_ns = np.divmod(self._utc_ns, _NS_PER_DAY)
        return JD_UNIX_EPOCH + days.astype(np.float64), rem_ns / _NS_PER_DAY

    @property
    def dut1_s(self) -> np.ndarray:
        """UT1 − UTC in seconds from skyfield's built-in IERS table, shape (time,)."""
        if len(self) == 0:
            return np.zeros(0)
        days, rem_ns = np.divmod(self._utc_ns, _NS_PER_DAY)
        t = _timescale().utc(1970, 1, 1 + days, 0, 0, rem_ns / _NS_PER_S)
        return np.atleast_1d(np.asarray(t.dut1, dtype=np.float64))

    @property
    def jd_ut1(self) -> tuple[np.ndarray, np.ndarray]:
        """Two-part Julian date in UT1 ``(whole, fraction)``; fraction may leave [0, 1) by < 1 s."""
        whole, fraction = self.jd_utc
        return whole, fraction + self.dut1_s / SECONDS_PER_DAY

    def chunks(self, size: int):
        """Yield consecutive :class:`Times` of at most ``size`` instants."""
        size = max(1, int(size))
        for first in range(0, len(self), size):
            yield self[first:first + size]
