"""User-link budget: slant range → free-space path loss → Es/N0 → DVB-S2X MODCOD → beam capacity.

Numeric core on plain arrays, vectorised over beams (any shape). In decibels::

    Es/N0 = EIRP − FSPL(d, f) − L_scan(el) − L_rain − L_other + G/T − 10·log10(k) − 10·log10(Rs)

with ``FSPL = 20·log10(4π d f / c)``, ``Rs = B / (1 + roll-off)`` the symbol rate of a channel of bandwidth
``B``, and ``L_scan = −10·n·log10(sin el)`` the loss of a flat phased array facing the zenith, steered
``90° − el`` off its normal. Beam capacity = ``Rs × η(Es/N0)`` with ``η`` the spectral efficiency of the
best DVB-S2X MODCOD the Es/N0 reaches (:mod:`leosim.capacity.modcod`). The downlink uses the satellite's
EIRP and the terminal's G/T; the uplink the terminal's EIRP and the satellite's G/T.

Rain fade (optional) comes from ITU-R P.618 through the ``itur`` package (``pip install 'leosim[capacity]'``;
its maps ship in the wheel, so it works offline; the first call loads them, ~20 s).

Limitations: no interference (C/N, not C/(N+I)), no gaseous or cloud attenuation unless given as
``other_losses_db``, one carrier frequency per direction (the worst-case top of the band).
"""

from __future__ import annotations

import numpy as np

from ..constants import BOLTZMANN_DBW_PER_K_HZ, SPEED_OF_LIGHT_KM_S
from ..errors import LeosimInputError
from .modcod import spectral_efficiency
from .params import CapacityParams

_WORST_PAIR_MIN_SIZE = 64
"""Arrays at least this long first try the worst-corner shortcut of :func:`beam_capacity_mbps`."""
_ESN0_ROUNDING_MARGIN_DB = 1e-6
"""Margin (dB) on the worst corner's Es/N0, far above the rounding of the per-beam computation (~1e-12 dB),
so every beam's computed Es/N0 is surely at or above it."""


def free_space_path_loss_db(range_km, frequency_ghz) -> np.ndarray:
    """Free-space path loss ``20·log10(4π d f / c)``, dB, for slant range ``range_km`` (km) at
    ``frequency_ghz`` (GHz); any broadcastable shapes."""
    d_km = np.asarray(range_km, dtype=np.float64)
    f_hz = np.asarray(frequency_ghz, dtype=np.float64) * 1e9
    return 20.0 * np.log10(4.0 * np.pi * d_km * f_hz / SPEED_OF_LIGHT_KM_S)


def scan_loss_db(elevation_deg, exponent: float) -> np.ndarray:
    """Loss of a zenith-facing flat phased array steered to ``elevation_deg``: ``−10·n·log10(sin el)``, dB."""
    el = np.radians(np.asarray(elevation_deg, dtype=np.float64))
    return -10.0 * exponent * np.log10(np.clip(np.sin(el), 1e-12, 1.0))


def symbol_rate_mbaud(params: CapacityParams) -> float:
    """Symbol rate of one beam's channel in the modelled direction, Mbaud: bandwidth / (1 + roll-off)."""
    return params.channel_mhz / (1.0 + params.roll_off)


def esn0_db(range_km, elevation_deg, params: CapacityParams, rain_db=0.0) -> np.ndarray:
    """Es/N0 (dB) of a user beam at slant range ``range_km`` (km) and elevation ``elevation_deg`` (deg)
    seen from the terminal, with ``rain_db`` extra attenuation (dB); shapes broadcast."""
    if params.direction == "down":
        eirp, gt = params.satellite_eirp_dbw, params.terminal_gt_db_k
    else:
        eirp, gt = params.terminal_eirp_dbw, params.satellite_gt_db_k
    loss = (free_space_path_loss_db(range_km, params.frequency_ghz) + scan_loss_db(elevation_deg,
            params.scan_loss_exponent) + np.asarray(rain_db, dtype=np.float64) + params.other_losses_db)
    return eirp - loss + gt - BOLTZMANN_DBW_PER_K_HZ - 10.0 * np.log10(symbol_rate_mbaud(params) * 1e6)


