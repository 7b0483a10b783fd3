"""Look angles and visibility between ground sites and satellites, in the Earth-fixed frame.

Elevation is measured from the geodetic horizon (the plane normal to the WGS84 ellipsoid's normal),
azimuth clockwise from geodetic north, as skyfield's ``altaz()`` does without refraction.

Two forms:
- :func:`look_angles` is dense: every site to every satellite, ``(..., site, satellite)``;
- :func:`visible_pairs` is sparse: only pairs above each site's elevation mask, found with a KD-tree on
  ECEF positions after turning the mask into a maximum slant range, then checked exactly.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree

from ._core.sorting import lexsort_ints
from .constants import DEFAULT_MIN_ELEVATION_DEG

_BLOCK_PAIRS = 32_768
"""Candidate pairs per block of the elevation computation in :func:`visible_pairs`: its temporaries
(~0.8 MB each) stay in the CPU cache."""

_MASK_MARGIN_DEG = 0.5
"""Margin on the elevation mask when it is turned into a range bound, deg. The bound uses a spherical
horizon; the geodetic horizon tilts by at most 0.2° from the geocentric one, so 0.5° keeps every candidate."""


def look_angles(site_ecef_km, site_enu, sat_ecef_km):
    """Elevation (deg), azimuth (deg, 0..360 from north, clockwise) and range (km) from sites to satellites.

    ``site_ecef_km`` is ``(M, 3)``, ``site_enu`` the East/North/Up basis ``(M, 3, 3)`` (see
    :func:`leosim.ground.geodesy.enu_basis`), ``sat_ecef_km`` is ``(N, 3)`` or ``(T, N, 3)``.
    Results are ``(M, N)`` or ``(T, M, N)``; NaN where the satellite position is NaN.
    """
    sat = np.asarray(sat_ecef_km, dtype=np.float64)
    site = np.asarray(site_ecef_km, dtype=np.float64)
    delta = sat[..., None, :, :] - site[:, None, :]  # (..., M, N, 3)
    enu = np.einsum("mij,...mnj->...mni", np.asarray(site_enu, dtype=np.float64), delta)
    range_km = np.sqrt(np.einsum("...i,...i->...", enu, enu))
    elevation_deg = np.degrees(np.arcsin(np.clip(enu[..., 2] / range_km, -1.0, 1.0)))
    azimuth_deg = np.degrees(np.arctan2(enu[..., 0], enu[..., 1])) % 360.0
    return elevation_deg, azimuth_deg, range_km


def max_slant_range_km(site_radius_km, sat_radius_km, elevation_deg):
    """Slant range (km) at which a satellite at ``sat_radius_km`` from the Earth's centre appears at
    ``elevation_deg`` above the spherical horizon of a site at ``site_radius_km``."""
    e = np.radians(elevation_deg)
    rs = np.asarray(site_radius_km, dtype=np.float64)
    return -rs * np.sin(e) + np.sqrt(np.asarray(sat_radius_km) ** 2 - (rs * np.cos(e)) ** 2)


def visible_pairs(site_ecef_km, site_up, sat_ecef_km, min_elevation_deg=DEFAULT_MIN_ELEVATION_DEG,
                  *, site_tree: cKDTree | None = None, azimuth: bool = True, sort: bool = True):
    """All (site, satellite) pairs with the satellite at or above the site's elevation mask, at one instant.

    ``site_ecef_km`` is ``(M, 3)``; ``site_up`` is either the geodetic up unit vectors ``(M, 3)`` or the
    full East/North/Up basis ``(M, 3, 3)`` of :func:`~leosim.ground.geodesy.enu_basis` (needed for a
    well-defined azimuth at the poles); ``sat_ecef_km`` is ``(N, 3)`` (NaN rows are never visible);
    ``min_elevation_deg`` is a scalar or ``(M,)``.
    Returns ``(site_idx, sat_idx, elevation_deg, azimuth_deg, range_km)``, 1-D arrays sorted by site
    then satellite. Pass a prebuilt ``site_tree = cKDTree(site_ecef_km)`` to save its construction at
    every step. ``azimuth=False`` skips the azimuths (returned as NaN) for callers that do not need them;
    ``sort=False`` returns the same pairs and values in no particular order, for callers that sort them
    their own way.
    """
    site = np.asarray(site_ecef_km, dtype=np.float64)
    basis = np.asarray(site_up, dtype=np.float64)
    up = basis[:, 2] if basis.ndim == 3 else basis
    sat = np.asarray(sat_ecef_km, dtype=np.float64)
    mask_deg = np.broadcast_to(np.asarray(min_elevation_deg, dtype=np.float64), (site.shape[0],))
    finite = np.flatnonzero(np.isfinite(sat).all(axis=1))
    empty_i = np.zeros(0, dtype=np.int64)
    if site.shape[0] == 0 or finite.size == 0:
        return empty_i, empty_i.copy(), np.zeros(0), np.zeros(0), np.zeros(0)
    sat_f = sat[finite]
    bound_km = float(max_slant_range_km(np.linalg.norm(site, axis=1).min(),
                                        np.linalg.norm(sat_f, axis=1).max(),
                                        max(mask_deg.min() - _MASK_MARGIN_DEG, -90.0)))
    tree = site_tree if site_tree is not None else cKDTree(site)
    pairs = tree.sparse_distance_matrix(cKDTree(sat_f), bound_km, output_type="ndarray")
    site_all, sat_all, range_all = pairs["i"], pairs["j"], pairs["v"]  # views; intp indices
    if finite.size < sat.shape[0]:
        sat_all = finite[sat_all]
    # Elevation of every candidate, by blocks whose temporaries stay in the CPU cache (np.take with
    # mode='clip' gathers rows several times faster than fancy indexing; the indices are valid by
    # construction, and the arithmetic is the same element by element).
    elevation_all = np.empty(range_all.size)
    for start in range(0, range_all.size, _BLOCK_PAIRS):
        block = slice(start, start + _BLOCK_PAIRS)
        i = site_all[block]
        delta = np.take(sat, sat_all[block], axis=0, mode="clip")
        delta -= np.take(site, i, axis=0, mode="clip")
        sin_el = np.einsum("ij,ij->i", delta, np.take(up, i, axis=0, mode="clip"))
        sin_el /= range_all[block]
        np.degrees(np.arcsin(np.clip(sin_el, -1.0, 1.0, out=sin_el), out=sin_el), out=elevation_all[block])
    scalar_mask = np.ndim(min_elevation_deg) == 0
    keep = np.flatnonzero(elevation_all >= (mask_deg[0] if scalar_mask else mask_deg[site_all]))
    site_idx, sat_idx = site_all[keep], sat_all[keep]
    if sort:  # by site, then satellite
        order = lexsort_ints([site_idx, sat_idx], [site.shape[0], sat.shape[0]])
        keep, site_idx, sat_idx = keep[order], site_idx[order], sat_idx[order]
    range_km, elevation_deg = range_all[keep], elevation_all[keep]
    if not azimuth:
        azimuth_deg = np.full(site_idx.size, np.nan)
    else:
        delta = np.take(sat, sat_idx, axis=0, mode="clip")
        delta -= np.take(site, site_idx, axis=0, mode="clip")
        if basis.ndim == 3:
            east_n = np.einsum("kj,kij->ki", delta, basis[site_idx, :2])
            azimuth_deg = np.degrees(np.arctan2(east_n[:, 0], east_n[:, 1])) % 360.0
        else:
            azimuth_deg = _azimuth_deg(delta, up[site_idx])
    return site_idx, sat_idx, elevation_deg, azimuth_deg, range_km


def _azimuth_deg(delta_km, up):
    """Azimuth (deg from north, clockwise) of ECEF offsets ``(K, 3)`` seen from sites with up vectors ``(K, 3)``."""
    east = np.stack([-up[:, 1], up[:, 0], np.zeros(len(up))], axis=1)
    east_norm = np.linalg.norm(east, axis=1)
    pole = east_norm < 1e-12
    east[pole] = (0.0, 1.0, 0.0)  # at a pole, azimuth is measured from the 0° meridian's direction
    east /= np.where(pole, 1.0, east_norm)[:, None]
    north = np.cross(up, east)
    e = np.einsum("ij,ij->i", delta_km, east)
    n = np.einsum("ij,ij->i", delta_km, north)
    return np.degrees(np.arctan2(e, n)) % 360.0


def visible_counts(site_idx, n_sites: int) -> np.ndarray:
    """Number of visible satellites per site, ``(n_sites,)`` int64, from :func:`visible_pairs`' ``site_idx``."""
    return np.bincount(site_idx, minlength=n_sites).astype(np.int64)
