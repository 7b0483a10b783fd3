"""A constellation: SGP4 records of many satellites with their ids, names, shells, planes and slots."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence

import numpy as np
from sgp4.api import SatrecArray

from ..constants import STATES_CHUNK_BYTES
from ..timebase import Times, parse_utc
from .propagate import States, choose_knot_spacing_s, chunk_steps, propagate_ecef
from .walker import WalkerShell, shell_satrecs


class Constellation:
    """Satellites as columns of equal length N, ready for vectorised propagation.

    Build one with :meth:`walker`, :meth:`from_shells`, :meth:`preset`, :meth:`from_file` (TLE/OMM) or
    :meth:`from_elements`. ``sat_id`` is the NORAD catalogue number for element files and the index for
    generated shells; ``shell``, ``plane`` and ``slot`` are -1 where unknown (element files).
    """

    def __init__(self, satrecs: Sequence, *, sat_id, name, shell=None, plane=None, slot=None, epoch_utc,
                 shells: Sequence[WalkerShell] = (), description: str = ""):
        n = len(satrecs)
        self.satrecs = list(satrecs)
        self.sat_id = np.asarray(sat_id, dtype=np.int64).reshape(n)
        self.name = np.asarray(name, dtype=object).reshape(n)
        self.shell = _int_column(shell, n)
        self.plane = _int_column(plane, n)
        self.slot = _int_column(slot, n)
        self.epoch_utc = np.asarray(epoch_utc, dtype="datetime64[ns]").reshape(n)
        self.shells = tuple(shells)
        self.description = description
        self._array = SatrecArray(self.satrecs) if n else None

    # -- construction ---------------------------------------------------------------------------------
    @classmethod
    def walker(cls, altitude_km: float, inclination_deg: float, planes: int, sats_per_plane: int,
               **shell_options) -> Constellation:
        """One Walker shell (see :class:`~leosim.orbits.walker.WalkerShell` for the options)."""
        return cls.from_shells([WalkerShell(altitude_km, inclination_deg, planes, sats_per_plane,
                                            **shell_options)])

    @classmethod
    def from_shells(cls, shells: Iterable[WalkerShell], description: str = "") -> Constellation:
        """Several Walker shells; satellites are numbered 0..N-1 shell by shell, plane-major."""
        shells = list(shells)
        satrecs, shell_idx, planes, slots, epochs = [], [], [], [], []
        for k, spec in enumerate(shells):
            records = shell_satrecs(spec, first_satnum=len(satrecs))
            satrecs.extend(records)
            shell_idx.append(np.full(spec.size, k))
            planes.append(np.repeat(np.arange(spec.planes), spec.sats_per_plane))
            slots.append(np.tile(np.arange(spec.sats_per_plane), spec.planes))
            epochs.append(np.full(spec.size, parse_utc(spec.epoch_utc, source="epoch")))
        n = len(satrecs)
        names = [f"{spec.name or 'shell' + str(k)}-{p}-{s}" for k, spec in enumerate(shells)
                 for p in range(spec.planes) for s in range(spec.sats_per_plane)]
        return cls(satrecs, sat_id=np.arange(n), name=names, shell=_cat(shell_idx), plane=_cat(planes),
                   slot=_cat(slots), epoch_utc=_cat(epochs, "datetime64[ns]"), shells=shells,
                   description=description)

    @classmethod
    def preset(cls, name: str) -> Constellation:
        """A named preset (``leosim constellations`` lists them)."""
        from .presets import get_preset

        preset = get_preset(name)
        return cls.from_shells(preset.shells, description=preset.description)

    @classmethod
    def from_elements(cls, elements, description: str = "") -> Constellation:
        """From a parsed :class:`~leosim.orbits.elements.ElementSet` (TLE or OMM)."""
        return cls(elements.satrecs, sat_id=elements.sat_ids, name=elements.names,
                   epoch_utc=elements.epochs_utc, description=description or str(elements.source))

    @classmethod
    def from_file(cls, path) -> Constellation:
        """From a TLE (2- or 3-line) or OMM (JSON or CSV) file, validated."""
        from .elements import load_elements

        return cls.from_elements(load_elements(path))

    # -- basic protocol -------------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.satrecs)

    def __repr__(self) -> str:
        return f"Constellation({len(self)} satellites, {len(self.shells)} shells)"

    @property
    def epoch(self) -> np.datetime64:
        """A reference epoch: the shells' epoch for generated shells, the latest element epoch for files."""
        return self.epoch_utc.max()

    def subset(self, index) -> Constellation:
        """The satellites selected by an index array, a boolean mask or a slice."""
        idx = np.arange(len(self))[index]
        return Constellation([self.satrecs[i] for i in idx.tolist()], sat_id=self.sat_id[idx],
                             name=self.name[idx], shell=self.shell[idx], plane=self.plane[idx],
                             slot=self.slot[idx], epoch_utc=self.epoch_utc[idx], shells=self.shells,
                             description=self.description)

    # -- propagation ----------------------------------------------------------------------------------
    def states(self, times: Times, *, knot_spacing_s: float | None = None) -> States:
        """Earth-fixed positions (km) and velocities (km/s), ``(time, satellite, 3)``, at every instant.

        ``knot_spacing_s`` chooses between SGP4 at every instant (0) and SGP4 at knots with interpolation
        (see :func:`~leosim.orbits.propagate.propagate_ecef`); by default interpolation is used for fine
        steps when every orbit is near-circular.
        """
        if not len(self):
            empty = np.zeros((len(times), 0, 3))
            return States(times, empty, empty.copy(), np.zeros((len(times), 0), dtype=np.uint8))
        if knot_spacing_s is None:
            knot_spacing_s = choose_knot_spacing_s(times, self.max_eccentricity)
        return propagate_ecef(self._array, times, knot_spacing_s=knot_spacing_s)

    @property
    def max_eccentricity(self) -> float:
        """The largest eccentricity among the satellites' mean elements."""
        if "_max_ecc" not in self.__dict__:
            self._max_ecc = max((sat.ecco for sat in self.satrecs), default=0.0)
        return self._max_ecc

    def positions_km(self, times: Times, **options) -> np.ndarray:
        """Earth-fixed positions, km, ``(time, satellite, 3)``; NaN where SGP4 failed."""
        return self.states(times, **options).position_km

    def iter_states(self, times: Times, *, max_bytes: int = STATES_CHUNK_BYTES,
                    knot_spacing_s: float | None = None) -> Iterator[States]:
        """:class:`States` over consecutive time chunks, each within about ``max_bytes`` of memory.

        The propagation method is chosen once for the whole window, so the chunks agree bit for bit with
        one call over all of ``times``.
        """
        if knot_spacing_s is None:
            knot_spacing_s = choose_knot_spacing_s(times, self.max_eccentricity)
        for chunk in times.chunks(chunk_steps(len(self), max_bytes)):
            yield self.states(chunk, knot_spacing_s=knot_spacing_s)


def _int_column(values, n: int) -> np.ndarray:
    if values is None:
        return np.full(n, -1, dtype=np.int64)
    return np.asarray(values, dtype=np.int64).reshape(n)


def _cat(parts, dtype=np.int64) -> np.ndarray:
    return np.concatenate(parts).astype(dtype) if parts else np.zeros(0, dtype=dtype)