def beam_capacity_mbps(range_km, elevation_deg, params: CapacityParams, rain_db=0.0) -> np.ndarray:
    """Capacity of one user beam, Mbps: symbol rate × bits/symbol of the MODCOD its Es/N0 allows
    (0 where no MODCOD closes the link, or the geometry is NaN). Shapes broadcast."""
    d_km, el_deg, rain = np.broadcast_arrays(np.asarray(range_km, dtype=np.float64),
                                             np.asarray(elevation_deg, dtype=np.float64),
                                             np.asarray(rain_db, dtype=np.float64))
    if d_km.size >= _WORST_PAIR_MIN_SIZE and np.isfinite(d_km).all() and np.isfinite(el_deg).all() \
            and np.isfinite(rain).all():
        # Es/N0 falls with range and rain and rises with elevation, and the capacity depends on it only
        # through the MODCOD step: when the worst corner reaches the best MODCOD allowed, every beam does.
        worst = esn0_db(d_km.max(), el_deg.min(), params, rain.max()) - _ESN0_ROUNDING_MARGIN_DB
        best = spectral_efficiency(np.finfo(np.float64).max, params.max_bits_per_symbol)
        if spectral_efficiency(worst, params.max_bits_per_symbol) == best:
            return np.full(d_km.shape, symbol_rate_mbaud(params) * best)
    esn0 = esn0_db(range_km, elevation_deg, params, rain_db)
    return symbol_rate_mbaud(params) * spectral_efficiency(esn0, params.max_bits_per_symbol)


def satellite_peak_mbps(params: CapacityParams) -> float:
    """The per-satellite ceiling: what one satellite's beams together may carry, Mbps."""
    return float(params.satellite_ceiling_mbps)


def rain_attenuation_db(lat_deg, lon_deg, elevation_deg, params: CapacityParams) -> np.ndarray:
    """Rain attenuation (dB) exceeded ``params.rain_exceedance_percent`` % of an average year at each
    terminal and elevation (ITU-R P.618-13 via the ``itur`` package); zeros when no percentage is set.

    Raises :class:`~leosim.errors.LeosimInputError` naming the extra when ``itur`` is not installed.
    """
    el = np.asarray(elevation_deg, dtype=np.float64)
    if params.rain_exceedance_percent is None:
        return np.zeros(el.shape)
    try:
        from itur.models import itu618
    except ImportError as exc:  # optional extra
        raise LeosimInputError("rain fade needs the 'itur' package: pip install 'leosim[capacity]'",
                               field="rain_exceedance_percent") from exc
    lat, lon, el = np.broadcast_arrays(np.asarray(lat_deg, dtype=np.float64),
                                       np.asarray(lon_deg, dtype=np.float64), el)
    out = np.zeros(el.shape)
    ok = np.isfinite(lat) & np.isfinite(lon) & np.isfinite(el) & (el > 0)
    if ok.any():
        value = itu618.rain_attenuation(lat[ok], lon[ok], params.frequency_ghz, el[ok],
                                        p=params.rain_exceedance_percent)
        out[ok] = np.asarray(getattr(value, "value", value), dtype=np.float64)
    return out


RAIN_TABLE_STEP_DEG = 1.0
"""Elevation step of :func:`rain_fade_table`, deg. Linear interpolation on it stays within ~0.5 dB of the
direct ITU-R P.618 figure at 0.01 % of the year (measured over 2,000 random places and elevations, peaks of
~27 dB; P.618's elevation dependence has kinks a finer step does not remove) and within ~0.15 dB at 0.1 %."""


def rain_fade_table(lat_deg, lon_deg, params: CapacityParams, elevation_step_deg: float = RAIN_TABLE_STEP_DEG):
    """Rain fade of ``C`` fixed places (cell centres) at any elevation, from one ITU-R P.618 evaluation per
    place and elevation step (:func:`rain_attenuation_db` at ``params.min_elevation_deg``, then every
    ``elevation_step_deg`` to 90°), interpolated linearly in elevation: a callable ``(place_idx, elevation_deg)
    -> dB`` for :func:`~leosim.capacity.beams.schedule_beams`' ``rain_db``, or None when
    ``params.rain_exceedance_percent`` is not set. Built once per run; each slot only interpolates."""
    if params.rain_exceedance_percent is None:
        return None
    grid = np.r_[np.arange(params.min_elevation_deg, 90.0, elevation_step_deg), 90.0]
    lat = np.asarray(lat_deg, dtype=np.float64).reshape(-1, 1)
    lon = np.asarray(lon_deg, dtype=np.float64).reshape(-1, 1)
    table = rain_attenuation_db(lat, lon, grid[None, :], params)

    def fade_db(place_idx, elevation_deg):
        el = np.clip(np.asarray(elevation_deg, dtype=np.float64), grid[0], grid[-1])
        i = np.clip(np.searchsorted(grid, el, side="right") - 1, 0, grid.size - 2)
        w = (el - grid[i]) / (grid[i + 1] - grid[i])
        return table[place_idx, i] * (1.0 - w) + table[place_idx, i + 1] * w

    return fade_db
