"""Parameters of the capacity model: one :class:`CapacityParams` per constellation or satellite generation.

Every default is a named constant below with its unit and source. Override any of them per scenario with
``dataclasses.replace(params, name=value)`` or ``CapacityParams(...)``; :func:`capacity_preset` gives the
sets for Starlink v1.5 and v2 mini. Figures marked *assumption* have no public source; they are stated so
a user can change them, and ``docs/capacity.md`` lists them all.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np

from ..constants import DEFAULT_MIN_ELEVATION_DEG
from ..errors import LeosimInputError
from .modcod import DVB_S2X_MODCODS

# ----- user downlink / uplink (Ku band) ---------------------------------------------------------------------
DOWNLINK_FREQUENCY_GHZ = 12.7
"""User downlink carrier frequency, GHz: the top of Starlink's 10.7-12.7 GHz Ku downlink band (the worst
path loss in the band; SpaceX FCC filings, SAT-LOA-20161115-00118, Technical Attachment)."""
UPLINK_FREQUENCY_GHZ = 14.5
"""User uplink carrier frequency, GHz: the top of the 14.0-14.5 GHz Ku uplink band (same filing)."""
SATELLITE_EIRP_DBW = 66.89
"""Satellite EIRP towards a user beam, dBW (public FCC-filing value quoted in leosim issue 12)."""
TERMINAL_GT_DB_K = 9.2
"""User terminal receive figure of merit G/T, dB/K (public FCC-filing value quoted in leosim issue 12)."""
TERMINAL_EIRP_DBW = 38.0
"""User terminal EIRP, dBW. *Assumption* (order of the values in SpaceX's user-terminal filings); used for
the uplink only."""
SATELLITE_GT_DB_K = 9.8
"""Satellite receive G/T for the user uplink, dB/K. *Assumption* (order of the values in SpaceX's Ku-band
Schedule S); used for the uplink only."""
DOWNLINK_CHANNEL_MHZ = 240.0
"""Bandwidth of one user downlink beam's channel, MHz (Pekhterev, SatMagazine, Nov 2021: 16 beams of
240 MHz, guard bands excluded)."""
UPLINK_CHANNEL_MHZ = 62.0
"""Bandwidth of one user uplink beam's channel, MHz (Pekhterev, SatMagazine, Nov 2021)."""
ROLL_OFF = 0.1
"""Root-raised-cosine roll-off: symbol rate = channel bandwidth / (1 + roll-off). 0.1 is one of the
DVB-S2X roll-offs (ETSI EN 302 307-2, section 5.6: 0.05, 0.10, 0.15, 0.20, 0.25, 0.35)."""
BEAMS_PER_SATELLITE = 16
"""User beams per satellite (Pekhterev, SatMagazine, Nov 2021: 8 per polarisation, 2 polarisations)."""
BEAMS_PER_CELL_PER_SATELLITE = 1
"""Beams one satellite may put on one cell in a slot. *Assumption*: co-frequency beams on one spot
interfere, and a cell's extra capacity comes from other satellites' beams (Mike Puchol, Starlink list,
Aug 2022: several beams on a cell, each on its own frequency, "from one or more satellites")."""
DOWNLINK_SPECTRUM_MHZ = 2000.0
"""Ku downlink spectrum per polarisation, MHz (10.7-12.7 GHz; Pekhterev, SatMagazine, Nov 2021)."""
POLARISATIONS = 2
"""Polarisations reused on the downlink (Pekhterev, SatMagazine, Nov 2021)."""
PEAK_BITS_PER_SYMBOL = math.log2(64) * 8.0 / 9.0
"""64QAM with code rate 8/9: 6 × 8/9 = 5.33 bit/symbol, the modulation Pekhterev (SatMagazine, Nov 2021)
uses for a satellite's peak capacity."""
SATELLITE_CEILING_V15_MBPS = DOWNLINK_SPECTRUM_MHZ * POLARISATIONS * PEAK_BITS_PER_SYMBOL
"""Per-satellite downlink ceiling of Starlink v1.5, Mbps: 2,000 MHz × 2 polarisations × 5.33 bit/s/Hz
= 21,333 Mbps, "about 20 Gbps" (Pekhterev, SatMagazine, Nov 2021)."""
SATELLITE_CEILING_V2_MINI_MBPS = 96_000.0
"""Per-satellite downlink ceiling of Starlink v2 mini, Mbps (SpaceX, "Starlink V2 mini" update, Feb 2023:
"~4x more capacity"; 96 Gbps as quoted in leosim issue 12)."""
TOP_MODCOD_BITS_PER_SYMBOL = max(efficiency for _name, efficiency, _esn0 in DVB_S2X_MODCODS)
"""Spectral efficiency of the most efficient DVB-S2X MODCOD (256APSK 3/4, 5.90 bit/symbol; ETSI EN 302 307-2
Table 20a): what a beam carries when its link closes with margin, as every beam does with the public
link-budget values (docs/capacity.md)."""
BEAMS_PER_SATELLITE_V2_MINI = math.ceil(
    SATELLITE_CEILING_V2_MINI_MBPS / (DOWNLINK_CHANNEL_MHZ / (1.0 + ROLL_OFF) * TOP_MODCOD_BITS_PER_SYMBOL))
