"""Paths as text: the space-separated Hypatia node ids of a route (satellites ``0..N-1``, site ``j`` =
``N + j``), as the tables and the HTTP API write them."""

from __future__ import annotations

import numpy as np


def path_strings(paths: np.ndarray) -> np.ndarray:
    """Space-separated node ids of each padded path row ``(P, L)`` (``-1`` padding dropped); '' for no path."""
    paths = np.asarray(paths)
    out = np.empty(paths.shape[0], dtype=object)
    for p, row in enumerate(paths.tolist()):  # one row per pair; rows are short paths
        out[p] = " ".join(str(node) for node in row if node >= 0)
    return out.astype(str) if out.size else np.zeros(0, dtype=str)
