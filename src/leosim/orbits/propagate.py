"""Propagation of many satellites to many instants, in the Earth-fixed frame.

Numeric core on plain arrays: SGP4 (``SatrecArray``, C++) gives TEME positions and velocities; a rotation
by Greenwich mean sidereal time (IAU 1982, evaluated in UT1) turns them into the pseudo-Earth-fixed
frame, which is ITRS without polar motion (< 15 m, ignored). This is the TEME -> ITRS path of
AIAA 2006-6753 and of skyfield, against which the tests check it.

Shapes: positions and velocities ``(time, satellite, 3)`` in km and km/s, float64; error codes
``(time, satellite)`` uint8, 0 for success and SGP4's code otherwise (positions then NaN).

For fine time steps, :func:`propagate_ecef` can evaluate SGP4 only at knots on a fixed absolute grid
(every ``knot_spacing_s`` seconds of UTC) and fill the instants between by Lagrange interpolation through
the 8 nearest knots (degree 7) of TEME position and of TEME velocity. For a circular orbit of radius r and
mean motion n the error is about ``r (n h)^8 * 43 / 8!`` (h the knot spacing): 0.7 mm for LEO at
h = 120 s and micrometres at h = 60 s; SGP4's short-period terms bring the measured maximum at 120 s to
~1.5 mm (tests bound it at 2 mm against direct SGP4), far below the ~1 km accuracy of SGP4 elements. (Cubic
Hermite interpolation was not used: SGP4's velocities are not exact derivatives of its positions, which
costs centimetres.) The knots depend only on absolute time, so results do not depend on chunking.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sgp4.api import SatrecArray

from ..constants import J2000_JD, SECONDS_PER_DAY
from ..timebase import Times

DEFAULT_KNOT_SPACING_S = 120.0
"""Default SGP4 knot spacing for interpolated propagation, s (sub-millimetre in LEO, see module doc)."""

INTERPOLATION_MAX_ECCENTRICITY = 0.01
"""Interpolation is chosen automatically only when every orbit is this close to circular: the error
grows with the orbit's higher harmonics, whose amplitudes scale with powers of the eccentricity."""

_LAGRANGE_POINTS = 8
"""Knots per interpolated instant: a degree-7 polynomial through 4 knots on each side."""
_LAGRANGE_LEFT = 4
"""Knots at or before the instant (the rest follow it)."""

_TWO_PI = 2.0 * np.pi


@dataclass(frozen=True)
class States:
    """Earth-fixed states of N satellites at T instants.

    ``position_km`` and ``velocity_km_s`` are ``(T, N, 3)`` float64 in ITRS (no polar motion);
    ``error`` is ``(T, N)`` uint8 (0 = ok; SGP4's error code otherwise, with NaN position and velocity).
    """

    times: Times
    position_km: np.ndarray
    velocity_km_s: np.ndarray
    error: np.ndarray


def gmst82_rad(jd_ut1_whole, jd_ut1_fraction) -> tuple[np.ndarray, np.ndarray]:
    """Greenwich mean sidereal angle (IAU 1982) in rad and its rate in rad/s, from a two-part UT1 Julian date.

    AIAA 2006-6753 appendix C (the angle SGP4's TEME frame is defined with).
    """
    jd_ut1_whole = np.asarray(jd_ut1_whole, dtype=np.float64)
    jd_ut1_fraction = np.asarray(jd_ut1_fraction, dtype=np.float64)
    t = (jd_ut1_whole - J2000_JD + jd_ut1_fraction) / 36525.0
    g_s = 67310.54841 + (8640184.812866 + (0.093104 + (-6.2e-6) * t) * t) * t
    dg_s = 8640184.812866 + (0.093104 * 2.0 + (-6.2e-6 * 3.0) * t) * t
    theta = (jd_ut1_whole % 1.0 + jd_ut1_fraction + g_s / SECONDS_PER_DAY % 1.0) % 1.0 * _TWO_PI
    theta_dot = (1.0 + dg_s / (SECONDS_PER_DAY * 36525.0)) * _TWO_PI / SECONDS_PER_DAY
    return theta, theta_dot


