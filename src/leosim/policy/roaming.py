"""Days abroad: how long each terminal has been outside its registered country, up to each instant.

The state behind roaming limits ("more than 60 days abroad in a year") is computed as a **prefix over
time that depends only on the track**, never on which instants were asked before: the days abroad at
instant t are a pure function of the terminal's track (or fixed position) and t. Any chunk of a run,
on any worker, computes them without the previous chunk, and the results are identical whatever the
chunking (tests check bit-identity).

How: a terminal's country is sampled at its own fixes and on a fixed UTC grid
(:data:`~leosim.constants.ROAMING_SAMPLE_S`, aligned to the Unix epoch) within its span; between two
samples it is taken as constant (the earlier sample's). ``A(t)``, the seconds spent abroad from the
track's start to t, is then piecewise linear and exact at every instant; outside the track's span the
terminal is not present and not abroad. Days abroad over a window are ``(A(t) - A(window start)) / 86400``:
the rolling year is the 365 days up to t, the calendar year starts on 1 January 00:00 UTC of t's year.

A terminal whose registered country is '' is never abroad. A fixed terminal abroad is abroad from a
given instant onwards (:meth:`AbroadHistory.fixed`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..constants import ROAMING_SAMPLE_S, ROLLING_YEAR_DAYS, SECONDS_PER_DAY
from ..errors import LeosimInputError
from ..ground.tracks import Tracks, packed_segments
from ..timebase import instants_ns

_NS_PER_S = 1_000_000_000
_FAR_NS = np.datetime64("2200-01-01", "ns").astype(np.int64)


@dataclass(frozen=True, eq=False)
class AbroadHistory:
    """Per terminal, samples ``sample_ns`` (packed by ``offsets``, (N+1,)), whether the terminal is abroad
    from each sample to the next (``abroad``) and the seconds abroad accumulated up to each (``cum_s``)."""

    offsets: np.ndarray
    sample_ns: np.ndarray
    abroad: np.ndarray
    cum_s: np.ndarray

    @classmethod
    def _build(cls, owner: np.ndarray, sample_ns: np.ndarray, abroad: np.ndarray, n: int) -> AbroadHistory:
        order = np.lexsort((sample_ns, owner))
        owner, sample_ns, abroad = owner[order], sample_ns[order], abroad[order]
        keep = np.ones(owner.size, bool)
        keep[1:] = (owner[1:] != owner[:-1]) | (sample_ns[1:] != sample_ns[:-1])
        owner, sample_ns, abroad = owner[keep], sample_ns[keep], abroad[keep]
        offsets = np.concatenate([[0], np.cumsum(np.bincount(owner, minlength=n))]).astype(np.int64)
        step_s = np.zeros(sample_ns.size)
        same = owner[1:] == owner[:-1]
        step_s[1:] = np.where(same, (sample_ns[1:] - sample_ns[:-1]) / _NS_PER_S * abroad[:-1], 0.0)
        cum = np.cumsum(step_s)
        cum -= np.repeat(cum[offsets[:-1]], np.diff(offsets))   # restart at each terminal's first sample
        return cls(offsets, sample_ns, abroad, cum)

    @classmethod
    def from_tracks(cls, tracks: Tracks, home_country, territories) -> AbroadHistory:
        """History of moving terminals: ``tracks`` (N), ``home_country`` (N,) alpha-3 ('' = never abroad),
        ``territories`` anything with ``locate(lat_deg, lon_deg).country`` (a
        :class:`~leosim.territory.Territories`)."""
        home = np.asarray(home_country, dtype=str)
        n = len(tracks)
        if home.shape != (n,):
            raise LeosimInputError(f"home_country has shape {home.shape}; expected ({n},)", field="country")
        first = tracks.time_ns[tracks.offsets[:-1]]
        last = tracks.time_ns[tracks.offsets[1:] - 1]
        grid_ns = round(ROAMING_SAMPLE_S * _NS_PER_S)
        tick0 = -(-first // grid_ns)
        counts = np.maximum(last // grid_ns - tick0 + 1, 0)
        tick_owner = np.repeat(np.arange(n, dtype=np.int64), counts)
        within = np.arange(tick_owner.size) - np.repeat(np.cumsum(counts) - counts, counts)
        tick_ns = (tick0[tick_owner] + within) * grid_ns
        fix_owner = np.repeat(np.arange(n, dtype=np.int64), np.diff(tracks.offsets))
        owner = np.concatenate([fix_owner, tick_owner])
        sample_ns = np.concatenate([tracks.time_ns, tick_ns])
        where = tracks.sample(sample_ns, owner)
        country = np.asarray(territories.locate(where.lat_deg, where.lon_deg).country, dtype=str)
        abroad = (home[owner] != "") & (country != home[owner])
        return cls._build(owner, sample_ns, abroad, n)

    @classmethod
    def fixed(cls, abroad, since) -> AbroadHistory:
        """History of fixed terminals: ``abroad`` (N,) bool, abroad from ``since`` (N,) datetime64 on."""
        abroad = np.asarray(abroad, dtype=bool)
        since_ns = np.broadcast_to(np.asarray(since, dtype="datetime64[ns]").astype(np.int64), abroad.shape)
        n = abroad.size
        owner = np.repeat(np.arange(n, dtype=np.int64), 2)
        sample_ns = np.stack([since_ns, np.full(n, _FAR_NS)], axis=1).ravel()
        return cls._build(owner, sample_ns, np.repeat(abroad, 2), n)

    @classmethod
    def concat(cls, histories) -> AbroadHistory:
        """Terminals of several histories, in order."""
        histories = list(histories)
        starts = np.cumsum([0] + [h.sample_ns.size for h in histories[:-1]])
        offsets = np.concatenate([[0]] + [h.offsets[1:] + s for h, s in zip(histories, starts, strict=True)])
        return cls(offsets.astype(np.int64), *(np.concatenate([getattr(h, f) for h in histories])
                                               for f in ("sample_ns", "abroad", "cum_s")))

    def __len__(self) -> int:
        return self.offsets.size - 1

    def seconds_abroad(self, query_ns) -> np.ndarray:
        """``A(t)``: seconds abroad from the first sample up to t, for a query shaped (N, T) (int64 ns)."""
        query = np.asarray(query_ns, dtype=np.int64)
        k, _ = packed_segments(self.offsets, self.sample_ns, query)
        first = self.sample_ns[self.offsets[:-1]][:, None]
        last = self.sample_ns[self.offsets[1:] - 1][:, None]
        t = np.clip(query, first, last)
        return self.cum_s[k] + (t - self.sample_ns[k]) / _NS_PER_S * self.abroad[k]

    def days(self, instants, year: str = "rolling") -> np.ndarray:
        """Days abroad in the ``rolling`` or ``calendar`` year up to each instant: float (N, T)."""
        t = instants_ns(instants)
        n = len(self)
        if year == "rolling":
            start = t - int(ROLLING_YEAR_DAYS * SECONDS_PER_DAY) * _NS_PER_S
        elif year == "calendar":
            start = t.astype("datetime64[ns]").astype("datetime64[Y]").astype("datetime64[ns]").astype(np.int64)
        else:
            raise LeosimInputError(f"year {year!r} is not rolling or calendar", field="abroad_year")
        if n == 0:
            return np.zeros((0, t.size))
        now = self.seconds_abroad(np.broadcast_to(t, (n, t.size)))
        before = self.seconds_abroad(np.broadcast_to(start, (n, t.size)))
        return (now - before) / SECONDS_PER_DAY


def days_abroad(history: AbroadHistory, instants, years=("rolling",)) -> dict[str, np.ndarray]:
    """``{year: days (N, T)}`` for each year kind a set of rules needs (see :func:`years_needed`);
    the mapping :func:`leosim.policy.rules.decide` takes as ``days_abroad``."""
    return {year: history.days(instants, year) for year in years}


def years_needed(rules) -> tuple[str, ...]:
    """The year kinds (``rolling``, ``calendar``) that the roaming conditions of ``rules`` count."""
    return tuple(sorted({r.when.abroad_year for r in rules if r.when is not None
                         and r.when.days_abroad_above is not None}))


@dataclass(frozen=True)
class Histories:
    """Histories of terminals split into parts (e.g. fixed and moving): part ``p`` holds the terminals at
    positions ``index[p]`` of ``n``. Answers :meth:`days` for all ``n`` in order."""

    parts: tuple[AbroadHistory, ...]
    index: tuple[np.ndarray, ...]
    n: int

    def days(self, instants, year: str = "rolling") -> np.ndarray:
        """Days abroad (n, T), as :meth:`AbroadHistory.days`."""
        t = instants_ns(instants)
        out = np.zeros((self.n, t.size))
        for part, where in zip(self.parts, self.index, strict=True):
            if len(where):
                out[where] = part.days(t, year)
        return out
