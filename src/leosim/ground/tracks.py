"""Moving terminals: time-tagged tracks, read from files or generated, and positions at any instants.

A :class:`Track` is a sequence of fixes (UTC instant, WGS84 latitude/longitude in degrees, height in
metres) with strictly increasing times. Between two fixes a terminal moves along the great circle at
constant speed (spherical interpolation of the unit vectors; the height is interpolated linearly).
Outside its first and last fix a track is **not present**: no extrapolation; positions are NaN and the
``present`` mask is False there.

Latitudes are treated as spherical for the interpolation and distances use the IUGG mean Earth radius
(:data:`~leosim.constants.MEAN_EARTH_RADIUS_KM`). Against the WGS84 ellipsoid this differs by up to
~0.5% in distance (and speed), far below what the rules look at (a 75 km/h limit).

Sources:

* CSV with a header row ``time_utc, lat_deg, lon_deg[, alt_m]`` (:meth:`Track.from_csv`);
* GPX 1.0/1.1 track points (then route points) with ``<time>`` (:meth:`Track.from_gpx`, via gpxpy);
* GeoJSON: a ``LineString`` Feature (or the first one in a FeatureCollection) whose per-vertex times
  are in ``properties.times`` or ``properties.coordTimes`` (ISO 8601 strings, the ``togeojson``
  convention), one per vertex (:meth:`Track.from_geojson`);
* generated: a great-circle leg or a waypoint route at a constant speed from a start time
  (:meth:`Track.route`).

:class:`Tracks` packs many tracks for vectorised sampling: :meth:`Tracks.at` gives positions, speed
(km/h) and heading (degrees from north) of every track at every instant, arrays shaped (terminal, time).
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np

from ..constants import MEAN_EARTH_RADIUS_KM, SECONDS_PER_HOUR
from ..errors import LeosimInputError
from ..timebase import instants_ns, parse_utc

TRACK_KINDS = ("aircraft", "ship", "vehicle", "drone", "other")
_NS_PER_S = 1_000_000_000
_KEY_LIMIT = 2**62
_CSV_COLUMNS = ("time_utc", "lat_deg", "lon_deg", "alt_m")


def unit_vectors(lat_deg, lon_deg) -> np.ndarray:
    """Unit vectors (x, y, z) on the sphere of spherical latitude/longitude in degrees, shape ``(..., 3)``."""
    lat = np.radians(np.asarray(lat_deg, dtype=np.float64))
    lon = np.radians(np.asarray(lon_deg, dtype=np.float64))
    cos_lat = np.cos(lat)
    return np.stack(np.broadcast_arrays(cos_lat * np.cos(lon), cos_lat * np.sin(lon), np.sin(lat)), axis=-1)


def _angle_rad(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Angle between unit vectors (..., 3), radians; atan2 form, accurate for tiny and large angles."""
    return np.arctan2(np.linalg.norm(np.cross(a, b), axis=-1), np.einsum("...i,...i->...", a, b))


def _times_ns(values, *, source: str, field: str, first_line: int | None = None) -> np.ndarray:
    out = np.empty(len(values), dtype=np.int64)
    for i, value in enumerate(values):
        try:
            out[i] = parse_utc(value, source=source).astype(np.int64)
        except LeosimInputError as error:
            line = None if first_line is None else first_line + i
            raise LeosimInputError(error.message, source=source, line=line,
                                   field=field if first_line is not None else f"{field}[{i}]") from None
    return out


