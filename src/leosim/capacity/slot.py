"""One scheduling slot: beams → flow classes on the service engine's routes → rates, per terminal,
cell and gateway (the rows of the ``throughput``, ``capacity_cells`` and ``gateway_load`` tables).

Inputs per terminal row, as the service engine gives them: ``status`` (``ok``, ``no_coverage``,
``no_route``, ``denied``), ``allowed``, the route as a right-aligned, ``-1``-padded row of Hypatia node ids
(terminal, sat1, ..., satK, gateway, PoP; satellites ``0..N-1``, site ``j`` = ``N + j``) and the gateway's
site index. Policy acts first: only ``ok`` and allowed terminals offer demand.

Resources: one *beam* resource per cell (the sum of the capacities of the beams it is given), one per
*satellite* (its ceiling; a cell's traffic loads each satellite serving it in proportion to the capacity
that satellite's beams give the cell), one per directed *ISL* hop of the routes (``isl_capacity_mbps``;
downlink traffic flows from the gateway towards the terminal) and one *feeder* per gateway.
Limitation: the beam side (which satellites carry a cell's traffic) comes from the scheduler and the
backhaul side (ISLs, gateway) from the engine's route; the hop between a beam's satellite and the route's
first satellite is not charged.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from .._core.sorting import lexsort_ints
from ..errors import LeosimInputError
from .allocation import allocate, available_rate_mbps
from .beams import BeamPlan, schedule_beams
from .cells import CellTable
from .demand import Terminals
from .params import CapacityParams, SatelliteCapacity

BOTTLENECKS = ("none", "beam", "satellite", "isl", "feeder", "policy", "no_coverage")
"""Bottleneck labels of the ``throughput`` and ``capacity_cells`` tables, in code order."""
_KIND = {name: code for code, name in enumerate(BOTTLENECKS)}
_HASH_SEED = 0x5EED
_PACKED_BITS = 63
"""Bits of the packed (flow key, hash bits, row) sort key of :func:`_route_classes`."""
_MIN_HASH_BITS = 16
"""Fewest hash bits worth packing; with fewer, :func:`_route_classes` sorts on the full hash."""


@dataclass(frozen=True)
class SlotCapacity:
    """Capacity of one slot. Per terminal row ``(P,)``: ``demand_mbps`` (mean per terminal, demand ×
    activity; 0 unless ok and allowed), ``served_mbps``, ``available_mbps`` (see
    :func:`~leosim.capacity.allocation.available_rate_mbps`), ``bottleneck`` (str, :data:`BOTTLENECKS`),
    ``refused`` (activation refused, cell at capacity). Per cell ``(C,)``: ``cell_terminals``,
    ``cell_demand_mbps``, ``cell_served_mbps``, ``cell_beams``, ``cell_satellites``, ``cell_bottleneck``
    (the bottleneck of the largest unserved demand, ``none`` when all is served), ``cell_at_capacity``,
    ``cell_refused``. Per gateway ``(G,)`` in the order of ``gateway_sites``: ``gateway_load_mbps``,
    ``gateway_capacity_mbps``. ``beams``: the :class:`~leosim.capacity.beams.BeamPlan`."""

    demand_mbps: np.ndarray
    served_mbps: np.ndarray
    available_mbps: np.ndarray
    bottleneck: np.ndarray
    refused: np.ndarray
    cell_terminals: np.ndarray
    cell_demand_mbps: np.ndarray
    cell_served_mbps: np.ndarray
    cell_beams: np.ndarray
    cell_satellites: np.ndarray
    cell_bottleneck: np.ndarray
    cell_at_capacity: np.ndarray
    cell_refused: np.ndarray
    gateway_sites: np.ndarray
    gateway_load_mbps: np.ndarray
    gateway_capacity_mbps: np.ndarray
    beams: BeamPlan


def _route_classes(keys: np.ndarray, paths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Group rows with equal integer ``keys`` ``(P, k)`` and equal path rows: ``(first_row, inverse)``.

    Paths are hashed to 64 bits (multiply-add on the int64 bits, wrapping) and grouped with the keys; every
    group is then checked against its first row, so a hash collision can never merge different routes."""
    n = keys.shape[0]
    if n == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    mult = np.random.default_rng(_HASH_SEED).integers(1, 2**63 - 1, paths.shape[1], dtype=np.uint64) | np.uint64(1)
    h = paths.view(np.uint64) @ mult  # the sum of the products, wrapping (integer matmul)
    # One int64 per key row where the mixed-radix code fits, else one sort key per column.
    span = keys.max(axis=0).astype(np.int64) + 1
    n_codes = math.prod(int(x) for x in span)
    order = None
    if n_codes < 2**62:
        key_cols = [np.ravel_multi_index(tuple(keys.T), tuple(span))]
        # Sort (code, top bits of the hash, row) as one packed integer; that is the (code, hash, row) order
        # unless two hashes sharing their top bits interleave within a code, checked here.
        h_bits = _PACKED_BITS - (n_codes - 1).bit_length() - (n - 1).bit_length()
        if h_bits >= _MIN_HASH_BITS:
            order = lexsort_ints([key_cols[0], (h >> np.uint64(64 - h_bits)).astype(np.int64)],
                                 [n_codes, 2**h_bits])
            c_s, h_s = key_cols[0][order], h[order]
            if not ((c_s[1:] != c_s[:-1]) | (h_s[1:] >= h_s[:-1])).all():
                order = None
    else:
        key_cols = [keys[:, j] for j in range(keys.shape[1] - 1, -1, -1)]
    if order is None:
        order = np.lexsort([h, *key_cols])
    h_s = h[order]
    new = np.r_[True, h_s[1:] != h_s[:-1]]
    for k in key_cols:
        k_s = k[order]
        new[1:] |= k_s[1:] != k_s[:-1]
    group = np.cumsum(new) - 1
    first = order[new]
    inverse = np.empty(n, np.int64)
    inverse[order] = group
    others = np.flatnonzero(first[inverse] != np.arange(n))  # rows that are not their class's first
    their_first = first[inverse[others]]
    # np.take(mode='clip') gathers rows several times faster than fancy indexing (indices valid by construction)
    if not (np.take(paths, others, axis=0, mode="clip") == np.take(paths, their_first, axis=0, mode="clip")).all():
        # a hash collision: exact grouping
        full = np.column_stack([keys, paths])
        _, first, inverse = np.unique(full, axis=0, return_index=True, return_inverse=True)
        return first.astype(np.int64), inverse.ravel().astype(np.int64)
    return first, inverse


