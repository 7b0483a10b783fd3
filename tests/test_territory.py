"""Territory lookup: capitals, border towns, the antimeridian, the poles, custom regions, H3 cells.

Reference points are well inside their territory (≥ 5 km from any border or coast, more than the
~1.1 km simplification), with coordinates from public gazetteers; the expected answers follow from the
German point of view of Natural Earth (Crimea in Ukraine, Taiwan separate).
"""

from __future__ import annotations

import json

import h3
import numpy as np
import pytest
import shapely

from leosim.errors import LeosimInputError
from leosim.territory import Region, Territories

PLACES = {
    "Kyiv": (50.45, 30.52, "UKR"),
    "Taipei": (25.03, 121.56, "TWN"),
    "Simferopol": (44.95, 34.10, "UKR"),
    "Kaliningrad": (54.71, 20.51, "RUS"),
    "Warsaw": (52.23, 21.01, "POL"),
    "Tokyo": (35.68, 139.69, "JPN"),
    "Kinmen": (24.45, 118.38, "TWN"),          # 2 km off the Chinese coast at Xiamen
    "Quanzhou (mainland, facing Kinmen)": (24.90, 118.59, "CHN"),
    "Pristina": (42.66, 21.16, "KOS"),          # ISO_A2 is -99 in Natural Earth
    "Suva (Fiji, 178.44 E)": (-18.14, 178.44, "FJI"),
    "Taveuni east of 180 (Fiji)": (-16.80, -179.90, "FJI"),
    "Taveuni west of 180 (Fiji)": (-16.95, 179.94, "FJI"),
    "Taveuni, longitude +180.10 wraps": (-16.80, 180.10, "FJI"),
    "Chukotka west of 180 (Russia)": (67.0, 178.0, "RUS"),
    "Chukotka east of 180 (Russia)": (66.5, -175.0, "RUS"),
    "Chukotka, longitude 185 wraps": (66.5, 185.0, "RUS"),
    "Mid Pacific": (0.0, -140.0, ""),
    "North Atlantic": (40.0, -40.0, ""),
    "South Pole": (-90.0, 0.0, "ATA"),
    "near the South Pole": (-89.9, 123.0, "ATA"),
    "North Pole (sea ice, no land)": (90.0, 45.0, ""),
    "near the North Pole": (89.9, -100.0, ""),
}


@pytest.fixture(scope="module")
def territories():
    return Territories.default()


def test_reference_places(territories):
    lat = [p[0] for p in PLACES.values()]
    lon = [p[1] for p in PLACES.values()]
    got = territories.lookup(lat, lon)
    expected = [p[2] for p in PLACES.values()]
    wrong = {name: (g, e) for name, g, e in zip(PLACES, got, expected, strict=True) if g != e}
    assert not wrong


def test_lookup_keeps_shape_and_handles_nan(territories):
    lat = np.array([[50.45, np.nan], [25.03, 95.0]])
    lon = np.array([[30.52, 10.0], [121.56, 0.0]])
    got = territories.lookup(lat, lon)
    assert got.shape == (2, 2)
    assert got.tolist() == [["UKR", ""], ["TWN", ""]]


def test_grid_answers_equal_exact_answers(territories):
    """The grid index must change speed only: compare with the plain exact test on random points."""
    rng = np.random.default_rng(7)
    lat = rng.uniform(-90, 90, 20_000)
    lon = rng.uniform(-180, 180, 20_000)
    index = territories._index
    np.testing.assert_array_equal(index.lookup(lat, lon), index.exact(lat, lon))


def test_codes_names_and_close_matches(territories):
    assert territories.name("TWN") == "Taiwan"
    assert territories.resolve("ukr") == ("country", "UKR")
    assert territories.resolve("Ukraine") == ("country", "UKR")
    with pytest.raises(LeosimInputError, match="UKR"):
        territories.resolve("UKX")
    assert len(set(territories.codes.tolist())) == territories.codes.size


def _crimea_geojson(tmp_path):
    # A rough box around the Crimean peninsula (lon 32.4–36.7, lat 44.3–46.2).
    feature = {"type": "Feature", "properties": {"name": "Crimea"},
               "geometry": {"type": "Polygon", "coordinates": [[[32.4, 44.3], [36.7, 44.3], [36.7, 46.2],
                                                                [32.4, 46.2], [32.4, 44.3]]]}}
    path = tmp_path / "crimea.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [feature]}))
    return path


def test_custom_region_overlays_country(tmp_path):
    territories = Territories.from_geojson(_crimea_geojson(tmp_path))
    lat = [44.95, 50.45, 25.03]
    lon = [34.10, 30.52, 121.56]
    assert territories.lookup(lat, lon).tolist() == ["Crimea", "UKR", "TWN"]
    hits = territories.locate(lat, lon)
    assert hits.country.tolist() == ["UKR", "UKR", "TWN"]
    assert hits.region.tolist() == ["Crimea", "", ""]


def test_region_across_antimeridian():
    # Written with longitudes beyond 180 (RFC 7946 allows either form): 175 E .. 175 W.
    box = shapely.box(175.0, -20.0, 185.0, -15.0)
    territories = Territories.default().with_regions([Region.from_geometry("Dateline", box)])
    got = territories.lookup([-17.0, -17.0, -17.0], [178.0, -178.0, 170.0])
    assert got.tolist() == ["Dateline", "Dateline", ""]


def test_h3_region():
    kyiv = h3.latlng_to_cell(50.45, 30.52, 5)
    coarse = h3.latlng_to_cell(25.03, 121.56, 3)
    region = Region.from_h3_cells("cells", [kyiv, h3.str_to_int(coarse)])
    territories = Territories.default().with_regions([region])
    centre_lat, centre_lon = h3.cell_to_latlng(kyiv)
    got = territories.lookup([centre_lat, 25.03, 52.23], [centre_lon, 121.56, 21.01])
    assert got.tolist() == ["cells", "cells", "POL"]
    # A point in the neighbouring resolution-5 cell is not in the region.
    neighbour = next(c for c in h3.grid_ring(kyiv, 1))
    n_lat, n_lon = h3.cell_to_latlng(neighbour)
    assert territories.lookup([n_lat], [n_lon]).tolist() == ["UKR"]


def test_invalid_h3_cell():
    with pytest.raises(LeosimInputError, match="not a valid H3 cell"):
        Region.from_h3_cells("x", ["not-a-cell"])


@pytest.mark.parametrize(("content", "message"), [
    ("{not json", "not valid JSON"),
    (json.dumps({"type": "Point", "coordinates": [0, 0]}), "not accepted"),
    (json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {}, "geometry": {"type": "Polygon",
                                                          "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 0]]]}}]}),
     "missing or empty property 'name'"),
    (json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"name": "x"}, "geometry": {"type": "LineString",
                                                                     "coordinates": [[0, 0], [1, 1]]}}]}),
     "geometry type 'LineString'"),
    (json.dumps({"type": "FeatureCollection", "features": [   # a bow tie: self-intersecting
        {"type": "Feature", "properties": {"name": "x"},
         "geometry": {"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]}}]}),
     "invalid polygon"),
])
def test_invalid_geojson_names_the_problem(tmp_path, content, message):
    path = tmp_path / "bad.geojson"
    path.write_text(content)
    with pytest.raises(LeosimInputError, match=message) as info:
        Territories.from_geojson(path)
    assert str(path) in str(info.value)
