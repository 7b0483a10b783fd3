"""Orbital element files: TLE (2-line and 3-line) and CCSDS OMM (CelesTrak JSON and CSV), validated.

Every loader returns an :class:`ElementSet`: one entry per satellite, in file order, with ready-to-use
``sgp4.api.Satrec`` objects (WGS72 gravity model, SGP4's own convention) and each record's epoch in UTC.

The TLE layout is fixed-column. Field positions and formats follow CelesTrak's description of the format
("NORAD Two-Line Element Set Format", https://celestrak.org/columns/v04n03/) and Space-Track's notes on
Alpha-5 catalogue numbers. ``sgp4``'s own TLE reader is permissive (it reads garbage in a field as some
number, or silently as zero), so every field is checked here, by column, before ``Satrec.twoline2rv`` sees
it. Any problem raises :class:`leosim.errors.LeosimInputError` naming the file, the 1-based line, the field,
what is wrong and what is accepted.

Accepted TLE text:

* 2-line sets (line 1, line 2), 3-line sets (name, line 1, line 2) or a mix of the two; a name line may
  carry Space-Track's ``"0 "`` prefix, which is dropped;
* blank lines anywhere; trailing spaces and carriage returns (CelesTrak pads names to 24 columns and
  ends lines with CR LF);
* catalogue numbers right-aligned with blanks or zeros, or in Alpha-5 form (``A0001`` = 100001; letters
  I and O are not used, so ``Z9999`` = 339999).

Limitations: a name line that itself begins with ``"1 "`` or ``"2 "`` is taken for a TLE line. Duplicate
catalogue numbers are kept (both records are returned).
"""

from __future__ import annotations

import csv
import datetime as _dt
import json
import math
import re
import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

import numpy as np
from sgp4 import omm as _sgp4_omm
from sgp4.api import Satrec

from ..errors import LeosimInputError, PropagationWarning
from ..timebase import check_utc_range

__all__ = [
    "ElementSet",
    "load_elements",
    "load_omm_csv",
    "load_omm_json",
    "load_tle",
    "parse_tle_lines",
]

TLE_LINE_LENGTH = 69
"""Columns in a TLE line, checksum included (CelesTrak format description)."""
TWO_DIGIT_YEAR_PIVOT = 57
"""Two-digit TLE epoch years 57-99 are 1957-1999, 00-56 are 2000-2056 (CelesTrak format description)."""
MAX_CATALOGUE_NUMBER = 339_999
"""Largest catalogue number that Alpha-5 (and therefore sgp4's Satrec) can hold: 'Z9999'."""
ALPHA5_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"
"""Alpha-5 first characters, worth 10..33 (I and O are skipped: Space-Track Alpha-5 definition)."""

_NS_PER_DAY = 86_400 * 1_000_000_000
_NS_PER_1E8_DAY = 864_000
"""One unit in the 8th decimal of a TLE epoch day, in ns (1e-8 day = 864 us exactly)."""
_TLE_SUFFIXES = {".tle", ".txt", ".3le", ".2le"}

# --- TLE column layout -------------------------------------------------------------------------------
# (field name, first column, last column (1-based, inclusive), regex for exactly that slice, what is
# accepted). Every regex matches a fixed width, so the per-line patterns below (the fields joined) match
# the whole line in one call; the per-field list is only walked to name the culprit when a line fails.

_SEP = (r" ", "a blank")
_SATNUM = (r"[ 0-9]{4}[0-9]|[A-HJ-NP-Z][0-9]{4}",
           "5 digits (leading blanks or zeros allowed) or Alpha-5: a letter A-Z other than I and O "
           "followed by 4 digits")
_ANGLE = (r"[ 0-9]{2}[0-9]\.[0-9]{4}", "degrees as DDD.DDDD (8 columns, right-aligned)")
_IMPLIED_EXP = (r"[ +-][0-9]{5}[ +-][0-9]",
                "sign or blank, 5 digits with an implied leading decimal point, exponent sign and digit, "
                "e.g. ' 37238-3' = 0.37238e-3")