@dataclass(frozen=True, eq=False)
class Track:
    """Fixes of one moving terminal: ``time_ns`` (int64 ns since 1970, UTC, strictly increasing),
    ``lat_deg``/``lon_deg`` (WGS84 degrees) and ``alt_m`` (metres), all shape (K,), K ≥ 2.

    ``kind`` is a label (one of :data:`TRACK_KINDS`), ``source`` where it came from.
    """

    time_ns: np.ndarray
    lat_deg: np.ndarray
    lon_deg: np.ndarray
    alt_m: np.ndarray
    kind: str = "other"
    source: str = ""

    # ----- construction -------------------------------------------------------------------------
    @classmethod
    def from_arrays(cls, times, lat_deg, lon_deg, alt_m=None, *, kind: str = "other", source: str = "track",
                    lines=None) -> Track:
        """A track from fix arrays; ``times`` are datetime64, int64 ns or ISO strings.

        Raises :class:`LeosimInputError` naming ``source`` and the fix (its ``lines`` entry when given)
        for fewer than 2 fixes, out-of-range or non-finite coordinates, or times that do not increase.
        """
        times = np.asarray(times)
        if times.dtype.kind == "M":
            time_ns = times.astype("datetime64[ns]").astype(np.int64)
        elif times.dtype.kind in "iu":
            time_ns = times.astype(np.int64)
        else:
            time_ns = _times_ns(list(times), source=source, field="time_utc")
        lat = np.asarray(lat_deg, dtype=np.float64).ravel()
        lon = np.asarray(lon_deg, dtype=np.float64).ravel()
        alt = np.zeros_like(lat) if alt_m is None else np.asarray(alt_m, dtype=np.float64).ravel()
        if kind not in TRACK_KINDS:
            raise LeosimInputError(f"track kind {kind!r} is not one of {', '.join(TRACK_KINDS)}", source=source,
                                   field="kind")
        if not (time_ns.shape == lat.shape == lon.shape == alt.shape):
            raise LeosimInputError(f"fix arrays differ in length: {time_ns.size} times, {lat.size} latitudes, "
                                   f"{lon.size} longitudes, {alt.size} heights", source=source)
        if time_ns.size < 2:
            raise LeosimInputError(f"a track needs at least 2 fixes, got {time_ns.size}", source=source)

        def where(i: int, field: str) -> dict:
            if lines is not None:
                return {"source": source, "line": int(lines[i]), "field": field}
            return {"source": source, "field": f"{field}[{i}]"}

        for name, values, limit in (("lat_deg", lat, 90.0), ("lon_deg", lon, 180.0)):
            bad = np.flatnonzero(~np.isfinite(values) | (np.abs(values) > limit))
            if bad.size:
                raise LeosimInputError(f"{values[bad[0]]} is not a {name[:3]}itude in [-{limit:g}, {limit:g}] "
                                       f"degrees", **where(int(bad[0]), name))
        bad = np.flatnonzero(~np.isfinite(alt))
        if bad.size:
            raise LeosimInputError("height is not a finite number of metres", **where(int(bad[0]), "alt_m"))
        back = np.flatnonzero(np.diff(time_ns) <= 0)
        if back.size:
            i = int(back[0]) + 1
            before = np.datetime64(int(time_ns[i - 1]), "ns")
            raise LeosimInputError(f"time {np.datetime64(int(time_ns[i]), 'ns')} is not after the previous fix's "
                                   f"{before}: a track's times must strictly increase", **where(i, "time_utc"))
        return cls(time_ns, lat, lon, alt, kind=kind, source=source)

    @classmethod
    def read(cls, path, *, kind: str = "other") -> Track:
        """A track from a file, by its suffix: ``.csv``, ``.gpx``, ``.geojson``/``.json``."""
        path = Path(path)
        suffix = path.suffix.lower()
        if suffix == ".csv":
            return cls.from_csv(path, kind=kind)
        if suffix == ".gpx":
            return cls.from_gpx(path, kind=kind)
        if suffix in (".geojson", ".json"):
            return cls.from_geojson(path, kind=kind)
        raise LeosimInputError(f"unknown track format {suffix!r}; expected .csv, .gpx, .geojson or .json",
                               source=str(path))

    @classmethod
    def from_csv(cls, path, *, kind: str = "other") -> Track:
        """A track from a CSV file: header ``time_utc, lat_deg, lon_deg`` and optional ``alt_m`` (any order,
        case-insensitive, other columns ignored); blank lines and ``#`` comments are skipped."""
        from .sites import _skippable

        source = str(path)
        rows, lines = [], []
        try:
            with open(path, encoding="utf-8-sig", newline="") as stream:
                reader = csv.reader(stream)
                header = None
                for row in reader:
                    if _skippable(row):
                        continue
                    if header is None:
                        header = [h.strip().lower() for h in row]
                        missing = [c for c in _CSV_COLUMNS[:3] if c not in header]
                        if missing:
                            raise LeosimInputError(f"missing column(s) {', '.join(missing)}; a track CSV needs "
                                                   f"time_utc, lat_deg, lon_deg[, alt_m]", source=source,
                                                   line=reader.line_num, field=missing[0])
                        columns = [header.index(c) if c in header else -1 for c in _CSV_COLUMNS]
                        continue
                    rows.append([row[c].strip() if 0 <= c < len(row) else "" for c in columns])
                    lines.append(reader.line_num)
        except OSError as exc:
            raise LeosimInputError(f"cannot read the file: {exc.strerror or exc}", source=source) from None
        except UnicodeDecodeError as exc:
            raise LeosimInputError(f"not UTF-8 text ({exc.reason} at byte {exc.start})", source=source) from None
        if not rows:
            raise LeosimInputError("no fixes: expected a header row and at least 2 rows", source=source)
        times = np.empty(len(rows), dtype=np.int64)
        values = np.zeros((len(rows), 3))
        for i, (row, line) in enumerate(zip(rows, lines, strict=True)):
            if not row[0]:
                raise LeosimInputError("empty time", source=source, line=line, field="time_utc")
            try:
                times[i] = parse_utc(row[0], source=source).astype(np.int64)
            except LeosimInputError as error:
                raise LeosimInputError(error.message, source=source, line=line, field="time_utc") from None
            for j, name in enumerate(_CSV_COLUMNS[1:]):
                text = row[j + 1]
                if not text and name == "alt_m":
                    continue
                try:
                    values[i, j] = float(text)
                except ValueError:
                    raise LeosimInputError(f"{text!r} is not a number", source=source, line=line,
                                           field=name) from None
        return cls.from_arrays(times, values[:, 0], values[:, 1], values[:, 2], kind=kind, source=source,
                               lines=lines)

    @classmethod
    def from_gpx(cls, path, *, kind: str = "other") -> Track:
        """A track from a GPX file (gpxpy): all ``<trkpt>`` of all tracks and segments in file order, or the
        ``<rtept>`` of its routes when it has no track points. Every point needs a ``<time>``."""
        import gpxpy
        import gpxpy.gpx

        source = str(path)
        try:
            with open(path, encoding="utf-8") as stream:
                gpx = gpxpy.parse(stream)
        except OSError as exc:
            raise LeosimInputError(f"cannot read the file: {exc.strerror or exc}", source=source) from None
        except gpxpy.gpx.GPXException as exc:
            raise LeosimInputError(f"not a valid GPX file: {exc}", source=source) from None
        points, names = [], []
        for t, trk in enumerate(gpx.tracks):
            for s, seg in enumerate(trk.segments):
                for p, point in enumerate(seg.points):
                    points.append(point)
                    names.append(f"trk[{t}].trkseg[{s}].trkpt[{p}]")
        if not points:
            for r, route in enumerate(gpx.routes):
                for p, point in enumerate(route.points):
                    points.append(point)
                    names.append(f"rte[{r}].rtept[{p}]")
        if not points:
            raise LeosimInputError("no track or route points", source=source)
        times = np.empty(len(points), dtype=np.int64)
        for i, (point, name) in enumerate(zip(points, names, strict=True)):
            if point.time is None:
                raise LeosimInputError("point has no <time>: a track needs a time at every point", source=source,
                                       field=name)
            times[i] = parse_utc(point.time).astype(np.int64)
        lat = [p.latitude for p in points]
        lon = [p.longitude for p in points]
        alt = [p.elevation if p.elevation is not None else 0.0 for p in points]
        try:
            return cls.from_arrays(times, lat, lon, alt, kind=kind, source=source)
        except LeosimInputError as error:
            index = int(error.field.rpartition("[")[2].rstrip("]")) if error.field and "[" in error.field else None
            field = names[index] + "." + error.field.partition("[")[0] if index is not None else error.field
            raise LeosimInputError(error.message, source=source, field=field) from None

    @classmethod
    def from_geojson(cls, path, *, kind: str = "other", name: str | None = None) -> Track:
        """A track from GeoJSON: a ``LineString`` Feature, or in a FeatureCollection the first LineString
        Feature (or the one whose ``properties.name`` is ``name``). Vertex times are in
        ``properties.times`` or ``properties.coordTimes``: one ISO 8601 string per vertex. A vertex's third
        coordinate, when present, is its height in metres."""
        source = str(path)
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except OSError as exc:
            raise LeosimInputError(f"cannot read the file: {exc.strerror or exc}", source=source) from None
        except json.JSONDecodeError as exc:
            raise LeosimInputError(f"not valid JSON: {exc.msg}", source=source, line=exc.lineno) from None
        features = data.get("features") if isinstance(data, dict) and data.get("type") == "FeatureCollection" \
            else [data]
        where = None
        for i, feature in enumerate(features or []):
            if not isinstance(feature, dict) or feature.get("type") != "Feature":
                continue
            geometry = feature.get("geometry") or {}
            props = feature.get("properties") or {}
            if geometry.get("type") == "LineString" and (name is None or props.get("name") == name):
                where = f"features[{i}]" if len(features) > 1 or data.get("type") == "FeatureCollection" else ""
                break
        else:
            wanted = f" named {name!r}" if name else ""
            raise LeosimInputError(f"no LineString Feature{wanted}", source=source)
        prefix = f"{where}." if where else ""
        coords = geometry.get("coordinates")
        if not isinstance(coords, list) or not all(isinstance(c, list) and len(c) >= 2 for c in coords):
            raise LeosimInputError("coordinates must be a list of [lon, lat(, height_m)] positions", source=source,
                                   field=f"{prefix}geometry.coordinates")
        key = "times" if "times" in props else "coordTimes" if "coordTimes" in props else None
        if key is None:
            raise LeosimInputError("no vertex times: give properties.times (or coordTimes), one ISO 8601 instant "
                                   "per vertex", source=source, field=f"{prefix}properties.times")
        times = props[key]
        if not isinstance(times, list) or len(times) != len(coords):
            raise LeosimInputError(f"properties.{key} must list one time per vertex ({len(coords)} vertices, got "
                                   f"{len(times) if isinstance(times, list) else type(times).__name__})",
                                   source=source, field=f"{prefix}properties.{key}")
        time_ns = _times_ns(times, source=source, field=f"{prefix}properties.{key}")
        try:
            array = np.array([[float(c[0]), float(c[1]), float(c[2]) if len(c) > 2 else 0.0] for c in coords])
        except (TypeError, ValueError):
            raise LeosimInputError("coordinates must be numbers", source=source,
                                   field=f"{prefix}geometry.coordinates") from None
        try:
            return cls.from_arrays(time_ns, array[:, 1], array[:, 0], array[:, 2], kind=kind, source=source)
        except LeosimInputError as error:
            raise LeosimInputError(error.message, source=source,
                                   field=f"{prefix}geometry.coordinates/{error.field}") from None

    @classmethod
    def route(cls, waypoints, *, speed_kmh: float, start, kind: str = "other", alt_m: float = 0.0,
              source: str = "route") -> Track:
        """A generated track: great-circle legs through ``waypoints`` (``[(lat_deg, lon_deg), ...]``, at least
        2) at a constant ``speed_kmh``, leaving the first waypoint at ``start`` (UTC), at height ``alt_m``.

        The fixes are the waypoints; interpolation between them follows the great circle at that speed.
        """
        points = np.asarray(waypoints, dtype=np.float64)
        if points.ndim != 2 or points.shape[1] != 2 or points.shape[0] < 2:
            raise LeosimInputError("waypoints must be at least 2 [lat_deg, lon_deg] pairs", source=source,
                                   field="waypoints")
        if not np.isfinite(speed_kmh) or speed_kmh <= 0:
            raise LeosimInputError(f"speed must be > 0 km/h, got {speed_kmh}", source=source, field="speed_kmh")
        vectors = unit_vectors(points[:, 0], points[:, 1])
        leg_km = _angle_rad(vectors[:-1], vectors[1:]) * MEAN_EARTH_RADIUS_KM
        if np.any(leg_km <= 0):
            raise LeosimInputError("two consecutive waypoints are the same place", source=source,
                                   field=f"waypoints[{int(np.flatnonzero(leg_km <= 0)[0]) + 1}]")
        elapsed_ns = np.round(np.concatenate([[0.0], np.cumsum(leg_km)]) / speed_kmh * SECONDS_PER_HOUR
                              * _NS_PER_S).astype(np.int64)
        start_ns = int(parse_utc(start, source=source).astype(np.int64))
        return cls.from_arrays(start_ns + elapsed_ns, points[:, 0], points[:, 1], np.full(len(points), alt_m),
                               kind=kind, source=source)

    # ----- queries ------------------------------------------------------------------------------
    @property
    def start(self) -> np.datetime64:
        return np.datetime64(int(self.time_ns[0]), "ns")

    @property
    def end(self) -> np.datetime64:
        return np.datetime64(int(self.time_ns[-1]), "ns")

    def at(self, instants) -> TrackSample:
        """Position, speed and heading at ``instants``; arrays shaped (1, T) (see :meth:`Tracks.at`)."""
        return Tracks([self]).at(instants)


