"""Paths as text: the ``path`` column of the ``rtt`` and ``access`` tables (space-separated node ids).

Node ids follow Hypatia: satellites ``0..N-1``, site ``j`` = ``N + j``.
"""

from __future__ import annotations

from itertools import pairwise

import numpy as np


def path_strings(paths: np.ndarray, offsets: np.ndarray | None = None) -> np.ndarray:
    """Each path as space-separated node ids, ``''`` where there is no path; shape ``(P,)``, dtype str.

    ``paths``: either padded rows ``(P, H)`` of node ids with ``-1`` padding (:class:`StepRoutes.paths`), or,
    with ``offsets`` ``(P + 1,)``, the flat node ids of P paths (row ``i`` is
    ``paths[offsets[i]:offsets[i + 1]]``, as in :class:`~leosim.network.rtt.RttSeries`).
    """
    rows = paths.tolist() if offsets is None else [paths[a:b].tolist() for a, b in pairwise(offsets.tolist())]
    out = np.empty(len(rows), dtype=object)
    for p, row in enumerate(rows):  # one row per pair; rows are short paths
        out[p] = " ".join(str(node) for node in row if node >= 0)
    return out.astype(str) if out.size else np.zeros(0, dtype=str)