_LINE1_FIELDS = (
    ("line_number", 1, 1, r"1", "'1'"),
    ("column_2", 2, 2, *_SEP),
    ("catalogue_number", 3, 7, *_SATNUM),
    ("classification", 8, 8, r"[UCS ]", "U, C or S"),
    ("column_9", 9, 9, *_SEP),
    ("international_designator", 10, 17, r"[0-9]{2}[0-9 ]{3}[A-Z ]{3}| {8}",
     "launch year (2 digits), launch number (3 digits), piece (up to 3 letters), or all blank"),
    ("column_18", 18, 18, *_SEP),
    ("epoch_year", 19, 20, r"[0-9]{2}", "2 digits (57-99 = 19xx, 00-56 = 20xx)"),
    ("epoch_day", 21, 32, r"[ 0-9]{2}[0-9]\.[0-9]{8}", "day of year and fraction as DDD.DDDDDDDD"),
    ("column_33", 33, 33, *_SEP),
    ("mean_motion_dot", 34, 43, r"[ +-]\.[0-9]{8}",
     "sign or blank, then a decimal point and 8 digits (rev/day^2), e.g. ' .00005271'"),
    ("column_44", 44, 44, *_SEP),
    ("mean_motion_ddot", 45, 52, *_IMPLIED_EXP),
    ("column_53", 53, 53, *_SEP),
    ("bstar", 54, 61, *_IMPLIED_EXP),
    ("column_62", 62, 62, *_SEP),
    ("ephemeris_type", 63, 63, r"[0-9 ]", "one digit (normally 0)"),
    ("column_64", 64, 64, *_SEP),
    ("element_set_number", 65, 68, r"[ 0-9]{4}", "up to 4 digits, right-aligned"),
    ("checksum", 69, 69, r"[0-9]", "one digit"),
)
_LINE2_FIELDS = (
    ("line_number", 1, 1, r"2", "'2'"),
    ("column_2", 2, 2, *_SEP),
    ("catalogue_number", 3, 7, *_SATNUM),
    ("column_8", 8, 8, *_SEP),
    ("inclination", 9, 16, *_ANGLE),
    ("column_17", 17, 17, *_SEP),
    ("raan", 18, 25, *_ANGLE),
    ("column_26", 26, 26, *_SEP),
    ("eccentricity", 27, 33, r"[0-9]{7}",
     "7 digits with an implied leading decimal point, e.g. '0001246' = 0.0001246"),
    ("column_34", 34, 34, *_SEP),
    ("arg_perigee", 35, 42, *_ANGLE),
    ("column_43", 43, 43, *_SEP),
    ("mean_anomaly", 44, 51, *_ANGLE),
    ("column_52", 52, 52, *_SEP),
    ("mean_motion", 53, 63, r"[ 0-9][0-9]\.[0-9]{8}", "rev/day as NN.NNNNNNNN (11 columns)"),
    ("rev_number", 64, 68, r"[ 0-9]{5}", "up to 5 digits, right-aligned"),
    ("checksum", 69, 69, r"[0-9]", "one digit"),
)


def _line_pattern(fields) -> re.Pattern:
    parts = []
    for name, _first, _last, regex, _accepted in fields:
        if name.startswith("column_"):
            parts.append(f"(?:{regex})")
        else:
            parts.append(f"(?P<{name}>{regex})")
    return re.compile("".join(parts), re.ASCII)


_LINE_PATTERNS = {1: _line_pattern(_LINE1_FIELDS), 2: _line_pattern(_LINE2_FIELDS)}
_LINE_FIELDS = {1: _LINE1_FIELDS, 2: _LINE2_FIELDS}
_FIELD_REGEXES = {n: [(f, a, b, re.compile(r, re.ASCII), acc) for f, a, b, r, acc in _LINE_FIELDS[n]]
                  for n in (1, 2)}