@dataclass(frozen=True)
class TrackSample:
    """Tracks sampled at instants; every array is shaped (terminal, time).

    ``present``: the instant lies within the track's span (first to last fix, both included);
    ``lat_deg``/``lon_deg`` (degrees), ``alt_m`` (metres), ``speed_kmh`` (ground speed of the leg, km/h)
    and ``heading_deg`` (course over ground at that point, degrees clockwise from north, [0, 360)) are
    NaN where not present. A leg's speed holds from its first fix up to (excluding) its last; the last fix
    of a track takes the speed of the leg before it.
    """

    present: np.ndarray
    lat_deg: np.ndarray
    lon_deg: np.ndarray
    alt_m: np.ndarray
    speed_kmh: np.ndarray
    heading_deg: np.ndarray


def packed_segments(offsets: np.ndarray, time_ns: np.ndarray, query_ns: np.ndarray, owner=None
                    ) -> tuple[np.ndarray, np.ndarray]:
    """For packed per-terminal sorted times, the segment holding each query instant.

    ``offsets`` (N+1,): terminal n owns ``time_ns[offsets[n]:offsets[n+1]]`` (strictly increasing, at
    least 2 values). ``query_ns`` int64 of any shape, for terminal ``owner`` (same shape; default: the
    query is (N, T) and row n belongs to terminal n). Returns ``(k, present)`` shaped like the query: ``k``
    the global index of the segment's first time (``time_ns[k] <= t <= time_ns[k+1]``, clamped into the
    terminal's own times) and ``present`` whether t lies in ``[first, last]``. One ``searchsorted`` for
    all terminals: each terminal's times are offset into its own band of an int64 key.
    """
    n = offsets.size - 1
    query_ns = np.asarray(query_ns, dtype=np.int64)
    first_all = time_ns[offsets[:-1]]
    last_all = time_ns[offsets[1:] - 1]
    span = int((last_all - first_all).max()) if n else 0
    unit = 1
    while n * (span // unit + 2) >= _KEY_LIMIT:
        unit *= 1000
    stride = span // unit + 2
    fix_owner = np.repeat(np.arange(n, dtype=np.int64), np.diff(offsets))
    keys = fix_owner * stride + (time_ns - first_all[fix_owner]) // unit
    if owner is None:               # row n of an (N, T) query is terminal n: broadcast per-row values
        rows = np.arange(n, dtype=np.int64)[:, None]
        first, last, lo, hi = (first_all[:, None], last_all[:, None], offsets[:-1, None], offsets[1:, None] - 2)
    else:
        rows = np.asarray(owner, dtype=np.int64)
        first, last, lo, hi = first_all[rows], last_all[rows], offsets[:-1][rows], offsets[1:][rows] - 2
    present = (query_ns >= first) & (query_ns <= last)
    t = np.clip(query_ns, first, last)
    k = np.searchsorted(keys, rows * stride + (t - first) // unit, side="right") - 1
    k = np.clip(k, lo, hi)
    # Keys coarser than 1 ns can place an instant one fix late; step back until time_ns[k] <= t.
    for _ in range(64):
        late = (time_ns[k] > t) & (k > lo)
        if not late.any():
            break
        k = np.where(late, k - 1, k)
    return k, present


class Tracks:
    """Many tracks packed for vectorised sampling (terminal n is ``tracks[n]``)."""

    def __init__(self, tracks):
        tracks = list(tracks)
        self.tracks = tuple(tracks)
        counts = np.array([t.time_ns.size for t in tracks], dtype=np.int64)
        self.offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        def cat(name, dtype):
            return (np.concatenate([getattr(t, name) for t in tracks]).astype(dtype)
                       if tracks else np.zeros(0, dtype=dtype))
        self.time_ns = cat("time_ns", np.int64)
        self.lat_deg = cat("lat_deg", np.float64)
        self.lon_deg = cat("lon_deg", np.float64)
        self.alt_m = cat("alt_m", np.float64)
        self.vectors = unit_vectors(self.lat_deg, self.lon_deg)

    def __len__(self) -> int:
        return len(self.tracks)

    def at(self, instants) -> TrackSample:
        """Every track at every instant: :class:`TrackSample` of arrays shaped (N, T).

        ``instants``: :class:`~leosim.timebase.Times`, datetime64 or ISO strings, shape (T,), or an int64
        ns array shaped (N, T) for per-terminal instants.
        """
        if isinstance(instants, np.ndarray) and instants.ndim == 2:
            query = instants.astype("datetime64[ns]") if instants.dtype.kind == "M" else instants
            query = query.astype(np.int64)
        else:
            query = instants_ns(instants)
        if query.ndim == 1:
            query = np.broadcast_to(query[None, :], (len(self), query.size))
        return self.sample(query)

    def sample(self, query_ns, owner=None) -> TrackSample:
        """Tracks at int64 ns instants ``query_ns`` of any shape, for terminals ``owner`` (same shape;
        default: row n of an (N, T) query is terminal n). Returns a :class:`TrackSample` of that shape."""
        query = np.asarray(query_ns, dtype=np.int64)
        if len(self) == 0:
            empty = np.full(query.shape, np.nan)
            return TrackSample(np.zeros(query.shape, bool), empty, empty, empty, empty, empty)
        k, present = packed_segments(self.offsets, self.time_ns, query, owner)
        seg = self._segments
        t0 = self.time_ns[k]
        fraction = np.clip((query - t0) / seg["dt_ns"][k], 0.0, 1.0)
        omega = seg["omega"][k]
        sin_omega = np.sin(omega)
        small = sin_omega < 1e-12
        safe = np.where(small, 1.0, sin_omega)
        wa = np.where(small, 1.0 - fraction, np.sin((1.0 - fraction) * omega) / safe)
        wb = np.where(small, fraction, np.sin(fraction * omega) / safe)
        a, b = self.vectors[k], self.vectors[k + 1]
        # Not normalised: latitude, longitude and heading below are scale-invariant.
        px = wa * a[..., 0] + wb * b[..., 0]
        py = wa * a[..., 1] + wb * b[..., 1]
        pz = wa * a[..., 2] + wb * b[..., 2]
        horizontal = np.hypot(px, py)
        lat = np.degrees(np.arctan2(pz, horizontal))
        lon = np.degrees(np.arctan2(py, px))
        alt = self.alt_m[k] + fraction * (self.alt_m[k + 1] - self.alt_m[k])
        # Course: the great circle's tangent n × p (n its unit normal) on the local east and north axes.
        normal = seg["normal"][k]
        tx = normal[..., 1] * pz - normal[..., 2] * py
        ty = normal[..., 2] * px - normal[..., 0] * pz
        tz = normal[..., 0] * py - normal[..., 1] * px
        east = -py * tx + px * ty
        north = -pz * (px * tx + py * ty) + horizontal**2 * tz
        heading = np.degrees(np.arctan2(east, north)) % 360.0
        heading = np.where(np.isfinite(normal[..., 0]), heading, np.nan)
        nan = np.where(present, 1.0, np.nan)
        return TrackSample(present=present, lat_deg=lat * nan, lon_deg=lon * nan, alt_m=alt * nan,
                           speed_kmh=seg["speed_kmh"][k] * nan, heading_deg=heading * nan)

    @cached_property
    def _segments(self) -> dict[str, np.ndarray]:
        """Per fix k, the leg to fix k + 1 (meaningless across tracks; never gathered there): duration (ns),
        angle (rad), unit normal of its great circle (NaN for a zero-length leg) and speed (km/h)."""
        a, b = self.vectors[:-1], self.vectors[1:]
        dt_ns = np.diff(self.time_ns).astype(np.float64)
        dt_ns = np.where(dt_ns > 0, dt_ns, 1.0)
        omega = _angle_rad(a, b)
        normal = np.cross(a, b)
        norm = np.linalg.norm(normal, axis=-1, keepdims=True)
        normal = normal / np.where(norm > 0, norm, np.nan)
        speed = omega * MEAN_EARTH_RADIUS_KM / (dt_ns / _NS_PER_S / SECONDS_PER_HOUR)
        return {name: np.concatenate([x, np.full((1, *x.shape[1:]), np.nan)])
                for name, x in (("dt_ns", dt_ns), ("omega", omega), ("normal", normal), ("speed_kmh", speed))}


