"""The network graph at one instant: a sparse directed graph of one-way delays in seconds.

Node layout (``N`` satellites, ``M`` sites):

* ``0 .. N-1``: satellites (Hypatia's numbering);
* ``N .. N+M-1``: site ``j`` as a *source* (Hypatia's node id ``N + j``): it has out-edges to the
  satellites it can reach, and in-edges from them only if the site may relay traffic;
* ``N+M .. N+2M-1``: site ``j`` as a *sink*: in-edges from satellites (and terrestrial legs), no
  out-edges except terrestrial legs.

Splitting each site into a source and a sink is what keeps ground sites from relaying: a shortest path
can start at a source and end at a sink, but cannot pass through a site unless that site's source node
was given in-edges (``relay_site``). Reported paths map both back to Hypatia's id ``N + j``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.sparse import csr_matrix

from ..constants import SPEED_OF_LIGHT_KM_S

MIN_EDGE_DELAY_S = 1e-12
"""Floor for an edge delay, s: scipy.sparse.csgraph treats a stored 0 as a missing edge, so a link of
zero length (two objects at one place) gets this 1 ps instead; far below any reported precision."""


@dataclass(frozen=True)
class NodeLayout:
    """Node numbering of the per-instant graph for ``n_sat`` satellites and ``n_site`` sites."""

    n_sat: int
    n_site: int

    @property
    def n_nodes(self) -> int:
        return self.n_sat + 2 * self.n_site

    def source(self, site) -> np.ndarray:
        """Graph node of site(s) as the start of a path (equals Hypatia's id ``N + j``)."""
        return self.n_sat + np.asarray(site, dtype=np.int64)

    def sink(self, site) -> np.ndarray:
        """Graph node of site(s) as the end of a path."""
        return self.n_sat + self.n_site + np.asarray(site, dtype=np.int64)

    def to_hypatia_ids(self, nodes) -> np.ndarray:
        """Map graph nodes to Hypatia node ids (sink ``N+M+j`` -> ``N+j``); negative entries stay."""
        nodes = np.asarray(nodes, dtype=np.int64)
        return np.where(nodes >= self.n_sat + self.n_site, nodes - self.n_site, nodes)


def delay_graph(layout: NodeLayout, *, isls=None, isl_length_km=None, gsl_site=None, gsl_sat=None,
                gsl_length_km=None, relay_site=None, ground_from=None, ground_to=None,
                ground_delay_s=None) -> csr_matrix:
    """Sparse CSR graph, shape ``(n_nodes, n_nodes)``, of one-way delays in s for one instant.

    * ``isls`` ``(K, 2)`` int with ``isl_length_km`` ``(K,)``: each usable ISL both ways (entries with a
      non-finite length are left out — pass NaN for links that are invalid at this instant);
    * ``gsl_site``, ``gsl_sat``, ``gsl_length_km`` ``(E,)``: GSLs, as source→satellite and
      satellite→sink edges;
    * ``relay_site`` bool ``(M,)``: sites that may relay (satellite→source edges added for their GSLs);
    * ``ground_from``, ``ground_to``, ``ground_delay_s`` ``(G,)``: terrestrial legs, sink→sink (traffic
      that arrived at ``ground_from`` continues over the ground to ``ground_to``, e.g. gateway→PoP).

    Delays are length / c (c = 299,792.458 km/s). Duplicate edges keep the shortest delay.
    """
    rows, cols, w = [], [], []
    if isls is not None and len(isls):
        isls = np.asarray(isls, dtype=np.int64).reshape(-1, 2)
        d = np.asarray(isl_length_km, dtype=np.float64) / SPEED_OF_LIGHT_KM_S
        ok = np.isfinite(d)
        a, b, d = isls[ok, 0], isls[ok, 1], d[ok]
        rows += [a, b]
        cols += [b, a]
        w += [d, d]
    if gsl_site is not None and len(gsl_site):
        site = np.asarray(gsl_site, dtype=np.int64)
        sat = np.asarray(gsl_sat, dtype=np.int64)
        d = np.asarray(gsl_length_km, dtype=np.float64) / SPEED_OF_LIGHT_KM_S
        src, snk = layout.source(site), layout.sink(site)
        rows += [src, sat]
        cols += [sat, snk]
        w += [d, d]
        if relay_site is not None:
            relay = np.asarray(relay_site, dtype=bool)[site]
            rows.append(sat[relay])
            cols.append(src[relay])
            w.append(d[relay])
    if ground_from is not None and len(ground_from):
        gd = np.asarray(ground_delay_s, dtype=np.float64)
        ok = np.isfinite(gd)
        rows.append(layout.sink(np.asarray(ground_from)[ok]))
        cols.append(layout.sink(np.asarray(ground_to)[ok]))
        w.append(gd[ok])
    n = layout.n_nodes
    r = np.concatenate(rows) if rows else np.empty(0, np.int64)
    if r.size == 0:
        return csr_matrix((n, n), dtype=np.float64)
    c = np.concatenate(cols)
    wt = np.maximum(np.concatenate(w), MIN_EDGE_DELAY_S)
    return _csr_from_keys(n, r * n + c, wt)


def _csr_from_keys(n: int, key, delay_s) -> csr_matrix:
    """CSR ``(n, n)`` from edges given as ``key = row * n + col`` (int64) and delays: entries sorted by
    (row, col), duplicate edges keep the shortest delay (csr_matrix would sum them). One sort of one
    integer key, not a three-key lexsort: the graph of a 4,408-satellite step builds ~8x faster."""
    order = np.argsort(key, kind="stable")
    key, delay_s = key[order], delay_s[order]
    if key.size > 1:
        first = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
        if first.size < key.size:
            delay_s = np.minimum.reduceat(delay_s, first)
            key = key[first]
    row = key // n
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(row, minlength=n), out=indptr[1:])
    return csr_matrix((delay_s, (key - row * n).astype(np.int32), indptr.astype(np.int32)), shape=(n, n))

