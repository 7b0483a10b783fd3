"""Round-trip times over time: a columnar series, path-change events and per-pair summaries.

Feed instants to :class:`RttAccumulator` one at a time or in chunks (or use :func:`rtt_over_time` on an
iterator); the result does not depend on how time was chunked, since every instant is routed on its own
and the only state carried between instants is the previous path of each pair.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from ..errors import LeosimInputError
from .paths import path_strings
from .references import PairReferences, pair_references
from .routing import Router


@dataclass(frozen=True)
class PathChanges:
    """Path-change events: pair ``pair[e]`` changed path at ``time_s[e]`` from ``old_path[e]`` to
    ``new_path[e]`` (tuples of Hypatia node ids; empty when there was / is no path). A change is counted
    between consecutive instants fed, including to and from "no path"; the first instant has none."""

    time_s: np.ndarray
    pair: np.ndarray
    src: np.ndarray
    dst: np.ndarray
    old_path: list
    new_path: list

    def __len__(self) -> int:
        return int(self.time_s.size)


@dataclass(frozen=True)
class PairSummary:
    """Per-pair summaries, each ``(P,)``: RTT min/median/p95/max in ms over the instants with a path
    (NaN if never), fraction of instants without a path, number of path changes, the physical
    references (:class:`~leosim.network.references.PairReferences`, for the requested destination; NaN
    for user mode's "best PoP") and the stretch of the median RTT against each."""

    src: np.ndarray
    dst: np.ndarray
    rtt_min_ms: np.ndarray
    rtt_median_ms: np.ndarray
    rtt_p95_ms: np.ndarray
    rtt_max_ms: np.ndarray
    fraction_no_path: np.ndarray
    path_changes: np.ndarray
    references: PairReferences
    stretch_fibre: np.ndarray
    stretch_vacuum: np.ndarray


@dataclass(frozen=True)
class RttSeries:
    """Columnar RTT time series, one row per (instant, pair), instants in the order fed, pairs in the
    order given: ``time_s``, ``pair``, ``src``, ``dst`` (the PoP used in user mode), ``rtt_ms`` (NaN: no
    path), ``one_way_ms``, ``hops`` (-1: no path); with paths, ``path_nodes`` (flat Hypatia node ids) and
    ``path_offsets`` (``rows + 1``): row ``i``'s path is ``path_nodes[path_offsets[i]:path_offsets[i+1]]``.
    Also the path-change events and the per-pair summaries.
    """

    time_s: np.ndarray
    pair: np.ndarray
    src: np.ndarray
    dst: np.ndarray
    rtt_ms: np.ndarray
    one_way_ms: np.ndarray
    hops: np.ndarray
    path_nodes: np.ndarray | None
    path_offsets: np.ndarray | None
    changes: PathChanges
    summary: PairSummary

    def __len__(self) -> int:
        return int(self.time_s.size)

    def path(self, row: int) -> np.ndarray:
        """Node ids of one row's path (empty when there is none); needs ``with_paths``."""
        if self.path_nodes is None:
            raise ValueError("paths were not kept; route with with_paths=True")
        return self.path_nodes[self.path_offsets[row]:self.path_offsets[row + 1]]

    def path_strings(self) -> list[str]:
        """Each row's path as space-separated node ids ('' when none), for CSV output."""
        if self.path_nodes is None:
            raise ValueError("paths were not kept; route with with_paths=True")
        return path_strings(self.path_nodes, self.path_offsets).tolist()


def _pad(a: np.ndarray, width: int) -> np.ndarray:
    if a.shape[1] >= width:
        return a
    return np.pad(a, ((0, 0), (width - a.shape[1], 0)), constant_values=-1)  # paths are right-aligned


def _cat(parts: list, dtype) -> np.ndarray:
    return np.concatenate(parts).astype(dtype) if parts else np.empty(0, dtype)


def _as_tuple(row: np.ndarray) -> tuple[int, ...]:
    return tuple(int(v) for v in row[row >= 0])


class RttAccumulator:
    """Routes pairs instant after instant and gathers a :class:`RttSeries`.

    ``router``: a :class:`~leosim.network.routing.Router`; ``src``, ``dst``: site indices ``(P,)``;
    ``with_paths``: keep every row's path (memory grows with rows × hops).
    """

    def __init__(self, router: Router, src, dst, *, with_paths: bool = False):
        self.router = router
        self.src = np.asarray(src, dtype=np.int64).ravel()
        self.dst = np.asarray(dst, dtype=np.int64).ravel()
        self.with_paths = with_paths
        self._prev: np.ndarray | None = None
        self._time: list[np.ndarray] = []
        self._rtt: list[np.ndarray] = []
        self._dst: list[np.ndarray] = []
        self._hops: list[np.ndarray] = []
        self._nodes: list[np.ndarray] = []
        self._count: list[np.ndarray] = []
        self._ev_time: list[float] = []
        self._ev_pair: list[int] = []
        self._ev_old: list[tuple] = []
        self._ev_new: list[tuple] = []

    def add(self, time_s, sat_ecef_km) -> None:
        """Route one instant (``time_s`` scalar, ``sat_ecef_km`` ``(N, 3)``) or a chunk (``(T,)`` and
        ``(T, N, 3)``), in time order after anything added before."""
        times = np.atleast_1d(np.asarray(time_s, dtype=np.float64))
        pos = np.asarray(sat_ecef_km, dtype=np.float64)
        if pos.ndim == 2:
            pos = pos[None]
        if pos.shape[0] != times.size or pos.ndim != 3 or pos.shape[2] != 3:
            raise LeosimInputError(f"time_s {times.shape} and sat_ecef_km {np.shape(sat_ecef_km)} do not match: "
                             "expected scalar + (N, 3) or (T,) + (T, N, 3)")
        for t, p in zip(times, pos, strict=True):  # loop over instants, not satellites
            self._add_one(float(t), p)

    def _add_one(self, t: float, sat_ecef_km: np.ndarray) -> None:
        step = self.router.route(sat_ecef_km, self.src, self.dst)
        n = self.src.size
        self._time.append(np.full(n, t))
        self._rtt.append(step.rtt_ms)
        self._dst.append(step.dst)
        self._hops.append(step.hops)
        cur = step.paths
        if self.with_paths:
            keep = cur >= 0
            self._nodes.append(cur[keep])
            self._count.append(keep.sum(axis=1))
        if self._prev is not None:
            width = max(self._prev.shape[1], cur.shape[1])
            old, new = _pad(self._prev, width), _pad(cur, width)
            changed = np.flatnonzero(np.any(old != new, axis=1))
            for p in changed:  # loop over events only
                self._ev_time.append(t)
                self._ev_pair.append(int(p))
                self._ev_old.append(_as_tuple(old[p]))
                self._ev_new.append(_as_tuple(new[p]))
        self._prev = cur

    def result(self) -> RttSeries:
        """The series gathered so far."""
        n_pair = self.src.size
        n_t = len(self._time)
        rtt = _cat(self._rtt, np.float64)
        path_nodes = path_offsets = None
        if self.with_paths:
            path_nodes = _cat(self._nodes, np.int64)
            path_offsets = np.r_[0, np.cumsum(_cat(self._count, np.int64))].astype(np.int64)
        ev_pair = np.asarray(self._ev_pair, dtype=np.int64)
        changes = PathChanges(time_s=np.asarray(self._ev_time, dtype=np.float64), pair=ev_pair,
                              src=self.src[ev_pair], dst=self.dst[ev_pair],
                              old_path=list(self._ev_old), new_path=list(self._ev_new))
        summary = self._summary(rtt.reshape(n_t, n_pair), ev_pair)
        return RttSeries(time_s=_cat(self._time, np.float64), pair=np.tile(np.arange(n_pair), n_t),
                         src=np.tile(self.src, n_t), dst=_cat(self._dst, np.int64), rtt_ms=rtt,
                         one_way_ms=rtt / 2.0, hops=_cat(self._hops, np.int64), path_nodes=path_nodes,
                         path_offsets=path_offsets, changes=changes, summary=summary)

    def _summary(self, rtt: np.ndarray, ev_pair: np.ndarray) -> PairSummary:
        n_t, n_pair = rtt.shape
        stats = np.full((5, n_pair), np.nan)  # min, median, p95, max, (spare)
        has = np.isfinite(rtt)
        some = has.any(axis=0)
        if some.any():
            sub = rtt[:, some]
            stats[0, some] = np.nanmin(sub, axis=0)
            stats[1, some] = np.nanmedian(sub, axis=0)
            stats[2, some] = np.nanpercentile(sub, 95.0, axis=0)
            stats[3, some] = np.nanmax(sub, axis=0)
        frac = 1.0 - has.sum(axis=0) / n_t if n_t else np.full(n_pair, np.nan)
        refs = pair_references(self.router.site_lat_deg, self.router.site_lon_deg, self.src, self.dst)
        s_fibre, s_vacuum = refs.stretch(stats[1])
        return PairSummary(src=self.src, dst=self.dst, rtt_min_ms=stats[0], rtt_median_ms=stats[1],
                           rtt_p95_ms=stats[2], rtt_max_ms=stats[3], fraction_no_path=frac,
                           path_changes=np.bincount(ev_pair, minlength=n_pair).astype(np.int64),
                           references=refs, stretch_fibre=s_fibre, stretch_vacuum=s_vacuum)


def rtt_over_time(router: Router, steps: Iterable, src, dst, *, with_paths: bool = False) -> RttSeries:
    """Route pairs ``src[p] -> dst[p]`` at every instant of ``steps``, an iterable of
    ``(time_s, sat_ecef_km)`` items, each one instant (scalar, ``(N, 3)``) or a chunk (``(T,)``,
    ``(T, N, 3)``), in time order. Returns an :class:`RttSeries`."""
    acc = RttAccumulator(router, src, dst, with_paths=with_paths)
    for time_s, sat_ecef_km in steps:
        acc.add(time_s, sat_ecef_km)
    return acc.result()
