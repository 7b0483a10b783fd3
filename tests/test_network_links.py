"""ISL sets, ISL geometry and validity, GSL candidate search (leosim.network.links)."""

from __future__ import annotations

import numpy as np
import pytest

from leosim.constants import WGS72_RADIUS_KM
from leosim.errors import LeosimInputError
from leosim.ground.geodesy import enu_basis, geodetic_to_ecef
from leosim.network.links import (
    default_max_isl_length_km,
    gsl_edges_by_elevation,
    gsl_edges_by_range,
    isl_lengths_km,
    isl_validity,
    load_isl_file,
    plus_grid_isls,
)
from synthetic import walker_ecef_km

ONE_MM_KM = 1e-6  # lengths here are closed-form geometry: agreement to a millimetre is float round-off


def hypatia_plus_grid(n_orbits, n_sats_per_orbit, isl_shift, idx_offset=0):
    """Hypatia's published algorithm (satgenpy/satgen/isls/generate_plus_grid_isls.py), as the reference."""
    out = []
    for i in range(n_orbits):
        for j in range(n_sats_per_orbit):
            sat = i * n_sats_per_orbit + j
            same = i * n_sats_per_orbit + ((j + 1) % n_sats_per_orbit)
            adj = ((i + 1) % n_orbits) * n_sats_per_orbit + ((j + isl_shift) % n_sats_per_orbit)
            out.append((idx_offset + min(sat, same), idx_offset + max(sat, same)))
            out.append((idx_offset + min(sat, adj), idx_offset + max(sat, adj)))
    return out


@pytest.mark.parametrize(("planes", "slots", "shift"), [(3, 3, 0), (5, 4, 1), (72, 22, 0), (6, 7, 3)])
def test_plus_grid_matches_hypatia_line_by_line(planes, slots, shift):
    plane = np.repeat(np.arange(planes), slots)
    slot = np.tile(np.arange(slots), planes)
    got = plus_grid_isls(np.zeros_like(plane), plane, slot, shift=shift)
    assert got.dtype == np.int64
    assert [tuple(r) for r in got.tolist()] == hypatia_plus_grid(planes, slots, shift)


def test_plus_grid_two_shells_matches_hypatia_with_offset():
    plane = np.r_[np.repeat(np.arange(4), 5), np.repeat(np.arange(3), 6)]
    slot = np.r_[np.tile(np.arange(5), 4), np.tile(np.arange(6), 3)]
    shell = np.r_[np.zeros(20, np.int64), np.ones(18, np.int64)]
    got = [tuple(r) for r in plus_grid_isls(shell, plane, slot, shift=1).tolist()]
    assert got == hypatia_plus_grid(4, 5, 1) + hypatia_plus_grid(3, 6, 1, idx_offset=20)


def test_plus_grid_is_independent_of_satellite_numbering():
    rng = np.random.default_rng(3)
    plane = np.repeat(np.arange(5), 4)
    slot = np.tile(np.arange(4), 5)
    perm = rng.permutation(20)  # satellite perm[k] is the one at (plane[k], slot[k])
    shuffled_plane = np.empty(20, np.int64)
    shuffled_slot = np.empty(20, np.int64)
    shuffled_plane[perm], shuffled_slot[perm] = plane, slot
    got = plus_grid_isls(np.zeros(20, np.int64), shuffled_plane, shuffled_slot)
    want = {frozenset((int(perm[a]), int(perm[b]))) for a, b in hypatia_plus_grid(5, 4, 0)}
    assert {frozenset(r) for r in got.tolist()} == want
    assert len(got) == len(want)


def test_plus_grid_small_planes_gaps_and_unknowns():
    # Two planes of two: each link once (Hypatia raises for < 3).
    got = plus_grid_isls(np.zeros(4, np.int64), [0, 0, 1, 1], [0, 1, 0, 1])
    assert [tuple(r) for r in got.tolist()] == [(0, 1), (0, 2), (1, 3), (2, 3)]
    # A missing slot keeps the plane a ring; a satellite with unknown slot gets nothing.
    got = plus_grid_isls(np.zeros(4, np.int64), [0, 0, 0, 0], [0, 1, 3, -1])
    assert [tuple(r) for r in got.tolist()] == [(0, 1), (1, 2), (0, 2)]
    with pytest.raises(LeosimInputError, match="share shell 0, plane 1, slot 2"):
        plus_grid_isls([0, 0], [1, 1], [2, 2])


def test_load_isl_file(tmp_path):
    f = tmp_path / "isls.txt"
    f.write_text("0 1\n1 2\n\n5 0\n")
    assert load_isl_file(f).tolist() == [[0, 1], [1, 2], [5, 0]]
    for text, line, what in [("0 1\n1 x\n", 2, "non-negative integers"), ("0 1 2\n", 1, "two satellite ids"),
                             ("0 1\n3 3\n", 2, "to itself"), ("0 1\n1 0\n", 2, "already listed on line 1"),
                             ("0 9\n", 1, "out of range")]:
        f.write_text(text)
        with pytest.raises(LeosimInputError, match=what) as err:
            load_isl_file(f, n_satellites=6)
        assert err.value.line == line and err.value.source == str(f)
    with pytest.raises(LeosimInputError, match="cannot read"):
        load_isl_file(tmp_path / "missing.txt")


