"""Bad element sets (issue 11): epochs out of the supported range, mangled TLE lines, odd OMM values.

Every element file gives either an ElementSet whose epochs are what the file says (never wrapped by
datetime64[ns]: OMM ``EPOCH 9999-01-01`` gave positions dated 1815) or one LeosimInputError naming the
file, the line (or record) and the field.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leosim.errors import LeosimInputError
from leosim.orbits.elements import load_elements, parse_tle_lines
from leosim.timebase import EARLIEST_UTC, LATEST_UTC

DATA = Path(__file__).resolve().parents[1] / "data" / "elements"
OMM_JSON = json.loads((DATA / "sample.json").read_text())
OMM_CSV = (DATA / "sample.csv").read_text().splitlines()
TLE_3LE = (DATA / "sample.3le").read_text().splitlines()
FAST = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _epoch_of(text: str) -> dt.datetime:
    """Reference: the OMM EPOCH text read by Python's datetime (exact to the microsecond)."""
    return dt.datetime.fromisoformat(text.strip().rstrip("Z")[:26])


def _as_datetime(value: np.datetime64) -> dt.datetime:
    return dt.datetime(1970, 1, 1) + dt.timedelta(microseconds=int(value.astype(np.int64)) // 1000)


@pytest.mark.parametrize("epoch", [
    "9999-01-01T00:00:00",        # the case: positions dated 1815
    "2600-01-01T00:00:00.000000",
    "2262-04-12T00:00:00",
    "1600-01-01T00:00:00",
    "0001-01-01T00:00:00",
    "1957-10-03T23:59:59.999999",
    "2101-01-01T00:00:00.000001Z",
])
def test_omm_json_epoch_out_of_range_names_file_record_and_field(tmp_path, epoch):
    records = copy.deepcopy(OMM_JSON)
    records[1]["EPOCH"] = epoch
    path = tmp_path / "far.json"
    path.write_text(json.dumps(records))
    with pytest.raises(LeosimInputError, match="supported range") as caught:
        load_elements(path)
    assert caught.value.source.endswith("far.json") and caught.value.field == "[1].EPOCH"
    assert "far.json" in str(caught.value) and epoch in str(caught.value)


@pytest.mark.parametrize("epoch", ["9999-01-01T00:00:00", "1900-06-01T00:00:00", "2300-01-01T12:00:00Z"])
def test_omm_csv_epoch_out_of_range_names_file_line_and_field(tmp_path, epoch):
    header, first, *rest = OMM_CSV
    cells = first.split(",")
    cells[header.split(",").index("EPOCH")] = epoch
    path = tmp_path / "far.csv"
    path.write_text("\n".join([header, ",".join(cells), *rest]) + "\n")
    with pytest.raises(LeosimInputError, match="supported range") as caught:
        load_elements(path)
    assert (caught.value.line, caught.value.field) == (2, "EPOCH")
    assert "far.csv" in str(caught.value)


@FAST
@given(st.datetimes(min_value=dt.datetime(1, 1, 1), max_value=dt.datetime(9999, 12, 31)))
def test_any_omm_epoch_is_exact_or_refused(epoch):
    """Property: an OMM EPOCH is kept exactly (to the microsecond) or refused; never wrapped."""
    records = [copy.deepcopy(OMM_JSON[1])]
    records[0]["EPOCH"] = epoch.isoformat(timespec="microseconds")
    try:
        elements = _parse_json(records)
    except LeosimInputError as error:
        assert error.field == "[0].EPOCH", error
        assert not dt.datetime(1957, 10, 4) <= epoch <= dt.datetime(2101, 1, 1)
        return
    assert _as_datetime(elements.epochs_utc[0]) == epoch


def _parse_json(records) -> object:
    from leosim.orbits.elements import _parse_omm_json

    return _parse_omm_json(json.dumps(records), "hyp.json")


_ODD_VALUES = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=30),
    st.sampled_from(["", " ", "nan", "-inf", "1e400", "9999-01-01T00:00:00", "0x1F", "1_000", "١٢"]),
    st.lists(st.integers(), max_size=2), st.dictionaries(st.text(max_size=3), st.integers(), max_size=1),
)


@FAST
@given(st.sampled_from(sorted(OMM_JSON[1])), _ODD_VALUES)
def test_any_omm_field_value_is_accepted_or_an_input_error(key, value):
    """Property: one OMM field set to anything gives an ElementSet in range or a LeosimInputError."""
    records = [copy.deepcopy(OMM_JSON[1])]
    records[0][key] = value
    try:
        elements = _parse_json(records)
    except LeosimInputError as error:
        assert error.source == "hyp.json"
        return
    assert len(elements) == 1
    assert EARLIEST_UTC <= elements.epochs_utc[0] <= LATEST_UTC


@pytest.mark.parametrize("text", [
    "", "null", "42", '"text"', "[1, 2]", "[[]]", "{", "[{}]", '[{"EPOCH": null}]', "[" * 5000,
    json.dumps([{**OMM_JSON[0], "EPOCH": 20240101}]),
    json.dumps([{**OMM_JSON[0], "EPOCH": "2024-01-01"}]),               # a date without a time
    json.dumps([{**OMM_JSON[0], "EPOCH": "2024-02-30T00:00:00"}]),
    json.dumps([{**OMM_JSON[0], "EPOCH": "+2024-01-01T00:00:00"}]),
    json.dumps([{**OMM_JSON[0], "EPOCH": "99999-01-01T00:00:00"}]),
    json.dumps([{**OMM_JSON[0], "NORAD_CAT_ID": 10**20}]),
    json.dumps([{**OMM_JSON[0], "MEAN_MOTION": "1e400"}]),
    json.dumps([{**OMM_JSON[0], "ECCENTRICITY": 1.5}]),
])
def test_malformed_omm_json_is_refused(text):
    from leosim.orbits.elements import _parse_omm_json

    with pytest.raises(LeosimInputError):
        _parse_omm_json(text, "bad.json")


@FAST
@given(st.integers(min_value=0, max_value=2), st.integers(min_value=0, max_value=80),
       st.characters(min_codepoint=32, max_codepoint=0x2FF))
def test_any_one_character_change_to_a_tle_is_accepted_or_an_input_error(row, column, char):
    """Property: a TLE with one character replaced parses (epoch in range) or names its line; no other
    exception escapes."""
    lines = list(TLE_3LE[:3])
    text = lines[row].ljust(column + 1)
    lines[row] = text[:column] + char + text[column + 1:]
    try:
        elements = parse_tle_lines(lines, source="mangled.tle")
    except LeosimInputError as error:
        assert error.source == "mangled.tle"
        return
    assert EARLIEST_UTC <= elements.epochs_utc.min() and elements.epochs_utc.max() <= LATEST_UTC


@FAST
@given(st.lists(st.text(alphabet=st.sampled_from("0123456789 .-+U12ABC\t"), max_size=75), max_size=4))
def test_any_tle_like_text_is_accepted_or_an_input_error(lines):
    """Property: arbitrary TLE-like lines parse or raise LeosimInputError; nothing else escapes."""
    try:
        parse_tle_lines(lines, source="random.tle")
    except LeosimInputError:
        pass
