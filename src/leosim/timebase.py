"""Instants in time as arrays: UTC for people and for SGP4, UT1 for the Earth's rotation.

A :class:`Times` holds UTC instants as ``datetime64[ns]`` and gives the two-part Julian dates that SGP4
wants (UTC, per AIAA 2006-6753) and the UT1 offsets the Earth-fixed rotation needs. UT1 − UTC comes
from skyfield's built-in IERS table, which ships with skyfield and works offline; beyond the end of that
table skyfield extrapolates. Using UTC for UT1 would misplace satellites by up to ~0.4 km (|UT1 − UTC| <
0.9 s at 0.46 km/s of ground rotation).

Leap seconds: instants are spaced in UTC seconds; a range that spans a leap second has one instant that
is one second late in TAI. leosim does not model the leap second itself.

Supported range: every instant leosim accepts, from any door (CLI options, scenario files, element-set
epochs, the policy store, HTTP parameters), lies in [:data:`EARLIEST_UTC`, :data:`LATEST_UTC`], both
included, and is checked *before* it is converted to ``datetime64[ns]`` (which wraps silently outside
1678-09-21 .. 2262-04-11: 2600 would become 2015). :func:`check_utc_range` is the one check.
"""

from __future__ import annotations

import datetime as _dt
from functools import lru_cache

import numpy as np

from .constants import BYTES_PER_POSITION, JD_UNIX_EPOCH, MAX_INSTANTS, SECONDS_PER_DAY
from .errors import LeosimInputError

_NS_PER_S = 1_000_000_000
_NS_PER_DAY = 86_400 * _NS_PER_S

#: First supported instant: the launch day of Sputnik 1 (1957-10-04), the oldest element set that exists;
#: also where two-digit TLE epoch years start (57 = 1957).
EARLIEST_UTC = np.datetime64("1957-10-04T00:00:00", "ns")
#: Last supported instant (included). SGP4 elements are meaningless decades from their epoch, and
#: datetime64[ns] ends in 2262; 2101-01-01 leaves room for rules "until 2100" and for what-if rules
#: decided after everything else (:data:`leosim.scenario.plan.WHATIF_DECIDED_AT`).
LATEST_UTC = np.datetime64("2101-01-01T00:00:00", "ns")
SUPPORTED_RANGE_TEXT = "1957-10-04T00:00:00Z .. 2101-01-01T00:00:00Z"
"""The supported range as people read it (used in error messages and docs)."""
_EARLIEST_YEAR, _LATEST_YEAR = 1957, 2101


def _out_of_range(text, source, field=None) -> LeosimInputError:
    return LeosimInputError(f"{text} is outside the supported range {SUPPORTED_RANGE_TEXT} (instants are "
                            "checked before conversion: datetime64[ns] would wrap them silently)",
                            source=source, field=field)


def check_utc_range(values, *, source: str = "time", field: str | None = None) -> np.ndarray:
    """``values`` (datetime64 of any unit, scalar or array) as ``datetime64[ns]``, after checking that every
    one lies in the supported range and none is NaT; :class:`LeosimInputError` otherwise.

    The check runs in the values' own unit (years first, which cannot overflow), so an instant that
    ``datetime64[ns]`` cannot hold is refused rather than wrapped.
    """
    array = np.asarray(values)
    if array.dtype.kind != "M":
        raise LeosimInputError(f"{values!r} is not a date and time", source=source, field=field)
    if np.isnat(array).any():
        raise LeosimInputError("not-a-time (NaT) is not an instant", source=source, field=field)
    years = array.astype("datetime64[Y]").astype(np.int64) + 1970
    bad = (years < _EARLIEST_YEAR) | (years > _LATEST_YEAR)
    if bad.any():
        raise _out_of_range(str(array[bad].ravel()[0]), source, field)
    ns = array.astype("datetime64[ns]")
    bad = (ns < EARLIEST_UTC) | (ns > LATEST_UTC)
    if bad.any():
        raise _out_of_range(str(array[bad].ravel()[0]), source, field)
    return ns


