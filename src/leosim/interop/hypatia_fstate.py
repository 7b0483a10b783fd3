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


def next_hops(isls: np.ndarray, isl_length_km: np.ndarray, gsl_length_km: np.ndarray) -> np.ndarray:
    """Next hop of every node towards every ground station at one instant, ``(N + M, M)`` int64.

    ``isls`` ``(K, 2)`` satellite indices; ``isl_length_km`` ``(K,)``; ``gsl_length_km`` ``(M, N)``, the length
    of the link from ground station ``j`` to satellite ``i``, ``inf`` where out of range. Entry ``[node, j]`` is
    the node id after ``node`` on the way to ground station ``j`` (node id ``N + j``); ``-1`` when unreachable
    and on the diagonal ``[N + j, j]`` (never written to a forwarding-state file).
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
    dist, pred = dijkstra(graph, directed=True, indices=n + np.arange(m), return_predecessors=True)

    out = np.full((n + m, m), UNREACHABLE, dtype=np.int64)
    # Satellites: the Dijkstra predecessor (a satellite, or the destination itself for the last hop).
    out[:n] = np.where(np.isfinite(dist[:, :n]), pred[:, :n], UNREACHABLE).T
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
        out[n + gs_idx[starts]] = np.where(np.isfinite(best), sat_idx[first], UNREACHABLE)
    out[n + np.arange(m), np.arange(m)] = UNREACHABLE
    return out


def interfaces(current: np.ndarray, next_hop: np.ndarray, table: InterfaceTable) -> tuple[np.ndarray, np.ndarray]:
    """``(my_if, next_if)`` of hops ``current -> next_hop`` (1-D arrays of node ids; ``-1`` hops give -1)."""
    current = np.asarray(current, dtype=np.int64)
    next_hop = np.asarray(next_hop, dtype=np.int64)
    n = table.num_satellites
    my_if = np.full(current.shape, UNREACHABLE, dtype=np.int64)
    next_if = np.full(current.shape, UNREACHABLE, dtype=np.int64)
    ok = next_hop >= 0
    down = ok & (current < n) & (next_hop >= n)  # satellite -> ground station
    my_if[down] = table.num_isls_per_sat[current[down]]
    next_if[down] = 0
    up = ok & (current >= n)  # ground station -> satellite
    my_if[up] = 0
    next_if[up] = table.num_isls_per_sat[next_hop[up]]
    isl = ok & (current < n) & (next_hop < n)
    my_if[isl] = table.interface(current[isl], next_hop[isl])
    next_if[isl] = table.interface(next_hop[isl], current[isl])
    return my_if, next_if


def forwarding_state(isls: np.ndarray, isl_length_km: np.ndarray, gsl_length_km: np.ndarray,
                     table: InterfaceTable) -> np.ndarray:
    """:func:`next_hops` with interfaces: ``(N + M, M, 3)`` int64 of ``(next_hop, my_if, next_if)``."""
    hops = next_hops(isls, isl_length_km, gsl_length_km)
    current = np.broadcast_to(np.arange(hops.shape[0])[:, None], hops.shape).ravel()
    my_if, next_if = interfaces(current, hops.ravel(), table)
    return np.stack([hops, my_if.reshape(hops.shape), next_if.reshape(hops.shape)], axis=2)


def fstate_text(hops: np.ndarray, table: InterfaceTable, previous: np.ndarray | None = None) -> str:
    """The text of one ``fstate_<t>.txt`` file: every entry, or only those whose next hop differs from
    ``previous`` (interfaces follow from the hop, so nothing else can change).

    ``hops`` is :func:`next_hops`' ``(N + M, M)`` array. Lines are ``current,destination,next_hop,my_if,next_if``
    in satgenpy's order: satellites first (by id, then destination), then ground stations (by id, then
    destination, skipping the station itself).
    """
    n = table.num_satellites
    n_nodes, m = hops.shape
    write = np.ones((n_nodes, m), dtype=bool) if previous is None else hops != previous
    write[n + np.arange(m), np.arange(m)] = False
    current, dst = np.nonzero(write)
    if current.size == 0:
        return ""
    hop = hops[current, dst]
    my_if, next_if = interfaces(current, hop, table)
    values = np.column_stack([current, n + dst, hop, my_if, next_if])
    return ("%d,%d,%d,%d,%d\n" * current.size) % tuple(values.ravel().tolist())


def gsl_bandwidth_text(num_isls_per_sat: np.ndarray, bandwidth: np.ndarray) -> str:
    """The text of ``gsl_if_bandwidth_0.txt``: ``node,interface,bandwidth`` per node, bandwidth as ``%f``.

    A satellite's GSL interface number is its ISL count; a ground station's is 0.
    """
    interface = np.concatenate([np.asarray(num_isls_per_sat, dtype=np.int64),
                                np.zeros(len(bandwidth) - len(num_isls_per_sat), dtype=np.int64)])
    parts = []
    for node, (iface, value) in enumerate(zip(interface.tolist(), np.asarray(bandwidth).tolist(), strict=True)):
        parts.append(f"{node},{iface},{value:f}\n")  # Python's %f / :f, as satgenpy writes it
    return "".join(parts)