def _in_plane(r_km, u_rad):
    return np.stack([r_km * np.cos(u_rad), r_km * np.sin(u_rad), np.zeros_like(u_rad)], axis=-1)


def test_isl_length_two_satellites_in_one_plane_is_the_chord():
    r = WGS72_RADIUS_KM + 550.0
    du = np.radians(360.0 / 22)
    pos = _in_plane(r, np.array([0.3, 0.3 + du]))
    assert isl_lengths_km(pos, [[0, 1]])[0] == pytest.approx(2 * r * np.sin(du / 2), abs=ONE_MM_KM)


def test_isl_validity_limits_at_the_80_km_tangent():
    h = 550.0
    r = WGS72_RADIUS_KM + h
    limit = default_max_isl_length_km(h)
    assert limit == pytest.approx(2 * np.sqrt(r**2 - (WGS72_RADIUS_KM + 80.0) ** 2))
    # Angle at which the chord's midpoint touches 80 km altitude: r cos(du/2) = R + 80.
    du_tangent = 2 * np.arccos((WGS72_RADIUS_KM + 80.0) / r)
    small, big = du_tangent - 1e-4, du_tangent + 1e-4  # 1e-4 rad ~ 0.7 km of arc
    pos = np.r_[_in_plane(r, np.array([0.0, small])), _in_plane(r, np.array([1.0, 1.0 + big])),
                [[np.nan] * 3]]
    isls = np.array([[0, 1], [2, 3], [0, 4]])
    for kwargs in ({}, {"shell_altitude_km": h}):
        valid, report = isl_validity(pos, isls, **kwargs)
        assert valid.tolist() == [True, False, False]
        rows = set(zip(report.link_index.tolist(), report.reason.tolist(), strict=True))
        assert rows == {(1, "too_long"), (1, "earth_blocked"), (2, "missing_position")}
    k = report.link_index.tolist().index(1)
    # r sin(du/2) / 2 * 1e-4 rad ~ 0.13 km below the 80 km tangent
    assert report.closest_altitude_km[k] < 80.0 < report.closest_altitude_km[k] + 0.2
    valid, report = isl_validity(pos, isls, max_isl_length_km=100.0)
    assert valid.tolist() == [False, False, False]
    assert "too_long" in report.reason[report.link_index == 0]


def test_gsl_by_range_matches_brute_force_and_is_inclusive():
    pos, _, _ = walker_ecef_km(12, 10, 550.0, 53.0, 100.0)
    pos[5] = np.nan
    rng = np.random.default_rng(0)
    lat, lon = rng.uniform(-60, 60, 40), rng.uniform(-180, 180, 40)
    sites = geodetic_to_ecef(lat, lon, 0.0)
    dist = np.linalg.norm(pos[None] - sites[:, None], axis=2)
    limit = 1500.0
    i, j, length = gsl_edges_by_range(sites, pos, limit)
    want = np.argwhere(dist <= limit)
    assert np.array_equal(np.c_[i, j], want)
    np.testing.assert_allclose(length, dist[i, j], atol=ONE_MM_KM)
    # Inclusive boundary: a limit equal to an exact distance keeps that pair.
    exact = dist[want[0, 0], want[0, 1]]
    _i2, j2, _ = gsl_edges_by_range(sites[want[0, 0]:want[0, 0] + 1], pos, exact)
    assert want[0, 1] in j2


def test_gsl_edges_by_elevation_match_brute_force_elevation():
    pos, _, _ = walker_ecef_km(18, 12, 550.0, 53.0, 400.0)
    pos[[3, 50]] = np.nan
    rng = np.random.default_rng(1)
    lat, lon = rng.uniform(-70, 70, 60), rng.uniform(-180, 180, 60)
    sites = geodetic_to_ecef(lat, lon, rng.uniform(0, 2, 60))
    up = enu_basis(lat, lon)[:, 2, :]
    mask = rng.uniform(10, 40, 60)
    los = pos[None] - sites[:, None]
    el = np.degrees(np.arcsin(np.einsum("mnk,mk->mn", los, up) / np.linalg.norm(los, axis=2)))
    with np.errstate(invalid="ignore"):
        want = np.argwhere(el >= mask[:, None])
    i2, j2, l2 = gsl_edges_by_elevation(sites, up, pos, mask)
    assert np.array_equal(np.c_[i2, j2], want)
    np.testing.assert_allclose(l2, np.linalg.norm(los[i2, j2], axis=1), atol=ONE_MM_KM)


def test_gsl_straight_below_a_satellite_is_the_altitude():
    r = 6378.137 + 550.0
    u = np.radians(np.arange(24) * 15.0)
    pos = _in_plane(r, u)  # equatorial ring, satellite 0 over longitude 0
    site = geodetic_to_ecef(0.0, 0.0, 0.0)[None]
    up = enu_basis(0.0, 0.0)[2][None]
    _i, j, length = gsl_edges_by_elevation(site, up, pos, 60.0)
    assert j.tolist() == [0]
    assert length[0] == pytest.approx(550.0, abs=ONE_MM_KM)
