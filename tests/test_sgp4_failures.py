"""Element sets that SGP4 cannot propagate at any instant are named in one warning per file."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from click.testing import CliRunner
from sgp4.api import Satrec

from leosim.cli import main
from leosim.errors import PropagationWarning
from leosim.orbits.elements import load_elements

ISS_1 = "1 25544U 98067A   08264.51782528 -.00002182  00000-0 -11606-4 0  2927"
ISS_2 = "2 25544  51.6416 247.4627 0006703 130.5360 325.0288 15.72125391563537"


def _checksum(line68: str) -> str:
    """Modulo-10 TLE checksum (CelesTrak): digits count their value, '-' counts 1, all else 0."""
    return str(sum(int(c) if c.isdigit() else (1 if c == "-" else 0) for c in line68) % 10)


def _put(line: str, first_col: int, text: str) -> str:
    body = (line[:first_col - 1] + text + line[first_col - 1 + len(text):])[:68]
    return body + _checksum(body)


def _doomed(catalogue: str) -> tuple[str, str]:
    """The ISS's lines with e = 0.9999999 at 99.99 rev/day (the perigee deep inside the Earth)."""
    return _put(ISS_1, 3, catalogue), _put(_put(_put(ISS_2, 3, catalogue), 27, "9999999"), 53, "99.99000000")


@pytest.fixture
def doomed_file(tmp_path):
    a1, a2 = _doomed("90001")
    b1, b2 = _doomed("90002")
    path = tmp_path / "doomed.tle"
    path.write_text(f"ISS\n{ISS_1}\n{ISS_2}\nDOOMED-A\n{a1}\n{a2}\nDOOMED-B\n{b1}\n{b2}\n")
    return path


def test_reference_sgp4_fails_for_the_doomed_orbit():
    # The reference: the sgp4 library itself refuses the orbit at initialisation (error 4: perigee < Earth).
    line1, line2 = _doomed("90001")
    satrec = Satrec.twoline2rv(line1, line2)
    assert satrec.error != 0
    error, r, _ = satrec.sgp4(satrec.jdsatepoch, satrec.jdsatepochF)
    assert error != 0 and np.isnan(r).all()


def test_one_warning_per_file_naming_the_satellites(doomed_file):
    with pytest.warns(PropagationWarning) as caught:
        elements = load_elements(doomed_file)
    assert len(caught) == 1
    message = str(caught[0].message)
    assert "doomed.tle" in message and "2 of 3" in message
    assert "DOOMED-A (90001" in message and "DOOMED-B (90002" in message and "ISS" not in message.split(":", 2)[2]
    assert len(elements) == 3  # the file still loads: the good satellite is usable


def test_no_warning_for_a_good_file(tmp_path):
    path = tmp_path / "iss.tle"
    path.write_text(f"ISS\n{ISS_1}\n{ISS_2}\n")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load_elements(path)


def test_cli_prints_one_warning_line(doomed_file, tmp_path):
    result = CliRunner().invoke(main, ["positions", "--tle", str(doomed_file), "--out", str(tmp_path / "p.csv")])
    assert result.exit_code == 0, result.output
    warned = [line for line in result.output.splitlines() if line.startswith("warning:")]
    assert len(warned) == 1 and "DOOMED-A" in warned[0] and "Traceback" not in result.output
