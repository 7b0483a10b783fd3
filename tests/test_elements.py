"""Tests for leosim.orbits.elements: TLE / OMM parsing and validation.

References used: the TLE column layout and checksum rule from CelesTrak's format description (implemented
independently here in `_checksum`), epochs converted by hand from year + day of year, sgp4's own TLE
parser (`Satrec.twoline2rv`, a different code path from the OMM loaders) and its Alpha-5 decoder.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import time
from pathlib import Path

import numpy as np
import pytest
from sgp4.api import Satrec, SatrecArray

from leosim.errors import LeosimInputError
from leosim.orbits.elements import (
    ElementSet,
    load_elements,
    load_omm_csv,
    load_omm_json,
    load_tle,
    parse_tle_lines,
)

DATA = Path(__file__).parent / "data" / "elements"
SNAPSHOT = Path(__file__).resolve().parents[1].parent / "shared/data/starlink-2025-12-06.tle"

ISS_1 = "1 25544U 98067A   08264.51782528 -.00002182  00000-0 -11606-4 0  2927"
ISS_2 = "2 25544  51.6416 247.4627 0006703 130.5360 325.0288 15.72125391563537"
SL_1 = "1 44714U 19074B   25340.95197127  .00005271  00000+0  37238-3 0  9996"
SL_2 = "2 44714  53.0535 242.9324 0001246  96.1414 263.9718 15.06412569334776"

SATREC_ATTRS = ("satnum", "jdsatepoch", "jdsatepochF", "no_kozai", "ecco", "inclo", "nodeo", "argpo", "mo",
                "bstar", "ndot", "nddot")


def _checksum(line68: str) -> str:
    """Modulo-10 TLE checksum (CelesTrak): digits count their value, '-' counts 1, all else 0."""
    return str(sum(int(c) if c.isdigit() else (1 if c == "-" else 0) for c in line68) % 10)


def _put(line: str, first_col: int, text: str) -> str:
    """Replace columns first_col.. (1-based) by ``text`` and recompute the checksum."""
    body = line[:first_col - 1] + text + line[first_col - 1 + len(text):]
    body = body[:68]
    return body + _checksum(body)


def _error(lines, **kw) -> LeosimInputError:
    with pytest.raises(LeosimInputError) as info:
        parse_tle_lines(lines, source="t.tle", **kw)
    return info.value


def test_checksum_helper_agrees_with_real_lines():
    for line in (ISS_1, ISS_2, SL_1, SL_2):
        assert _checksum(line[:68]) == line[68]


# --- well-formed input -----------------------------------------------------------------------------------


def test_three_line_file_fields_and_epochs():
    els = load_tle(DATA / "sample.3le")
    assert len(els) == 2
    assert els.source == "sample.3le"
    assert list(els.names) == ["ISS (ZARYA)", "STARLINK-1008"]  # 24-column padding and CR removed
    assert els.sat_ids.dtype == np.int64
    assert list(els.sat_ids) == [25544, 44714]
    assert els.epochs_utc.dtype == np.dtype("datetime64[ns]")
    # By hand: 2008 is a leap year, day 264 = Sep 20; 0.51782528 d = 44740.104192 s = 12:25:40.104192.
    # 2025 day 340 = Dec 6; 0.95197127 d = 82250.317728 s = 22:50:50.317728.
    assert els.epochs_utc[0] == np.datetime64("2008-09-20T12:25:40.104192", "ns")
    assert els.epochs_utc[1] == np.datetime64("2025-12-06T22:50:50.317728", "ns")
    # The satrecs are exactly what sgp4's own reader makes of the same lines.
    for sat, (l1, l2) in zip(els.satrecs, [(ISS_1, ISS_2), (SL_1, SL_2)], strict=True):
        ref = Satrec.twoline2rv(l1, l2)
        for attr in SATREC_ATTRS:
            assert getattr(sat, attr) == getattr(ref, attr), attr


def test_two_and_three_line_forms_parse_identically():
    three = load_tle(DATA / "sample.3le")
    two = load_tle(DATA / "sample.2le")
    assert list(two.names) == ["25544", "44714"]  # no name lines: the catalogue number stands in
    np.testing.assert_array_equal(two.sat_ids, three.sat_ids)
    np.testing.assert_array_equal(two.epochs_utc, three.epochs_utc)
    for a, b in zip(two.satrecs, three.satrecs, strict=True):
        for attr in SATREC_ATTRS:
            assert getattr(a, attr) == getattr(b, attr), attr


def test_mixed_forms_blank_lines_and_space_track_names():
    lines = ["", "  ", "0 ISS (ZARYA)", "", ISS_1 + "   \r", "", ISS_2, "\r", SL_1, SL_2, "", ""]
    els = parse_tle_lines(lines)
    assert list(els.names) == ["ISS (ZARYA)", "44714"]
    assert list(els.sat_ids) == [25544, 44714]
    assert els.source == "<text>"


def test_alpha5_catalogue_numbers():
    a1 = _put(ISS_1, 3, "A0001")
    a2 = _put(ISS_2, 3, "A0001")
    z1 = _put(SL_1, 3, "Z9999")
    z2 = _put(SL_2, 3, "Z9999")
    p1 = _put(SL_1, 3, "    5")  # old style: blank-padded catalogue number
    p2 = _put(SL_2, 3, "00005")
    els = parse_tle_lines(["SAT A", a1, a2, z1, z2, p1, p2])
    # Alpha-5 (Space-Track): A=10 ... H=17, J=18 ... N=22, P=23 ... Z=33 (I and O skipped).
    assert list(els.sat_ids) == [100001, 339999, 5]
    assert [s.satnum for s in els.satrecs] == [100001, 339999, 5]  # sgp4's own decoder agrees
    assert list(els.names) == ["SAT A", "339999", "5"]
    err = _error([_put(ISS_1, 3, "I0001"), _put(ISS_2, 3, "I0001")])
    assert (err.line, err.field) == (1, "catalogue_number")
    assert "Alpha-5" in str(err)


# --- malformed TLE ----------------------------------------------------------------------------------------


def test_empty_and_blank_files(tmp_path):
    for content in ("", "\n\n   \r\n"):
        path = tmp_path / "empty.tle"
        path.write_text(content)
        with pytest.raises(LeosimInputError) as info:
            load_tle(path)
        assert "empty.tle" in str(info.value)
        assert "no element sets" in str(info.value)


def test_line_too_long():
    err = _error(["ISS", ISS_1 + "7", ISS_2])
    assert (err.source, err.line, err.field) == ("t.tle", 2, "line_length")
    assert "70 columns" in err.message and "69" in err.message
    assert str(err).startswith("t.tle, line 2, field line_length: ")


def test_truncated_line():
    err = _error(["ISS", ISS_1, ISS_2[:50]])
    assert (err.line, err.field) == (3, "line_length")
    assert "truncated" in err.message and "50 columns" in err.message


def test_missing_checksum_column_is_truncation():
    err = _error([ISS_1[:68], ISS_2])
    assert (err.line, err.field) == (1, "line_length")


def test_bad_checksum_says_expected_and_found():
    bad = ISS_2[:68] + "3"
    err = _error(["ISS", ISS_1, "", bad], first_line_number=10)
    assert (err.line, err.field) == (13, "checksum")
    assert "holds 3" in err.message and "is 7" in err.message


def test_checksum_counts_minus_signs():
    # Flip the sign of BSTAR: '-' counts 1 in the checksum, so the stored digit becomes wrong by one.
    bad = ISS_1[:53] + " " + ISS_1[54:]
    err = _error([bad, ISS_2])
    assert (err.line, err.field) == (1, "checksum")
    assert "holds 7" in err.message and "is 6" in err.message


def test_swapped_lines():
    err = _error(["ISS", ISS_2, ISS_1, SL_1, SL_2])
    assert (err.line, err.field) == (2, "line_order")
    assert "swapped" in err.message


def test_line2_without_line1():
    err = _error([SL_1, SL_2, ISS_2])
    assert (err.line, err.field) == (3, "line_order")


def test_line1_without_line2():
    err = _error(["ISS", ISS_1, "STARLINK", SL_1, SL_2])
    assert (err.line, err.field) == (2, "line_order")
    assert "25544" in err.message and "line 3" in err.message
    err = _error([SL_1, SL_2, "", ISS_1, ""])  # file ends after a line 1
    assert (err.line, err.field) == (4, "line_order")
    assert "end of the file" in err.message
    err = _error([ISS_1, SL_1, SL_2])
    assert (err.line, err.field) == (1, "line_order")


def test_mismatched_catalogue_numbers():
    err = _error(["ISS", ISS_1, SL_2])
    assert (err.line, err.field) == (3, "catalogue_number")
    assert "44714" in err.message and "25544" in err.message


def test_line_that_is_neither_name_nor_tle():
    err = _error([SL_1, SL_2, "this is not a TLE", "neither is this", ISS_1, ISS_2])
    assert (err.line, err.field) == (3, "line_type")
    err = _error([SL_1, SL_2, "trailing junk"])
    assert (err.line, err.field) == (3, "line_type")


# (line, first column, replacement text, field reported): each breaks one field's format, checksum fixed.
FORMAT_CASES = [
    (1, 1, "3", None),  # not a line 1 any more: becomes "neither" -> reported as structure error
    (1, 3, "25x44", "catalogue_number"),
    (1, 8, "X", "classification"),
    (1, 19, "0x", "epoch_year"),
    (1, 21, "264.5178252x", "epoch_day"),
    (1, 21, "264,51782528", "epoch_day"),
    (1, 34, "-.0000218 ", "mean_motion_dot"),
    (1, 34, "-0.0000218", "mean_motion_dot"),
    (1, 45, " 0000O-0", "mean_motion_ddot"),
    (1, 54, "-1.606-4", "bstar"),
    (1, 54, "-11606e4", "bstar"),
    (1, 63, "x", "ephemeris_type"),
    (1, 65, " 2a9", "element_set_number"),
    (1, 33, "x", "column_33"),  # fields run together: a separator column is not blank
    (2, 9, " 51.641x", "inclination"),
    (2, 9, "51.64160", "inclination"),  # decimal point in the wrong column
    (2, 18, "247.46 7", "raan"),
    (2, 27, ".006703", "eccentricity"),  # explicit decimal point: the field has an implied one
    (2, 27, "000670 ", "eccentricity"),
    (2, 35, "130.53a0", "arg_perigee"),
    (2, 44, "325.02 8", "mean_anomaly"),
    (2, 53, "15.7212539x", "mean_motion"),
    (2, 53, "157.2125391", "mean_motion"),
    (2, 64, "56a53", "rev_number"),
]


@pytest.mark.parametrize(("which", "col", "text", "field"), FORMAT_CASES)
def test_non_numeric_or_misplaced_fields(which, col, text, field):
    l1 = _put(ISS_1, col, text) if which == 1 else ISS_1
    l2 = _put(ISS_2, col, text) if which == 2 else ISS_2
    err = _error(["ISS (ZARYA)", l1, l2], first_line_number=5)
    if field is None:
        assert err.field in ("line_type", "line_order")
        return
    assert err.field == field
    assert err.line == 5 + which
    assert "accepted:" in err.message
    assert "column" in err.message


def test_field_error_names_columns_and_value():
    err = _error([_put(ISS_1, 54, "-1.606-4"), ISS_2])
    assert "columns 54-61" in err.message and "'-1.606-4'" in err.message


@pytest.mark.parametrize(("which", "col", "text", "field"), [
    (2, 9, "180.0001", "inclination"),
    (2, 18, "360.0001", "raan"),
    (2, 35, "400.0000", "arg_perigee"),
    (2, 44, "999.9999", "mean_anomaly"),
    (2, 53, " 0.00000000", "mean_motion"),
    (1, 21, "000.51782528", "epoch_day"),
    (1, 19, "25366.5178252", "epoch_day"),  # 2025 is not a leap year
])
def test_values_out_of_range(which, col, text, field):
    l1 = _put(ISS_1, col, text) if which == 1 else ISS_1
    l2 = _put(ISS_2, col, text) if which == 2 else ISS_2
    err = _error(["ISS", l1, l2])
    assert (err.line, err.field) == (1 + which, field)
    assert "accepted:" in err.message


def test_leap_day_366_accepted():
    els = parse_tle_lines([_put(ISS_1, 21, "366.50000000"), ISS_2])  # 2008 is a leap year
    assert els.epochs_utc[0] == np.datetime64("2008-12-31T12:00:00", "ns")


def test_non_utf8_file(tmp_path):
    path = tmp_path / "bad.tle"
    path.write_bytes(b"ISS\n" + ISS_1.encode() + b"\n" + ISS_2.encode()[:20] + b"\xff" + ISS_2.encode()[21:])
    with pytest.raises(LeosimInputError) as info:
        load_tle(path)
    assert (info.value.line, info.value.field) == (3, "encoding")


# --- OMM ----------------------------------------------------------------------------------------------------


def _positions_km(els: ElementSet, minutes_after_epoch: float) -> np.ndarray:
    """TEME positions (n, 3) km of each record at its own epoch + the given minutes."""
    jd = np.array([s.jdsatepoch for s in els.satrecs])
    fr = np.array([s.jdsatepochF for s in els.satrecs]) + minutes_after_epoch / 1440.0
    err, r, _ = SatrecArray(els.satrecs).sgp4(jd, fr)
    n = len(els)
    idx = np.arange(n)
    assert not err[idx, idx].any()
    return r[idx, idx]


@pytest.mark.parametrize("loader,name", [(load_omm_json, "sample.json"), (load_omm_csv, "sample.csv")])
def test_omm_matches_tle(loader, name):
    tle = load_tle(DATA / "sample.3le")
    omm = loader(DATA / name)
    assert omm.source == name
    assert list(omm.names) == list(tle.names)
    np.testing.assert_array_equal(omm.sat_ids, tle.sat_ids)
    np.testing.assert_array_equal(omm.epochs_utc, tle.epochs_utc)
    # The OMM numbers are the TLE's digits verbatim and the epochs are exact to the microsecond
    # (1e-8 day = 864 us), so the two paths differ only by floating-point rounding (~1e-16 relative, which
    # is ~1e-9 km in position) plus sgp4init's one-float epoch (days since 1949: ~27,000 d * 2e-16 =
    # 5e-12 d = 0.5 us, i.e. ~4 mm at 7.7 km/s). We require < 1 m; for these two sets the
    # positions come out bit-identical (0 m).
    # Had the OMM been written from full-precision elements instead, the TLE's rounding (1e-8 rev/day in
    # mean motion = 0.4 mm after a day; 1e-4 deg in angles = 12 m!) would dominate; here it cannot.
    one_metre_km = 1e-3
    for minutes in (0.0, 1440.0):
        diff_km = np.linalg.norm(_positions_km(omm, minutes) - _positions_km(tle, minutes), axis=1)
        assert diff_km.max() < one_metre_km, diff_km


def test_omm_comparison_can_fail(tmp_path):
    # Sensitivity check of the test above: 1e-6 rev/day more mean motion moves the satellite along its
    # track by ~1e-6 rev * 2 pi * 6,800 km = 43 m after one day, far beyond the 1 m tolerance.
    records = json.loads((DATA / "sample.json").read_text())
    records[1]["MEAN_MOTION"] += 1e-6
    path = tmp_path / "shifted.json"
    path.write_text(json.dumps(records))
    diff_km = np.linalg.norm(_positions_km(load_omm_json(path), 1440.0)
                             - _positions_km(load_tle(DATA / "sample.3le"), 1440.0), axis=1)
    assert 0.02 < diff_km[1] < 0.1
    assert diff_km[0] < 1e-3


def _write_json(tmp_path, records) -> Path:
    path = tmp_path / "omm.json"
    path.write_text(json.dumps(records, indent=1))
    return path


def _json_error(tmp_path, records) -> LeosimInputError:
    with pytest.raises(LeosimInputError) as info:
        load_omm_json(_write_json(tmp_path, records))
    assert info.value.source == "omm.json"
    return info.value


def test_omm_json_missing_key(tmp_path):
    records = json.loads((DATA / "sample.json").read_text())
    del records[1]["MEAN_MOTION"]
    err = _json_error(tmp_path, records)
    assert err.field == "[1].MEAN_MOTION"
    assert "required" in err.message


def test_omm_json_non_numeric_and_bad_epoch(tmp_path):
    records = json.loads((DATA / "sample.json").read_text())
    records[0]["INCLINATION"] = "51.6x"
    err = _json_error(tmp_path, records)
    assert err.field == "[0].INCLINATION" and "not a number" in err.message
    records = json.loads((DATA / "sample.json").read_text())
    records[1]["NORAD_CAT_ID"] = 44714.5
    assert _json_error(tmp_path, records).field == "[1].NORAD_CAT_ID"
    for bad in ("2025-13-06T22:50:50.317728", "06/12/2025 22:50", "2025-12-06", 20251206):
        records = json.loads((DATA / "sample.json").read_text())
        records[1]["EPOCH"] = bad
        err = _json_error(tmp_path, records)
        assert err.field == "[1].EPOCH" and "ISO 8601" in err.message


def test_omm_json_ranges(tmp_path):
    for key, value in (("ECCENTRICITY", 1.2), ("INCLINATION", 181.0), ("MEAN_MOTION", 0.0),
                       ("ECCENTRICITY", -0.1)):
        records = json.loads((DATA / "sample.json").read_text())
        records[1][key] = value
        err = _json_error(tmp_path, records)
        assert err.field == f"[1].{key}" and "out of range" in err.message


def test_omm_json_structure(tmp_path):
    assert "no element sets" in _json_error(tmp_path, []).message
    assert _json_error(tmp_path, [1, 2]).field == "[0]"
    path = tmp_path / "broken.json"
    path.write_text('[\n {"OBJECT_NAME": "X",\n  oops}\n]')
    with pytest.raises(LeosimInputError) as info:
        load_omm_json(path)
    assert info.value.line == 3


def test_omm_json_string_values_and_optional_keys(tmp_path):
    records = json.loads((DATA / "sample.json").read_text())
    rec = {k: str(v) for k, v in records[1].items()}
    for key in ("OBJECT_NAME", "OBJECT_ID", "EPHEMERIS_TYPE", "CLASSIFICATION_TYPE", "ELEMENT_SET_NO",
                "REV_AT_EPOCH"):
        del rec[key]
    rec["EPOCH"] += "Z"
    els = load_omm_json(_write_json(tmp_path, rec))  # a single object is accepted too
    assert list(els.names) == [""]
    ref = load_tle(DATA / "sample.2le").subset(1)
    np.testing.assert_allclose(_positions_km(els, 1440.0), _positions_km(ref, 1440.0), atol=1e-3)


def _csv_error(tmp_path, text) -> LeosimInputError:
    path = tmp_path / "omm.csv"
    path.write_text(text)
    with pytest.raises(LeosimInputError) as info:
        load_omm_csv(path)
    assert info.value.source == "omm.csv"
    return info.value


def test_omm_csv_errors(tmp_path):
    header, iss, sl = (DATA / "sample.csv").read_text().splitlines()
    err = _csv_error(tmp_path, "\n".join([header.replace("MEAN_MOTION,", "MM,"), iss, sl]))
    assert (err.line, err.field) == (1, "MEAN_MOTION")
    err = _csv_error(tmp_path, "\n".join([header, iss, "", sl.replace(",53.0535,", ",fifty-three,")]))
    assert (err.line, err.field) == (4, "INCLINATION")
    err = _csv_error(tmp_path, "\n".join([header, iss, sl.replace("2025-12-06T", "2025-12-32T")]))
    assert (err.line, err.field) == (3, "EPOCH")
    err = _csv_error(tmp_path, "\n".join([header, iss, sl.replace(",.0001246,", ",,")]))
    assert (err.line, err.field) == (3, "ECCENTRICITY")
    err = _csv_error(tmp_path, "\n".join([header, iss.replace(",0,U,", ",0,U,extra,")]))
    assert (err.line, err.field) == (2, "columns")
    err = _csv_error(tmp_path, "\n".join([header, iss.replace(",.0006703,", ",1.0006703,")]))
    assert (err.line, err.field) == (2, "ECCENTRICITY")
    assert "no element sets" in _csv_error(tmp_path, "\n\n").message
    assert "no element sets" in _csv_error(tmp_path, header + "\n").message


# --- dispatch, concat, subset -------------------------------------------------------------------------------


def test_load_elements_dispatch_and_sniffing(tmp_path):
    ref = load_tle(DATA / "sample.3le")
    for name in ("sample.3le", "sample.2le", "sample.json", "sample.csv"):
        els = load_elements(DATA / name)
        np.testing.assert_array_equal(els.sat_ids, ref.sat_ids)
        # No extension that says what it is: the content decides.
        copy = tmp_path / (name.replace(".", "_") + ".dat")
        shutil.copy(DATA / name, copy)
        els = load_elements(copy)
        np.testing.assert_array_equal(els.sat_ids, ref.sat_ids)
        np.testing.assert_array_equal(els.epochs_utc, ref.epochs_utc)
    with pytest.raises(LeosimInputError, match="file not found"):
        load_elements(tmp_path / "missing.tle")


def test_concat_and_subset():
    a = load_tle(DATA / "sample.3le")
    b = load_omm_json(DATA / "sample.json")
    both = ElementSet.concat([a, b])
    assert len(both) == 4
    assert both.source == "sample.3le + sample.json"
    assert list(both.sat_ids) == [25544, 44714, 25544, 44714]
    assert both.satrecs[2] is b.satrecs[0]
    assert ElementSet.concat([a, a]).source == "sample.3le"
    mask = both.sat_ids == 44714
    sl = both.subset(mask)
    assert list(sl.names) == ["STARLINK-1008", "STARLINK-1008"]
    assert sl.satrecs == [both.satrecs[1], both.satrecs[3]]
    picked = both.subset(np.array([3, 0]))
    assert list(picked.sat_ids) == [44714, 25544]
    np.testing.assert_array_equal(picked.epochs_utc, both.epochs_utc[[3, 0]])
    assert len(both.subset(slice(1, 3))) == 2
    assert len(both.subset(2)) == 1
    assert len(ElementSet.concat([])) == 0


# --- the real snapshot --------------------------------------------------------------------------------------


@pytest.mark.shared_data
def test_real_starlink_snapshot_parses_completely():
    if not SNAPSHOT.exists():
        pytest.skip(f"shared data snapshot not found at {SNAPSHOT} (../shared/data is not checked out)")
    lines = SNAPSHOT.read_text().split("\n")
    n_expected = sum(1 for line in lines if line.startswith("1 "))  # independent count of line 1s
    start = time.perf_counter()
    els = load_tle(SNAPSHOT)
    elapsed_s = time.perf_counter() - start
    assert len(els) == n_expected
    assert 8_000 < len(els) < 12_000
    assert elapsed_s < 2.0, f"parsing took {elapsed_s:.2f} s"
    assert all(name.startswith("STARLINK") for name in els.names)
    # sgp4 decodes the catalogue numbers and epochs itself; ours must agree (epoch to 1 us: sgp4 keeps the
    # epoch as a two-part Julian date in doubles, ~0.1 us resolution for the fraction).
    np.testing.assert_array_equal(els.sat_ids, [s.satnum for s in els.satrecs])
    jd_unix_epoch = 2440587.5
    whole_days = np.array([round(s.jdsatepoch - jd_unix_epoch) for s in els.satrecs], dtype=np.int64)
    fraction_ns = np.array([s.jdsatepochF for s in els.satrecs]) * 86400e9
    ours_ns = els.epochs_utc.astype(np.int64) - whole_days * 86_400_000_000_000
    assert np.abs(ours_ns - fraction_ns).max() < 1e3
    # Snapshot taken 2025-12-06: every epoch is within a few weeks before it.
    assert (els.epochs_utc < np.datetime64("2025-12-08")).all()
    assert (els.epochs_utc > np.datetime64(dt.datetime(2025, 10, 1))).all()
