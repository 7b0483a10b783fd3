"""Moving terminals: track readers, great-circle interpolation, speed and heading (leosim.ground.tracks)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from leosim.constants import MEAN_EARTH_RADIUS_KM
from leosim.errors import LeosimInputError
from leosim.ground.tracks import Track, Tracks
from leosim.network.references import great_circle_km

#: 1 m, in km: the issue's tolerance for positions on a 1,000 km leg.
ONE_METRE_KM = 1e-3
T0 = np.datetime64("2026-02-03T00:00:00", "ns")


def _intermediate_point(lat1, lon1, lat2, lon2, f):
    """Point a fraction f along the great circle (Ed Williams, Aviation Formulary, "Intermediate points on a
    great circle"): a closed form in trigonometry, written independently of leosim's vector slerp."""
    la1, lo1, la2, lo2 = map(np.radians, (lat1, lon1, lat2, lon2))
    d = 2 * np.arcsin(np.sqrt(np.sin((la1 - la2) / 2) ** 2
                              + np.cos(la1) * np.cos(la2) * np.sin((lo1 - lo2) / 2) ** 2))
    a = np.sin((1 - f) * d) / np.sin(d)
    b = np.sin(f * d) / np.sin(d)
    x = a * np.cos(la1) * np.cos(lo1) + b * np.cos(la2) * np.cos(lo2)
    y = a * np.cos(la1) * np.sin(lo1) + b * np.cos(la2) * np.sin(lo2)
    z = a * np.sin(la1) + b * np.sin(la2)
    return np.degrees(np.arctan2(z, np.hypot(x, y))), np.degrees(np.arctan2(y, x))


def test_interpolation_on_a_1000_km_leg_matches_the_great_circle_within_one_metre():
    # Kyiv towards the north-west, a leg of ~1,000 km over 2 h, sampled at 7 fractions.
    lat1, lon1, lat2, lon2 = 50.45, 30.52, 54.0, 18.0
    leg_km = great_circle_km(lat1, lon1, lat2, lon2)
    assert 900 < leg_km < 1100
    track = Track.from_arrays([T0, T0 + np.timedelta64(2, "h")], [lat1, lat2], [lon1, lon2])
    fractions = np.array([0.0, 0.1, 0.25, 0.5, 0.7, 0.93, 1.0])
    instants = T0 + (fractions * 2 * 3600e9).astype("timedelta64[ns]")
    sample = track.at(instants)
    ref_lat, ref_lon = _intermediate_point(lat1, lon1, lat2, lon2, fractions)
    error_km = great_circle_km(sample.lat_deg[0], sample.lon_deg[0], ref_lat, ref_lon)
    assert sample.present.all()
    assert np.max(error_km) < ONE_METRE_KM
    # Hand-checkable too: halfway along the equator from 0° to 9° east is 4.5° east.
    leg = Track.from_arrays([T0, T0 + np.timedelta64(1, "h")], [0.0, 0.0], [0.0, 9.0])
    equator = leg.at([T0 + np.timedelta64(30, "m")])
    assert abs(equator.lon_deg[0, 0] - 4.5) * np.radians(1) * MEAN_EARTH_RADIUS_KM < ONE_METRE_KM
    assert abs(equator.lat_deg[0, 0]) < 1e-9


def test_a_track_sampled_at_1_s_and_at_60_s_gives_the_same_positions():
    # A drone on a great circle at 150 km/h for 10 minutes: fixes every second, and every minute.
    route = Track.route([(48.0, 37.0), (48.5, 38.0)], speed_kmh=150.0, start=T0)
    seconds = np.arange(0, 601)
    fine_t = T0 + seconds.astype("timedelta64[s]")
    fine = route.at(fine_t)
    coarse_t = fine_t[::60]
    fine_track = Track.from_arrays(fine_t, fine.lat_deg[0], fine.lon_deg[0])
    coarse_track = Track.from_arrays(coarse_t, fine.lat_deg[0, ::60], fine.lon_deg[0, ::60])
    both = Tracks([fine_track, coarse_track]).at(fine_t[:-1] + np.timedelta64(500, "ms"))
    gap_km = great_circle_km(both.lat_deg[0], both.lon_deg[0], both.lat_deg[1], both.lon_deg[1])
    assert np.max(gap_km) < ONE_METRE_KM          # shared and in-between instants alike
    np.testing.assert_allclose(both.speed_kmh, 150.0, rtol=1e-6)


def test_speed_of_a_100_km_leg_in_one_hour_is_100_kmh():
    # Due north along a meridian: 100 km is 100 / R radians of latitude (hand computation).
    dlat = np.degrees(100.0 / MEAN_EARTH_RADIUS_KM)
    track = Track.from_arrays([T0, T0 + np.timedelta64(1, "h")], [50.0, 50.0 + dlat], [30.0, 30.0])
    assert great_circle_km(50.0, 30.0, 50.0 + dlat, 30.0) == pytest.approx(100.0, rel=1e-9)
    sample = track.at([T0, T0 + np.timedelta64(20, "m"), T0 + np.timedelta64(1, "h")])
    np.testing.assert_allclose(sample.speed_kmh, 100.0, rtol=1e-3)
    np.testing.assert_allclose(sample.heading_deg, 0.0, atol=1e-6)   # due north


def test_heading_follows_the_great_circle():
    # Leaving the equator north-eastwards at 45°, the course at the start is 45°; due east along the
    # equator it is 90°; due west 270°.
    east = Track.route([(0.0, 0.0), (0.0, 1.0)], speed_kmh=500, start=T0).at([T0])
    west = Track.route([(0.0, 1.0), (0.0, 0.0)], speed_kmh=500, start=T0).at([T0])
    assert east.heading_deg[0, 0] == pytest.approx(90.0, abs=1e-9)
    assert west.heading_deg[0, 0] == pytest.approx(270.0, abs=1e-9)


def test_no_extrapolation_outside_the_span():
    track = Track.route([(50.0, 30.0), (50.0, 31.0)], speed_kmh=60, start=T0)
    instants = [T0 - np.timedelta64(1, "s"), T0, track.end, track.end + np.timedelta64(1, "s")]
    sample = track.at(instants)
    assert sample.present.tolist() == [[False, True, True, False]]
    assert np.isnan(sample.lat_deg[0, [0, 3]]).all() and np.isnan(sample.speed_kmh[0, [0, 3]]).all()
    assert sample.lon_deg[0, 2] == pytest.approx(31.0, abs=1e-9)


def test_route_times_follow_the_speed():
    # Two legs of a waypoint route at 60 km/h: arrival time = distance / speed.
    waypoints = [(50.0, 30.0), (50.2, 30.3), (50.5, 30.3)]
    track = Track.route(waypoints, speed_kmh=60.0, start=T0, kind="vehicle")
    legs = great_circle_km(*np.array(waypoints[:-1]).T, *np.array(waypoints[1:]).T)
    hours = (track.time_ns - track.time_ns[0]) / 3.6e12
    np.testing.assert_allclose(hours[1:], np.cumsum(legs) / 60.0, rtol=1e-9)


def test_vectorised_over_terminals_with_different_spans():
    a = Track.route([(50.0, 30.0), (50.0, 31.0)], speed_kmh=60, start=T0)
    b = Track.route([(46.0, 31.0), (44.0, 33.0)], speed_kmh=30, start=T0 + np.timedelta64(1, "h"))
    instants = T0 + np.arange(0, 4 * 3600, 600).astype("timedelta64[s]")
    both = Tracks([a, b]).at(instants)
    one = [a.at(instants), b.at(instants)]
    for row in (0, 1):
        np.testing.assert_array_equal(both.present[row], one[row].present[0])
        np.testing.assert_array_equal(both.lat_deg[row], one[row].lat_deg[0])


def test_csv_gpx_geojson_readers_agree(tmp_path):
    times = ["2026-02-03T00:00:00Z", "2026-02-03T00:10:00Z", "2026-02-03T00:30:00Z"]
    lats, lons, alts = [46.5, 46.4, 46.2], [30.7, 30.9, 31.3], [0.0, 5.0, 10.0]
    csv_path = tmp_path / "t.csv"
    csv_path.write_text("# a ship\ntime_utc,lat_deg,lon_deg,alt_m\n" + "".join(
        f"{t},{la},{lo},{al}\n" for t, la, lo, al in zip(times, lats, lons, alts, strict=True)))
    gpx_path = tmp_path / "t.gpx"
    gpx_path.write_text('<?xml version="1.0"?><gpx version="1.1" creator="test" '
                        'xmlns="http://www.topografix.com/GPX/1/1"><trk><trkseg>' + "".join(
                            f'<trkpt lat="{la}" lon="{lo}"><ele>{al}</ele><time>{t}</time></trkpt>'
                            for t, la, lo, al in zip(times, lats, lons, alts, strict=True)) + "</trkseg></trk></gpx>")
    geo_path = tmp_path / "t.geojson"
    geo_path.write_text(json.dumps({"type": "FeatureCollection", "features": [{
        "type": "Feature", "properties": {"name": "ship", "coordTimes": times},
        "geometry": {"type": "LineString", "coordinates": [[lo, la, al] for la, lo, al in zip(lats, lons, alts,
                                                                                              strict=True)]}}]}))
    tracks = [Track.read(p) for p in (csv_path, gpx_path, geo_path)]
    for track in tracks[1:]:
        np.testing.assert_array_equal(track.time_ns, tracks[0].time_ns)
        np.testing.assert_allclose(track.lat_deg, lats)
        np.testing.assert_allclose(track.lon_deg, lons)
        np.testing.assert_allclose(track.alt_m, alts)


@pytest.mark.parametrize(("text", "line", "field", "words"), [
    ("time_utc,lat_deg\n2026-02-03T00:00:00Z,1\n", 1, "lon_deg", "missing column"),
    ("time_utc,lat_deg,lon_deg\n2026-02-03T00:00:00Z,1,2\nyesterday,1,2\n", 3, "time_utc", "ISO 8601"),
    ("time_utc,lat_deg,lon_deg\n2026-02-03T00:00:00Z,1,2\n2026-02-03T00:01:00Z,north,2\n", 3, "lat_deg",
     "not a number"),
    ("time_utc,lat_deg,lon_deg\n2026-02-03T00:00:00Z,1,2\n2026-02-03T00:01:00Z,91,2\n", 3, "lat_deg", "latitude"),
    ("time_utc,lat_deg,lon_deg\n\n2026-02-03T00:01:00Z,1,2\n2026-02-03T00:01:00Z,1,3\n", 4, "time_utc",
     "strictly increase"),
])
def test_bad_csv_names_file_line_and_field(tmp_path, text, line, field, words):
    path = tmp_path / "bad.csv"
    path.write_text(text)
    with pytest.raises(LeosimInputError) as info:
        Track.from_csv(path)
    error = info.value
    assert (error.source, error.line, error.field) == (str(path), line, field)
    assert words in error.message


def test_bad_gpx_and_geojson(tmp_path):
    gpx = tmp_path / "bad.gpx"
    gpx.write_text('<?xml version="1.0"?><gpx version="1.1" creator="t" xmlns="http://www.topografix.com/GPX/1/1">'
                   '<trk><trkseg><trkpt lat="1" lon="2"><time>2026-02-03T00:00:00Z</time></trkpt>'
                   '<trkpt lat="1" lon="3"></trkpt></trkseg></trk></gpx>')
    with pytest.raises(LeosimInputError, match=r"trk\[0\]\.trkseg\[0\]\.trkpt\[1\].*no <time>"):
        Track.from_gpx(gpx)
    (tmp_path / "broken.gpx").write_text("<gpx><trk>")
    with pytest.raises(LeosimInputError, match="not a valid GPX"):
        Track.from_gpx(tmp_path / "broken.gpx")
    geo = tmp_path / "bad.geojson"
    geo.write_text(json.dumps({"type": "Feature", "properties": {"times": ["2026-02-03T00:00:00Z"]},
                               "geometry": {"type": "LineString", "coordinates": [[30, 50], [31, 50]]}}))
    with pytest.raises(LeosimInputError, match="one time per vertex") as info:
        Track.from_geojson(geo)
    assert info.value.field == "properties.times"
    geo.write_text(json.dumps({"type": "Feature", "properties": {},
                               "geometry": {"type": "LineString", "coordinates": [[30, 50], [31, 50]]}}))
    with pytest.raises(LeosimInputError, match="no vertex times"):
        Track.from_geojson(geo)
    with pytest.raises(LeosimInputError, match="unknown track format"):
        Track.read(tmp_path / "t.kml")
    with pytest.raises(LeosimInputError, match="at least 2"):
        Track.route([(1.0, 2.0)], speed_kmh=10, start=T0)


def test_segment_search_stays_exact_when_keys_are_coarser_than_a_nanosecond():
    # Two tracks spanning a century overflow an int64 key at 1 ns, so the search runs at 1 µs keys; fixes
    # 300 ns apart must still be told apart (the step-back loop in packed_segments).
    from leosim.ground.tracks import packed_segments

    century_ns = 100 * 365 * 86_400 * 10**9
    times = np.array([0, 300, 600, century_ns, 0, century_ns], dtype=np.int64)
    offsets = np.array([0, 4, 6])
    query = np.array([[450, 299, 600], [450, 299, 600]], dtype=np.int64)
    k, present = packed_segments(offsets, times, query)
    assert k.tolist() == [[1, 0, 2], [4, 4, 4]]
    assert present.all()