"""User beams per Starlink v2 mini satellite: 75, *derived* (its beam count is not public). The quoted
~96 Gbps cannot come from 2 GHz of Ku spectrum × 2 polarisations (≤ 24 Gbps at the top MODCOD) unless the
spectrum is reused on spatially separated beams; with beams of the v1.5 channel plan (240 MHz at 256APSK
3/4 = 1,287 Mbps) the quoted capacity takes ⌈96,000 / 1,287⌉ = 75 beams. With 16 beams (the v1.5 count)
the v2 mini would carry no more than a v1.5, contradicting the quoted 4×."""
V2_MINI_FIRST_LAUNCH = "2023-02-27"
"""Launch date of the first Starlink v2 mini satellites (Starlink Group 6-1, Falcon 9, 27 Feb 2023).
:func:`satellite_generations` counts every satellite launched on or after it as a v2 mini. Approximate:
a few 2023 launches still carried v1.5 satellites, and launch dates estimated from international
designators are good to a few weeks (:func:`leosim.orbits.inference.launch_dates`)."""
SCAN_LOSS_EXPONENT = 1.0
"""Flat phased-array scan loss: gain × cos(θ)^n at θ = 90° − elevation off the panel's normal (the panel
faces the zenith); n = 1 is the projected aperture. *Assumption* (textbook projected-aperture loss)."""

# ----- backhaul ---------------------------------------------------------------------------------------------
ISL_CAPACITY_MBPS = 100_000.0
"""Capacity of one laser inter-satellite link, each direction, Mbps (SpaceX: Starlink lasers carry up to
100 Gbps per link, Starlink progress update, 2024)."""
GATEWAY_ANTENNAS = 8
"""Antennas per gateway. *Assumption*: SpaceX's gateway earth-station applications to the FCC typically
list 8 or 9 Ka-band antennas per site; override per gateway."""
GATEWAY_MBPS_PER_ANTENNA = 20_000.0
"""Feeder capacity of one gateway antenna, Mbps: an antenna tracks one satellite over the Ka feeder band
(27.5-30 GHz up, 17.8-19.3 GHz down, SpaceX gateway filings), about 20 Gbps, the order of a v1.5 satellite's
user capacity (Pekhterev, SatMagazine, Nov 2021). It is the antenna's figure, whichever satellite it tracks:
the gateways of the shipped list are Ka-band sites; a v2 mini's E-band feeders would need E-band antennas
(set ``[capacity] gateway_antennas`` or this parameter to model them)."""

# ----- demand -----------------------------------------------------------------------------------------------
CELL_RESOLUTION = 5
"""H3 resolution of the demand cells: ~252 km² per cell, near Starlink's published cell (a hexagon
inscribed in a 24.13 km circle, ~379 km²; Pekhterev, SatMagazine, Nov 2021)."""
BUSY_HOUR_DEMAND_MBPS = 3.4
"""Busy-hour mean downstream demand per subscriber, Mbps: OpenVault's Broadband Insights Q4 2023 average of
641 GB per month per US household (= 1.98 Mbps averaged over a 30-day month) times a busy-hour to
average-hour ratio of 1.7. The ratio is an *assumption* of the usual order for fixed networks (Cisco VNI
2017-2022 puts busy-hour traffic at ~1.7-2× the average hour); see docs/capacity.md."""
ACTIVITY_FACTOR = 1.0
"""Share of terminals drawing their busy-hour demand at once. With a busy-hour *mean* demand the default is
1 (the mean already averages idle and active subscribers)."""
PLAN_CAP_MBPS = 220.0
"""A terminal's own ceiling for ``available_mbps`` (what one speed test can reach), Mbps: the top of the
download range Starlink publishes for its Residential plan ("25–220 Mbps", starlink.com/specifications,
2024). On an unloaded beam a speed test reaches this, not the beam's 1.3 Gbps."""
AT_CAPACITY_SHARE = 1.0
"""A cell is "at capacity" (new activations refused) when its committed demand exceeds this share of the
capacity of the beams it is given. *Assumption* (Starlink publishes no threshold)."""

