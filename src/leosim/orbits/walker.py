"""Walker shells built straight into SGP4 records (``sgp4init``), with no round trip through TLE text.

A shell has ``planes`` orbital planes of ``sats_per_plane`` satellites each, all circular at one
altitude and inclination. Plane ``p`` has right ascension of the ascending node
``raan_offset_deg + p * raan_spread_deg / planes``; slot ``s`` of plane ``p`` has mean anomaly
``s * 360 / sats_per_plane + phase(p)``, where ``phase(p)`` is the Walker-delta phasing
``p * F * 360 / (planes * sats_per_plane)`` or an explicit per-plane offset.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from sgp4.api import WGS72, Satrec

from ..constants import MINUTES_PER_DAY, SGP4_EPOCH_JD, WGS72_J2, WGS72_RADIUS_KM, WGS72_XKE_PER_MIN
from ..errors import LeosimInputError
from ..timebase import parse_utc


@dataclass(frozen=True)
class WalkerShell:
    """Parameters of one Walker shell. Angles in degrees, altitude in km above SGP4's equatorial radius.

    ``altitude_km`` is the mean altitude: SGP4's Brouwer mean semi-major axis is ``6378.135 + altitude_km``
    (the osculating altitude oscillates around it by a few km because of J2 and the Earth's flattening).
    ``mean_motion_rev_per_day`` overrides the altitude when given (as Hypatia's Starlink-550 shell does).
    ``phasing_f`` is Walker's F (0 <= F < planes); ``plane_phase_offset_deg`` gives an explicit offset of the
    mean anomaly per plane instead (a sequence of ``planes`` values).
    """

    altitude_km: float
    inclination_deg: float
    planes: int
    sats_per_plane: int
    phasing_f: int = 0
    plane_phase_offset_deg: Sequence[float] | None = None
    raan_spread_deg: float = 360.0
    raan_offset_deg: float = 0.0
    eccentricity: float = 0.0
    arg_perigee_deg: float = 0.0
    mean_motion_rev_per_day: float | None = None
    epoch_utc: str = "2024-01-01T00:00:00Z"
    name: str = ""
    extra: dict = field(default_factory=dict, compare=False, repr=False)

    @property
    def size(self) -> int:
        """Number of satellites in the shell."""
        return self.planes * self.sats_per_plane

    def validate(self) -> None:
        """Raise :class:`LeosimInputError` if a parameter is out of range."""
        checks = [
            (self.planes >= 1, "planes", "must be >= 1"),
            (self.sats_per_plane >= 1, "sats_per_plane", "must be >= 1"),
            (0 <= self.inclination_deg <= 180, "inclination_deg", "must be within 0..180"),
            (80 <= self.altitude_km <= 100_000 or self.mean_motion_rev_per_day is not None,
             "altitude_km", "must be within 80..100000 km"),
            (0 <= self.eccentricity < 1, "eccentricity", "must be within [0, 1)"),
            (0 <= self.phasing_f < max(self.planes, 1), "phasing_f", "must be within 0..planes-1"),
            (self.mean_motion_rev_per_day is None or self.mean_motion_rev_per_day > 0,
             "mean_motion_rev_per_day", "must be > 0"),
        ]
        for ok, name, what in checks:
            if not ok:
                raise LeosimInputError(f"{what}, got {getattr(self, name)!r}", source=self.name or "shell",
                                       field=name)
        if self.plane_phase_offset_deg is not None and len(self.plane_phase_offset_deg) != self.planes:
            raise LeosimInputError(f"needs one offset per plane ({self.planes}), got "
                                   f"{len(self.plane_phase_offset_deg)}", source=self.name or "shell",
                                   field="plane_phase_offset_deg")


def kozai_mean_motion_rad_min(semi_major_axis_km: float, eccentricity: float, inclination_rad: float) -> float:
    """The Kozai mean motion (rad/min) that SGP4 turns into the given Brouwer mean semi-major axis.

    Inverts SGP4's initialisation (``initl``: Kozai -> Brouwer) by fixed-point iteration.
    """
    a0_er = semi_major_axis_km / WGS72_RADIUS_KM
    target_unkozai = WGS72_XKE_PER_MIN / a0_er**1.5
    cos_i = math.cos(inclination_rad)
    k = 0.75 * WGS72_J2 * (3.0 * cos_i * cos_i - 1.0) / (1.0 - eccentricity**2) ** 1.5
    no_kozai = target_unkozai
    for _ in range(20):
        a1 = (WGS72_XKE_PER_MIN / no_kozai) ** (2.0 / 3.0)
        del1 = k / (a1 * a1)
        a0 = a1 * (1.0 - del1 * (1.0 / 3.0 + del1 * (1.0 + 134.0 / 81.0 * del1)))
        del0 = k / (a0 * a0)
        no_kozai = target_unkozai * (1.0 + del0)
    return no_kozai


def sgp4_epoch_days(epoch_utc) -> float:
    """Days since 1949-12-31 00:00 UTC, the epoch argument of ``sgp4init``."""
    ns = parse_utc(epoch_utc, source="epoch").astype(np.int64)
    return (ns / 1e9) / 86_400.0 + 2_440_587.5 - SGP4_EPOCH_JD


def shell_elements(shell: WalkerShell) -> dict[str, np.ndarray]:
    """Plane, slot, RAAN (rad) and mean anomaly (rad) of every satellite, plane-major order."""
    planes = np.repeat(np.arange(shell.planes), shell.sats_per_plane)
    slots = np.tile(np.arange(shell.sats_per_plane), shell.planes)
    raan_deg = shell.raan_offset_deg + planes * shell.raan_spread_deg / shell.planes
    if shell.plane_phase_offset_deg is not None:
        phase_deg = np.asarray(shell.plane_phase_offset_deg, dtype=np.float64)[planes]
    else:
        phase_deg = planes * shell.phasing_f * 360.0 / shell.size
    mean_anomaly_deg = slots * 360.0 / shell.sats_per_plane + phase_deg
    return {"plane": planes, "slot": slots,
            "raan_rad": np.radians(np.mod(raan_deg, 360.0)),
            "mean_anomaly_rad": np.radians(np.mod(mean_anomaly_deg, 360.0))}


def shell_satrecs(shell: WalkerShell, first_satnum: int = 0) -> list[Satrec]:
    """SGP4 records (WGS72, improved mode) of every satellite of the shell, plane-major order.

    One ``sgp4init`` call per satellite: this runs once when the constellation is built, not per step.
    """
    shell.validate()
    elements = shell_elements(shell)
    inclination_rad = math.radians(shell.inclination_deg)
    if shell.mean_motion_rev_per_day is not None:
        no_kozai = shell.mean_motion_rev_per_day * 2.0 * math.pi / MINUTES_PER_DAY
    else:
        no_kozai = kozai_mean_motion_rad_min(WGS72_RADIUS_KM + shell.altitude_km, shell.eccentricity,
                                             inclination_rad)
    epoch_days = sgp4_epoch_days(shell.epoch_utc)
    argp_rad = math.radians(shell.arg_perigee_deg)
    satrecs = []
    for k, (raan, mean_anomaly) in enumerate(zip(elements["raan_rad"].tolist(),
                                                 elements["mean_anomaly_rad"].tolist(), strict=True)):
        sat = Satrec()
        sat.sgp4init(WGS72, "i", (first_satnum + k) % 100_000, epoch_days, 0.0, 0.0, 0.0,
                     shell.eccentricity, argp_rad, inclination_rad, mean_anomaly, no_kozai, raan)
        satrecs.append(sat)
    return satrecs
