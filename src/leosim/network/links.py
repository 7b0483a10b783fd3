"""Links of the network at one instant: inter-satellite links (ISLs) and ground–satellite links (GSLs).

Plain-array numeric core. Positions are Earth-fixed (ECEF/ITRS) in km, shape ``(N, 3)`` for satellites
(rows of NaN for satellites that failed to propagate) and ``(M, 3)`` for sites. Node numbering follows
Hypatia: satellites are ``0..N-1`` (the row index), sites come after them (see :mod:`leosim.network.graph`).

ISL sets are fixed for a run (an ``(K, 2)`` int64 array of satellite indices, one row per undirected
link); only their lengths change from step to step. GSLs are recomputed every step, either

* above each site's elevation mask (``gsl_edges_by_elevation``), or
* within a maximum slant range, Hypatia's convention (``gsl_edges_by_range``: every satellite whose
  distance from the ground station is ``<= max_gsl_length_m``; no elevation test).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.spatial import cKDTree

from ..constants import WGS72_RADIUS_KM
from ..errors import LeosimInputError
from ..geometry import visible_pairs

ISL_MIN_ALTITUDE_KM = 80.0
"""Lowest altitude an ISL may pass through, km (Hypatia: ISLs may not dip below 80 km, to stay clear of
the weather; Kassing et al., "Exploring the 'Internet from space' with Hypatia", IMC 2020, sec. 3)."""

HYPATIA_EARTH_RADIUS_KM = WGS72_RADIUS_KM
"""Spherical Earth radius Hypatia uses for its link-length limits (``EARTH_RADIUS = 6378135`` m), km."""

ISL_REASONS = ("missing_position", "too_long", "earth_blocked")
"""Reasons an ISL can be reported invalid (see :func:`isl_validity`)."""


# ---------------------------------------------------------------------------------------------------------
# ISL sets


def plus_grid_isls(shell, plane, slot, shift: int = 0) -> np.ndarray:
    """The +Grid ISL set: each satellite links to the next slot of its plane and to the same slot
    (plus ``shift``) in the next plane of its shell, both wrapping around.

    ``shell``, ``plane``, ``slot``: int arrays, shape ``(N,)``, one entry per satellite (row of the position
    array); ``-1`` in any of them means unknown and the satellite gets no +Grid links. Returns ``(K, 2)``
    int64 satellite indices, each undirected link once, stored as ``(min, max)``.

    Order and conventions follow Hypatia's ``satgen.isls.generate_plus_grid_isls``: for each satellite in
    index order, first its intra-plane link, then its inter-plane link. With Hypatia's numbering
    (satellite id = plane * sats_per_plane + slot) and complete planes of at least 3 satellites in at
    least 3 planes the result equals Hypatia's list line by line. Generalisations, where Hypatia raises:

    * "next slot" is the next *existing* slot of that plane in slot order (wrapping), so a plane with a
      missing satellite stays a closed ring; a plane of one satellite has no intra-plane link;
    * "next plane" is the next existing plane number of the shell (wrapping); a shell with one plane has
      no inter-plane links; the target slot is ``(slot + shift) % slots_per_plane`` with
      ``slots_per_plane = max(slot) + 1`` over the shell, and if that satellite does not exist the link is
      left out;
    * a link that would repeat an earlier one (planes or rings of two) is kept once, at its first place.

    Raises :class:`LeosimInputError` if two satellites share the same (shell, plane, slot).
    """
    shell = np.asarray(shell, dtype=np.int64)
    plane = np.asarray(plane, dtype=np.int64)
    slot = np.asarray(slot, dtype=np.int64)
    if not (shell.shape == plane.shape == slot.shape) or shell.ndim != 1:
        raise LeosimInputError(
            f"shell, plane and slot must be 1-D arrays of the same length, got shapes "
            f"{shell.shape}, {plane.shape}, {slot.shape}", field="shell/plane/slot")
    n_sat = shell.size
    known = np.flatnonzero((shell >= 0) & (plane >= 0) & (slot >= 0))
    if known.size == 0:
        return np.empty((0, 2), dtype=np.int64)

    sh, pl, sl = shell[known], plane[known], slot[known]
    order = np.lexsort((sl, pl, sh))  # by shell, then plane, then slot
    sat = known[order]
    sh, pl, sl = sh[order], pl[order], sl[order]
    dup = (sh[1:] == sh[:-1]) & (pl[1:] == pl[:-1]) & (sl[1:] == sl[:-1])
    if dup.any():
        k = int(np.flatnonzero(dup)[0])
        raise LeosimInputError(
            f"satellites {int(sat[k])} and {int(sat[k + 1])} share shell {int(sh[k])}, plane {int(pl[k])}, "
            f"slot {int(sl[k])}; each (shell, plane, slot) must be unique", field="slot")

    pos = np.arange(sat.size)
    # Groups of one (shell, plane): start and end (exclusive) positions in the sorted order.
    new_group = np.r_[True, (sh[1:] != sh[:-1]) | (pl[1:] != pl[:-1])]
    group = np.cumsum(new_group) - 1
    g_start = np.flatnonzero(new_group)
    g_end = np.r_[g_start[1:], sat.size]
    nxt = np.where(pos + 1 < g_end[group], pos + 1, g_start[group])
    intra_b = sat[nxt]  # equal to sat where the plane has one satellite

    # Next plane of the same shell (wrapping), as a group index.
    g_shell = sh[g_start]
    new_shell = np.r_[True, g_shell[1:] != g_shell[:-1]]
    s_start = np.flatnonzero(new_shell)
    shell_of_group = np.cumsum(new_shell) - 1
    s_end = np.r_[s_start[1:], g_start.size]
    g_idx = np.arange(g_start.size)
    g_next = np.where(g_idx + 1 < s_end[shell_of_group], g_idx + 1, s_start[shell_of_group])
    # slots_per_plane per shell = max slot + 1 over the shell.
    slots_per_plane = np.maximum.reduceat(sl, g_start[s_start]) + 1
    spp = slots_per_plane[shell_of_group[group]]
    target_plane = pl[g_start[g_next[group]]]
    target_slot = (sl + shift) % spp
    # Look the target up by a combined sortable key (shell, plane, slot).
    p_span = int(pl.max()) + 1
    s_span = int(max(sl.max(), target_slot.max())) + 1
    keys = (sh * p_span + pl) * s_span + sl
    t_keys = (sh * p_span + target_plane) * s_span + target_slot
    loc = np.clip(np.searchsorted(keys, t_keys), 0, keys.size - 1)
    found = (keys[loc] == t_keys) & (g_next[group] != group)
    inter_b = np.where(found, sat[loc], sat)

    # Hypatia order: satellite id ascending; intra (0) before inter (1).
    a_all = np.r_[sat, sat]
    b_all = np.r_[intra_b, inter_b]
    kind = np.r_[np.zeros(sat.size, np.int64), np.ones(sat.size, np.int64)]
    keep = a_all != b_all
    a_all, b_all, kind = a_all[keep], b_all[keep], kind[keep]
    o = np.lexsort((kind, a_all))
    lo = np.minimum(a_all, b_all)[o]
    hi = np.maximum(a_all, b_all)[o]
    _, first = np.unique(lo * n_sat + hi, return_index=True)
    first.sort()
    return np.stack([lo[first], hi[first]], axis=1).astype(np.int64)


def load_isl_file(path, n_satellites: int | None = None) -> np.ndarray:
    """Read a Hypatia ``isls.txt``: one ``a b`` pair of satellite ids per line, separated by whitespace.

    Returns ``(K, 2)`` int64 in file order (Hypatia numbers each satellite's ISL interfaces in this
    order). Blank lines are skipped. Raises :class:`LeosimInputError` naming the file and line for a line
    that is not two non-negative integers, a link from a satellite to itself, a link listed twice (in
    either direction), or an id ``>= n_satellites`` when that is given.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise LeosimInputError(f"cannot read ISL file: {exc.strerror or exc}", source=str(path)) from exc
    except UnicodeDecodeError as exc:
        raise LeosimInputError("ISL file is not UTF-8 text", source=str(path)) from exc
    pairs: list[tuple[int, int]] = []
    seen: dict[tuple[int, int], int] = {}
    for line_no, line in enumerate(text.splitlines(), start=1):
        fields = line.split()
        if not fields:
            continue
        if len(fields) != 2:
            raise LeosimInputError(
                f"expected two satellite ids 'a b', got {len(fields)} field(s): {line.strip()!r}",
                source=str(path), line=line_no)
        try:
            a, b = int(fields[0]), int(fields[1])
        except ValueError:
            raise LeosimInputError(
                f"satellite ids must be non-negative integers, got {line.strip()!r}",
                source=str(path), line=line_no) from None
        for name, v in (("a", a), ("b", b)):
            if v < 0 or (n_satellites is not None and v >= n_satellites):
                accepted = "0 or more" if n_satellites is None else f"0..{n_satellites - 1}"
                raise LeosimInputError(f"satellite id {v} out of range (accepted: {accepted})",
                                       source=str(path), line=line_no, field=name)
        if a == b:
            raise LeosimInputError(f"a link from satellite {a} to itself is not an ISL",
                                   source=str(path), line=line_no)
        key = (min(a, b), max(a, b))
        if key in seen:
            raise LeosimInputError(f"link {a} {b} already listed on line {seen[key]}",
                                   source=str(path), line=line_no)
        seen[key] = line_no
        pairs.append((a, b))
    return np.array(pairs, dtype=np.int64).reshape(-1, 2)


