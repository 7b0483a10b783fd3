"""Satellite positions for the server: computed once per instant, kept in a small LRU cache, and encoded
once per (instant, frame) as the ``/api/positions`` answer (concurrent requests for one instant wait for
one computation)."""

from __future__ import annotations

import json
import threading
from collections import OrderedDict

import numpy as np

from ..ground.geodesy import ecef_to_geodetic
from ..timebase import Times
from .encoding import POSITION_DEG_DECIMALS, POSITION_KM_DECIMALS, iso, nan_to_none

POSITIONS_CACHE_INSTANTS = 64
"""Instants whose positions (and encoded answers) are kept in memory."""


def _key(t) -> int:
    return int(np.datetime64(t, "ns").astype(np.int64))


class PositionCache:
    """Positions of ``constellation`` per instant, and their encoded JSON; thread-safe."""

    def __init__(self, constellation):
        self.constellation = constellation
        self._lock = threading.Lock()
        self._positions: OrderedDict[int, np.ndarray] = OrderedDict()
        self._encoded: OrderedDict[tuple, bytes] = OrderedDict()
        self._flights: dict[tuple, threading.Lock] = {}

    def positions_km(self, t: np.datetime64) -> np.ndarray:
        """Earth-fixed satellite positions at ``t``, km, ``(N, 3)`` (NaN where SGP4 failed); LRU-cached."""
        key = _key(t)
        with self._lock:
            found = self._positions.get(key)
            if found is not None:
                self._positions.move_to_end(key)
                return found
        position = self.constellation.positions_km(Times(np.array([t], dtype="datetime64[ns]")))[0]
        position.setflags(write=False)
        with self._lock:
            self._positions[key] = position
            while len(self._positions) > POSITIONS_CACHE_INSTANTS:
                self._positions.popitem(last=False)
        return position

    def cached_json(self, t: np.datetime64, frame: str) -> bytes | None:
        """The encoded ``/api/positions`` answer if it is cached (cheap: no computation), else None."""
        key = (_key(t), frame)
        with self._lock:
            found = self._encoded.get(key)
            if found is not None:
                self._encoded.move_to_end(key)
            return found

    def json(self, t: np.datetime64, frame: str) -> bytes:
        """The ``/api/positions`` answer, encoded once per (instant, frame)."""
        key = (_key(t), frame)
        with self._lock:
            flight = self._flights.setdefault(key, threading.Lock())
        with flight:
            found = self.cached_json(t, frame)
            if found is None:
                found = self._encode(t, frame, key)
        with self._lock:
            self._flights.pop(key, None)
        return found

    def _encode(self, t: np.datetime64, frame: str, key: tuple) -> bytes:
        xyz = self.positions_km(t)
        answer = {"time_utc": iso(t), "count": int(xyz.shape[0]), "frame": frame,
                  "ids": self.constellation.sat_id.tolist()}
        if frame == "ecef":
            answer["ecef_km"] = nan_to_none(np.round(xyz, POSITION_KM_DECIMALS).ravel())
        else:
            lat, lon, alt = ecef_to_geodetic(xyz)
            answer["lat_deg"] = nan_to_none(np.round(lat, POSITION_DEG_DECIMALS))
            answer["lon_deg"] = nan_to_none(np.round(lon, POSITION_DEG_DECIMALS))
            answer["alt_km"] = nan_to_none(np.round(alt, POSITION_KM_DECIMALS))
        body = json.dumps(answer, separators=(",", ":"), allow_nan=False).encode()
        with self._lock:
            self._encoded[key] = body
            while len(self._encoded) > 2 * POSITIONS_CACHE_INSTANTS:
                self._encoded.popitem(last=False)
        return body
