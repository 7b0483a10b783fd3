"""The beam scheduler of one slot: which satellite's beams serve which demand cells.

Rules (deterministic, vectorised over satellites and candidate pairs):

* candidates are the (cell, satellite) pairs with the satellite at or above the elevation mask seen from
  the cell's centre and a link budget that closes (beam capacity > 0);
* beams are handed out in rounds: in round ``k`` every satellite with a beam left offers its ``k``-th beam
  to the candidate cell it ranks first: the cell whose highest-priority tier with unmet demand is highest,
  then the largest unmet demand in that tier (Mbps), then the lowest cell index;
* when several satellites pick the same cell in one round, the cell accepts them in satellite-index order
  while its unmet demand (all tiers) is not yet covered; the others choose again within the round;
* a satellite serves at most ``beams_per_satellite`` beams, and at most ``beams_per_cell_per_satellite``
  on one cell; a cell may take beams from several satellites;
* an assigned beam covers the cell's unmet demand from the highest tier down, by its capacity.

:func:`slot_instants` gives the slot boundaries (offset 12 s: :12, :27, :42, :57 past the minute).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..geometry import visible_pairs
from .linkbudget import beam_capacity_mbps
from .params import CapacityParams


@dataclass(frozen=True)
class BeamPlan:
    """Beams of one slot for ``C`` cells and ``N`` satellites.

    ``cell``, ``sat`` ``(K,)`` int64: one row per assigned beam; ``capacity_mbps`` ``(K,)`` its capacity;
    ``cell_capacity_mbps`` ``(C,)`` sum over the cell's beams; ``cell_beams`` ``(C,)`` beams per cell;
    ``cell_satellites`` ``(C,)`` distinct satellites serving each cell; ``satellite_beams`` ``(N,)``;
    ``candidates`` ``(C,)`` satellites in view (link closing) per cell.
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


def candidate_pairs(cell_ecef_km, cell_up, sat_ecef_km, params: CapacityParams, rain_db=None):
    """Candidate (cell, satellite) pairs and one beam's capacity on each: ``(cell, sat, capacity_mbps)``,
    sorted by satellite then cell; pairs whose link does not close are dropped. ``rain_db``: optional
    callable ``(cell_idx, elevation_deg) -> dB`` for rain fade."""
    ci, si, el, _az, rng = visible_pairs(cell_ecef_km, cell_up, sat_ecef_km, params.min_elevation_deg)
    rain = 0.0 if rain_db is None else rain_db(ci, el)
    cap = beam_capacity_mbps(rng, el, params, rain)
    keep = cap > 0
    ci, si, cap = ci[keep], si[keep], cap[keep]
    order = np.lexsort((ci, si))
    return ci[order], si[order], cap[order]


def schedule_beams(cell_ecef_km, cell_up, cell_demand_mbps, sat_ecef_km, params: CapacityParams,
                   *, pairs=None) -> BeamPlan:
    """Assign beams to cells for one slot (module docstring).

    ``cell_ecef_km``, ``cell_up`` ``(C, 3)``: cell centres (ECEF km) and their geodetic up vectors;
    ``cell_demand_mbps`` ``(C, T)`` offered demand per tier, column 0 the highest priority (or ``(C,)``);
    ``sat_ecef_km`` ``(N, 3)`` ITRS km (NaN rows never used). ``pairs``: precomputed
    :func:`candidate_pairs`.
    """
    demand = np.asarray(cell_demand_mbps, dtype=np.float64)
    if demand.ndim == 1:
        demand = demand[:, None]
    n_cell, n_tier = demand.shape
    n_sat = np.asarray(sat_ecef_km).reshape(-1, 3).shape[0]
    pc, ps, pcap = pairs if pairs is not None else candidate_pairs(cell_ecef_km, cell_up, sat_ecef_km, params)
    candidates = np.bincount(pc, minlength=n_cell)
    unmet = demand.copy()
    unmet_total = unmet.sum(axis=1)
    used_pair = np.zeros(pc.size, np.int64)
    sat_left = np.full(n_sat, int(params.beams_per_satellite), np.int64)
    per_cell_limit = int(params.beams_per_cell_per_satellite)
    scale = 2.0 * float(unmet_total.max(initial=0.0)) + 1.0
    got_pair = []
    # Restrict to pairs whose cell has demand at all; the set only shrinks.
    live = np.flatnonzero(unmet_total[pc] > 0)
    for _round in range(int(params.beams_per_satellite)):
        offered = np.zeros(n_sat, bool)  # satellite already placed its beam of this round
        while live.size:
            ok = (unmet_total[pc[live]] > 0) & (used_pair[live] < per_cell_limit) & (sat_left[ps[live]] > 0) \
                & ~offered[ps[live]]
            live_ok = live[ok]
            live = live[(unmet_total[pc[live]] > 0) & (used_pair[live] < per_cell_limit) & (sat_left[ps[live]] > 0)]
            if live_ok.size == 0:
                break
            cells = pc[live_ok]
            has = unmet[cells] > 0
            top = np.argmax(has, axis=1)  # highest-priority tier with unmet demand
            score = (n_tier - top) * scale + unmet[cells, top]
            sats = ps[live_ok]
            starts = np.flatnonzero(np.r_[True, sats[1:] != sats[:-1]])
            best = np.maximum.reduceat(score, starts)
            seg = np.repeat(np.arange(starts.size), np.diff(np.r_[starts, sats.size]))
            pos = np.arange(sats.size)
            first = np.minimum.reduceat(np.where(score == best[seg], pos, sats.size), starts)
            choice = live_ok[first]  # one pair per satellite, satellites ascending
            # Cells accept choosers in satellite order while their unmet demand is not covered.
            ch_cell = pc[choice]
            order = np.lexsort((ps[choice], ch_cell))
            choice, ch_cell = choice[order], ch_cell[order]
            cum = np.cumsum(pcap[choice])
            cstart = np.flatnonzero(np.r_[True, ch_cell[1:] != ch_cell[:-1]])
            before = cum - pcap[choice] - np.repeat(cum[cstart] - pcap[choice][cstart],
                                                    np.diff(np.r_[cstart, choice.size]))
            accept = before < unmet_total[ch_cell]
            acc = choice[accept]
            offered[ps[acc]] = True
            sat_left[ps[acc]] -= 1
            used_pair[acc] += 1
            got_pair.append(acc)
            # Cover unmet demand from the highest tier down.
            given = np.bincount(pc[acc], weights=pcap[acc], minlength=n_cell)
            hit = np.flatnonzero(given > 0)
            cum_unmet = np.cumsum(unmet[hit], axis=1)
            left = np.maximum(cum_unmet - given[hit, None], 0.0)
            unmet[hit] = np.diff(np.concatenate([np.zeros((hit.size, 1)), left], axis=1), axis=1)
            unmet_total[hit] = left[:, -1]
            if not (~accept).any():
                break
    acc = np.concatenate(got_pair) if got_pair else np.zeros(0, np.int64)
    acc = np.repeat(acc, 1)  # (pair index per beam)
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