# ---------------------------------------------------------------------------------------------------------
# ISL geometry


def isl_lengths_km(sat_ecef_km, isls) -> np.ndarray:
    """Length in km, shape ``(K,)``, of each ISL ``isls[k] = (a, b)`` given satellite positions ``(N, 3)``
    km in any common frame; NaN where either satellite has no position."""
    sat_ecef_km = np.asarray(sat_ecef_km, dtype=np.float64)
    isls = np.asarray(isls, dtype=np.int64).reshape(-1, 2)
    d = sat_ecef_km[isls[:, 1]] - sat_ecef_km[isls[:, 0]]
    return np.sqrt(np.einsum("ij,ij->i", d, d))


def default_max_isl_length_km(altitude_km, *, min_altitude_km: float = ISL_MIN_ALTITUDE_KM,
                      earth_radius_km: float = HYPATIA_EARTH_RADIUS_KM):
    """Longest ISL between two satellites at ``altitude_km`` whose chord stays above ``min_altitude_km``:
    ``2 * sqrt((R + h)^2 - (R + h_min)^2)`` km on a sphere of radius ``R`` (Hypatia's ``max_isl_length_m``,
    with its R = 6378.135 km by default). For a 550 km shell this is 5,016.6 km."""
    r = earth_radius_km + np.asarray(altitude_km, dtype=np.float64)
    r_min = earth_radius_km + min_altitude_km
    return 2.0 * np.sqrt(r * r - r_min * r_min)


