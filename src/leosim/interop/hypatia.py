"""Hypatia (satgenpy) interoperability: read a satgenpy folder, write its dynamic state.

A satgenpy output folder holds ``tles.txt`` (a header ``orbits sats_per_orbit``, then one 3-line entry per
satellite), ``isls.txt`` (``a b`` per line), ``ground_stations.txt`` (or ``ground_stations.basic.txt``),
``description.txt`` (``max_gsl_length_m=...``, ``max_isl_length_m=...``) and usually
``gsl_interfaces_info.txt``. :func:`read_satgenpy_folder` reads it into a :class:`HypatiaNetwork`;
:func:`write_dynamic_state` writes ``dynamic_state_<step_ms>ms_for_<duration_s>s/`` with the
``fstate_<t_ns>.txt`` and ``gsl_if_bandwidth_<t_ns>.txt`` files that satgenpy's
``algorithm_free_one_only_over_isls`` writes (one GSL interface per node), so that Hypatia's ns-3 part can
run on them unchanged. The conventions and the routing are described in :mod:`leosim.interop.hypatia_fstate`.

Time. satgenpy propagates from the epoch of its TLEs (all entries must share it) and names files by the
nanoseconds since that epoch; leosim does the same, reading the epoch as UTC, as satgenpy's PyEphem does.

Positions, and how they differ from satgenpy's. satgenpy computes every distance with PyEphem (libastro's
own SGP4 port, ISL lengths from two topocentric ranges and their angular separation, Earth rotation from
UTC taken as UT1); leosim propagates with the ``sgp4`` library (Vallado's SGP4, WGS72) and rotates TEME to
the Earth-fixed frame with GMST 1982. With ``earth_rotation="utc"`` (the default here, Hypatia's
convention) leosim also evaluates GMST at UTC, and the remaining differences are those of the two SGP4
implementations and of libastro's geometry: measured against satgenpy 0.4.0 on an 18 x 18 shell at 550 km
(tests/test_hypatia_reference.py) they are at most 58 m on ground-to-satellite ranges and 17 m on ISL
lengths (libastro's orbits come out ~30 m higher), far below 1e-4 of paths that are at least ~1,600 km
long: RTTs agree within 0.002 %, and the next hops are the same except on near-ties. With
``earth_rotation="ut1"`` leosim uses its physically correct rotation (UT1 from the IERS table); for
Hypatia's TLE epoch 2000-01-01, UT1 - UTC = +0.355 s turns the Earth 26 arcseconds further, which moves
ground-to-satellite ranges by up to ~0.2 km relative to satgenpy (RTTs then agree within 0.008 %).

What is not modelled (as in satgenpy): no elevation mask (a ground station links to every satellite within
the maximum GSL length), no Earth blocking of ISLs (only their maximum length, which raises when exceeded).
"""

from __future__ import annotations

import itertools
import math
import multiprocessing
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.spatial.distance import cdist

from ..errors import LeosimInputError
from ..ground.sites import Sites
from ..network.links import plus_grid_isls as grid_isls
from ..orbits.constellation import Constellation
from ..orbits.elements import parse_tle_lines
from ..orbits.propagate import gmst82_rad
from ..output import output_errors, remove_stale_staging, staging_dir, swap_into_place
from ..timebase import Times, instant_count
from .hypatia_fstate import InterfaceTable, fstate_text, gsl_bandwidth_text, next_hops

__all__ = [
    "DEFAULT_GSL_BANDWIDTH",
    "HypatiaNetwork",
    "dynamic_state_dirname",
    "plus_grid_isls",
    "read_satgenpy_folder",
    "satellite_positions_km",
    "write_dynamic_state",
]

TLES_FILE = "tles.txt"
ISLS_FILE = "isls.txt"
GROUND_STATIONS_FILES = ("ground_stations.txt", "ground_stations.basic.txt")
DESCRIPTION_FILE = "description.txt"
GSL_INTERFACES_FILE = "gsl_interfaces_info.txt"

DEFAULT_GSL_BANDWIDTH = 1.0
"""Aggregate GSL bandwidth of every node when the folder has no gsl_interfaces_info.txt (satgenpy's
``main_helper`` writes 1.0 for satellites and ground stations; its unit is the user's)."""

