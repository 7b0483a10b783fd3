"""Hypatia (satgenpy) folders and dynamic state, without satgenpy installed.

References: a tiny satgenpy folder and satgenpy's own dynamic state for it (tests/data/hypatia/tiny, made by
tests/data/hypatia/make_tiny.py with satgenpy 0.4.0), and forwarding states worked out by hand.
"""

from __future__ import annotations

import dataclasses
import filecmp
import math
import shutil
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from leosim.cli import main
from leosim.errors import LeosimInputError
from leosim.interop import (
    dynamic_state_dirname,
    plus_grid_isls,
    read_satgenpy_folder,
    satellite_positions_km,
    write_dynamic_state,
)
from leosim.interop.hypatia_fstate import InterfaceTable, forwarding_state, fstate_text, isl_interfaces

TINY = Path(__file__).parent / "data" / "hypatia" / "tiny"
TINY_STATE = TINY / "dynamic_state_60000ms_for_600s"

TIE_TOLERANCE_KM = 1e-3
"""Two next hops count as an exact tie when their paths (in leosim's own geometry) differ by < 1 m: the tiny
4 x 4 grid is symmetric (orbits 0 and 2 mirror each other about orbits 1 and 3), so equal-length routes
exist there; SGP4 keeps such mirror images equal to millimetres, while any real difference between
routes in this grid is hundreds of kilometres."""


# ------------------------------------------------------------------------------------------ helpers

def read_fstates(folder: Path) -> dict[int, dict[tuple[int, int], tuple[int, int, int]]]:
    """The full forwarding state at every t_ns of a dynamic-state folder (diff files applied in order)."""
    times = sorted(int(p.stem.split("_")[1]) for p in folder.glob("fstate_*.txt"))
    state: dict[tuple[int, int], tuple[int, int, int]] = {}
    result = {}
    for t_ns in times:
        for line in (folder / f"fstate_{t_ns}.txt").read_text().splitlines():
            cur, dst, nh, my_if, next_if = (int(v) for v in line.split(","))
            state[(cur, dst)] = (nh, my_if, next_if)
        result[t_ns] = dict(state)
    return result


def walk_km(state, src: int, dst: int, node_km: np.ndarray) -> float:
    """Length of the path that the forwarding state gives from node ``src`` to ground-station node ``dst``;
    NaN when it ends in ``-1``. ``node_km`` holds the Earth-fixed positions of every node."""
    total, node = 0.0, src
    for _ in range(len(node_km)):
        if node == dst:
            return total
        nh = state[(node, dst)][0]
        if nh < 0:
            return math.nan
        total += float(np.linalg.norm(node_km[nh] - node_km[node]))
        node = nh
    raise AssertionError(f"forwarding loop from {src} to {dst}")


def node_positions_km(network, t_ns: int) -> np.ndarray:
    sats = satellite_positions_km(network, np.array([t_ns]))[0]
    return np.concatenate([sats, network.sites.ecef_km])


def copy_tiny(tmp_path: Path) -> Path:
    folder = tmp_path / "net"
    shutil.copytree(TINY, folder, ignore=shutil.ignore_patterns("dynamic_state_*"))
    return folder


# ------------------------------------------------------------------------------------------ reading

def test_read_tiny_folder():
    net = read_satgenpy_folder(TINY)
    assert net.num_satellites == 16 and net.num_ground_stations == 3
    assert net.constellation.plane.tolist() == [p for p in range(4) for _ in range(4)]
    assert net.constellation.slot.tolist() == [s for _ in range(4) for s in range(4)]
    assert set(net.constellation.shell.tolist()) == {0}
    assert net.isls.shape == (32, 2) and net.isls.dtype == np.int64
    assert net.max_gsl_length_km == pytest.approx(3000.0) and net.max_isl_length_km == pytest.approx(13000.0)
    assert net.epoch == np.datetime64("2000-01-01T00:00:00", "ns")  # TLE epoch 00001.00000000
    assert net.sites.names.tolist() == ["Tokyo", "Delhi", "Sao-Paulo"]
    np.testing.assert_array_equal(net.bandwidth(), np.ones(19))
    # Hypatia's TLE generator: RAAN = orbit * 360 / 4, inclination 53°.
    raan_deg = np.degrees([s.nodeo for s in net.constellation.satrecs])
    np.testing.assert_allclose(raan_deg, np.repeat([0.0, 90.0, 180.0, 270.0], 4), atol=1e-4)