@dataclass(frozen=True)
class IslReport:
    """ISLs that were not usable at one instant, one row per (link, reason).

    ``link_index``: int64 ``(R,)`` rows of the ISL array; ``reason``: str ``(R,)``, one of
    :data:`ISL_REASONS`; ``length_km``: ``(R,)`` link length (NaN for a missing position);
    ``max_length_km``: ``(R,)`` the limit it was held to; ``closest_altitude_km``: ``(R,)`` altitude of the
    point of the link closest to the Earth's centre, above the spherical Earth radius used.
    """

    link_index: np.ndarray
    reason: np.ndarray
    length_km: np.ndarray
    max_length_km: np.ndarray
    closest_altitude_km: np.ndarray

    def __len__(self) -> int:
        return int(self.link_index.size)


def isl_validity(sat_ecef_km, isls, *, max_isl_length_km=None, shell_altitude_km=None,
                 min_altitude_km: float = ISL_MIN_ALTITUDE_KM,
                 earth_radius_km: float = HYPATIA_EARTH_RADIUS_KM) -> tuple[np.ndarray, IslReport]:
    """Which ISLs can be used at this instant, and a report of those that cannot.

    ``sat_ecef_km``: ``(N, 3)`` km, Earth-centred; ``isls``: ``(K, 2)`` int. A link is invalid when

    * ``missing_position``: either satellite has NaN position;
    * ``too_long``: its length exceeds the limit: ``max_isl_length_km`` if given (scalar or ``(K,)``),
      else the chord between two satellites at ``shell_altitude_km`` that stays above ``min_altitude_km``
      (:func:`default_max_isl_length_km`), else, per link, the same bound for its two endpoints' actual radii
      ``r_a, r_b``: ``sqrt(r_a^2 - r_min^2) + sqrt(r_b^2 - r_min^2)`` (equal to the chord formula when
      ``r_a == r_b``);
    * ``earth_blocked``: the straight segment passes closer than ``earth_radius_km + min_altitude_km``
      to the Earth's centre (spherical Earth).

    Returns ``(valid, report)``: ``valid`` bool ``(K,)``; :class:`IslReport` lists every (link, reason).
    """
    valid, report, _ = isl_validity_and_lengths(
        sat_ecef_km, isls, max_isl_length_km=max_isl_length_km, shell_altitude_km=shell_altitude_km,
        min_altitude_km=min_altitude_km, earth_radius_km=earth_radius_km)
    return valid, report