M_PER_KM = 1000.0
NS_PER_S = 1_000_000_000
NS_PER_MS = 1_000_000
_CHUNK_STEPS = 64
"""Instants propagated at once by :func:`write_dynamic_state` (memory: 64 x N x 3 floats, a few MB)."""
EARTH_ROTATIONS = ("utc", "ut1")


@dataclass(frozen=True, eq=False)
class HypatiaNetwork:
    """A satgenpy network: satellites (node ids ``0..N-1``), ground stations (``N..N+M-1``) and ISLs.

    ``isls`` is ``(K, 2)`` int64 in file order (the order fixes interface numbers); ``epoch`` is the UTC
    instant that Hypatia's ``t_ns`` counts from; ``gsl_bandwidth`` is ``(N + M,)`` float64, each node's
    aggregate GSL bandwidth (written to ``gsl_if_bandwidth_0.txt``).
    """

    constellation: Constellation
    sites: Sites
    isls: np.ndarray
    max_gsl_length_km: float
    max_isl_length_km: float
    epoch: np.datetime64
    gsl_bandwidth: np.ndarray | None = None
    source: str = ""

    @property
    def num_satellites(self) -> int:
        return len(self.constellation)

    @property
    def num_ground_stations(self) -> int:
        return len(self.sites)

    def bandwidth(self) -> np.ndarray:
        """``(N + M,)`` aggregate GSL bandwidths (:data:`DEFAULT_GSL_BANDWIDTH` when none were given)."""
        if self.gsl_bandwidth is not None:
            return np.asarray(self.gsl_bandwidth, dtype=np.float64)
        return np.full(self.num_satellites + self.num_ground_stations, DEFAULT_GSL_BANDWIDTH)


# ---------------------------------------------------------------------------------------------- reading

def _read_lines(path: Path) -> list[str]:
    try:
        with open(path, encoding="utf-8-sig") as stream:
            return stream.read().splitlines()
    except FileNotFoundError:
        raise LeosimInputError("file not found; a satgenpy folder needs tles.txt, isls.txt, "
                               "ground_stations.txt (or ground_stations.basic.txt) and description.txt",
                               source=str(path)) from None
    except OSError as exc:
        raise LeosimInputError(f"cannot read the file: {exc.strerror or exc}", source=str(path)) from None
    except UnicodeDecodeError as exc:
        raise LeosimInputError(f"not UTF-8 text ({exc.reason} at byte {exc.start})", source=str(path)) from None


