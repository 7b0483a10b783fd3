"""Physical and geodetic constants, each with its unit and source.

Internally leosim works in km, s and radians; names carry their unit.
"""

import math

# WGS84 ellipsoid (NIMA TR8350.2, 3rd edition, table 3.1).
WGS84_A_KM = 6378.137
"""WGS84 semi-major axis (equatorial radius), km."""
WGS84_F = 1.0 / 298.257223563
"""WGS84 flattening, dimensionless."""
WGS84_B_KM = WGS84_A_KM * (1.0 - WGS84_F)
"""WGS84 semi-minor axis (polar radius), km."""
WGS84_E2 = WGS84_F * (2.0 - WGS84_F)
"""WGS84 first eccentricity squared, dimensionless."""

# WGS72 gravity model, the one SGP4 is defined with (Vallado et al. 2006, AIAA 2006-6753, table in sgp4 getgravconst).
WGS72_MU_KM3_S2 = 398600.8
"""Earth's gravitational parameter in the WGS72 model used by SGP4, km^3/s^2."""
WGS72_RADIUS_KM = 6378.135
"""Earth's equatorial radius in the WGS72 model used by SGP4, km."""
WGS72_J2 = 0.001082616
"""Earth's J2 in the WGS72 model used by SGP4, dimensionless."""
WGS72_XKE_PER_MIN = 60.0 / math.sqrt(WGS72_RADIUS_KM**3 / WGS72_MU_KM3_S2)
"""sqrt(mu) in Earth radii^1.5 per minute in the WGS72 model used by SGP4 (sgp4's ``xke``), 1/min."""

SPEED_OF_LIGHT_KM_S = 299_792.458
"""Speed of light in vacuum, km/s (exact, SI definition)."""
FIBRE_REFRACTIVE_INDEX = 1.468
"""Group index of standard single-mode fibre at 1550 nm (ITU-T G.652 typical), dimensionless."""

SECONDS_PER_DAY = 86_400.0
MINUTES_PER_DAY = 1_440.0
J2000_JD = 2_451_545.0
"""Julian date of the J2000.0 epoch (2000-01-01 12:00 TT), days."""
JD_UNIX_EPOCH = 2_440_587.5
"""Julian date of 1970-01-01 00:00 UTC, days."""
SGP4_EPOCH_JD = 2_433_281.5
"""Julian date of 1949-12-31 00:00 UTC, the origin of sgp4init's epoch argument, days."""

MEAN_EARTH_RADIUS_KM = 6371.0088
"""IUGG mean Earth radius R1, km (used for great-circle distances)."""

MIN_STRETCH_DISTANCE_KM = 500.0
"""Shortest great circle between a pair's ends for which a stretch ratio (RTT over the fibre or vacuum
reference) is reported, km. Every satellite path climbs to the shell and back (2 x ~550 km for Starlink's
main shells, ~3.7 ms of RTT by itself), so over a few tens of km the ratio measures the altitude, not the
routing (Tokyo to its PoP, 16 km: "stretch 55.8"). From 500 km the ground distance is of the order of the
climb and the ratio says something about the route."""

# Default elevation mask of user terminals and gateways.
DEFAULT_MIN_ELEVATION_DEG = 25.0
"""Default elevation mask for user terminals, deg (Starlink's FCC filings use 25°; SpaceX asked for 20°)."""

# Memory budgets: how much memory one chunk of propagated satellite states may take, bytes. Bigger chunks
# are faster up to a point; these bound the peak memory of a run (states are 6 float64 + a status per
# satellite and instant, see leosim.orbits.propagate.chunk_steps).
STATES_CHUNK_BYTES = 256 * 1024 * 1024
"""Default bound of one chunk of states in :meth:`Constellation.iter_states`, bytes (256 MiB)."""
TABLE_CHUNK_BYTES = 128 * 1024 * 1024
"""Bound of the states behind one chunk of the positions and visibility tables, bytes (128 MiB)."""
RTT_CHUNK_BYTES = 64 * 1024 * 1024
"""Bound of the states behind one chunk of ``leosim rtt``, bytes (64 MiB; routing needs memory besides)."""

# Work-size limits: refuse absurd requests before allocating anything.
MAX_INSTANTS = 40_000_000
"""Most instants one time window may hold. A year at 1 s steps (31.6 million) fits; the time axis alone is
then 320 MB (int64) and one satellite's ECEF positions 960 MB (3 float64 per instant), so beyond this a
mistyped step (nanoseconds for seconds, 1e-9 for 1) is far likelier than intent, and the per-instant
tables would not fit on any disk a laptop has."""
BYTES_PER_POSITION = 24
"""Bytes of one satellite's position at one instant (3 float64), for the size quoted when refusing work."""

ORBITAL_LAUNCHES_PER_YEAR = {2018: 112, 2019: 97, 2020: 104, 2021: 135, 2022: 180, 2023: 212, 2024: 253, 2025: 315}
"""Successful orbital launches per year, i.e. COSPAR launch numbers assigned (approximate, from the
"<year> in spaceflight" tallies; 2025 extrapolated): used only to turn an international designator's launch
number into an approximate date (a few weeks of error)."""

TLE_ERROR_GROWTH_KM_PER_DAY = (1.0, 3.0)
"""Growth of SGP4/TLE position error with time from epoch for LEO, km/day, low and high (Vallado & Cefola,
"Two-line element sets - practice and use", IAC-12.C1.6.12, 2012; Flohrer et al., 2008): typical in-track
error after propagating a LEO TLE by d days is about 1-3 km per day."""

BOLTZMANN_J_PER_K = 1.380649e-23
"""Boltzmann's constant, J/K (exact, SI definition since 2019)."""
BOLTZMANN_DBW_PER_K_HZ = 10.0 * math.log10(BOLTZMANN_J_PER_K)
"""Boltzmann's constant in decibels, 10·log10(k) = -228.60 dBW/(K·Hz)."""

# Moving terminals and per-terminal rule conditions (leosim.ground.tracks, leosim.policy.conditions).
SECONDS_PER_HOUR = 3_600.0
NAUTICAL_MILE_KM = 1.852
"""International nautical mile, km (exact, by definition since 1929)."""
ROLLING_YEAR_DAYS = 365
"""Length of a rolling year for roaming limits, days (the window is the 365 days up to the instant)."""
ROAMING_SAMPLE_S = 3_600.0
"""Spacing of the fixed UTC grid (aligned to the Unix epoch) on which a track's country is sampled to
count days abroad, s. One hour: a border crossing is placed within an hour (0.04 day)."""
COAST_SAMPLE_KM = 1.0
"""Densest spacing of the coast points used for distance to land, km: the nearest-point error is at most
half of it (0.5 km) near the coast and falls to ~spacing²/(8·distance) offshore (3 m at 22 km)."""