def isl_validity_and_lengths(sat_ecef_km, isls, *, max_isl_length_km=None, shell_altitude_km=None,
                             min_altitude_km: float = ISL_MIN_ALTITUDE_KM,
                             earth_radius_km: float = HYPATIA_EARTH_RADIUS_KM):
    """:func:`isl_validity` plus the length km ``(K,)`` of every link (equal to :func:`isl_lengths_km`),
    computed once for both: returns ``(valid, report, length_km)``."""
    sat_ecef_km = np.asarray(sat_ecef_km, dtype=np.float64)
    isls = np.asarray(isls, dtype=np.int64).reshape(-1, 2)
    pa = sat_ecef_km[isls[:, 0]]
    pb = sat_ecef_km[isls[:, 1]]
    d = pb - pa
    length = np.sqrt(np.einsum("ij,ij->i", d, d))
    missing = ~np.isfinite(length)
    r_min = earth_radius_km + min_altitude_km
    if max_isl_length_km is not None:
        limit = np.broadcast_to(np.asarray(max_isl_length_km, dtype=np.float64), length.shape)
    elif shell_altitude_km is not None:
        limit = np.broadcast_to(default_max_isl_length_km(
            shell_altitude_km, min_altitude_km=min_altitude_km, earth_radius_km=earth_radius_km), length.shape)
    else:
        ra2 = np.einsum("ij,ij->i", pa, pa)
        rb2 = np.einsum("ij,ij->i", pb, pb)
        limit = (np.sqrt(np.clip(ra2 - r_min * r_min, 0.0, None))
                 + np.sqrt(np.clip(rb2 - r_min * r_min, 0.0, None)))
    # Closest point of the segment pa + t d, t in [0, 1], to the Earth's centre.
    dd = np.where(length > 0, length * length, 1.0)
    t = np.clip(-np.einsum("ij,ij->i", pa, d) / dd, 0.0, 1.0)
    closest = pa + t[:, None] * d
    closest_r = np.sqrt(np.einsum("ij,ij->i", closest, closest))
    with np.errstate(invalid="ignore"):
        too_long = ~missing & (length > limit)
        blocked = ~missing & (closest_r < r_min)
    valid = ~(missing | too_long | blocked)
    rows = [np.flatnonzero(m) for m in (missing, too_long, blocked)]
    idx = np.concatenate(rows)
    reason = np.concatenate([np.full(r.size, name) for r, name in zip(rows, ISL_REASONS, strict=True)])
    order = np.argsort(idx, kind="stable")
    idx, reason = idx[order], reason[order].astype(str)
    report = IslReport(link_index=idx.astype(np.int64), reason=reason, length_km=length[idx],
                       max_length_km=np.asarray(limit, dtype=np.float64)[idx],
                       closest_altitude_km=closest_r[idx] - earth_radius_km)
    return valid, report, length


