"""Hypatia's forwarding state (``algorithm_free_one_only_over_isls``) on plain arrays.

Numeric core of :func:`leosim.interop.hypatia.write_dynamic_state`; no files here.

Conventions (satgenpy 0.4.0, ``satgen/dynamic_state``): node ids are the satellites ``0..N-1`` then the ground
stations ``N..N+M-1``. ISL ``k = (a, b)`` of the ISL list gets, on satellite ``a``, the interface number equal to
how many earlier ISLs of the list involve ``a`` (likewise on ``b``); a satellite's single GSL interface comes
after its ISL interfaces (number = its ISL count); a ground station's only interface is 0. An entry of the
forwarding state is ``(next_hop, my_if, next_if)`` for a (current node, destination ground station) pair,
``(-1, -1, -1)`` when the destination cannot be reached. Paths never relay through a ground station.

How the shortest paths are found: one Dijkstra (``scipy.sparse.csgraph``) per destination ground station over a
directed graph in which ISLs go both ways and every ground station has edges only *to* its in-range satellites.
From destination ``g`` this gives every satellite's distance to ``g`` (edges are symmetric) and, in the
predecessor array, its next hop towards ``g``; no other ground station can be entered, so none relays.
A ground station's next hop towards ``h`` is the in-range satellite ``a`` minimising GSL length + distance
from ``a`` to ``h``, as satgenpy does.

Ties. satgenpy picks, for a satellite, the destination satellite by the smallest (distance, satellite id)
and then the neighbour (in ISL-file order) with strictly the smallest ``edge + distance``; for a ground
station, the source satellite by the smallest (distance, satellite id). Here the ground-station choice
breaks ties the same way (lowest satellite id), but a satellite's next hop is the Dijkstra predecessor,
which on an exact tie is whichever equal-length path the heap settled first. The two tools also add the
same link lengths in a different order (Floyd–Warshall vs Dijkstra), so alternatives whose lengths agree to
the last bits of a float (~1e-9 m) may be resolved differently. Outside such exact ties the next hops are
the same; the path lengths, and so the RTTs, are equal either way.
"""

from __future__ import annotations

import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

UNREACHABLE = -1
"""Next hop and interfaces written when a destination cannot be reached (satgenpy's ``-1,-1,-1``)."""