@dataclass(frozen=True, eq=False)
class ElementSet:
    """Parsed element sets, one entry per satellite, in file order.

    ``names``: (n,) str — 3-line name, OMM OBJECT_NAME, or the decimal catalogue number for 2-line records.
    ``sat_ids``: (n,) int64 NORAD catalogue numbers (Alpha-5 decoded: 'A0001' -> 100001).
    ``satrecs``: n ``sgp4.api.Satrec`` objects (WGS72), ready for ``SatrecArray``.
    ``epochs_utc``: (n,) datetime64[ns], each record's epoch in UTC.
    ``source``: the file name the records came from (or ``'<text>'``).
    """

    names: np.ndarray
    sat_ids: np.ndarray
    satrecs: list
    epochs_utc: np.ndarray
    source: str

    def __len__(self) -> int:
        return len(self.satrecs)

    def subset(self, index) -> ElementSet:
        """The records picked by ``index``: an integer, an integer array, a slice or a boolean mask (n,)."""
        positions = np.arange(len(self))[index]
        positions = np.atleast_1d(positions)
        return ElementSet(
            names=self.names[positions],
            sat_ids=self.sat_ids[positions],
            satrecs=[self.satrecs[i] for i in positions.tolist()],
            epochs_utc=self.epochs_utc[positions],
            source=self.source,
        )

    @classmethod
    def concat(cls, sets: Iterable[ElementSet]) -> ElementSet:
        """All records of ``sets`` one after another; ``source`` joins the distinct sources with ' + '."""
        sets = list(sets)
        if not sets:
            return _build([], [], [], np.zeros(0, dtype="datetime64[ns]"), "<empty>")
        sources = list(dict.fromkeys(s.source for s in sets))
        return cls(
            names=np.concatenate([s.names.astype(str) for s in sets]),
            sat_ids=np.concatenate([s.sat_ids for s in sets]).astype(np.int64),
            satrecs=[sat for s in sets for sat in s.satrecs],
            epochs_utc=np.concatenate([s.epochs_utc for s in sets]).astype("datetime64[ns]"),
            source=" + ".join(sources),
        )


def _build(names, sat_ids, satrecs, epochs_utc, source) -> ElementSet:
    return ElementSet(
        names=np.array(names, dtype=str),
        sat_ids=np.asarray(sat_ids, dtype=np.int64),
        satrecs=list(satrecs),
        epochs_utc=np.asarray(epochs_utc, dtype="datetime64[ns]"),
        source=source,
    )


# --- TLE -----------------------------------------------------------------------------------------------


def decode_catalogue_number(text: str) -> int:
    """Catalogue number from the 5-column TLE field: digits (blanks allowed in front) or Alpha-5."""
    text = text.strip()
    if text[:1].isalpha():
        return (ALPHA5_LETTERS.index(text[0]) + 10) * 10_000 + int(text[1:])
    return int(text)


def _line_kind(text: str) -> int:
    """1 or 2 for a TLE line (starts with '1 ' / '2 ', or is just that digit), 0 for anything else."""
    if text[0] in "12" and (len(text) == 1 or text[1] == " "):
        return int(text[0])
    return 0


def _describe(kind: int | None) -> str:
    return {None: "the end of the file", 0: "a name or other text", 1: "a line 1", 2: "a line 2"}[kind]


def _check_line(text: str, kind: int, lineno: int, source: str) -> re.Match:
    """Length and per-column format of one TLE line; the match of the whole-line pattern."""
    n = len(text)
    if n < TLE_LINE_LENGTH:
        raise LeosimInputError(
            f"line {kind} is truncated: {n} columns, a TLE line has exactly {TLE_LINE_LENGTH} "
            "(checksum in column 69; trailing blanks and CR are ignored)",
            source=source, line=lineno, field="line_length")
    if n > TLE_LINE_LENGTH:
        raise LeosimInputError(
            f"line {kind} is too long: {n} columns, a TLE line has exactly {TLE_LINE_LENGTH} "
            "(checksum in column 69; trailing blanks and CR are ignored)",
            source=source, line=lineno, field="line_length")
    match = _LINE_PATTERNS[kind].fullmatch(text)
    if match is not None:
        return match
    for name, first, last, regex, accepted in _FIELD_REGEXES[kind]:
        value = text[first - 1:last]
        if regex.fullmatch(value) is None:
            cols = f"column {first}" if first == last else f"columns {first}-{last}"
            raise LeosimInputError(
                f"{cols} of line {kind} hold {value!r}, which is not valid; accepted: {accepted}",
                source=source, line=lineno, field=name)
    raise AssertionError("unreachable: line pattern and field patterns disagree")  # pragma: no cover