# ---------------------------------------------------------------------------------------------------------
# GSLs


def _sort_edges(site_idx, sat_idx, length_km):
    order = np.lexsort((sat_idx, site_idx))
    return (site_idx[order].astype(np.int64), sat_idx[order].astype(np.int64),
            length_km[order].astype(np.float64))


def _candidate_pairs(site_ecef_km, sat_ecef_km, max_range_km: float, site_tree=None):
    """All (site, satellite) pairs closer than ``max_range_km``, by k-d tree; NaN satellites skipped.
    ``site_tree``: a prebuilt ``cKDTree(site_ecef_km)`` (built here when None)."""
    ok = np.flatnonzero(np.all(np.isfinite(sat_ecef_km), axis=1))
    empty = np.empty(0, np.int64)
    if ok.size == 0 or site_ecef_km.shape[0] == 0 or not np.isfinite(max_range_km):
        return empty, empty, np.empty(0)
    sat_tree = cKDTree(sat_ecef_km[ok])
    if site_tree is None:
        site_tree = cKDTree(site_ecef_km)
    found = site_tree.sparse_distance_matrix(sat_tree, max_range_km, output_type="ndarray")
    return found["i"].astype(np.int64), ok[found["j"]], found["v"].astype(np.float64)


def gsl_edges_by_range(site_ecef_km, sat_ecef_km, max_gsl_length_km, *, site_tree=None):
    """Hypatia's GSL rule: every satellite within ``max_gsl_length_km`` (inclusive) of each site.

    ``site_ecef_km``: ``(M, 3)``, ``sat_ecef_km``: ``(N, 3)`` km, same Earth-fixed frame; NaN satellites
    are skipped. ``max_gsl_length_km``: scalar or ``(M,)``. Returns ``(site_idx, sat_idx, length_km)``,
    1-D arrays sorted by site then satellite. ``site_tree``: optional prebuilt ``cKDTree(site_ecef_km)``,
    to save building it at every step (same result).
    """
    site_ecef_km = np.asarray(site_ecef_km, dtype=np.float64).reshape(-1, 3)
    sat_ecef_km = np.asarray(sat_ecef_km, dtype=np.float64).reshape(-1, 3)
    limit = np.broadcast_to(np.asarray(max_gsl_length_km, dtype=np.float64), (site_ecef_km.shape[0],))
    if limit.size == 0:
        return _sort_edges(*(np.empty(0, np.int64),) * 2, np.empty(0))
    i, j, v = _candidate_pairs(site_ecef_km, sat_ecef_km, float(np.max(limit)), site_tree)
    keep = v <= limit[i]
    return _sort_edges(i[keep], j[keep], v[keep])


def gsl_edges_by_elevation(site_ecef_km, site_up, sat_ecef_km, min_elevation_deg, *, site_tree=None):
    """GSLs to every satellite at or above each site's elevation mask.

    ``site_ecef_km``: ``(M, 3)`` km; ``site_up``: ``(M, 3)`` geodetic up unit vectors; ``sat_ecef_km``:
    ``(N, 3)`` km (NaN rows skipped); ``min_elevation_deg``: scalar or ``(M,)``. Returns
    ``(site_idx, sat_idx, length_km)`` sorted by site then satellite, from
    :func:`leosim.geometry.visible_pairs`. ``site_tree``: optional prebuilt ``cKDTree(site_ecef_km)``, to save
    building it at every step (same result).
    """
    i, j, _, _, rng = visible_pairs(site_ecef_km, site_up, sat_ecef_km, min_elevation_deg, site_tree=site_tree)
    # visible_pairs already sorts by site then satellite.
    return (np.asarray(i, dtype=np.int64), np.asarray(j, dtype=np.int64), np.asarray(rng, dtype=np.float64))


def default_isls(constellation) -> np.ndarray:
    """The lasers a constellation gets when none are named: plus-grid for generated shells; none (bent
    pipe) when planes are unknown (element files)."""
    if (constellation.plane < 0).any():
        return np.zeros((0, 2), dtype=np.int64)
    return plus_grid_isls(constellation.shell, constellation.plane, constellation.slot)