def isl_interfaces(isls: np.ndarray, num_satellites: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Interface numbers of every ISL end and each satellite's ISL count, in Hypatia's numbering.

    ``isls`` is ``(K, 2)`` int. Returns ``(if_a, if_b, num_isls_per_sat)``: ``if_a[k]`` is satellite
    ``isls[k, 0]``'s interface for link ``k``, ``if_b[k]`` that of ``isls[k, 1]``, ``num_isls_per_sat`` is
    ``(N,)`` int64.
    """
    isls = np.asarray(isls, dtype=np.int64).reshape(-1, 2)
    ends = isls.ravel()  # a0, b0, a1, b1, ...: the order in which satgenpy counts interfaces
    order = np.argsort(ends, kind="stable")
    sorted_ends = ends[order]
    first_of_group = np.searchsorted(sorted_ends, sorted_ends, side="left")
    rank = np.empty(ends.size, dtype=np.int64)
    rank[order] = np.arange(ends.size) - first_of_group
    rank = rank.reshape(-1, 2)
    num_isls_per_sat = np.bincount(ends, minlength=num_satellites).astype(np.int64)
    return rank[:, 0], rank[:, 1], num_isls_per_sat


class InterfaceTable:
    """Lookup of the interface numbers of directed ISL ends ``(from, to)`` for one ISL list (vectorised)."""

    def __init__(self, isls: np.ndarray, num_satellites: int):
        isls = np.asarray(isls, dtype=np.int64).reshape(-1, 2)
        if_a, if_b, self.num_isls_per_sat = isl_interfaces(isls, num_satellites)
        self.num_satellites = int(num_satellites)
        keys = np.concatenate([isls[:, 0] * num_satellites + isls[:, 1], isls[:, 1] * num_satellites + isls[:, 0]])
        values = np.concatenate([if_a, if_b])
        order = np.argsort(keys)
        self._keys = keys[order]
        self._values = values[order]

    def interface(self, src: np.ndarray, dst: np.ndarray) -> np.ndarray:
        """Interface of satellite ``src`` on its ISL to ``dst`` (arrays of equal shape; the ISL must exist)."""
        position = np.searchsorted(self._keys, np.asarray(src, dtype=np.int64) * self.num_satellites + dst)
        return self._values[position]


def forwarding_state(isls: np.ndarray, isl_length_km: np.ndarray, gsl_length_km: np.ndarray,
                     table: InterfaceTable) -> np.ndarray:
    """Next hops of every node towards every ground station at one instant.

    ``isls`` ``(K, 2)`` satellite indices; ``isl_length_km`` ``(K,)``; ``gsl_length_km`` ``(M, N)``, the length
    of the link from ground station ``j`` to satellite ``i``, ``inf`` where out of range; ``table`` the
    :class:`InterfaceTable` of ``isls``.

    Returns ``(N + M, M, 3)`` int64: entry ``[node, j]`` is ``(next_hop, my_if, next_if)`` from ``node``
    towards ground station ``j`` (node id ``N + j``); ``-1`` everywhere when unreachable and on the diagonal
    ``[N + j, j]`` (never written to a forwarding-state file).
    """
    gsl = np.asarray(gsl_length_km, dtype=np.float64)
    m, n = gsl.shape
    isls = np.asarray(isls, dtype=np.int64).reshape(-1, 2)
    lengths = np.asarray(isl_length_km, dtype=np.float64)
    gs_idx, sat_idx = np.nonzero(np.isfinite(gsl))  # row-major: by ground station, then satellite id
    gsl_len = gsl[gs_idx, sat_idx]
    rows = np.concatenate([isls[:, 0], isls[:, 1], n + gs_idx])
    cols = np.concatenate([isls[:, 1], isls[:, 0], sat_idx])
    graph = csr_matrix((np.concatenate([lengths, lengths, gsl_len]), (rows, cols)), shape=(n + m, n + m))
    gs_nodes = n + np.arange(m)
    dist, pred = dijkstra(graph, directed=True, indices=gs_nodes, return_predecessors=True)

    out = np.full((n + m, m, 3), UNREACHABLE, dtype=np.int64)

    # Satellites towards each destination ground station.
    sat_dist = dist[:, :n].T  # (N, M)
    sat_pred = pred[:, :n].T
    reachable = np.isfinite(sat_dist)
    last_hop = reachable & (sat_pred == gs_nodes[None, :])
    isl_hop = reachable & ~last_hop
    sat_ids = np.broadcast_to(np.arange(n)[:, None], (n, m))
    out[:n, :, 0] = np.where(reachable, sat_pred, UNREACHABLE)
    out[:n, :, 1][last_hop] = table.num_isls_per_sat[sat_ids[last_hop]]
    out[:n, :, 2][last_hop] = 0
    src, nxt = sat_ids[isl_hop], sat_pred[isl_hop]
    out[:n, :, 1][isl_hop] = table.interface(src, nxt)
    out[:n, :, 2][isl_hop] = table.interface(nxt, src)

    # Ground stations: the in-range satellite minimising GSL + its distance to the destination; on equal
    # totals the lowest satellite id (pairs are sorted by satellite within a ground station).
    if gs_idx.size:
        cost = gsl_len[:, None] + dist[:, sat_idx].T  # (P, M): pair p towards destination j
        starts = np.flatnonzero(np.r_[True, gs_idx[1:] != gs_idx[:-1]])
        counts = np.diff(np.r_[starts, gs_idx.size])
        best = np.minimum.reduceat(cost, starts, axis=0)  # (G, M)
        at_best = cost == np.repeat(best, counts, axis=0)
        countdown = (gs_idx.size - np.arange(gs_idx.size))[:, None]
        first = gs_idx.size - np.maximum.reduceat(np.where(at_best, countdown, 0), starts, axis=0)
        src_sat = sat_idx[first]  # (G, M)
        ok = np.isfinite(best)
        src_gs = gs_idx[starts]
        block = np.full((src_gs.size, m, 3), UNREACHABLE, dtype=np.int64)
        block[..., 0] = np.where(ok, src_sat, UNREACHABLE)
        block[..., 1] = np.where(ok, 0, UNREACHABLE)
        block[..., 2] = np.where(ok, table.num_isls_per_sat[src_sat], UNREACHABLE)
        out[n + src_gs] = block
    out[n + np.arange(m), np.arange(m)] = UNREACHABLE
    return out


def fstate_text(fstate: np.ndarray, num_satellites: int, previous: np.ndarray | None = None) -> str:
    """The text of one ``fstate_<t>.txt`` file: every entry, or only those that differ from ``previous``.

    Lines are ``current,destination,next_hop,my_if,next_if`` in satgenpy's order: satellites first (by id,
    then destination), then ground stations (by id, then destination, skipping the station itself).
    """
    n_nodes, m, _ = fstate.shape
    write = np.ones((n_nodes, m), dtype=bool)
    write[num_satellites + np.arange(m), np.arange(m)] = False
    if previous is not None:
        write &= (fstate != previous).any(axis=2)
    current, dst = np.nonzero(write)
    if current.size == 0:
        return ""
    values = np.column_stack([current, num_satellites + dst, fstate[current, dst]])
    return ("%d,%d,%d,%d,%d\n" * current.size) % tuple(values.ravel().tolist())


def gsl_bandwidth_text(num_isls_per_sat: np.ndarray, bandwidth: np.ndarray) -> str:
    """The text of ``gsl_if_bandwidth_0.txt``: ``node,interface,bandwidth`` per node, bandwidth as ``%f``.

    A satellite's GSL interface number is its ISL count; a ground station's is 0.
    """
    interface = np.concatenate([np.asarray(num_isls_per_sat, dtype=np.int64),
                                np.zeros(len(bandwidth) - len(num_isls_per_sat), dtype=np.int64)])
    parts = []
    for node, (iface, value) in enumerate(zip(interface.tolist(), np.asarray(bandwidth).tolist(), strict=True)):
        parts.append("%d,%d,%f\n" % (node, iface, value))
    return "".join(parts)