def _cell_tier_demand(t: Terminals, eligible, n_cell: int):
    """Offered demand of the eligible rows: per cell and tier ``(C, T)`` (column 0 the highest tier, the
    scheduler's input), each row's tier column ``(P,)`` and each row's offered Mbps ``(P,)`` (0 if not
    eligible)."""
    tiers_desc = np.unique(t.tier[eligible])[::-1] if eligible.any() else np.zeros(1, np.int64)
    tier_col = np.searchsorted(-tiers_desc, -t.tier)
    offered = np.where(eligible, t.count * t.activity * t.demand_mbps, 0.0)
    flat = np.where(eligible, t.cell, 0) * tiers_desc.size + np.where(eligible, tier_col, 0)
    cell_demand = np.bincount(flat, weights=offered, minlength=n_cell * tiers_desc.size).reshape(n_cell, -1)
    return cell_demand, tier_col, offered


def beam_capped_demand(cells: CellTable, terminals: Terminals, eligible, sat_ecef_km, params: CapacityParams, *,
                       pairs=None, rain_db=None, satellites: SatelliteCapacity | None = None) -> np.ndarray:
    """``(P,)`` Mbps: the part of each eligible row's offered demand that its cell's beams can carry this slot
    (the scheduler of :func:`capacity_slot` on the same rows; a cell's beams cover its tiers from the highest
    down, as :func:`~leosim.capacity.beams.schedule_beams` grants them), 0 for rows not eligible. What a
    gateway's feeders are offered once the beams have done their part (load-aware landing,
    :mod:`leosim.network.balancing`)."""
    t = terminals
    eligible = np.asarray(eligible, dtype=bool) & (t.cell >= 0)
    cell_demand, tier_col, offered = _cell_tier_demand(t, eligible, len(cells))
    sat = np.asarray(sat_ecef_km, dtype=np.float64).reshape(-1, 3)
    plan = schedule_beams(cells.ecef_km, cells.up, cell_demand, sat, params, pairs=pairs, rain_db=rain_db,
                          site_tree=cells.tree, satellite_beams=None if satellites is None else satellites.beams)
    above = np.cumsum(cell_demand, axis=1) - cell_demand  # demand of the higher tiers in the cell
    covered = np.clip(plan.cell_capacity_mbps[:, None] - above, 0.0, cell_demand)
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(cell_demand > 0, covered / cell_demand, 0.0)
    cell = np.maximum(t.cell, 0)
    return np.where(eligible, offered * share[cell, tier_col], 0.0)


