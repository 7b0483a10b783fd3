"""DVB-S2X MODCODs: the Es/N0 each needs and the bits per symbol it carries.

Values from ETSI EN 302 307-2 V1.2.1 (2020), Table 20a: "Es/N0 performance at Quasi Error Free
PER = 10^-5, AWGN channel, normal FECFRAME (64,800 bits), ideal, no pilots"; the spectral efficiency
column is the standard's (information bits per transmitted symbol, frame overheads included). The VL-SNR
MODCODs (below QPSK 13/45) are left out. A link uses the most efficient MODCOD whose threshold its Es/N0
reaches (adaptive coding and modulation, ACM); below the lowest threshold it carries nothing.
"""

from __future__ import annotations

import numpy as np

DVB_S2X_MODCODS: tuple[tuple[str, float, float], ...] = (
    # (name, spectral efficiency bit/symbol, Es/N0 threshold dB) -- ETSI EN 302 307-2 Table 20a
    ("QPSK 13/45", 0.567805, -2.03),
    ("QPSK 9/20", 0.889135, 0.22),
    ("QPSK 11/20", 1.088581, 1.45),
    ("8APSK 5/9-L", 1.647211, 4.73),
    ("8APSK 26/45-L", 1.713601, 5.13),
    ("8PSK 23/36", 1.896173, 6.12),
    ("8PSK 25/36", 2.062148, 7.02),
    ("8PSK 13/18", 2.145136, 7.49),
    ("16APSK 1/2-L", 1.972253, 5.97),
    ("16APSK 8/15-L", 2.104850, 6.55),
    ("16APSK 5/9-L", 2.193247, 6.84),
    ("16APSK 26/45", 2.281645, 7.51),
    ("16APSK 3/5", 2.370043, 7.80),
    ("16APSK 3/5-L", 2.370043, 7.41),
    ("16APSK 28/45", 2.458441, 8.10),
    ("16APSK 23/36", 2.524739, 8.38),
    ("16APSK 2/3-L", 2.635236, 8.43),
    ("16APSK 25/36", 2.745734, 9.27),
    ("16APSK 13/18", 2.856231, 9.71),
    ("16APSK 7/9", 3.077225, 10.65),
    ("16APSK 77/90", 3.386618, 11.99),
    ("32APSK 2/3-L", 3.291954, 11.10),
    ("32APSK 32/45", 3.510192, 11.75),
    ("32APSK 11/15", 3.620536, 12.17),
    ("32APSK 7/9", 3.841226, 13.05),
    ("64APSK 32/45-L", 4.206428, 13.98),
    ("64APSK 11/15", 4.338659, 14.81),
    ("64APSK 7/9", 4.603122, 15.47),
    ("64APSK 4/5", 4.735354, 15.87),
    ("64APSK 5/6", 4.936639, 16.55),
    ("128APSK 3/4", 5.163248, 17.73),
    ("128APSK 7/9", 5.355556, 18.53),
    ("256APSK 29/45-L", 5.065690, 16.98),
    ("256APSK 2/3-L", 5.241514, 17.24),
    ("256APSK 31/45-L", 5.417338, 18.10),
    ("256APSK 32/45", 5.593162, 18.59),
    ("256APSK 11/15-L", 5.768987, 18.84),
    ("256APSK 3/4", 5.900855, 19.57),
)
"""DVB-S2X normal-frame MODCODs: ``(name, bit/symbol, Es/N0 threshold dB)`` (ETSI EN 302 307-2, Table 20a)."""


def _envelope():
    """Thresholds (dB, ascending) and the best efficiency reachable at or above each (bit/symbol)."""
    names = np.array([m[0] for m in DVB_S2X_MODCODS])
    eff = np.array([m[1] for m in DVB_S2X_MODCODS])
    thr = np.array([m[2] for m in DVB_S2X_MODCODS])
    order = np.lexsort((-eff, thr))
    thr, eff, names = thr[order], eff[order], names[order]
    best = np.maximum.accumulate(eff)
    # index of the MODCOD achieving the running best
    arg = np.maximum.accumulate(np.where(eff >= best, np.arange(eff.size), 0))
    return thr, best, names[arg]


_THRESHOLDS_DB, _BEST_EFF, _BEST_NAME = _envelope()


def spectral_efficiency(esn0_db, max_efficiency: float = np.inf) -> np.ndarray:
    """Bits per symbol of the best DVB-S2X MODCOD whose Es/N0 threshold ``esn0_db`` (dB, any shape)
    reaches, no more than ``max_efficiency``; 0 below the lowest threshold (QPSK 13/45, -2.03 dB) and
    for NaN."""
    esn0 = np.asarray(esn0_db, dtype=np.float64)
    allowed = _BEST_EFF <= max_efficiency
    thr, eff = _THRESHOLDS_DB[allowed], _BEST_EFF[allowed]
    idx = np.searchsorted(thr, np.where(np.isfinite(esn0), esn0, -np.inf), side="right") - 1
    return np.where(idx >= 0, eff[np.maximum(idx, 0)], 0.0) if eff.size else np.zeros(esn0.shape)


def modcod_name(esn0_db) -> np.ndarray:
    """Name of the MODCOD :func:`spectral_efficiency` picks at ``esn0_db`` (``''`` below the lowest)."""
    esn0 = np.asarray(esn0_db, dtype=np.float64)
    idx = np.searchsorted(_THRESHOLDS_DB, np.where(np.isfinite(esn0), esn0, -np.inf), side="right") - 1
    return np.where(idx >= 0, _BEST_NAME[np.maximum(idx, 0)], "")