def _size_text(n_bytes: float) -> str:
    """A byte count for people: ``629 TiB``."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if n_bytes < 1024 or unit == "PiB":
            return f"{n_bytes:.3g} {unit}"
        n_bytes /= 1024
    return f"{n_bytes:.3g} EiB"  # pragma: no cover - the loop returns first


def instant_count(duration_s: float, step_s: float) -> int:
    """Instants in a window of ``duration_s`` at ``step_s`` (end excluded, at least one); refuses (with
    :class:`LeosimInputError`, field ``step``) more than :data:`~leosim.constants.MAX_INSTANTS`, saying how
    large the work would be, before anything is allocated."""
    for value, name in ((step_s, "step"), (duration_s, "duration")):
        if not np.isfinite(value):
            raise LeosimInputError(f"not a number ({value}); a finite number of seconds is needed", field=name)
    if step_s <= 0:
        raise LeosimInputError(f"step must be a positive number of seconds, got {step_s}", field="step")
    if duration_s < 0:
        raise LeosimInputError(f"duration must be >= 0 seconds, got {duration_s}", field="duration")
    span_s = float((LATEST_UTC - EARLIEST_UTC) / np.timedelta64(1, "s"))
    for value, name in ((step_s, "step"), (duration_s, "duration")):
        if value > span_s:  # also keeps the nanosecond arithmetic below finite
            raise LeosimInputError(f"{value:g} s is longer than the supported range {SUPPORTED_RANGE_TEXT}",
                                   field=name)
    step_ns = round(step_s * _NS_PER_S)
    if step_ns <= 0:
        raise LeosimInputError(f"step {step_s} s is below one nanosecond", field="step")
    count = max(1, -(-round(duration_s * _NS_PER_S) // step_ns))
    if count > MAX_INSTANTS:
        raise LeosimInputError(
            f"a {duration_s:g} s window at {step_s:g} s steps is {count:.4g} instants: the time axis alone would "
            f"take {_size_text(count * 8)} and each satellite's positions {_size_text(count * BYTES_PER_POSITION)}; "
            f"at most {MAX_INSTANTS:,} instants are accepted (a step of at least "
            f"{duration_s / MAX_INSTANTS:.3g} s for this duration)", field="step")
    return count


@lru_cache(maxsize=1)
def _timescale():
    from skyfield.api import load

    return load.timescale(builtin=True)


def parse_utc(value: str | _dt.datetime | np.datetime64, *, source: str = "time") -> np.datetime64:
    """Parse an ISO 8601 instant (``2024-10-25T12:00:00Z``; no offset means UTC; ``now``) to datetime64[ns].

    Instants outside the supported range (:data:`EARLIEST_UTC` .. :data:`LATEST_UTC`) raise
    :class:`LeosimInputError`, checked before any conversion that could wrap.
    """
    if isinstance(value, np.datetime64):
        return check_utc_range(value, source=source)[()]
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
    if not _EARLIEST_YEAR - 1 <= value.year <= _LATEST_YEAR + 1:  # before astimezone, which can overflow
        raise _out_of_range(value.isoformat(), source)
    if value.tzinfo is not None:
        value = value.astimezone(_dt.UTC).replace(tzinfo=None)
    return check_utc_range(np.datetime64(value, "us"), source=source)[()]


def add_seconds(start: np.datetime64, seconds: float, *, source: str = "time",
                field: str | None = None) -> np.datetime64:
    """``start + seconds`` as datetime64[ns], refused (:class:`LeosimInputError`) when the sum would leave
    the supported range or ``seconds`` is not finite: time arithmetic is checked before it can wrap."""
    start = parse_utc(start, source=source)
    if not np.isfinite(seconds):
        raise LeosimInputError(f"{seconds} is not a finite number of seconds", source=source, field=field)
    span_s = float((LATEST_UTC - EARLIEST_UTC) / np.timedelta64(1, "s"))
    if abs(seconds) > span_s:
        raise LeosimInputError(f"{seconds} s takes the instant outside the supported range "
                               f"{SUPPORTED_RANGE_TEXT}", source=source, field=field)
    end_ns = int(start.astype(np.int64)) + round(seconds * _NS_PER_S)  # Python ints: no overflow
    if not int(EARLIEST_UTC.astype(np.int64)) <= end_ns <= int(LATEST_UTC.astype(np.int64)):
        raise LeosimInputError(f"{np.datetime_as_string(start, unit='s')}Z + {seconds} s is outside the supported "
                               f"range {SUPPORTED_RANGE_TEXT}", source=source, field=field)
    return np.datetime64(end_ns, "ns")


def instants_ns(instants) -> np.ndarray:
    """Int64 nanoseconds since 1970 (UTC) of :class:`Times`, datetime64, int64 ns or ISO strings, shape (T,)."""
    if isinstance(instants, Times):
        return instants.utc.astype(np.int64)
    array = np.atleast_1d(np.asarray(instants))
    if array.dtype.kind == "M":  # range-checked in its own unit before datetime64[ns] could wrap it
        return check_utc_range(array, source="instants").astype(np.int64)
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
        utc = np.atleast_1d(np.asarray(utc))
        if utc.dtype.kind != "M":
            try:  # generic unit: numpy picks the unit from the text, so nothing wraps before the check
                utc = np.atleast_1d(np.asarray(utc, dtype="datetime64"))
            except (ValueError, TypeError, OverflowError):
                raise LeosimInputError(f"{utc!r} are not ISO 8601 instants", source="times") from None
        if utc.size:
            utc = check_utc_range(utc, source="times")
        utc = utc.astype("datetime64[ns]")
        if utc.ndim != 1:
            raise ValueError("Times needs a 1-D array of instants")
        self._utc_ns = utc.astype(np.int64)

    @classmethod
    def _from_ns(cls, utc_ns) -> Times:
        """Internal: instants as int64 ns that are checked already or derived from checked ones (a slice, a
        range whose ends were checked, interpolation knots a few minutes beyond an end); no range check."""
        times = cls.__new__(cls)
        times._utc_ns = np.atleast_1d(np.asarray(utc_ns, dtype=np.int64))
        return times

    @classmethod
    def from_range(cls, start, duration_s: float, step_s: float) -> Times:
        """Instants ``start, start + step, ...`` before ``start + duration`` (at least one instant)."""
        count = instant_count(duration_s, step_s)
        start_ns = parse_utc(start, source="start").astype(np.int64)
        add_seconds(parse_utc(start, source="start"), duration_s, source="start + duration", field="duration")
        step_ns = round(step_s * _NS_PER_S)
        return cls._from_ns(start_ns + step_ns * np.arange(count, dtype=np.int64))  # both ends checked above

    @classmethod
    def from_utc(cls, instants) -> Times:
        """Explicit instants: ISO strings, datetimes or datetime64 values."""
        values = [parse_utc(v) for v in np.atleast_1d(np.asarray(instants, dtype=object))]
        return cls(np.array(values, dtype="datetime64[ns]"))

    def __len__(self) -> int:
        return self._utc_ns.size

    def __getitem__(self, index) -> Times:
        return Times._from_ns(self._utc_ns[index])

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


def format_duration(seconds: float) -> str:
    """A window's length for people: ``200 s``, ``45 min``, ``3.0 h``, ``2.0 days`` (NaN: ``?``)."""
    if not seconds == seconds:  # NaN
        return "?"
    if seconds < 600:
        return f"{seconds:g} s"
    if seconds < 2 * 3600:
        return f"{seconds / 60:.0f} min"
    if seconds < 2 * 86400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"