def teme_to_ecef(r_teme_km, v_teme_km_s, theta_rad, theta_dot_rad_s, *, time_axis: int = 0):
    """Rotate TEME states to Earth-fixed (PEF = ITRS without polar motion).

    ``r_teme_km`` and ``v_teme_km_s`` are ``(T, N, 3)`` (``time_axis=0``) or ``(N, T, 3)`` (``time_axis=1``);
    ``theta_rad`` and ``theta_dot_rad_s`` are ``(T,)``. Returns new ``(T, N, 3)`` arrays: a transposed input
    is read in place, so the transpose costs no extra copy.
    """
    r = np.asarray(r_teme_km)
    v = np.asarray(v_teme_km_s)
    if time_axis == 1:
        r = r.transpose(1, 0, 2)
        v = v.transpose(1, 0, 2)
    cos_t = np.cos(theta_rad)[:, None]
    sin_t = np.sin(theta_rad)[:, None]
    omega = np.asarray(theta_dot_rad_s, dtype=np.float64)[:, None]
    out_r = np.empty(r.shape, dtype=np.float64)
    out_v = np.empty(v.shape, dtype=np.float64)
    x, y = r[..., 0], r[..., 1]
    out_r[..., 0] = cos_t * x + sin_t * y
    out_r[..., 1] = cos_t * y - sin_t * x
    out_r[..., 2] = r[..., 2]
    vx, vy = v[..., 0], v[..., 1]
    # v_pef = R v_teme + (-omega z_hat) x r_pef
    out_v[..., 0] = cos_t * vx + sin_t * vy + omega * out_r[..., 1]
    out_v[..., 1] = cos_t * vy - sin_t * vx - omega * out_r[..., 0]
    out_v[..., 2] = v[..., 2]
    return out_r, out_v


def sgp4_teme(satrec_array: SatrecArray, jd_utc_whole, jd_utc_fraction):
    """SGP4 at every instant: TEME ``(N, T, 3)`` km and km/s and error codes ``(N, T)`` uint8 (NaN on error)."""
    jd_utc_whole = np.ascontiguousarray(jd_utc_whole, dtype=np.float64)
    jd_utc_fraction = np.ascontiguousarray(jd_utc_fraction, dtype=np.float64)
    error, r, v = satrec_array.sgp4(jd_utc_whole, jd_utc_fraction)
    failed = error != 0
    if failed.any():
        r[failed] = np.nan
        v[failed] = np.nan
    return r, v, error.astype(np.uint8)


def _knot_grid(times: Times, knot_spacing_s: float):
    """Knots on the absolute grid of ``knot_spacing_s`` that the interpolation of ``times`` needs.

    Returns the knot :class:`Times`, each instant's interval index into the knots (its left knot) and its
    fraction ``s`` in [0, 1) of the interval.
    """
    knot_ns = round(knot_spacing_s * 1e9)
    utc_ns = times.utc.astype(np.int64)
    interval = utc_ns // knot_ns
    first = int(interval.min()) - (_LAGRANGE_LEFT - 1)
    last = int(interval.max()) + (_LAGRANGE_POINTS - _LAGRANGE_LEFT) + 1
    knots = Times._from_ns(np.arange(first, last, dtype=np.int64) * knot_ns)  # may pass a range end by minutes
    fraction = (utc_ns - interval * knot_ns) / knot_ns
    return knots, interval - first, fraction


def _lagrange_weights(s: np.ndarray) -> np.ndarray:
    """Lagrange weights ``(T, P)`` at fractions ``s`` for the P nodes ``-LEFT .. P-LEFT-1``."""
    nodes = np.arange(_LAGRANGE_POINTS, dtype=np.float64) - (_LAGRANGE_LEFT - 1)
    weights = np.ones((s.size, _LAGRANGE_POINTS))
    for j in range(_LAGRANGE_POINTS):
        for m in range(_LAGRANGE_POINTS):
            if m != j:
                weights[:, j] *= (s - nodes[m]) / (nodes[j] - nodes[m])
    return weights