def capacity_slot(cells: CellTable, terminals: Terminals, status, allowed, paths, gateway, sat_ecef_km,
                  params: CapacityParams, *, gateway_sites=None, gateway_capacity_mbps=None,
                  pairs=None, rain_db=None, satellites: SatelliteCapacity | None = None) -> SlotCapacity:
    """Capacity of one slot for ``P`` terminal rows in ``C`` cells with ``N`` satellites (module docstring).

    ``status`` ``(P,)`` str; ``allowed`` ``(P,)`` bool; ``paths`` ``(P, L)`` int64 Hypatia ids; ``gateway``
    ``(P,)`` site index of the route's gateway (-1 none); ``sat_ecef_km`` ``(N, 3)`` ITRS km;
    ``gateway_sites`` ``(G,)`` site indices of the gateways to report (default: those used), with
    ``gateway_capacity_mbps`` ``(G,)`` (default ``params.gateway_capacity_mbps`` each).
    ``pairs``: precomputed :func:`~leosim.capacity.beams.candidate_pairs` for this slot; ``rain_db``: rain
    fade callable of :func:`~leosim.capacity.beams.schedule_beams`. ``satellites``: per-satellite beams and
    ceilings when the satellites differ by generation (default: ``params``' for every satellite).
    """
    sat = np.asarray(sat_ecef_km, dtype=np.float64).reshape(-1, 3)
    n_sat, n_cell, n_term = sat.shape[0], len(cells), len(terminals)
    status = np.asarray(status, dtype=str)
    paths = np.ascontiguousarray(paths, dtype=np.int64).reshape(n_term, -1)
    gateway = np.asarray(gateway, dtype=np.int64)
    t = terminals
    eligible = (status == "ok") & np.asarray(allowed, dtype=bool) & (gateway >= 0) & (t.cell >= 0)
    if gateway_sites is None:
        gateway_sites = np.unique(gateway[eligible])
    gateway_sites = np.asarray(gateway_sites, dtype=np.int64)
    gw_cap = (np.full(gateway_sites.size, params.gateway_capacity_mbps) if gateway_capacity_mbps is None
              else np.asarray(gateway_capacity_mbps, dtype=np.float64).reshape(gateway_sites.size))
    gw_pos = np.searchsorted(gateway_sites, gateway)
    gw_pos = np.clip(gw_pos, 0, max(gateway_sites.size - 1, 0))
    known_gw = (gateway_sites[gw_pos] == gateway) if gateway_sites.size else np.zeros(n_term, bool)
    if (eligible & ~known_gw).any():
        k = int(np.flatnonzero(eligible & ~known_gw)[0])
        raise LeosimInputError(f"terminal row {k}: its route's gateway (site {int(gateway[k])}) is not among "
                               "gateway_sites", field="gateway_sites")
    weight = t.count * t.activity
    mean_demand = t.demand_mbps * t.activity
    cell_demand, _tier_col, offered = _cell_tier_demand(t, eligible, n_cell)
    plan = schedule_beams(cells.ecef_km, cells.up, cell_demand, sat, params, pairs=pairs, rain_db=rain_db,
                          site_tree=cells.tree, satellite_beams=None if satellites is None else satellites.beams)
    sat_ceiling = (np.full(n_sat, params.satellite_ceiling_mbps) if satellites is None
                   else np.asarray(satellites.ceiling_mbps, dtype=np.float64).reshape(n_sat))
    # "Cell at capacity": committed (not new) demand above a share of what the cell is given.
    committed = np.bincount(t.cell[eligible & ~t.new], weights=offered[eligible & ~t.new], minlength=n_cell)
    at_capacity = committed > params.at_capacity_share * plan.cell_capacity_mbps
    refused = eligible & t.new & at_capacity[np.maximum(t.cell, 0)]
    flowing = eligible & ~refused & (weight > 0) & (t.demand_mbps > 0)
    rows = np.flatnonzero(flowing)

    # Flow classes: same cell, tier, demand, plan cap, gateway and route.
    demand_code = np.unique(t.demand_mbps[rows], return_inverse=True)[1].ravel()
    cap_code = np.unique(t.plan_cap_mbps[rows], return_inverse=True)[1].ravel()
    keys = np.column_stack([t.cell[rows], t.tier[rows], demand_code, cap_code, gw_pos[rows]])
    first, inverse = _route_classes(keys, paths if rows.size == n_term else np.take(paths, rows, axis=0, mode="clip"))
    f_rows = rows[first]
    n_flow = first.size
    f_weight = np.bincount(inverse, weights=weight[rows], minlength=n_flow)
    f_cell, f_tier, f_cap = t.cell[f_rows], t.tier[f_rows], t.demand_mbps[f_rows]

    # Resources: [beam per cell | satellite | directed ISL | feeder per gateway].
    r_sat0 = n_cell
    r_isl0 = n_cell + n_sat
    share = sp.csr_matrix((plan.capacity_mbps, (plan.cell, plan.sat)), shape=(n_cell, n_sat))
    share.sum_duplicates()
    with np.errstate(divide="ignore", invalid="ignore"):
        inv = np.where(plan.cell_capacity_mbps > 0, 1.0 / plan.cell_capacity_mbps, 0.0)
    share = sp.diags(inv) @ share
    sat_part = share[f_cell].tocoo()
    fp = np.take(paths, f_rows, axis=0, mode="clip")
    u, v = fp[:, :-1], fp[:, 1:]
    hop = (u >= 0) & (u < n_sat) & (v >= 0) & (v < n_sat)
    hop_flow = np.broadcast_to(np.arange(n_flow)[:, None], hop.shape)[hop]
    src, dst = (v[hop], u[hop]) if params.direction == "down" else (u[hop], v[hop])
    isl_keys, isl_id = np.unique(src * n_sat + dst, return_inverse=True)
    isl_id = isl_id.ravel()
    n_isl = isl_keys.size
    r_gw0 = r_isl0 + n_isl
    n_res = r_gw0 + gateway_sites.size
    row_idx = np.concatenate([np.arange(n_flow), sat_part.row, hop_flow, np.arange(n_flow)])
    col_idx = np.concatenate([f_cell, r_sat0 + sat_part.col, r_isl0 + isl_id, r_gw0 + gw_pos[f_rows]])
    vals = np.concatenate([np.ones(n_flow), sat_part.data, np.ones(hop_flow.size), np.ones(n_flow)])
    incidence = sp.csr_matrix((vals, (row_idx, col_idx)), shape=(n_flow, n_res))
    incidence.sum_duplicates()
    capacity = np.concatenate([plan.cell_capacity_mbps, sat_ceiling,
                               np.full(n_isl, params.isl_capacity_mbps), gw_cap])
    kind = np.concatenate([np.full(n_cell, _KIND["beam"]), np.full(n_sat, _KIND["satellite"]),
                           np.full(n_isl, _KIND["isl"]), np.full(gateway_sites.size, _KIND["feeder"])])
    alloc = allocate(incidence, capacity, f_weight, f_cap, f_tier)
    f_avail = available_rate_mbps(incidence, capacity, f_weight, f_tier, alloc, t.plan_cap_mbps[f_rows])
    f_kind = np.where(alloc.bottleneck >= 0, kind[np.maximum(alloc.bottleneck, 0)], _KIND["none"])

    # Per terminal row.
    code = np.full(n_term, _KIND["none"], np.int64)
    code[status == "denied"] = _KIND["policy"]
    code[(status == "ok") & ~np.asarray(allowed, dtype=bool)] = _KIND["policy"]
    code[(status == "no_coverage") | (status == "no_route")] = _KIND["no_coverage"]
    code[refused] = _KIND["beam"]
    served = np.zeros(n_term)
    avail = np.zeros(n_term)
    served[rows] = alloc.rate_mbps[inverse] * t.activity[rows]
    avail[rows] = f_avail[inverse]
    code[rows] = f_kind[inverse]
    demand = np.where(eligible & ~refused, mean_demand, 0.0)

    # Per cell.
    in_cell = t.cell >= 0
    cell_idx = np.maximum(t.cell, 0)
    cell_terminals = np.bincount(cell_idx[in_cell], weights=t.count[in_cell], minlength=n_cell)
    cell_demand_total = np.bincount(cell_idx, weights=demand * t.count, minlength=n_cell)
    cell_served = np.bincount(cell_idx, weights=served * t.count, minlength=n_cell)
    n_kind = len(BOTTLENECKS)
    lost = np.where(in_cell, (demand - served) * t.count, 0.0) + np.where(refused, t.count * mean_demand, 0.0)
    unserved = np.bincount(cell_idx * n_kind + code, weights=lost, minlength=n_cell * n_kind).reshape(n_cell, n_kind)
    unserved[:, _KIND["none"]] = 0.0
    cell_code = np.where(unserved.max(axis=1) > 1e-9 * np.maximum(cell_demand_total, 1.0),
                         np.argmax(unserved, axis=1), _KIND["none"])
    cell_refused = np.bincount(cell_idx[refused], weights=t.count[refused], minlength=n_cell)
    labels = np.asarray(BOTTLENECKS)
    return SlotCapacity(
        demand_mbps=demand, served_mbps=served, available_mbps=avail, bottleneck=labels[code], refused=refused,
        cell_terminals=cell_terminals, cell_demand_mbps=cell_demand_total, cell_served_mbps=cell_served,
        cell_beams=plan.cell_beams, cell_satellites=plan.cell_satellites, cell_bottleneck=labels[cell_code],
        cell_at_capacity=at_capacity, cell_refused=cell_refused, gateway_sites=gateway_sites,
        gateway_load_mbps=alloc.load_mbps[r_gw0:], gateway_capacity_mbps=gw_cap, beams=plan)