# ----- scheduler --------------------------------------------------------------------------------------------
SLOT_S = 15.0
"""Length of a scheduling slot, s (Mohan et al., "A Multifaceted Look at Starlink Performance", WWW 2024)."""
SLOT_OFFSET_S = 12.0
"""Slot boundaries fall at 12, 27, 42 and 57 s past the minute (Mohan et al., WWW 2024)."""


@dataclass(frozen=True)
class CapacityParams:
    """One constellation's (or satellite generation's) capacity parameters; see the module constants for
    units and sources. ``direction`` is ``"down"`` (user downlink, the default) or ``"up"``."""

    name: str = "starlink-v1.5"
    direction: str = "down"
    downlink_frequency_ghz: float = DOWNLINK_FREQUENCY_GHZ
    uplink_frequency_ghz: float = UPLINK_FREQUENCY_GHZ
    satellite_eirp_dbw: float = SATELLITE_EIRP_DBW
    terminal_gt_db_k: float = TERMINAL_GT_DB_K
    terminal_eirp_dbw: float = TERMINAL_EIRP_DBW
    satellite_gt_db_k: float = SATELLITE_GT_DB_K
    downlink_channel_mhz: float = DOWNLINK_CHANNEL_MHZ
    uplink_channel_mhz: float = UPLINK_CHANNEL_MHZ
    roll_off: float = ROLL_OFF
    scan_loss_exponent: float = SCAN_LOSS_EXPONENT
    other_losses_db: float = 0.0
    max_bits_per_symbol: float = math.inf
    beams_per_satellite: int = BEAMS_PER_SATELLITE
    beams_per_cell_per_satellite: int = BEAMS_PER_CELL_PER_SATELLITE
    satellite_ceiling_mbps: float = SATELLITE_CEILING_V15_MBPS
    min_elevation_deg: float = DEFAULT_MIN_ELEVATION_DEG
    isl_capacity_mbps: float = ISL_CAPACITY_MBPS
    gateway_antennas: int = GATEWAY_ANTENNAS
    gateway_mbps_per_antenna: float = GATEWAY_MBPS_PER_ANTENNA
    cell_resolution: int = CELL_RESOLUTION
    plan_cap_mbps: float = PLAN_CAP_MBPS
    at_capacity_share: float = AT_CAPACITY_SHARE
    slot_s: float = SLOT_S
    slot_offset_s: float = SLOT_OFFSET_S
    rain_exceedance_percent: float | None = None
    extra: dict = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self):
        if self.direction not in ("down", "up"):
            raise LeosimInputError(f"capacity direction must be 'down' or 'up', got {self.direction!r}",
                                   field="direction")
        positive = ("downlink_channel_mhz", "uplink_channel_mhz", "satellite_ceiling_mbps", "isl_capacity_mbps",
                    "gateway_mbps_per_antenna", "slot_s", "plan_cap_mbps", "at_capacity_share")
        for name in positive:
            value = getattr(self, name)
            if not (value > 0 and math.isfinite(value)):
                raise LeosimInputError(f"capacity parameter {name} must be a positive number, got {value}",
                                       field=name)
        for name in ("beams_per_satellite", "beams_per_cell_per_satellite", "gateway_antennas"):
            if int(getattr(self, name)) < 0:
                raise LeosimInputError(f"capacity parameter {name} must be >= 0", field=name)
        if not 0 <= self.cell_resolution <= 15:
            raise LeosimInputError(f"cell_resolution must be an H3 resolution 0..15, got {self.cell_resolution}",
                                   field="cell_resolution")
        if self.rain_exceedance_percent is not None and not 0.001 <= self.rain_exceedance_percent <= 5.0:
            raise LeosimInputError("rain_exceedance_percent must be within ITU-R P.618's 0.001..5 %",
                                   field="rain_exceedance_percent")

    @property
    def frequency_ghz(self) -> float:
        """Carrier frequency of the modelled direction, GHz."""
        return self.downlink_frequency_ghz if self.direction == "down" else self.uplink_frequency_ghz

    @property
    def channel_mhz(self) -> float:
        """Channel bandwidth of one beam in the modelled direction, MHz."""
        return self.downlink_channel_mhz if self.direction == "down" else self.uplink_channel_mhz

    @property
    def gateway_capacity_mbps(self) -> float:
        """Default feeder capacity of one gateway: antennas × Mbps per antenna."""
        return self.gateway_antennas * self.gateway_mbps_per_antenna