def test_plus_grid_matches_satgenpy_isls_file():
    expected = np.loadtxt(TINY / "isls.txt", dtype=np.int64)
    np.testing.assert_array_equal(plus_grid_isls(4, 4), expected)


def test_basic_ground_stations_file_alone(tmp_path):
    folder = copy_tiny(tmp_path)
    (folder / "ground_stations.txt").unlink()
    net = read_satgenpy_folder(folder)
    assert net.sites.names.tolist() == ["Tokyo", "Delhi", "Sao-Paulo"]
    assert net.sites.alt_m.tolist() == [0.0, 40.0, 760.0]


def _set_tle_field(line: str, first: int, last: int, text: str) -> str:
    """Replace columns first..last (1-based) and recompute the checksum (CelesTrak's rule: digits, '-' = 1)."""
    body = line[:first - 1] + text + line[last:68]
    checksum = sum(int(c) if c.isdigit() else (1 if c == "-" else 0) for c in body) % 10
    return body + str(checksum)


def _edit(folder: Path, name: str, edit) -> None:
    path = folder / name
    lines = path.read_text().splitlines()
    path.write_text("\n".join(edit(lines)) + "\n")


BAD_FILES = [
    # (file, edit of its lines, expected line, expected field)
    ("tles.txt", lambda ls: ["4"] + ls[1:], 1, "header"),
    ("tles.txt", lambda ls: ["4 x"] + ls[1:], 1, "sats_per_orbit"),
    ("tles.txt", lambda ls: ["0 4"] + ls[1:], 1, "orbits"),
    ("tles.txt", lambda ls: ["4 5"] + ls[1:], 1, "header"),
    ("tles.txt", lambda ls: ls[:3] + [ls[3][:-1] + str((int(ls[3][-1]) + 1) % 10)] + ls[4:], 4, "checksum"),
    ("tles.txt", lambda ls: ls[:2] + ls[3:], 3, "line_number"),
    ("tles.txt", lambda ls: ls[:1] + ls[2:], 2, "name"),
    ("tles.txt", lambda ls: ls[:5] + [_set_tle_field(ls[5], 21, 32, "001.50000000")] + ls[6:], 6, "epoch_day"),
    ("isls.txt", lambda ls: ["0 x"] + ls[1:], 1, "b"),
    ("isls.txt", lambda ls: ls[:2] + ["0 16"] + ls[3:], 3, "b"),
    ("isls.txt", lambda ls: ls[:2] + ["-1 3"] + ls[3:], 3, "a"),
    ("isls.txt", lambda ls: ls[:2] + ["5 1"] + ls[3:], 3, "b"),
    ("isls.txt", lambda ls: ls + ["0 1"], 33, None),
    ("isls.txt", lambda ls: ["0 1 2"] + ls[1:], 1, None),
    ("ground_stations.txt", lambda ls: [ls[1], ls[0], ls[2]], 1, "gid"),
    ("ground_stations.txt", lambda ls: ls[:1] + [ls[1].replace("28.666670", "north")] + ls[2:], 2, "latitude"),
    ("description.txt", lambda ls: ls[:1], None, "max_isl_length_m"),
    ("description.txt", lambda ls: ["max_gsl_length_m=abc"] + ls[1:], 1, "max_gsl_length_m"),
    ("description.txt", lambda ls: ls[:1] + ["max_isl_length_m=-5"], 2, "max_isl_length_m"),
    ("description.txt", lambda ls: ls + ["no equals sign"], 3, None),
    ("gsl_interfaces_info.txt", lambda ls: ["0,2,1.000000"] + ls[1:], 1, "number_of_interfaces"),
    ("gsl_interfaces_info.txt", lambda ls: ["0,1,zero"] + ls[1:], 1, "aggregate_max_bandwidth"),
    ("gsl_interfaces_info.txt", lambda ls: ls[1:], 1, "node_id"),
    ("gsl_interfaces_info.txt", lambda ls: ls[:-1], None, None),
]