def _interpolate_teme(r_k, v_k, e_k, index, s):
    """Lagrange interpolation of knot states ``(N, K, 3)`` at knot intervals ``index`` and fractions ``s``.

    Returns ``(T, N, 3)`` position and velocity and ``(T, N)`` error codes (the worst of the knots used).
    Instants that fall on a knot (``s == 0``) take that knot's SGP4 state as it is.
    """
    r_kt = np.ascontiguousarray(r_k.transpose(1, 0, 2))
    v_kt = np.ascontiguousarray(v_k.transpose(1, 0, 2))
    e_kt = np.ascontiguousarray(e_k.T)
    position = np.empty((s.size, *r_kt.shape[1:]))
    velocity = np.empty_like(position)
    error = np.empty((s.size, r_kt.shape[1]), dtype=np.uint8)
    on_knot = s == 0.0
    exact = index[on_knot]
    position[on_knot], velocity[on_knot], error[on_knot] = r_kt[exact], v_kt[exact], e_kt[exact]
    between = np.flatnonzero(~on_knot)
    if between.size:
        left = index[between]
        weights = _lagrange_weights(s[between])
        pos = np.zeros((between.size, *r_kt.shape[1:]))
        vel = np.zeros_like(pos)
        err = np.zeros((between.size, r_kt.shape[1]), dtype=np.uint8)
        for j in range(_LAGRANGE_POINTS):
            knot = left + j - (_LAGRANGE_LEFT - 1)
            w = weights[:, j, None, None]
            pos += w * r_kt[knot]
            vel += w * v_kt[knot]
            np.maximum(err, e_kt[knot], out=err)
        position[between], velocity[between], error[between] = pos, vel, err
    return position, velocity, error


def choose_knot_spacing_s(times: Times, max_eccentricity: float = 0.0) -> float:
    """The knot spacing (s) to use for ``times``: :data:`DEFAULT_KNOT_SPACING_S` when the instants are at
    most half a knot interval apart (interpolation then saves SGP4 work) and every orbit is near-circular,
    else 0 (SGP4 at every instant). Decided once for a whole window so that its chunks agree."""
    if len(times) < 2 or max_eccentricity > INTERPOLATION_MAX_ECCENTRICITY:
        return 0.0
    step_s = float(np.median(np.diff(times.utc.astype(np.int64)))) / 1e9
    return DEFAULT_KNOT_SPACING_S if 0 < step_s <= DEFAULT_KNOT_SPACING_S / 2 else 0.0


def propagate_ecef(satrec_array: SatrecArray, times: Times, *, knot_spacing_s: float | None = None) -> States:
    """Earth-fixed states of every satellite at every instant (see :class:`States`).

    ``knot_spacing_s=0`` runs SGP4 at every instant; a positive value evaluates SGP4 at knots on that grid
    and interpolates; ``None`` chooses with :func:`choose_knot_spacing_s` (assuming near-circular orbits:
    :meth:`Constellation.states` checks the eccentricities).
    """
    if len(times) == 0:
        empty = np.zeros((0, len(satrec_array), 3))
        return States(times, empty, empty.copy(), np.zeros((0, len(satrec_array)), dtype=np.uint8))
    theta, theta_dot = gmst82_rad(*times.jd_ut1)
    spacing = choose_knot_spacing_s(times) if knot_spacing_s is None else knot_spacing_s
    if spacing > 0:
        knots, index, s = _knot_grid(times, spacing)
        r_k, v_k, e_k = sgp4_teme(satrec_array, *knots.jd_utc)
        r_teme, v_teme, error = _interpolate_teme(r_k, v_k, e_k, index, s)
        position, velocity = teme_to_ecef(r_teme, v_teme, theta, theta_dot)
    else:
        r_teme, v_teme, error_nt = sgp4_teme(satrec_array, *times.jd_utc)
        position, velocity = teme_to_ecef(r_teme, v_teme, theta, theta_dot, time_axis=1)
        error = np.ascontiguousarray(error_nt.T)
    return States(times, position, velocity, error)


def chunk_steps(n_satellites: int, max_bytes: int) -> int:
    """How many instants fit in ``max_bytes`` of position + velocity + error arrays (at least one)."""
    per_step = max(1, n_satellites) * (2 * 3 * 8 + 1) * 2  # x2: interpolation temporaries
    return max(1, int(max_bytes // per_step))
