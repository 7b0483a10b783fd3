"""Flow-level rate allocation on routes: strict priority between tiers, max-min fair within a tier.

The numeric core works on *flow classes*: ``F`` groups of identical terminals (same cell, route, tier and
demand), class ``f`` holding ``weight[f]`` active terminals that each ask for at most ``cap[f]`` Mbps. A
sparse ``(F, R)`` incidence matrix ``A`` says how much of each resource one Mbps of the class uses
(1 on its beam, ISLs and gateway feeder; the share of the cell's beam capacity a satellite provides on that
satellite). A per-terminal rate ``x[f]`` is feasible when, on every resource ``r``,
``sum_f A[f, r] · weight[f] · x[f] <= capacity[r]``.

:func:`max_min_fair` computes the weighted max-min fair rates (progressive filling) without a loop over
flows or resources: every round it computes each resource's fair level
``(capacity − frozen load) / active weight``, then freezes at once (a) every class whose cap is at or below
its resources' levels, at its cap, and (b) every class crossing a resource whose level is the lowest among
all the classes crossing it, at that level. Such a resource cannot be relieved later (levels only rise as
classes freeze below them), so each round is exact; the round with the global minimum always freezes
something. Rounds ≈ the depth of the bottleneck chain, each ``O(nnz)``.

:func:`allocate` applies the tiers: the highest ``tier`` is allocated on the full capacities, each next tier
on what the tiers above left.

:func:`available_rate_mbps` defines ``available_mbps``, what a speed test would see (see its docstring).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

BOTTLENECK_NONE = -1
"""Bottleneck code of a class that gets its full demand (its cap binds, no resource)."""


@dataclass(frozen=True)
class Allocation:
    """Result of :func:`allocate` for ``F`` classes and ``R`` resources.

    ``rate_mbps`` ``(F,)`` per-terminal rate; ``bottleneck`` ``(F,)`` int64 resource index that froze the
    class (:data:`BOTTLENECK_NONE` when its own cap did); ``load_mbps`` ``(R,)`` total load on each
    resource; ``tier_load_mbps`` ``(n_tiers, R)`` load per tier (tiers in descending order, ``tiers``).
    """

    rate_mbps: np.ndarray
    bottleneck: np.ndarray
    load_mbps: np.ndarray
    tier_load_mbps: np.ndarray
    tiers: np.ndarray


def _row_min(matrix: sp.csr_matrix, values_per_column: np.ndarray) -> np.ndarray:
    """Per row, the minimum of ``values_per_column`` over the row's stored columns (inf for empty rows)."""
    n_rows = matrix.shape[0]
    out = np.full(n_rows, np.inf)
    if matrix.nnz == 0:
        return out
    vals = values_per_column[matrix.indices]
    starts = matrix.indptr[:-1]
    nonempty = matrix.indptr[1:] > starts
    out[nonempty] = np.minimum.reduceat(vals, starts[nonempty])
    return out


def _row_min_values(matrix: sp.csr_matrix, per_entry: np.ndarray) -> np.ndarray:
    """Per row, the minimum of a value given per stored entry (inf for empty rows)."""
    out = np.full(matrix.shape[0], np.inf)
    if matrix.nnz == 0:
        return out
    starts = matrix.indptr[:-1]
    nonempty = matrix.indptr[1:] > starts
    out[nonempty] = np.minimum.reduceat(per_entry, starts[nonempty])
    return out