@pytest.mark.parametrize(("name", "edit", "line", "field"), BAD_FILES)
def test_malformed_files_name_file_line_and_field(tmp_path, name, edit, line, field):
    folder = copy_tiny(tmp_path)
    _edit(folder, name, edit)
    with pytest.raises(LeosimInputError) as info:
        read_satgenpy_folder(folder)
    error = info.value
    assert error.source is not None and Path(error.source).name == name, str(error)
    assert error.line == line, str(error)
    assert error.field == field, str(error)


def test_missing_files(tmp_path):
    folder = copy_tiny(tmp_path)
    (folder / "description.txt").unlink()
    with pytest.raises(LeosimInputError, match=r"description\.txt"):
        read_satgenpy_folder(folder)
    with pytest.raises(LeosimInputError, match="not a folder"):
        read_satgenpy_folder(tmp_path / "nowhere")


# ------------------------------------------------------------------------------------------ forwarding core

def test_isl_interfaces_by_order_of_appearance():
    isls = np.array([[0, 1], [1, 2], [2, 3], [0, 3]])
    if_a, if_b, count = isl_interfaces(isls, 5)
    assert if_a.tolist() == [0, 1, 1, 1] and if_b.tolist() == [0, 0, 0, 1]
    assert count.tolist() == [2, 2, 2, 2, 0]


def test_forwarding_state_by_hand():
    """Satellites 0-1-2-3 in a chain (10 km links) plus a long 0-3 link (100 km); satellite 4 has no link.
    Station A (node 5) sees satellite 0 at 5 km and 1 at 20 km; B (node 6) sees 3 at 5 km; C (node 7) none."""
    isls = np.array([[0, 1], [1, 2], [2, 3], [0, 3]])
    lengths = np.array([10.0, 10.0, 10.0, 100.0])
    inf = np.inf
    gsl = np.array([[5.0, 20.0, inf, inf, inf], [inf, inf, inf, 5.0, inf], [inf] * 5])
    fs = forwarding_state(isls, lengths, gsl, InterfaceTable(isls, 5))
    assert fs.shape == (8, 3, 3)
    towards_a = {0: (5, 2, 0), 1: (0, 0, 0), 2: (1, 0, 1), 3: (2, 0, 1), 4: (-1, -1, -1),
                 6: (3, 0, 2), 7: (-1, -1, -1)}
    towards_b = {0: (1, 0, 0), 1: (2, 1, 0), 2: (3, 1, 0), 3: (6, 2, 0), 4: (-1, -1, -1),
                 5: (0, 0, 2), 7: (-1, -1, -1)}
    for node, hop in towards_a.items():
        assert tuple(fs[node, 0]) == hop, node
    for node, hop in towards_b.items():
        assert tuple(fs[node, 1]) == hop, node
    assert (fs[:, 2] == -1).all()  # nobody reaches C
    table = InterfaceTable(isls, 5)
    text = fstate_text(fs[..., 0], table).splitlines()
    assert len(text) == 5 * 3 + 3 * 2  # diagonal of the ground stations skipped
    assert text[:3] == ["0,5,5,2,0", "0,6,1,0,0", "0,7,-1,-1,-1"]
    assert text[-2:] == ["7,5,-1,-1,-1", "7,6,-1,-1,-1"]
    # Satellite 1 now sees A at 2 km: it goes down directly, and A reaches B through it (2 + 25 < 5 + 35);
    # nothing else changes, and only the changed entries are written.
    gsl2 = gsl.copy()
    gsl2[0, 1] = 2.0
    fs2 = forwarding_state(isls, lengths, gsl2, InterfaceTable(isls, 5))
    assert fstate_text(fs2[..., 0], table, fs[..., 0]).splitlines() == ["1,5,5,2,0", "5,6,1,0,2"]
    # Station C now sees satellite 0 at 15 km and 1 at 5 km: towards A both give 20 km (15 + 5 and
    # 5 + 10 + 5); satgenpy's rule, kept here, takes the lower satellite id.
    gsl3 = gsl.copy()
    gsl3[2, :2] = [15.0, 5.0]
    fs3 = forwarding_state(isls, lengths, gsl3, InterfaceTable(isls, 5))
    assert tuple(fs3[7, 0]) == (0, 0, 2)


