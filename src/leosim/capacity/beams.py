"""The beam scheduler of one slot: which satellite's beams serve which demand cells.

Rules (deterministic, vectorised over cells, satellites and candidate pairs; no loop over either):

* candidates are the (cell, satellite) pairs with the satellite at or above the elevation mask seen from
  the cell's centre and a link budget that closes (beam capacity > 0);
* tiers are served in priority order: pass ``j`` lets the cells with unmet demand in tiers ``0..j``
  (column 0 the highest) ask for beams, so a lower tier only gets what the higher tiers could not use;
* within a pass, beams are handed out in rounds: every cell with unmet demand asks one candidate
  satellite that still has a free beam (and has not yet given it ``beams_per_cell_per_satellite``): the
  highest in the cell's sky (highest elevation, then lowest index); each satellite grants
  its free beams to the cells asking it in order of highest tier with unmet demand, then largest unmet
  demand in that tier (Mbps), then lowest cell index; the others ask again in the next round;
* a satellite serves at most ``beams_per_satellite`` beams (its own count when generations differ); a cell
  may take beams from several satellites;
* a granted beam covers the cell's unmet demand from the highest tier down, by its capacity.

Every round grants at least one beam per asked satellite, so the rounds end. Each cell walks its
candidates once, in its order of preference, so a round costs O(asking cells), not O(pairs). This is a
greedy matching, not an optimal one: a cell may miss a beam that an exchange with a neighbour would have
found.

:func:`slot_instants` gives the slot boundaries (offset 12 s: :12, :27, :42, :57 past the minute).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._core.sorting import lexsort_ints
from ..geometry import visible_pairs
from .linkbudget import beam_capacity_mbps
from .params import CapacityParams

_CELL_KEY_STRIDE = 256.0
"""Sort key stride per cell for the preference order (degrees of elevation span less than this)."""
_ELEVATION_BIN_BITS = 14
"""Bits of the elevation bin of the packed pre-sort in :func:`candidate_pairs` (bins of 256°/2^14 ≈ 0.016°)."""
_PREORDER_BITS = 63
"""Bits of the packed pre-sort key (cell, elevation bin, satellite, row) of :func:`candidate_pairs`."""


@dataclass(frozen=True)
class BeamPlan:
    """Beams of one slot for ``C`` cells and ``N`` satellites.

    ``cell``, ``sat`` ``(K,)`` int64: one row per assigned beam; ``capacity_mbps`` ``(K,)`` its capacity;
    ``cell_capacity_mbps`` ``(C,)`` sum over the cell's beams; ``cell_beams`` ``(C,)`` beams per cell;
    ``cell_satellites`` ``(C,)`` distinct satellites serving each cell; ``satellite_beams`` ``(N,)``;
    ``candidates`` ``(C,)`` satellites in view (above the mask) per cell.
    """

    cell: np.ndarray
    sat: np.ndarray
    capacity_mbps: np.ndarray
    cell_capacity_mbps: np.ndarray
    cell_beams: np.ndarray
    cell_satellites: np.ndarray
    satellite_beams: np.ndarray
    candidates: np.ndarray


def slot_instants(start, end, params: CapacityParams | None = None) -> np.ndarray:
    """Slot boundaries in ``[start, end)`` as ``datetime64[ms]`` UTC: instants ``offset + k·slot`` seconds
    past each minute (default :12, :27, :42, :57; Mohan et al., WWW 2024)."""
    from ..timebase import parse_utc

    p = params or CapacityParams()
    t0 = parse_utc(start).astype("datetime64[ms]")
    t1 = parse_utc(end).astype("datetime64[ms]")
    slot_ms = round(p.slot_s * 1000)
    minute = t0.astype("datetime64[m]").astype("datetime64[ms]")
    offset_ms = round(p.slot_offset_s * 1000) % slot_ms
    first = minute + np.timedelta64(offset_ms, "ms")
    while first < t0:
        first += np.timedelta64(slot_ms, "ms")
    n = max(int((t1 - first) / np.timedelta64(slot_ms, "ms") + (1 - 1e-12)), 0) if t1 > first else 0
    return first + np.arange(n) * np.timedelta64(slot_ms, "ms")


def candidate_pairs(cell_ecef_km, cell_up, sat_ecef_km, params: CapacityParams, *, site_tree=None):
    """Candidate (cell, satellite) pairs: ``(cell, sat, elevation_deg, range_km)``, every satellite at or
    above the mask from the cell's centre, sorted by cell, then by the cell's preference (highest elevation
    first, then lowest satellite index). ``site_tree``: a prebuilt ``cKDTree(cell_ecef_km)``
    (:attr:`CellTable.tree <leosim.capacity.cells.CellTable.tree>`)."""
    cell = np.asarray(cell_ecef_km).reshape(-1, 3)
    n_cell, n_sat = cell.shape[0], np.asarray(sat_ecef_km).reshape(-1, 3).shape[0]
    ci, si, el, _az, rng = visible_pairs(cell, cell_up, sat_ecef_km, params.min_elevation_deg,
                                         site_tree=site_tree, azimuth=False, sort=False)
    # The order is a stable sort on (cell, 90° - elevation) of the pairs sorted by cell then satellite, so
    # equal elevations keep the satellite order. Elevations lie in [-90, 90] deg, so the stride separates
    # cells exactly. Done as one packed integer sort on (cell, elevation bin, satellite) (the bin rises with
    # the key within a cell), then a stable sort on the exact key of that nearly sorted order.
    base = ci * _CELL_KEY_STRIDE
    key = base + (90.0 - el)
    room = max(_PREORDER_BITS - (n_cell - 1).bit_length() - (n_sat - 1).bit_length()
               - max(ci.size - 1, 0).bit_length(), 0)
    bin_bits = min(room, _ELEVATION_BIN_BITS)
    elevation_bin = ((key - base) * (2.0 ** bin_bits / _CELL_KEY_STRIDE)).astype(np.int64)
    order = lexsort_ints([ci, elevation_bin, si], [n_cell, 2 ** bin_bits, n_sat])
    order = order[np.argsort(key[order], kind="stable")]
    return ci[order], si[order], el[order], rng[order]


def schedule_beams(cell_ecef_km, cell_up, cell_demand_mbps, sat_ecef_km, params: CapacityParams,
                   *, pairs=None, rain_db=None, site_tree=None, satellite_beams=None) -> BeamPlan:
    """Assign beams to cells for one slot (module docstring).

    ``cell_ecef_km``, ``cell_up`` ``(C, 3)``: cell centres (ECEF km) and their geodetic up vectors;
    ``cell_demand_mbps`` ``(C, T)`` offered demand per tier, column 0 the highest priority (or ``(C,)``);
    ``sat_ecef_km`` ``(N, 3)`` ITRS km (NaN rows never used). ``pairs``: precomputed
    :func:`candidate_pairs`. ``rain_db``: optional callable ``(cell_idx, elevation_deg) -> dB`` of rain fade
    (e.g. built on :func:`~leosim.capacity.linkbudget.rain_attenuation_db`). A pair whose link does not close
    (beam capacity 0) is skipped. ``satellite_beams``: ``(N,)`` beams each satellite may form (satellites of
    several generations, :class:`~leosim.capacity.params.SatelliteCapacity`); default
    ``params.beams_per_satellite`` each.
    """
    demand = np.asarray(cell_demand_mbps, dtype=np.float64)
    if demand.ndim == 1:
        demand = demand[:, None]
    n_cell, n_tier = demand.shape
    n_sat = np.asarray(sat_ecef_km).reshape(-1, 3).shape[0]
    if pairs is None:
        pairs = candidate_pairs(cell_ecef_km, cell_up, sat_ecef_km, params, site_tree=site_tree)
    pc, ps, pel, prange = pairs
    pcap = beam_capacity_mbps(prange, pel, params, 0.0 if rain_db is None else rain_db(pc, pel))
    candidates = np.bincount(pc, minlength=n_cell)
    end = np.cumsum(candidates)
    ptr = end - candidates  # each cell's next candidate pair
    unmet = demand.copy()
    unmet_total = unmet.sum(axis=1)
    pair_used = np.zeros(pc.size, np.int64)
    pair_open = pcap > 0  # the link closes and the pair has given fewer beams than the per-cell limit
    sat_free = (np.full(n_sat, int(params.beams_per_satellite), np.int64) if satellite_beams is None
                else np.asarray(satellite_beams, dtype=np.int64).reshape(n_sat).copy())
    per_cell_limit = int(params.beams_per_cell_per_satellite)
    granted = []
    if per_cell_limit <= 0:
        ptr = end.copy()
    for tier_pass in range(n_tier):
        asking = np.flatnonzero((unmet[:, :tier_pass + 1].sum(axis=1) > 0) & (ptr < end))
        while asking.size:
            # Move each asking cell's pointer past full satellites, used-up pairs and links that do not close.
            pending = asking
            while pending.size:
                pos = ptr[pending]
                bad = (sat_free[ps[pos]] == 0) | ~pair_open[pos]
                pending = pending[bad]
                ptr[pending] += 1
                pending = pending[ptr[pending] < end[pending]]
            asking = asking[ptr[asking] < end[asking]]
            if asking.size == 0:
                break
            choice = ptr[asking]
            # Satellites grant their free beams in priority order of the asking cells.
            c = asking
            top = np.argmax(unmet[c] > 0, axis=1)
            order = np.lexsort((c, -unmet[c, top], top, ps[choice]))
            choice = choice[order]
            s_ = ps[choice]
            sstart = np.flatnonzero(np.r_[True, s_[1:] != s_[:-1]])
            rank = np.arange(s_.size) - np.repeat(sstart, np.diff(np.r_[sstart, s_.size]))
            acc = choice[rank < sat_free[s_]]
            sat_free -= np.bincount(ps[acc], minlength=n_sat)
            pair_used[acc] += 1
            pair_open[acc] &= pair_used[acc] < per_cell_limit
            granted.append(acc)
            given = np.bincount(pc[acc], weights=pcap[acc], minlength=n_cell)
            hit = np.flatnonzero(given > 0)
            left = np.maximum(np.cumsum(unmet[hit], axis=1) - given[hit, None], 0.0)
            unmet[hit] = np.diff(left, axis=1, prepend=0.0)
            unmet_total[hit] = left[:, -1]
            asking = asking[(unmet[asking, :tier_pass + 1].sum(axis=1) > 0) & (ptr[asking] < end[asking])]
    acc = np.concatenate(granted) if granted else np.zeros(0, np.int64)
    cell, sat, cap = pc[acc], ps[acc], pcap[acc]
    order = np.lexsort((sat, cell))
    cell, sat, cap = cell[order], sat[order], cap[order]
    cell_cap = np.bincount(cell, weights=cap, minlength=n_cell)
    cell_beams = np.bincount(cell, minlength=n_cell)
    distinct = np.r_[True, (cell[1:] != cell[:-1]) | (sat[1:] != sat[:-1])] if cell.size else np.zeros(0, bool)
    cell_sats = np.bincount(cell[distinct], minlength=n_cell)
    return BeamPlan(cell=cell, sat=sat, capacity_mbps=cap, cell_capacity_mbps=cell_cap, cell_beams=cell_beams,
                    cell_satellites=cell_sats, satellite_beams=np.bincount(sat, minlength=n_sat),
                    candidates=candidates)