def max_min_fair(incidence, capacity_mbps, weight, cap_mbps) -> tuple[np.ndarray, np.ndarray]:
    """Weighted max-min fair per-terminal rates with caps (module docstring).

    ``incidence``: sparse ``(F, R)`` with entries > 0; ``capacity_mbps`` ``(R,)`` >= 0; ``weight`` ``(F,)``
    terminals per class (>= 0, fractional allowed); ``cap_mbps`` ``(F,)`` finite per-terminal demand.
    Returns ``(rate_mbps (F,), bottleneck (F,))``; classes of zero weight get their cap's share as if
    alone is not defined: they get rate 0 and bottleneck :data:`BOTTLENECK_NONE`.
    """
    a = sp.csr_matrix(incidence, dtype=np.float64)
    a.sum_duplicates()
    a.sort_indices()
    n_flow, n_res = a.shape
    cap = np.asarray(cap_mbps, dtype=np.float64).reshape(n_flow)
    w = np.asarray(weight, dtype=np.float64).reshape(n_flow)
    capacity = np.asarray(capacity_mbps, dtype=np.float64).reshape(n_res)
    at = a.T.tocsr()  # (R, F)
    rate = np.zeros(n_flow)
    bottleneck = np.full(n_flow, BOTTLENECK_NONE, np.int64)
    active = (w > 0) & (cap > 0)
    frozen_load = np.zeros(n_res)
    row_of_entry = np.repeat(np.arange(n_flow), np.diff(a.indptr))
    for _ in range(n_flow + n_res + 1):  # each round freezes at least one class
        if not active.any():
            break
        active_w = at @ np.where(active, w, 0.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            level = np.where(active_w > 0, np.maximum(capacity - frozen_load, 0.0) / active_w, np.inf)
        flow_level = _row_min(a, level)
        limit = np.where(active, np.minimum(flow_level, cap), np.inf)
        res_min = _row_min(at, limit)
        is_bottleneck = (active_w > 0) & (res_min >= level)
        by_cap = active & (cap <= flow_level)
        # A class crossing a bottleneck resource freezes at that resource's level (= its flow level).
        entry_hit = is_bottleneck[a.indices] & active[row_of_entry] & ~by_cap[row_of_entry]
        hit_rows = row_of_entry[entry_hit]
        by_res = np.zeros(n_flow, bool)
        by_res[hit_rows] = True
        # The first bottleneck resource in index order names the class's bottleneck.
        first = np.full(n_flow, n_res, np.int64)
        np.minimum.at(first, hit_rows, a.indices[entry_hit])
        new_rate = np.where(by_cap, cap, np.where(by_res, flow_level, 0.0))
        newly = by_cap | by_res
        rate[newly] = new_rate[newly]
        bottleneck[by_res] = first[by_res]
        frozen_load += at @ np.where(newly, w * rate, 0.0)
        active &= ~newly
    return rate, bottleneck


def allocate(incidence, capacity_mbps, weight, cap_mbps, tier) -> Allocation:
    """Strict priority between tiers (higher ``tier`` first), weighted max-min fair within each tier.

    Shapes as in :func:`max_min_fair`; ``tier`` ``(F,)`` int. Lower tiers see the capacity the higher ones
    left: ``capacity − load of the tiers above``.
    """
    a = sp.csr_matrix(incidence, dtype=np.float64)
    n_flow, n_res = a.shape
    tier = np.asarray(tier, dtype=np.int64).reshape(n_flow)
    w = np.asarray(weight, dtype=np.float64).reshape(n_flow)
    cap = np.asarray(cap_mbps, dtype=np.float64).reshape(n_flow)
    capacity = np.asarray(capacity_mbps, dtype=np.float64).reshape(n_res)
    tiers = np.unique(tier)[::-1]
    rate = np.zeros(n_flow)
    bottleneck = np.full(n_flow, BOTTLENECK_NONE, np.int64)
    tier_load = np.zeros((tiers.size, n_res))
    used = np.zeros(n_res)
    for k, t in enumerate(tiers):
        rows = np.flatnonzero(tier == t)
        sub = a[rows]
        r, b = max_min_fair(sub, np.maximum(capacity - used, 0.0), w[rows], cap[rows])
        rate[rows], bottleneck[rows] = r, b
        tier_load[k] = sub.T @ (w[rows] * r)
        used = used + tier_load[k]
    return Allocation(rate_mbps=rate, bottleneck=bottleneck, load_mbps=used, tier_load_mbps=tier_load, tiers=tiers)


def _segment_water_level(seg_start, seg_len, breaks, below, at_or_above, query_seg, query_room, query_coef):
    """Per query, the water level ``y >= 0`` with ``sum_j c_j·min(x_j, y) + a·y = room`` over one segment.

    Each segment (a resource) holds its flows sorted by rate ``x_j`` (``breaks``); ``below[j]`` is
    ``sum_{i<j} c_i·x_i`` and ``at_or_above[j]`` is ``sum_{i>=j} c_i`` (both over the segment, ``c`` the
    load per Mbps). A query (``query_seg``, ``room``, probe coefficient ``a``) finds by bisection the number
    ``k`` of flows whose rate stays below the level (``g(x_k) + a·x_k <= room``, increasing in ``k``) and
    returns ``(room − below[k]) / (at_or_above[k] + a)``.
    """
    n_q = query_seg.size
    lo = np.zeros(n_q, np.int64)  # flows [start, start + lo) keep their rate (proved)
    hi = seg_len[query_seg].astype(np.int64)  # flows [start + hi, ...) are cut to the level (upper bound)
    start = seg_start[query_seg]
    while True:
        open_ = lo < hi
        if not open_.any():
            break
        mid = (lo + hi + 1) // 2  # test whether flow (mid - 1) stays below
        j = np.minimum(start + np.maximum(mid - 1, 0), breaks.size - 1)
        x = breaks[j]
        g = below[j] + at_or_above[j] * x
        keeps = open_ & (g + query_coef * x <= query_room)
        lo = np.where(keeps, mid, lo)
        hi = np.where(open_ & ~keeps, mid - 1, hi)
    inside = lo < seg_len[query_seg]
    k = np.where(inside, start + lo, 0)
    seg_total = np.zeros(seg_start.size)  # sum of c·x over the whole segment
    has = seg_len > 0
    last = seg_start[has] + seg_len[has] - 1
    seg_total[has] = below[last] + at_or_above[last] * breaks[last]
    end_below = np.where(inside, below[k] if below.size else 0.0, seg_total[query_seg])
    end_weight = np.where(inside, at_or_above[k] if below.size else 0.0, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        level = np.maximum(query_room - end_below, 0.0) / (end_weight + query_coef)
    return np.where(end_weight + query_coef > 0, level, np.inf)


def available_rate_mbps(incidence, capacity_mbps, weight, tier, allocation: Allocation, plan_cap_mbps) -> np.ndarray:
    """``available_mbps`` per class: the rate one extra elastic flow (a speed test) from a terminal of the
    class would get, on the class's route and in its tier, on top of everyone's load, within ``plan_cap_mbps``.

    Precisely: on each resource ``r`` of the route, the probe (entry ``a`` of the class's incidence row) and
    the tier's classes on ``r`` (load per Mbps ``c_f = A[f, r]·weight[f]``, allocated rate ``x_f``) share
    what higher tiers leave (``C_r − H_r``; lower tiers are pre-empted by strict priority) at the max-min
    *water level* ``y_r``: ``sum_f c_f·min(x_f, y_r) + a·y_r = C_r − H_r``. Flows below the level (limited by
    their own demand or by another resource) keep their rate and leave the rest; flows above it are cut to
    it. ``available = min(plan_cap, min_r y_r)``. On a resource with free capacity this is the free capacity
    (plus nothing taken from anyone); on a saturated one it is the fair share among the flows at the level
    and the probe, not ``C/(n+1)`` over all flows. It is the level of re-running the allocation with the
    probe added, taken one resource at a time (exact when the probe's bottleneck is a single resource whose
    other flows keep their rates elsewhere; tests compare it with that re-run). Returns ``(F,)`` Mbps.
    """
    a = sp.csr_matrix(incidence, dtype=np.float64)
    a.sort_indices()
    n_flow, n_res = a.shape
    tier = np.asarray(tier, dtype=np.int64).reshape(n_flow)
    w = np.asarray(weight, dtype=np.float64).reshape(n_flow)
    capacity = np.asarray(capacity_mbps, dtype=np.float64).reshape(n_res)
    plan = np.broadcast_to(np.asarray(plan_cap_mbps, dtype=np.float64), (n_flow,))
    out = np.array(plan, dtype=np.float64)
    rate = allocation.rate_mbps
    higher = np.zeros(n_res)
    for k, t in enumerate(allocation.tiers):
        rows = np.flatnonzero(tier == t)
        sub = a[rows]
        room = np.maximum(capacity - higher, 0.0)
        # The tier's entries per resource, sorted by the class's rate: (R, F_t) CSC view.
        col = sub.indices
        row_local = np.repeat(np.arange(rows.size), np.diff(sub.indptr))
        x = rate[rows][row_local]
        c = sub.data * w[rows][row_local]
        order = np.lexsort((x, col))
        col_s, x_s, c_s = col[order], x[order], c[order]
        seg_len = np.bincount(col_s, minlength=n_res)
        seg_start = np.cumsum(seg_len) - seg_len
        cx = np.cumsum(c_s * x_s)
        cc = np.cumsum(c_s)
        base_cx = np.repeat(np.r_[0.0, cx][seg_start], seg_len)
        base_cc_end = np.repeat(np.r_[0.0, cc][seg_start + seg_len], seg_len)
        below = cx - c_s * x_s - base_cx  # sum over earlier flows of the segment
        at_or_above = base_cc_end - (cc - c_s)  # sum of c from this flow to the segment's end
        # One query per distinct (resource, probe coefficient): coefficient 1 on beams, ISLs and feeders.
        q_order = np.lexsort((sub.data, col))
        q_col, q_coef = col[q_order], sub.data[q_order]
        q_new = np.r_[True, (q_col[1:] != q_col[:-1]) | (q_coef[1:] != q_coef[:-1])] if col.size else np.zeros(0, bool)
        q_id = np.empty(col.size, np.int64)
        q_id[q_order] = np.cumsum(q_new) - 1
        u_col, u_coef = q_col[q_new], q_coef[q_new]
        level = _segment_water_level(seg_start, seg_len, x_s, below, at_or_above, u_col, room[u_col], u_coef)[q_id]
        out[rows] = np.minimum(out[rows], _row_min_values(sub, level))
        higher = higher + allocation.tier_load_mbps[k]
    return out