# ------------------------------------------------------------------------------------------ dynamic state

def test_dynamic_state_matches_satgenpy_tiny(tmp_path):
    """leosim's files against satgenpy's own (tests/data/hypatia/tiny): same names, identical bandwidth
    files, identical forwarding entries except exact ties, and equal path lengths everywhere."""
    net = read_satgenpy_folder(TINY)
    out = write_dynamic_state(net, tmp_path, 600, 60000)
    assert out == tmp_path / "dynamic_state_60000ms_for_600s"
    assert sorted(p.name for p in out.iterdir()) == sorted(p.name for p in TINY_STATE.iterdir())
    for path in TINY_STATE.glob("gsl_if_bandwidth_*.txt"):
        assert filecmp.cmp(path, out / path.name, shallow=False), path.name
    assert (out / "fstate_0.txt").read_text().count("\n") == 16 * 3 + 3 * 2
    ours, theirs = read_fstates(out), read_fstates(TINY_STATE)
    ties = total = 0
    for t_ns, state in ours.items():
        nodes = node_positions_km(net, t_ns)
        assert state.keys() == theirs[t_ns].keys()
        for (cur, dst), hop in state.items():
            total += 1
            if hop == theirs[t_ns][(cur, dst)]:
                continue
            ties += 1
            assert hop[0] != theirs[t_ns][(cur, dst)][0], (t_ns, cur, dst)  # same next hop, same interfaces
            a, b = walk_km(state, cur, dst, nodes), walk_km(theirs[t_ns], cur, dst, nodes)
            assert abs(a - b) < TIE_TOLERANCE_KM, (t_ns, cur, dst, hop, theirs[t_ns][(cur, dst)], a, b)
    assert ties < 0.1 * total  # mirror-image ties only (33 of 540 entry-instants when written)


def test_workers_give_byte_identical_output(tmp_path):
    net = read_satgenpy_folder(TINY)
    outs = [write_dynamic_state(net, tmp_path / f"w{w}", 600, 20000, workers=w) for w in (1, 2, 3)]
    names = sorted(p.name for p in outs[0].iterdir())
    assert len(names) == 2 * 30
    for other in outs[1:]:
        assert sorted(p.name for p in other.iterdir()) == names
        _, mismatch, errors = filecmp.cmpfiles(outs[0], other, names, shallow=False)
        assert not mismatch and not errors


def test_rewrite_replaces_folder_atomically(tmp_path):
    net = read_satgenpy_folder(TINY)
    out = write_dynamic_state(net, tmp_path, 120, 60000)
    (out / "stale.txt").write_text("x")
    assert write_dynamic_state(net, tmp_path, 120, 60000) == out
    assert not (out / "stale.txt").exists()
    assert [p.name for p in tmp_path.iterdir()] == [out.name]


def test_too_long_isl_raises_and_leaves_nothing(tmp_path):
    net = dataclasses.replace(read_satgenpy_folder(TINY), max_isl_length_km=5000.0)
    with pytest.raises(LeosimInputError, match=r"ISL 0-1 .* 9743\d{3}\.\d\d m long at t=0 ns") as info:
        write_dynamic_state(net, tmp_path, 120, 60000)
    assert info.value.field == "max_isl_length_m"
    assert list(tmp_path.iterdir()) == []


def test_folder_names_and_bad_arguments(tmp_path):
    assert dynamic_state_dirname(200, 100) == "dynamic_state_100ms_for_200s"
    assert dynamic_state_dirname(200.0, 100.0) == "dynamic_state_100ms_for_200s"
    net = read_satgenpy_folder(TINY)
    for duration, step, field in ((10, 0, "step_ms"), (0, 100, "duration_s"), (0.05, 100, "duration_s"),
                                  (1, 0.0000001, "step_ms")):
        with pytest.raises(LeosimInputError) as info:
            write_dynamic_state(net, tmp_path, duration, step)
        assert info.value.field == field
    with pytest.raises(LeosimInputError):
        write_dynamic_state(net, tmp_path, 10, 1000, earth_rotation="tai")