def _positive_int(text: str, source: str, line: int, field: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise LeosimInputError(f"{text!r} is not an integer; expected a positive integer", source=source,
                               line=line, field=field) from None
    if value <= 0:
        raise LeosimInputError(f"{value} is not positive; expected a positive integer", source=source,
                               line=line, field=field)
    return value


def _read_tles(path: Path) -> tuple[Constellation, np.datetime64]:
    source = str(path)
    lines = _read_lines(path)
    numbered = [(i + 1, text) for i, text in enumerate(lines) if text.strip()]
    if not numbered:
        raise LeosimInputError("empty file; expected a header 'orbits sats_per_orbit' then 3-line TLE entries",
                               source=source)
    header_line, header = numbered[0]
    parts = header.split()
    if len(parts) != 2:
        raise LeosimInputError(f"header {header.strip()!r} must be two integers 'orbits sats_per_orbit'",
                               source=source, line=header_line, field="header")
    orbits = _positive_int(parts[0], source, header_line, "orbits")
    per_orbit = _positive_int(parts[1], source, header_line, "sats_per_orbit")
    body = numbered[1:]
    for k, (number, text) in enumerate(body):
        expected = ("name", "1", "2")[k % 3]
        kind = text[:2]
        if expected == "name" and kind in ("1 ", "2 "):
            raise LeosimInputError("expected a name line (satgenpy entries have 3 lines: name, line 1, line 2)",
                                   source=source, line=number, field="name")
        if expected != "name" and kind != expected + " ":
            raise LeosimInputError(f"expected TLE line {expected} of the entry that starts on line "
                                   f"{body[k - k % 3][0]}", source=source, line=number, field="line_number")
    if len(body) % 3:
        raise LeosimInputError("the last entry is incomplete: entries have 3 lines (name, line 1, line 2)",
                               source=source, line=body[-1][0])
    count = len(body) // 3
    if count != orbits * per_orbit:
        raise LeosimInputError(f"{count} satellite entries, but the header says {orbits} orbits x {per_orbit} "
                               f"= {orbits * per_orbit}", source=source, line=header_line, field="header")
    elements = parse_tle_lines(lines[header_line:], source=source, first_line_number=header_line + 1)
    epochs = elements.epochs_utc
    differing = np.flatnonzero(epochs != epochs[0])
    if differing.size:
        k = int(differing[0])
        raise LeosimInputError(f"epoch {epochs[k]} differs from the first entry's {epochs[0]}; satgenpy "
                               "requires one epoch for all satellites", source=source, line=body[3 * k + 1][0],
                               field="epoch_day")
    index = np.arange(count)
    constellation = Constellation(elements.satrecs, sat_id=elements.sat_ids, name=elements.names,
                                  shell=np.zeros(count, dtype=np.int64), plane=index // per_orbit,
                                  slot=index % per_orbit, epoch_utc=epochs, description=source)
    return constellation, epochs[0]


def _read_isls(path: Path, num_satellites: int) -> np.ndarray:
    source = str(path)
    pairs: list[tuple[int, int]] = []
    seen: dict[tuple[int, int], int] = {}
    for number, text in enumerate(_read_lines(path), start=1):
        parts = text.split()
        if not parts:
            continue
        if len(parts) != 2:
            raise LeosimInputError(f"{len(parts)} fields; expected two satellite indices 'a b'", source=source,
                                   line=number)
        values = []
        for field, part in zip(("a", "b"), parts, strict=True):
            try:
                value = int(part)
            except ValueError:
                raise LeosimInputError(f"{part!r} is not an integer satellite index", source=source,
                                       line=number, field=field) from None
            if not 0 <= value < num_satellites:
                raise LeosimInputError(f"satellite {value} does not exist; accepted: 0..{num_satellites - 1}",
                                       source=source, line=number, field=field)
            values.append(value)
        a, b = values
        if b <= a:
            raise LeosimInputError(f"{a} {b}: the second index must be larger than the first (satgenpy's rule)",
                                   source=source, line=number, field="b")
        if (a, b) in seen:
            raise LeosimInputError(f"duplicate ISL {a} {b} (first on line {seen[(a, b)]})", source=source,
                                   line=number)
        seen[(a, b)] = number
        pairs.append((a, b))
    return np.array(pairs, dtype=np.int64).reshape(-1, 2)


def _read_ground_stations(folder: Path) -> Sites:
    for name in GROUND_STATIONS_FILES:
        path = folder / name
        if path.exists():
            break
    else:
        raise LeosimInputError(f"no {' or '.join(GROUND_STATIONS_FILES)} in the folder", source=str(folder))
    sites = Sites.from_hypatia(path)
    lines = [i + 1 for i, text in enumerate(_read_lines(path)) if text.strip()]
    expected = np.arange(len(sites)).astype(str)
    bad = np.flatnonzero(sites.ids != expected)
    if bad.size:
        k = int(bad[0])
        raise LeosimInputError(f"ground-station id {sites.ids[k]}; ids must be 0, 1, 2, ... in file order "
                               f"(expected {k})", source=str(path), line=lines[k], field="gid")
    return sites


def _read_description(path: Path) -> tuple[float, float]:
    source = str(path)
    values: dict[str, float] = {}
    for number, text in enumerate(_read_lines(path), start=1):
        if not text.strip():
            continue
        key, sep, value = text.partition("=")
        key = key.strip()
        if not sep:
            raise LeosimInputError(f"{text.strip()!r} is not 'key=value'", source=source, line=number)
        if key not in ("max_gsl_length_m", "max_isl_length_m"):
            continue
        try:
            number_value = float(value)
        except ValueError:
            raise LeosimInputError(f"{value.strip()!r} is not a number; expected a length in metres",
                                   source=source, line=number, field=key) from None
        if not (math.isfinite(number_value) and number_value > 0):
            raise LeosimInputError(f"{value.strip()} is not a positive length in metres", source=source,
                                   line=number, field=key)
        values[key] = number_value
    for key in ("max_gsl_length_m", "max_isl_length_m"):
        if key not in values:
            raise LeosimInputError("missing; expected a line 'max_gsl_length_m=...' and one "
                                   "'max_isl_length_m=...'", source=source, field=key)
    return values["max_gsl_length_m"] / M_PER_KM, values["max_isl_length_m"] / M_PER_KM


def _read_gsl_interfaces(path: Path, num_nodes: int) -> np.ndarray:
    source = str(path)
    bandwidth = []
    for number, text in enumerate(_read_lines(path), start=1):
        if not text.strip():
            continue
        parts = [p.strip() for p in text.split(",")]
        if len(parts) != 3:
            raise LeosimInputError(f"{len(parts)} fields; expected 'node_id,number_of_interfaces,bandwidth'",
                                   source=source, line=number)
        node = len(bandwidth)
        if parts[0] != str(node):
            raise LeosimInputError(f"node id {parts[0]!r}; ids must be 0, 1, 2, ... (expected {node})",
                                   source=source, line=number, field="node_id")
        if parts[1] != "1":
            raise LeosimInputError(f"{parts[1]!r} GSL interfaces; algorithm_free_one_only_over_isls needs exactly "
                                   "1 per node", source=source, line=number, field="number_of_interfaces")
        try:
            value = float(parts[2])
        except ValueError:
            value = math.nan
        if not (math.isfinite(value) and value > 0):
            raise LeosimInputError(f"{parts[2]!r} is not a positive bandwidth", source=source, line=number,
                                   field="aggregate_max_bandwidth")
        bandwidth.append(value)
    if len(bandwidth) != num_nodes:
        raise LeosimInputError(f"{len(bandwidth)} nodes; expected one line per satellite and ground station "
                               f"({num_nodes})", source=source)
    return np.array(bandwidth, dtype=np.float64)


def read_satgenpy_folder(path) -> HypatiaNetwork:
    """Read a satgenpy output folder into a :class:`HypatiaNetwork` (see the module docstring for the files).

    Satellite ``i`` is the ``i``-th TLE entry, with plane ``i // sats_per_orbit``, slot ``i % sats_per_orbit``
    and shell 0. Ground stations come from ``ground_stations.txt`` (else ``ground_stations.basic.txt``); their
    ids must be ``0..M-1`` in order. ``gsl_interfaces_info.txt`` is optional (bandwidth 1.0 without it).
    Any malformed file raises :class:`LeosimInputError` naming the file, line and field.
    """
    folder = Path(path)
    if not folder.is_dir():
        raise LeosimInputError("not a folder; expected a satgenpy output folder", source=str(folder))
    constellation, epoch = _read_tles(folder / TLES_FILE)
    isls = _read_isls(folder / ISLS_FILE, len(constellation))
    sites = _read_ground_stations(folder)
    max_gsl_km, max_isl_km = _read_description(folder / DESCRIPTION_FILE)
    interfaces = folder / GSL_INTERFACES_FILE
    bandwidth = _read_gsl_interfaces(interfaces, len(constellation) + len(sites)) if interfaces.exists() else None
    return HypatiaNetwork(constellation, sites, isls, max_gsl_km, max_isl_km, epoch, bandwidth, str(folder))


def plus_grid_isls(planes: int, sats_per_plane: int, shift: int = 0, first_index: int = 0) -> np.ndarray:
    """Hypatia's plus-grid ISLs, ``(2 * planes * sats_per_plane, 2)`` int64, in satgenpy's order.

    For each satellite ``(p, s)`` (index ``p * sats_per_plane + s``) in index order: the link to ``(p, s+1)``
    then the link to ``(p+1, s+shift)``, both wrapping around, each written as (lower, higher) index. This
    order fixes the interface numbers, so it matches satgenpy's ``generate_plus_grid_isls``.
    """
    if planes < 3 or sats_per_plane < 3:
        raise LeosimInputError("a plus grid needs at least 3 planes and 3 satellites per plane",
                               field="planes/sats_per_plane")
    plane, slot = np.divmod(np.arange(planes * sats_per_plane), sats_per_plane)
    return grid_isls(np.zeros_like(plane), plane, slot, shift=shift) + first_index


# ---------------------------------------------------------------------------------------------- writing

def _number_text(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def dynamic_state_dirname(duration_s: float, step_ms: float) -> str:
    """``dynamic_state_<step_ms>ms_for_<duration_s>s`` as satgenpy names it (integers without a decimal point)."""
    return f"dynamic_state_{_number_text(step_ms)}ms_for_{_number_text(duration_s)}s"


def satellite_positions_km(network: HypatiaNetwork, t_ns: np.ndarray, earth_rotation: str = "utc") -> np.ndarray:
    """Earth-fixed satellite positions, km, ``(T, N, 3)``, at ``t_ns`` nanoseconds after the network's epoch.

    SGP4 at every instant (no interpolation), so each instant's result does not depend on which other
    instants are computed with it. ``earth_rotation="utc"`` rotates the Earth by GMST evaluated at UTC
    (satgenpy/PyEphem's convention), ``"ut1"`` at UT1 (leosim's default elsewhere).
    """
    if earth_rotation not in EARTH_ROTATIONS:
        raise LeosimInputError(f"unknown earth_rotation {earth_rotation!r}; accepted: {', '.join(EARTH_ROTATIONS)}",
                               field="earth_rotation")
    epoch_ns = int(np.datetime64(network.epoch, "ns").astype(np.int64))
    times = Times((epoch_ns + np.asarray(t_ns, dtype=np.int64)).astype("datetime64[ns]"))
    position = network.constellation.states(times, knot_spacing_s=0.0).position_km
    if earth_rotation == "utc":
        theta_utc, _ = gmst82_rad(*times.jd_utc)
        theta_ut1, _ = gmst82_rad(*times.jd_ut1)
        delta = (theta_utc - theta_ut1)[:, None]
        cos_d, sin_d = np.cos(delta), np.sin(delta)
        x, y = position[..., 0].copy(), position[..., 1].copy()
        position[..., 0] = cos_d * x + sin_d * y
        position[..., 1] = cos_d * y - sin_d * x
    return position


def _step_lengths(network: HypatiaNetwork, position_km: np.ndarray, t_ns: int) -> tuple[np.ndarray, np.ndarray]:
    """ISL lengths ``(K,)`` and GSL lengths ``(M, N)`` (inf beyond the maximum) at one instant; raises on a
    too-long ISL as satgenpy does."""
    isls = network.isls
    isl_km = np.linalg.norm(position_km[isls[:, 0]] - position_km[isls[:, 1]], axis=1)
    bad = np.flatnonzero(~(isl_km <= network.max_isl_length_km))
    if bad.size:
        k = int(bad[0])
        a, b = isls[k].tolist()
        instant = np.datetime64(network.epoch, "ns") + np.timedelta64(int(t_ns), "ns")
        raise LeosimInputError(
            f"ISL {a}-{b} (link {k} of the ISL list) is {isl_km[k] * M_PER_KM:.2f} m long at t={t_ns} ns "
            f"({instant}Z), more than max_isl_length_m={network.max_isl_length_km * M_PER_KM:.2f}; satgenpy "
            "refuses such a network too", source=network.source or None, field="max_isl_length_m")
    gsl_km = cdist(network.sites.ecef_km, position_km)
    gsl_km[~(gsl_km <= network.max_gsl_length_km)] = np.inf
    return isl_km, gsl_km


def _write_block(network: HypatiaNetwork, folder: Path, step_ns: int, first: int, stop: int,
                 earth_rotation: str) -> None:
    """Write steps ``first..stop-1``; the first one as a diff against step ``first - 1`` unless ``first == 0``."""
    table = InterfaceTable(network.isls, network.num_satellites)
    start = max(first - 1, 0)
    previous = None
    for chunk_start in range(start, stop, _CHUNK_STEPS):
        steps = np.arange(chunk_start, min(chunk_start + _CHUNK_STEPS, stop), dtype=np.int64)
        t_all = steps * step_ns
        positions = satellite_positions_km(network, t_all, earth_rotation)
        for k, t_ns, position in zip(steps.tolist(), t_all.tolist(), positions, strict=True):
            isl_km, gsl_km = _step_lengths(network, position, t_ns)
            hops = next_hops(network.isls, isl_km, gsl_km)
            if k >= first:
                (folder / f"fstate_{t_ns}.txt").write_text(fstate_text(hops, table, previous), encoding="ascii")
                bandwidth = gsl_bandwidth_text(table.num_isls_per_sat, network.bandwidth()) if t_ns == 0 else ""
                (folder / f"gsl_if_bandwidth_{t_ns}.txt").write_text(bandwidth, encoding="ascii")
            previous = hops


_FORK_JOB: tuple | None = None
"""(network, folder, step_ns, earth_rotation) for forked workers (Satrec objects cannot be pickled)."""


def _fork_worker(block: tuple[int, int]) -> None:
    network, folder, step_ns, earth_rotation = _FORK_JOB
    _write_block(network, folder, step_ns, block[0], block[1], earth_rotation)


def write_dynamic_state(network: HypatiaNetwork, out_dir, duration_s: float, step_ms: float, workers: int = 1,
                        *, earth_rotation: str = "utc") -> Path:
    """Write Hypatia's dynamic state for ``algorithm_free_one_only_over_isls``; return the folder written.

    Creates ``out_dir/dynamic_state_<step_ms>ms_for_<duration_s>s/`` with, for every ``t_ns = k * step``
    (``k = 0 .. floor(duration / step) - 1``): ``fstate_<t_ns>.txt`` (complete at t = 0, then only the
    entries that changed) and ``gsl_if_bandwidth_<t_ns>.txt`` (``node,interface,bandwidth`` lines at t = 0,
    empty afterwards, as satgenpy leaves them). The folder is written under a temporary name and renamed when
    complete (an existing folder of the same name is replaced). ``workers > 1`` splits the steps into
    contiguous blocks computed by forked processes (each block first computes the step before it, to write
    diffs); the files are byte-identical for any number of workers. An ISL longer than the maximum raises
    :class:`LeosimInputError` naming the link and the instant. See the module docstring for
    ``earth_rotation``.
    """
    # Check finiteness before rounding: round() raises on NaN and infinity.
    step_ns = round(float(step_ms) * NS_PER_MS) if math.isfinite(float(step_ms)) else 0
    if not (step_ns > 0 and step_ns == float(step_ms) * NS_PER_MS):
        raise LeosimInputError(f"step {step_ms} ms must be positive and a whole number of nanoseconds",
                               field="step_ms")
    if not (math.isfinite(float(duration_s)) and duration_s > 0):
        raise LeosimInputError(f"duration {duration_s} s must be a positive number of seconds", field="duration_s")
    n_steps = round(float(duration_s) * NS_PER_S) // step_ns
    if n_steps < 1:
        raise LeosimInputError(f"duration {duration_s} s is shorter than one step of {step_ms} ms",
                               field="duration_s")
    instant_count(float(duration_s), float(step_ms) / 1000.0)  # refuses an absurd number of steps
    if int(workers) < 1:
        raise LeosimInputError(f"workers must be >= 1, got {workers}", field="workers")
    if earth_rotation not in EARTH_ROTATIONS:
        raise LeosimInputError(f"unknown earth_rotation {earth_rotation!r}; accepted: {', '.join(EARTH_ROTATIONS)}",
                               field="earth_rotation")
    final = Path(out_dir) / dynamic_state_dirname(duration_s, step_ms)
    with output_errors(final):
        remove_stale_staging(final)
        tmp = staging_dir(final)
        try:
            workers = min(int(workers), n_steps)
            bounds = np.linspace(0, n_steps, workers + 1).round().astype(int)
            blocks = [(int(a), int(b)) for a, b in itertools.pairwise(bounds.tolist()) if b > a]
            if len(blocks) > 1 and "fork" in multiprocessing.get_all_start_methods():
                global _FORK_JOB
                _FORK_JOB = (network, tmp, step_ns, earth_rotation)
                try:
                    with multiprocessing.get_context("fork").Pool(len(blocks)) as pool:
                        pool.map(_fork_worker, blocks, chunksize=1)
                finally:
                    _FORK_JOB = None
            else:
                for first, stop in blocks:
                    _write_block(network, tmp, step_ns, first, stop, earth_rotation)
            swap_into_place(tmp, final)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return final