def _checksums(lines: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """(expected, found) modulo-10 checksums of 69-column ASCII lines: digits count their value, '-' 1."""
    if not lines:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    raw = np.frombuffer("".join(lines).encode("ascii"), dtype=np.uint8).reshape(len(lines), TLE_LINE_LENGTH)
    body = raw[:, :TLE_LINE_LENGTH - 1]
    is_digit = (body >= ord("0")) & (body <= ord("9"))
    values = np.where(is_digit, body.astype(np.int64) - ord("0"), 0) + (body == ord("-"))
    expected = values.sum(axis=1) % 10
    found = raw[:, TLE_LINE_LENGTH - 1].astype(np.int64) - ord("0")
    return expected, found


def parse_tle_lines(lines: Sequence[str], source: str = "<text>", first_line_number: int = 1) -> ElementSet:
    """Parse TLE text given as lines (2-line, 3-line or mixed) into an :class:`ElementSet`.

    ``first_line_number`` is the 1-based number of ``lines[0]`` in its file, for error messages.
    Raises :class:`LeosimInputError` on the first problem found (structure and format in file order,
    then checksums, then value ranges).
    """
    entries: list[tuple[int, str, int]] = []  # (line number, text, kind)
    for offset, raw in enumerate(lines):
        text = raw.rstrip()
        if text:
            entries.append((first_line_number + offset, text, _line_kind(text)))
    if not entries:
        raise LeosimInputError(
            "no element sets: the text is empty or blank; expected TLE lines (optionally preceded by a "
            "name line)", source=source)

    names: list[str] = []
    ids: list[int] = []
    l1_text: list[str] = []
    l2_text: list[str] = []
    l1_line: list[int] = []
    l2_line: list[int] = []
    groups: dict[str, list[str]] = {k: [] for k in (
        "epoch_year", "epoch_day", "inclination", "raan", "arg_perigee", "mean_anomaly", "mean_motion")}

    n_entries = len(entries)
    i = 0
    while i < n_entries:
        lineno, text, kind = entries[i]
        next_kind = entries[i + 1][2] if i + 1 < n_entries else None
        name = None
        if kind == 0:
            if next_kind != 1:
                if next_kind == 2:
                    i += 1  # a name then a line 2: report the line 2 (maybe swapped with its line 1)
                    lineno, text, kind = entries[i]
                    next_kind = entries[i + 1][2] if i + 1 < n_entries else None
                else:
                    raise LeosimInputError(
                        f"{text[:40]!r} is neither a TLE line 1 or line 2 (which begin with '1 ' or '2 ') "
                        f"nor a satellite name (a name line must be followed by a line 1; here it is "
                        f"followed by {_describe(next_kind)})",
                        source=source, line=lineno, field="line_type")
            else:
                name = text[2:].strip() if text.startswith("0 ") else text.strip()
                i += 1
                lineno, text, kind = entries[i]
                next_kind = entries[i + 1][2] if i + 1 < n_entries else None
        if kind == 2:
            if next_kind == 1:
                nxt_line, nxt_text, _ = entries[i + 1]
                if text[2:7].strip() and text[2:7] == nxt_text[2:7]:
                    raise LeosimInputError(
                        f"line 2 of catalogue number {text[2:7].strip()} comes before its line 1 (line "
                        f"{nxt_line}): the lines are swapped; accepted order: [name], line 1, line 2",
                        source=source, line=lineno, field="line_order")
            raise LeosimInputError(
                "line 2 without a line 1 before it; accepted order: [name], line 1, line 2",
                source=source, line=lineno, field="line_order")
        # kind == 1
        if next_kind != 2:
            at = f" (line {entries[i + 1][0]})" if next_kind is not None else ""
            raise LeosimInputError(
                f"line 1 of catalogue number {text[2:7].strip() or '?'} is not followed by its line 2; "
                f"found {_describe(next_kind)}{at}; accepted order: [name], line 1, line 2",
                source=source, line=lineno, field="line_order")
        line2_no, text2, _ = entries[i + 1]
        m1 = _check_line(text, 1, lineno, source)
        m2 = _check_line(text2, 2, line2_no, source)
        id1 = decode_catalogue_number(m1["catalogue_number"])
        id2 = decode_catalogue_number(m2["catalogue_number"])
        if id1 != id2:
            raise LeosimInputError(
                f"catalogue number {m2['catalogue_number'].strip()} on line 2 does not match "
                f"{m1['catalogue_number'].strip()} on its line 1 (line {lineno}); both lines of a set must "
                "carry the same number", source=source, line=line2_no, field="catalogue_number")
        names.append(str(id1) if name is None else name)
        ids.append(id1)
        l1_text.append(text)
        l2_text.append(text2)
        l1_line.append(lineno)
        l2_line.append(line2_no)
        for key in ("epoch_year", "epoch_day"):
            groups[key].append(m1[key])
        for key in ("inclination", "raan", "arg_perigee", "mean_anomaly", "mean_motion"):
            groups[key].append(m2[key])
        i += 2

    # Checksums, all lines at once (the line patterns guarantee 69 ASCII columns).
    for texts, numbers, kind in ((l1_text, l1_line, 1), (l2_text, l2_line, 2)):
        expected, found = _checksums(texts)
        bad = np.flatnonzero(expected != found)
        if bad.size:
            j = int(bad[0])
            raise LeosimInputError(
                f"checksum of line {kind} is wrong: column 69 holds {found[j]}, but the modulo-10 sum of "
                f"columns 1-68 is {expected[j]} (digits count their value, '-' counts 1, other "
                "characters 0)", source=source, line=numbers[j], field="checksum")

    l1 = np.asarray(l1_line)
    l2 = np.asarray(l2_line)
    year2 = np.asarray(groups["epoch_year"]).astype(np.int64)
    years = np.where(year2 < TWO_DIGIT_YEAR_PIVOT, 2000 + year2, 1900 + year2)
    day_text = np.asarray(groups["epoch_day"])
    day_int = np.char.partition(day_text, ".")[:, 0].astype(np.int64)
    day_frac_1e8 = np.char.partition(day_text, ".")[:, 2].astype(np.int64)
    leap = ((years % 4 == 0) & (years % 100 != 0)) | (years % 400 == 0)
    _raise_first(
        (day_int < 1) | (day_int > 365 + leap), lambda j: int(l1[j]), source, lambda j: "epoch_day",
        lambda j: f"epoch day {day_text[j].strip()} is outside year {years[j]}; accepted: "
                  f"1.00000000 to {365 + leap[j]}.99999999")
    values = {k: np.asarray(groups[k]).astype(np.float64)
              for k in ("inclination", "raan", "arg_perigee", "mean_anomaly", "mean_motion")}
    _check_ranges(values, lambda j: int(l2[j]), source, lambda key, j: key)

    epochs = ((years - 1970).astype("datetime64[Y]").astype("datetime64[ns]")
              + ((day_int - 1) * _NS_PER_DAY + day_frac_1e8 * _NS_PER_1E8_DAY).astype("timedelta64[ns]"))
    satrecs = [Satrec.twoline2rv(a, b) for a, b in zip(l1_text, l2_text, strict=True)]
    return _build(names, ids, satrecs, epochs, source)


def _raise_first(bad: np.ndarray, line_of: Callable[[int], int | None], source: str,
                 field_of: Callable[[int], str | None], message: Callable[[int], str]) -> None:
    """Raise for the first True in ``bad`` (record order), at ``line_of(j)``, ``field_of(j)``."""
    hits = np.flatnonzero(bad)
    if hits.size:
        j = int(hits[0])
        raise LeosimInputError(message(j), source=source, line=line_of(j), field=field_of(j))


def _check_ranges(values: dict[str, np.ndarray], line_of: Callable[[int], int | None], source: str,
                  field_of: Callable[[str, int], str | None]) -> None:
    """Physical ranges shared by TLE and OMM; ``values`` (n,) arrays keyed by eccentricity (optional),
    inclination, raan, arg_perigee, mean_anomaly (degrees) and mean_motion (rev/day).

    ``field_of(key, j)`` names the field to report for record ``j``.
    """
    checks = [
        ("eccentricity", lambda x: (x >= 0.0) & (x < 1.0), "0 <= e < 1 (SGP4 handles closed orbits only)"),
        ("inclination", lambda x: (x >= 0.0) & (x <= 180.0), "0 to 180 degrees"),
        ("raan", lambda x: (x >= 0.0) & (x <= 360.0), "0 to 360 degrees"),
        ("arg_perigee", lambda x: (x >= 0.0) & (x <= 360.0), "0 to 360 degrees"),
        ("mean_anomaly", lambda x: (x >= 0.0) & (x <= 360.0), "0 to 360 degrees"),
        ("mean_motion", lambda x: x > 0.0, "more than 0 rev/day"),
    ]
    for key, ok, accepted in checks:
        if key not in values:
            continue
        x = values[key]
        _raise_first(~ok(x), line_of, source, lambda j, key=key: field_of(key, j),
                     lambda j, key=key, x=x, accepted=accepted:
                     f"{key.replace('_', ' ')} {float(x[j])!r} is out of range; accepted: {accepted}")


def _read_text(path) -> tuple[str, str]:
    path = Path(path)
    source = path.name
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise LeosimInputError("file not found", source=str(path)) from None
    except IsADirectoryError:
        raise LeosimInputError("is a directory, not an element file", source=str(path)) from None
    except OSError as exc:
        raise LeosimInputError(f"cannot read the file: {exc.strerror}", source=str(path)) from None
    try:
        return data.decode("utf-8-sig"), source
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise LeosimInputError(
            f"byte 0x{data[exc.start]:02x} is not valid UTF-8 text; accepted: ASCII/UTF-8 text",
            source=source, line=line, field="encoding") from None


def _split_lines(text: str) -> list[str]:
    # Split on LF only (CR is stripped with the trailing blanks), so line numbers match an editor's.
    return text.split("\n")


def load_tle(path) -> ElementSet:
    """Load a 2-line, 3-line (or mixed) TLE file; ``source`` is the file name."""
    text, source = _read_text(path)
    return parse_tle_lines(_split_lines(text), source=source)


# --- OMM -----------------------------------------------------------------------------------------------

_OMM_FLOAT_KEYS = ("MEAN_MOTION", "ECCENTRICITY", "INCLINATION", "RA_OF_ASC_NODE", "ARG_OF_PERICENTER",
                   "MEAN_ANOMALY", "BSTAR", "MEAN_MOTION_DOT", "MEAN_MOTION_DDOT")
_OMM_REQUIRED = ("EPOCH", "NORAD_CAT_ID", *_OMM_FLOAT_KEYS)
_OMM_OPTIONAL_INT = {"EPHEMERIS_TYPE": 0, "ELEMENT_SET_NO": 999, "REV_AT_EPOCH": 0}
"""Bookkeeping integers that do not affect propagation, with the value used when a record lacks them."""
_OMM_RANGE_KEYS = {"eccentricity": "ECCENTRICITY", "inclination": "INCLINATION", "raan": "RA_OF_ASC_NODE",
                   "arg_perigee": "ARG_OF_PERICENTER", "mean_anomaly": "MEAN_ANOMALY",
                   "mean_motion": "MEAN_MOTION"}
_OMM_EPOCH = re.compile(
    r"\s*(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?\s*Z?\s*", re.ASCII)
_INT_TEXT = re.compile(r"\s*[+-]?\d+\s*", re.ASCII)


def _elements_from_omm(records: list[dict], source: str, where: Callable[[int, str], tuple[int | None, str]],
                       describe: Callable[[int], str]) -> ElementSet:
    """Validate OMM records (dicts of str or JSON values) and build the :class:`ElementSet`.

    ``where(i, key)`` gives the (line, field) to report for record ``i``'s ``key``; ``describe(i)`` names
    the record in messages.
    """
    def fail(i: int, key: str, message: str) -> NoReturn:
        line, field = where(i, key)
        raise LeosimInputError(message, source=source, line=line, field=field)

    names, ids, satrecs, epochs = [], [], [], []
    floats = {k: np.empty(len(records)) for k in _OMM_FLOAT_KEYS}
    for i, rec in enumerate(records):
        if not isinstance(rec, dict):
            fail(i, "", f"{describe(i)} is a {type(rec).__name__}, not an object; accepted: a JSON list "
                        "of OMM objects")
        missing = [k for k in _OMM_REQUIRED if rec.get(k) is None or str(rec.get(k)).strip() == ""]
        if missing:
            fail(i, missing[0], f"{describe(i)} has no value for required key(s) {', '.join(missing)}; "
                                f"required: {', '.join(_OMM_REQUIRED)}")
        fields: dict[str, Any] = {}
        for key in _OMM_FLOAT_KEYS:
            value = rec[key]
            try:
                if isinstance(value, bool):
                    raise TypeError
                number = float(value.strip() if isinstance(value, str) else value)
            except (TypeError, ValueError):
                fail(i, key, f"{key} = {value!r} is not a number; accepted: a decimal number, e.g. "
                             "15.06412569 or 3.7238e-4")
            if not math.isfinite(number):
                fail(i, key, f"{key} = {value!r} is not finite; accepted: a finite decimal number")
            floats[key][i] = number
            fields[key] = number
        for key, default in (("NORAD_CAT_ID", None), *_OMM_OPTIONAL_INT.items()):
            value = rec.get(key)
            if value is None or (isinstance(value, str) and value.strip() == ""):
                fields[key] = default
                continue
            if isinstance(value, bool) or not (
                    isinstance(value, int) or (isinstance(value, str) and _INT_TEXT.fullmatch(value))):
                fail(i, key, f"{key} = {value!r} is not an integer; accepted: whole numbers, e.g. 44714")
            fields[key] = int(value)
        if not 0 <= fields["NORAD_CAT_ID"] <= MAX_CATALOGUE_NUMBER:
            fail(i, "NORAD_CAT_ID", f"NORAD_CAT_ID = {fields['NORAD_CAT_ID']} is out of range; accepted: 0 "
                                    f"to {MAX_CATALOGUE_NUMBER} (the Alpha-5 limit of SGP4's element sets)")
        epoch_text = rec["EPOCH"]
        m = _OMM_EPOCH.fullmatch(epoch_text) if isinstance(epoch_text, str) else None
        try:
            if m is None:
                raise ValueError
            y, mo, d, hh, mi, ss = (int(g) for g in m.groups()[:6])
            frac_ns = int((m[7] or "").ljust(9, "0"))
            whole = _dt.datetime(y, mo, d, hh, mi, ss)
        except ValueError:
            fail(i, "EPOCH", f"EPOCH = {epoch_text!r} is not a valid UTC date and time; accepted: ISO 8601 "
                             "'YYYY-MM-DDTHH:MM:SS[.ffffff]' (optionally ending in Z)")
        try:  # checked in microseconds, before datetime64[ns] could wrap it (EPOCH 9999 would give 1815)
            check_utc_range(np.datetime64(whole, "us"), source=source)
            epoch_ns = check_utc_range(np.datetime64(whole, "ns") + np.timedelta64(frac_ns, "ns"), source=source)
        except LeosimInputError as error:
            fail(i, "EPOCH", f"EPOCH = {epoch_text!r}: {error.message}")
        # sgp4.omm.initialize reads EPOCH with microsecond resolution; round to the nearest microsecond.
        epoch_us = whole + _dt.timedelta(microseconds=round(frac_ns / 1000))
        fields["EPOCH"] = epoch_us.strftime("%Y-%m-%dT%H:%M:%S.%f")
        classification = str(rec.get("CLASSIFICATION_TYPE") or "U").strip()
        if classification not in ("U", "C", "S"):
            fail(i, "CLASSIFICATION_TYPE", f"CLASSIFICATION_TYPE = {classification!r} is not valid; "
                                           "accepted: U, C or S")
        fields["CLASSIFICATION_TYPE"] = classification
        object_id = str(rec.get("OBJECT_ID") or "").strip()
        fields["OBJECT_ID"] = object_id if object_id else "  "
        sat = Satrec()
        _sgp4_omm.initialize(sat, fields)
        satrecs.append(sat)
        names.append(str(rec.get("OBJECT_NAME") or "").strip())
        ids.append(fields["NORAD_CAT_ID"])
        epochs.append(epoch_ns)
    if not records:
        raise LeosimInputError("no element sets: the file holds no OMM records", source=source)

    values = {k: floats[omm_key] for k, omm_key in _OMM_RANGE_KEYS.items()}
    _check_ranges(values, lambda j: where(j, "")[0], source,
                  lambda key, j: where(j, _OMM_RANGE_KEYS[key])[1])
    return _build(names, ids, satrecs, np.array(epochs, dtype="datetime64[ns]"), source)


def _parse_omm_json(text: str, source: str) -> ElementSet:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise LeosimInputError(
            f"not valid JSON: {exc.msg} (column {exc.colno}); accepted: a JSON list of OMM objects as "
            "CelesTrak serves them", source=source, line=exc.lineno) from None
    except RecursionError:
        raise LeosimInputError("JSON nested too deeply; accepted: a JSON list of OMM objects",
                               source=source) from None
    if isinstance(data, dict):
        data = [data]
    if not isinstance(data, list):
        raise LeosimInputError(f"the JSON holds a {type(data).__name__}; accepted: a list of OMM objects",
                               source=source)
    return _elements_from_omm(data, source, lambda i, key: (None, f"[{i}].{key}" if key else f"[{i}]"),
                              lambda i: f"record [{i}] (counting from 0)")


def load_omm_json(path) -> ElementSet:
    """Load CelesTrak OMM JSON: a list of objects with OBJECT_NAME, NORAD_CAT_ID, EPOCH, MEAN_MOTION, ...

    Errors name the record as ``field='[i].KEY'`` (``i`` counts from 0). Numbers may be JSON numbers or
    strings. Units as in CCSDS OMM: degrees, rev/day, rev/day^2 (MEAN_MOTION_DOT is ndot/2, as in a TLE),
    rev/day^3 (MEAN_MOTION_DDOT is nddot/6), BSTAR in 1/earth radii.
    """
    text, source = _read_text(path)
    return _parse_omm_json(text, source)


def _parse_omm_csv(text: str, source: str) -> ElementSet:
    lines = _split_lines(text)
    reader = csv.reader(line.rstrip("\r") for line in lines)
    header: list[str] | None = None
    header_line = 0
    rows: list[dict] = []
    row_lines: list[int] = []
    for row in reader:
        if not any(cell.strip() for cell in row):
            continue
        if header is None:
            header = [cell.strip() for cell in row]
            header_line = reader.line_num
            missing = [k for k in _OMM_REQUIRED if k not in header]
            if missing:
                raise LeosimInputError(
                    f"the header lacks required column(s) {', '.join(missing)}; required: "
                    f"{', '.join(_OMM_REQUIRED)}", source=source, line=header_line, field=missing[0])
            continue
        if len(row) != len(header):
            raise LeosimInputError(
                f"the row has {len(row)} values but the header (line {header_line}) has {len(header)} "
                "columns; accepted: one value per column", source=source, line=reader.line_num,
                field="columns")
        rows.append(dict(zip(header, row, strict=True)))
        row_lines.append(reader.line_num)
    if header is None:
        raise LeosimInputError("no element sets: the file is empty; accepted: a CelesTrak OMM CSV with a "
                               "header line", source=source)
    return _elements_from_omm(rows, source, lambda i, key: (row_lines[i], key or None),
                              lambda i: "the row")


def load_omm_csv(path) -> ElementSet:
    """Load CelesTrak OMM CSV (header line with the OMM key names, one record per line).

    Errors name the row's line number and the column. Units as in :func:`load_omm_json`.
    """
    text, source = _read_text(path)
    return _parse_omm_csv(text, source)


# --- dispatch ------------------------------------------------------------------------------------------


def load_elements(path) -> ElementSet:
    """Load any supported element file: by extension (.tle/.txt/.3le/.2le TLE, .json OMM JSON, .csv OMM
    CSV), otherwise by content (a leading '[' or '{' is JSON, a first line naming NORAD_CAT_ID is CSV,
    anything else TLE)."""
    elements = _parse_any(path)
    warn_unpropagable(elements)
    return elements


def _parse_any(path) -> ElementSet:
    suffix = Path(path).suffix.lower()
    text, source = _read_text(path)
    if suffix in _TLE_SUFFIXES:
        return parse_tle_lines(_split_lines(text), source=source)
    if suffix == ".json":
        return _parse_omm_json(text, source)
    if suffix == ".csv":
        return _parse_omm_csv(text, source)
    stripped = text.lstrip()
    if stripped[:1] in ("[", "{"):
        return _parse_omm_json(text, source)
    first_line = stripped.split("\n", 1)[0]
    if "NORAD_CAT_ID" in first_line and "," in first_line:
        return _parse_omm_csv(text, source)
    return parse_tle_lines(_split_lines(text), source=source)


UNPROPAGABLE_LISTED = 10
"""Satellites named in an SGP4-failure warning (the count is always given)."""


def warn_unpropagable(elements: ElementSet) -> None:
    """One :class:`~leosim.errors.PropagationWarning` per element file naming its satellites that SGP4 cannot
    propagate at any instant: those whose initialisation already failed (``satrec.error != 0``, e.g. an
    eccentricity of 0.9999999 at 100 rev/day puts the perigee inside the Earth). Their positions are NaN."""
    codes = np.fromiter((sat.error for sat in elements.satrecs), dtype=np.int64, count=len(elements))
    failed = np.flatnonzero(codes != 0)
    if not failed.size:
        return
    named = ", ".join(f"{elements.names[i]} ({int(elements.sat_ids[i])}, SGP4 error {int(codes[i])})"
                      for i in failed[:UNPROPAGABLE_LISTED].tolist())
    more = f" and {failed.size - UNPROPAGABLE_LISTED} more" if failed.size > UNPROPAGABLE_LISTED else ""
    warnings.warn(PropagationWarning(
        f"{elements.source}: SGP4 cannot propagate {failed.size} of {len(elements)} satellites at any instant; "
        f"their positions will be NaN: {named}{more}"), stacklevel=3)