def test_earth_rotation_utc_differs_by_ut1_minus_utc(ts):
    """'utc' turns the Earth by GMST(UTC), 'ut1' by GMST(UT1): positions differ by a rotation about z of
    (UT1 - UTC) times the Earth's rotation rate. UT1 - UTC from skyfield's IERS table (0.3555 s on
    2000-01-01); rate 7.2921159e-5 rad/s (IERS Conventions 2010, 1.00273781191 x 2π per UT1 day)."""
    net = read_satgenpy_folder(TINY)
    t_ns = np.array([0, 3_600 * 10**9])
    utc = satellite_positions_km(net, t_ns, "utc")
    ut1 = satellite_positions_km(net, t_ns, "ut1")
    angle = np.arctan2(ut1[..., 1], ut1[..., 0]) - np.arctan2(utc[..., 1], utc[..., 0])
    angle = (angle + np.pi) % (2 * np.pi) - np.pi
    dut1_s = ts.utc(2000, 1, 1, 0, 0, t_ns / 1e9).dut1
    expected = np.broadcast_to(-7.2921159e-5 * dut1_s[:, None], angle.shape)
    np.testing.assert_allclose(angle, expected, atol=1e-9)  # 1e-9 rad = 7 µm at 7,000 km
    np.testing.assert_allclose(utc[..., 2], ut1[..., 2], atol=1e-9)


def test_positions_at_epoch_offsets_match_skyfield(ts):
    """Time offsets count from the TLE epoch: at t_ns after 2000-01-01 00:00 UTC leosim's ('ut1') positions
    equal skyfield's ITRS positions of the same TLE within 1 m (skyfield also uses SGP4 and GMST82 at UT1,
    without polar motion; the tolerance covers its TEME-to-ITRS nutation details)."""
    from skyfield.api import EarthSatellite
    from skyfield.framelib import itrs

    net = read_satgenpy_folder(TINY)
    lines = (TINY / "tles.txt").read_text().splitlines()
    t_ns = np.array([0, 1_234_500_000_000])
    ours = satellite_positions_km(net, t_ns, "ut1")
    for k in (0, 5, 15):
        sat = EarthSatellite(lines[2 + 3 * k], lines[3 + 3 * k], lines[1 + 3 * k], ts)
        for i, offset in enumerate(t_ns.tolist()):
            t = ts.utc(2000, 1, 1, 0, 0, offset / 1e9)
            theirs = sat.at(t).frame_xyz(itrs).km
            assert np.linalg.norm(ours[i, k] - theirs) < 1e-3


# ------------------------------------------------------------------------------------------ CLI

def test_cli_hypatia_state(tmp_path):
    runner = CliRunner()
    result = runner.invoke(main, ["hypatia-state", "--hypatia", str(TINY), "--duration", "600", "--step-ms",
                                  "60000", "--out", str(tmp_path), "--workers", "2"])
    assert result.exit_code == 0, result.output
    out = tmp_path / "dynamic_state_60000ms_for_600s"
    assert str(out) in result.output
    assert len(list(out.glob("fstate_*.txt"))) == 10
    bad = runner.invoke(main, ["hypatia-state", "--hypatia", str(tmp_path / "none"), "--duration", "10",
                               "--step-ms", "1000", "--out", str(tmp_path)])
    assert bad.exit_code == 2 and "not a folder" in bad.output


def test_progress_is_reported_for_every_step(tmp_path):
    net = read_satgenpy_folder(TINY)
    for workers in (1, 2):
        calls = []
        write_dynamic_state(net, tmp_path / f"w{workers}", 120, 60000, workers=workers,
                            progress=lambda done, total, calls=calls: calls.append((done, total)))
        assert calls[-1] == (2, 2) and all(total == 2 for _, total in calls)