_PRESETS = {
    "starlink-v1.5": CapacityParams(),
    "starlink-v2-mini": CapacityParams(name="starlink-v2-mini", satellite_ceiling_mbps=SATELLITE_CEILING_V2_MINI_MBPS,
                                       beams_per_satellite=BEAMS_PER_SATELLITE_V2_MINI),
}

GENERATIONS = ("preset", "launch-date")
"""Ways to give each satellite its generation's parameters: ``preset`` (every satellite the scenario's
preset) or ``launch-date`` (:func:`satellite_generations`)."""


def capacity_preset(name: str = "starlink-v1.5", **overrides) -> CapacityParams:
    """The parameter set called ``name`` (``starlink-v1.5``, ``starlink-v2-mini``) with ``overrides``."""
    if name not in _PRESETS:
        raise LeosimInputError(f"unknown capacity preset {name!r}; accepted: {', '.join(_PRESETS)}", field="preset")
    return replace(_PRESETS[name], **overrides) if overrides else _PRESETS[name]


def satellite_generations(launch_date, unknown: str = "starlink-v1.5") -> np.ndarray:
    """The capacity preset of each satellite from its launch date (``datetime64``, NaT unknown): ``starlink-v2-mini``
    from :data:`V2_MINI_FIRST_LAUNCH` on, ``starlink-v1.5`` before, ``unknown`` without a date (e.g. generated
    Walker shells). ``(N,)`` str."""
    if unknown not in _PRESETS:
        raise LeosimInputError(f"unknown capacity preset {unknown!r}; accepted: {', '.join(_PRESETS)}", field="preset")
    date = np.asarray(launch_date, dtype="datetime64[D]")
    v2 = date >= np.datetime64(V2_MINI_FIRST_LAUNCH, "D")
    return np.where(np.isnat(date), unknown, np.where(v2, "starlink-v2-mini", "starlink-v1.5"))


@dataclass(frozen=True)
class SatelliteCapacity:
    """Per-satellite user-link limits of a constellation whose satellites differ by generation (``N`` satellites):
    ``beams`` ``(N,)`` int64 beams each may form, ``ceiling_mbps`` ``(N,)`` its downlink ceiling, Mbps. The link
    budget (EIRP, G/T, channel plan) stays the scenario's :class:`CapacityParams` for every satellite."""

    beams: np.ndarray
    ceiling_mbps: np.ndarray

    @classmethod
    def of_generations(cls, generations, **overrides) -> SatelliteCapacity:
        """From one preset name per satellite (e.g. :func:`satellite_generations`); ``overrides`` as in
        :func:`capacity_preset`, applied to every generation."""
        names, inverse = np.unique(np.asarray(generations, dtype=str), return_inverse=True)
        sets = [capacity_preset(str(name), **overrides) for name in names]
        beams = np.array([int(p.beams_per_satellite) for p in sets], dtype=np.int64)
        ceiling = np.array([float(p.satellite_ceiling_mbps) for p in sets], dtype=np.float64)
        inverse = inverse.ravel()
        if inverse.size == 0:
            return cls(beams=np.zeros(0, np.int64), ceiling_mbps=np.zeros(0))
        return cls(beams=beams[inverse], ceiling_mbps=ceiling[inverse])

    def subset(self, index) -> SatelliteCapacity:
        """The satellites selected by an index array or mask."""
        return replace(self, beams=self.beams[index], ceiling_mbps=self.ceiling_mbps[index])
