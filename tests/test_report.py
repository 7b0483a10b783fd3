"""The HTML report: every section from synthetic tables (docs/outputs.md columns), nothing external,
deterministic bytes, missing tables skipped, text escaped, and a map whose pixels show the right states
at places whose territory the territory layer confirms."""

from __future__ import annotations

import base64
import hashlib
import io
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import shapely
from PIL import Image

from leosim.errors import LeosimInputError
from leosim.report import build_report, plots
from leosim.report.html import SECTIONS
from leosim.report.maps import _unwrapped_polygons, map_figures, map_panels
from leosim.report.render import STATE_COLOURS, figure_png
from leosim.territory import Territories

START = pd.Timestamp("2024-10-25 06:00:00")
STEP = pd.Timedelta(minutes=10)
TIMES = pd.date_range(START, periods=7, freq=STEP)  # one hour: 06:00 .. 07:00
EVIL = "<script>alert(1)</script>"
#: A custom region over part of Crimea (lon/lat box, degrees), denied.
REGION_BOX = shapely.box(33.0, 44.5, 35.5, 45.8)

SITES = [  # site_id, name, kind, lat, lon, territory, region
    ("kyiv", "Kyiv", "terminal", 50.45, 30.52, "UKR", ""),
    ("kharkiv", "Kharkiv", "terminal", 49.99, 36.23, "UKR", ""),
    ("lviv", EVIL, "terminal", 49.84, 24.03, "UKR", ""),
    ("sevastopol", "Sevastopol", "terminal", 44.62, 33.52, "Test-Region", "Test-Region"),
    ("warsaw", "Warsaw", "terminal", 52.23, 21.01, "POL", ""),
    ("taipei", "Taipei", "terminal", 25.03, 121.57, "TWN", ""),
    ("gw-pl", "Gateway Poland", "gateway", 52.0, 19.0, "POL", ""),
    ("pop-waw", "PoP Warsaw", "pop", 52.2, 21.0, "POL", ""),
]
TERMINALS = [s[0] for s in SITES if s[2] == "terminal"]
#: Status per terminal at every instant (constant in time, so fractions are easy to hand-check).
STATUS = {"kyiv": "ok", "kharkiv": "ok", "lviv": "ok", "sevastopol": "denied", "warsaw": "ok", "taipei": "denied"}


def synthetic_tables() -> dict[str, pd.DataFrame]:
    """Small tables with the documented columns (docs/outputs.md, notes/tables.md)."""
    sites = pd.DataFrame([{"site_id": s, "name": n, "kind": k, "lat_deg": la, "lon_deg": lo, "country": "",
                           "territory": t, "region": r, "fleet": "", "group": ""} for s, n, k, la, lo, t, r in SITES])
    territory_state = pd.DataFrame([
        ("UKR", "country", "active", "UKR active from 2022-02-26", pd.Timestamp("2022-02-26")),
        ("RUS", "country", "denied", "RUS denied", pd.Timestamp("2022-02-26")),
        ("TWN", "country", "denied", "never activated", pd.NaT),
        ("POL", "country", "restricted", "POL restricted (test)", pd.Timestamp("2021-01-01")),
        ("BLR", "country", "none", "", pd.NaT),
        ("Test-Region", "region", "denied", "region denied", pd.Timestamp("2022-02-26")),
    ], columns=["territory", "layer", "state", "rule", "since"])
    rows, coverage = [], []
    places = {s: (la, lo) for s, _n, _k, la, lo, _t, _r in SITES}
    for i, t in enumerate(TIMES):
        for j, site in enumerate(TERMINALS):
            status = STATUS[site]
            rtt = 20.0 + j + 0.5 * i
            rows.append({"time_utc": t, "site_id": site, "status": status, "covered": True, "routable": True,
                         "allowed": status == "ok", "rtt_ms": rtt, "gateway": "gw-pl", "pop": "pop-waw",
                         "rule": "", "sat_id": 7, "path": "1 2 3", "speed_kmh": 0.0,
                         "lat_deg": places[site][0], "lon_deg": places[site][1],
                         "condition": "allow" if status == "denied" else ""})
            coverage.append({"time_utc": t, "site_id": site, "visible_sats": 10 + j + (i % 3)})
    access = pd.DataFrame(rows)
    availability = []
    for site in TERMINALS:
        ok = STATUS[site] == "ok"
        availability.append({"scope": "site", "key": site, "name": dict((s[0], s[1]) for s in SITES)[site],
                             "steps": len(TIMES), "covered_frac": 1.0, "routable_frac": 1.0,
                             "allowed_frac": float(ok), "service_frac": float(ok), "down_no_coverage_frac": 0.0,
                             "down_no_route_frac": 0.0, "down_denied_frac": float(not ok)})
    availability.append({"scope": "territory", "key": "UKR", "name": "Ukraine", "steps": 3 * len(TIMES),
                         "covered_frac": 1.0, "routable_frac": 1.0, "allowed_frac": 0.75, "service_frac": 0.75,
                         "down_no_coverage_frac": 0.0, "down_no_route_frac": 0.0, "down_denied_frac": 0.25})
    availability.append({"scope": "territory", "key": "TWN", "name": "Taiwan", "steps": len(TIMES),
                         "covered_frac": 1.0, "routable_frac": 1.0, "allowed_frac": 0.0, "service_frac": 0.0,
                         "down_no_coverage_frac": 0.0, "down_no_route_frac": 0.0, "down_denied_frac": 1.0})
    latency = pd.DataFrame([{"time_utc": t, "src": "kyiv", "dst": "warsaw", "rtt_ms": np.nan if i == 3 else 9.0 + i,
                             "hops": -1 if i == 3 else 2, "path": "" if i == 3 else "1 2"}
                            for i, t in enumerate(TIMES)])
    latency_summary = pd.DataFrame([{"src": "kyiv", "dst": "warsaw", "min_ms": 9.0, "median_ms": 11.5,
                                     "p95_ms": 14.5, "max_ms": 15.0, "no_path_frac": 1 / 7, "path_changes": 3,
                                     "great_circle_km": 690.0, "fibre_rtt_ms": 6.75, "vacuum_rtt_ms": 4.6,
                                     "stretch_fibre": 11.5 / 6.75, "stretch_vacuum": 11.5 / 4.6}])
    path_changes = pd.DataFrame([{"time_utc": TIMES[k], "src": "kyiv", "dst": "warsaw", "old_path": "1 2",
                                  "new_path": "1 3"} for k in (1, 2, 4)])
    whatif = pd.DataFrame([
        {"variant": v, "scope": "territory", "key": "TWN", "name": "Taiwan", "service_frac": s, "denied_frac": 1 - s,
         "median_rtt_ms": r, "p95_rtt_ms": r, "gateway": g, "pop": g}
        for v, s, r, g in (("baseline", 0.0, np.nan, ""), ("Taiwan on", 1.0, 31.25, "gw-pl"))])
    cost = pd.DataFrame([
        {"month": "2024-09", "payer": "SpaceX", "fleet": "donated", "terminals": 100, "cost_usd": 120000.0,
         "kind": "operator donation"},
        {"month": "2024-10", "payer": "SpaceX", "fleet": "donated", "terminals": 100, "cost_usd": 130000.0,
         "kind": "operator donation"},
        {"month": "2024-10", "payer": "Government", "fleet": "contract", "terminals": 50, "cost_usd": 65000.0,
         "kind": "government contract"}])
    return {"sites": sites, "territory_state": territory_state, "coverage": pd.DataFrame(coverage), "access": access,
            "availability": pd.DataFrame(availability), "latency": latency, "latency_summary": latency_summary,
            "path_changes": path_changes, "whatif": whatif, "cost": cost}


def synthetic_meta(generated_at: str = "2026-01-01T00:00:00Z") -> dict:
    return {"title": "Test scenario & <friends>", "scenario": "test", "start": "2024-10-25T06:00:00Z",
            "end": "2024-10-25T07:00:00Z", "step_s": 600.0, "constellation": "Walker 550 km",
            "satellites": 1584, "input_sha256": {"scenario": "ab" * 32}, "generated_at": generated_at,
            "leosim_version": "0.1.0", "notes": ["a note with <b>markup</b>"],
            "limitations": ["No weather fade.", "Propagation delay only."],
            "variants": [{"name": "baseline", "description": "as declared"},
                         {"name": "Taiwan on", "description": "TWN active"}],
            "geometries": {"Test-Region": REGION_BOX}}


@pytest.fixture(scope="module")
def report() -> str:
    return build_report(synthetic_tables(), synthetic_meta())


def _built(anchor: str, tables: dict, meta: dict) -> str:
    """One section's HTML, built alone (a whole report draws every map: seconds)."""
    return {a: builder for a, _, builder in SECTIONS}[anchor](tables, meta) or ""


def _section(html: str, anchor: str) -> str:
    match = re.search(rf'<section id="{anchor}"[^>]*>(.*?)</section>', html, flags=re.S)
    assert match, f"section {anchor} missing"
    return match.group(1)


# Sections shown only when the run has their tables (the synthetic tables have no capacity model; the Capacity
# section is checked on a capacity run in tests/test_scenario_capacity.py).
CONDITIONAL_SECTIONS = {"capacity"}


def test_every_section_appears_in_order_with_its_toc_entry(report):
    shown = [s for s in SECTIONS if s[0] not in CONDITIONAL_SECTIONS]
    positions = [report.find(f'<section id="{anchor}"') for anchor, _, _ in shown]
    assert all(p > 0 for p in positions)
    assert positions == sorted(positions)  # limitations first, as the style guide asks
    for anchor, _heading, _ in shown:
        assert f'<a href="#{anchor}">' in report
    assert 'id="capacity"' not in report
    assert "No weather fade." in _section(report, "limitations")
    # figures: map panels (Ukraine area, Taiwan, world overview), coverage, two latency, two availability,
    # what-if, cost, path dynamics
    assert len(re.findall(r'<img src="data:image/png;base64,', report)) == 3 + 1 + 2 + 2 + 1 + 1 + 1


def test_nothing_external(report):
    assert not re.search(r"https?://", report, flags=re.I)
    for src in re.findall(r'src="([^"]*)"', report):
        assert src.startswith("data:image/png;base64,")
    for href in re.findall(r'href="([^"]*)"', report):
        assert href.startswith("#")
    assert "<link" not in report and "@import" not in report and "url(" not in report and "<script" not in report


@pytest.mark.slow  # three whole reports
def test_identical_input_gives_identical_bytes(report):
    one = report
    two = build_report(synthetic_tables(), synthetic_meta())
    assert one.encode() == two.encode()
    later = build_report(synthetic_tables(), synthetic_meta(generated_at="2027-06-30T12:00:00Z"))
    assert later != one
    assert later.replace("2027-06-30T12:00:00Z", "2026-01-01T00:00:00Z") == one


def test_png_carries_no_software_or_date_metadata():
    png = figure_png(plots.figure("coverage", synthetic_tables()))
    assert png.startswith(b"\x89PNG") and b"matplotlib" not in png.lower() and b"Software" not in png


@pytest.mark.slow  # ten whole reports
@pytest.mark.parametrize("missing", ["sites", "territory_state", "coverage", "access", "availability", "latency",
                                     "latency_summary", "path_changes", "whatif", "cost"])
def test_a_missing_or_empty_table_is_skipped(missing):
    tables = synthetic_tables()
    del tables[missing]
    html = build_report(tables, synthetic_meta())
    assert html.startswith("<!DOCTYPE html>") and html.rstrip().endswith("</html>")


def test_empty_tables_and_single_tables_are_handled():
    empty = {name: frame.iloc[0:0] for name, frame in synthetic_tables().items()}
    html = build_report(empty, synthetic_meta())
    assert "<img" not in html and 'id="limitations"' in html
    for name, frame in synthetic_tables().items():
        if name not in ("sites", "territory_state"):  # these two draw the (slower) map; covered above
            assert build_report({name: frame}, {}).rstrip().endswith("</html>")


def test_sections_follow_their_tables():
    tables = synthetic_tables()
    for name in ("whatif", "cost", "coverage"):
        del tables[name]
    html = build_report(tables, synthetic_meta())
    for anchor in ("whatif", "cost", "coverage"):
        assert f'id="{anchor}"' not in html and f'href="#{anchor}"' not in html
    empty = build_report({}, {})
    assert "<section" not in empty and "<title>leosim scenario report</title>" in empty


def test_text_is_escaped(report):
    assert "<script" not in report
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in report
    assert "<title>Test scenario &amp; &lt;friends&gt;</title>" in report
    assert "a note with &lt;b&gt;markup&lt;/b&gt;" in report


def test_numbers_are_formatted_from_the_tables(report):
    summary = _section(report, "summary")
    assert "75.0\u00a0%" in summary  # UKR service_frac 0.75
    # served share of terminal-instants: 4 of the 6 terminals are ok at every instant
    assert "66.7\u00a0%" in summary
    latency = _section(report, "latency")
    assert "11.5" in latency and "6.8" in latency and "1.70" in latency  # median, fibre 6.75, stretch 11.5/6.75
    cost = _section(report, "cost")
    assert "$65,000" in cost and "$315,000" in cost  # a cell, and the grand total 120k + 130k + 65k
    whatif = _section(report, "whatif")
    assert "31.2" in whatif and '<th colspan="5" class="group">Taiwan on</th>' in whatif


def test_path_change_rate_is_changes_over_window_hours():
    rates = plots.path_change_rates(synthetic_tables(), synthetic_meta())
    row = rates[(rates["src"] == "kyiv") & (rates["dst"] == "warsaw")].iloc[0]
    # 3 changes at 06:10, 06:20, 06:40; the window is 7 instants of 10 minutes (70 min, each instant stands
    # for one step): 3 / (70/60) per hour; gaps of 10 and 20 minutes, not all one step: not step-limited
    assert row["changes"] == 3
    assert row["changes_per_hour"] == pytest.approx(3.0 * 60.0 / 70.0)
    assert row["median_minutes_between"] == pytest.approx(15.0)
    assert not row["step_limited"]


def test_figure_by_name():
    tables = synthetic_tables()
    for name in plots.FIGURES:
        fig = plots.figure(name, tables, synthetic_meta())
        assert fig.axes and fig.axes[0].get_title()
    with pytest.raises(LeosimInputError, match="unknown plot"):
        plots.figure("nope", tables)
    with pytest.raises(LeosimInputError, match="needs tables"):
        plots.figure("cost", {})


def _pixel(fig, lon_deg: float, lat_deg: float) -> tuple[int, int, int]:
    """RGB of the rendered PNG at a geographic point of the figure's first axes."""
    image = Image.open(io.BytesIO(figure_png(fig))).convert("RGB")
    x, y = fig.axes[0].transData.transform((lon_deg, lat_deg))
    return image.getpixel((round(x), round(image.height - y)))


def _hex(colour: str) -> np.ndarray:
    return np.array([int(colour[i:i + 2], 16) for i in (1, 3, 5)])


@pytest.mark.parametrize(("lon_deg", "lat_deg", "country", "state"), [
    (28.0, 48.5, "UKR", "active"),      # Podillia, central-west Ukraine: no site label nearby
    (37.8, 51.6, "RUS", "denied"),      # Belgorod/Kursk oblasts
    (34.3, 45.2, "UKR", "denied"),      # central Crimea: inside the custom region, which wins over the country
    (18.5, 51.0, "POL", "restricted"),  # southern Poland
    (28.3, 52.7, "BLR", "none"),        # Belarus, no rule
])
def test_map_pixels_show_each_state(lon_deg, lat_deg, country, state):
    # independent check of where the point lies: the territory layer's own point-in-polygon lookup
    assert Territories.default().lookup(lat_deg, lon_deg) == country
    _, fig = map_figures(synthetic_tables(), synthetic_meta())[0]
    # 12 levels per channel: anti-aliasing only touches pixels at a border; these points are well inside
    assert np.abs(np.array(_pixel(fig, lon_deg, lat_deg)) - _hex(STATE_COLOURS[state])).max() <= 12


def test_panels_cluster_terminals_and_cross_the_antimeridian():
    panels = map_panels(synthetic_tables())
    assert len(panels) == 2  # Europe, Taiwan (8000 km apart, far beyond the clustering distance)
    europe = panels[0]
    assert europe.lon_min < 19.0 and europe.lon_max > 36.23 and europe.lat_min < 44.62 and europe.lat_max > 52.23
    sites = pd.DataFrame([{"site_id": s, "name": s, "kind": "terminal", "lat_deg": la, "lon_deg": lo,
                           "territory": t} for s, la, lo, t in
                          (("suva", -18.14, 178.44, "FJI"), ("apia", -13.83, -171.76, "WSM"))])
    tables = {"sites": sites, "territory_state": pd.DataFrame(
        {"territory": ["FJI", "WSM"], "layer": ["country", "country"], "state": ["active", "denied"]})}
    (panel,) = map_panels(tables)
    # 9.8° of longitude between them across the antimeridian, not 350°
    assert panel.lon_max - panel.lon_min < 25.0

    def inside(lon_deg):  # the panel's longitude for a point, whichever side of ±180° the panel is centred
        return next(x for x in (lon_deg - 360.0, lon_deg, lon_deg + 360.0) if panel.lon_min <= x <= panel.lon_max)

    suva, apia = inside(178.44), inside(-171.76)
    assert apia - suva == pytest.approx(9.8)
    _, fig = map_figures(tables, {})[0]
    # Viti Levu's interior (Fiji) and Upolu's (Samoa), either side of the antimeridian
    assert Territories.default().lookup(-17.8, 178.0) == "FJI"
    assert Territories.default().lookup(-13.95, -171.9) == "WSM"
    assert np.abs(np.array(_pixel(fig, inside(178.0), -17.8)) - _hex(STATE_COLOURS["active"])).max() <= 12
    assert np.abs(np.array(_pixel(fig, inside(-171.9), -13.95)) - _hex(STATE_COLOURS["denied"])).max() <= 12


def test_region_crossing_the_antimeridian_unsplit_is_unwrapped():
    ring = shapely.Polygon([(179.0, -20.0), (-179.0, -20.0), (-179.0, -15.0), (179.0, -15.0)])
    (polygon,) = _unwrapped_polygons(ring)
    west, _, east, _ = polygon.bounds
    assert (west, east) == (179.0, 181.0)
    assert polygon.area == pytest.approx(10.0)


def test_map_embeds_as_png_that_decodes(report):
    uri = re.search(r'<section id="map".*?<img src="data:image/png;base64,([^"]+)"', report, flags=re.S).group(1)
    image = Image.open(io.BytesIO(base64.b64decode(uri)))
    assert image.format == "PNG" and image.width >= 800


_HASH_SCRIPT = """
import hashlib, sys
sys.path.insert(0, sys.argv[1])
from test_report import synthetic_meta, synthetic_tables
from leosim.report import build_report
print(hashlib.sha256(build_report(synthetic_tables(), synthetic_meta()).encode()).hexdigest())
"""


@pytest.mark.slow
def test_identical_bytes_across_processes_and_hash_seeds(report):
    digests = set()
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        run = subprocess.run([sys.executable, "-c", _HASH_SCRIPT, str(Path(__file__).parent)], env=env,
                             capture_output=True, text=True, check=True, timeout=300)
        digests.add(run.stdout.strip())
    assert digests == {hashlib.sha256(report.encode()).hexdigest()}


#: Would-be RTT of the always-denied pair (ms), one per instant: what its physical route gives if allowed.
TAIPEI_WOULD_MS = 40.0 + np.arange(len(TIMES))
#: Instants at which the partly denied pair (warsaw -> kyiv) is denied: a run of two, and one alone.
PARTLY_DENIED = (1, 2, 5)


def _tables_with_denied_pairs() -> dict[str, pd.DataFrame]:
    """The synthetic tables with the latency columns ``allowed`` and ``rtt_if_allowed_ms``: kyiv -> warsaw
    always allowed, taipei -> tokyo denied throughout, warsaw -> kyiv denied at :data:`PARTLY_DENIED`."""
    tables = synthetic_tables()
    old = tables["latency"]
    rows = [old.assign(allowed=True, rtt_if_allowed_ms=old["rtt_ms"])]
    rows.append(pd.DataFrame({"time_utc": TIMES, "src": "taipei", "dst": "tokyo", "rtt_ms": np.nan, "hops": -1,
                              "path": "", "allowed": False, "rtt_if_allowed_ms": TAIPEI_WOULD_MS}))
    physical = 30.0 + np.arange(len(TIMES))
    allowed = np.array([i not in PARTLY_DENIED for i in range(len(TIMES))])
    rows.append(pd.DataFrame({"time_utc": TIMES, "src": "warsaw", "dst": "kyiv",
                              "rtt_ms": np.where(allowed, physical, np.nan), "hops": np.where(allowed, 2, -1),
                              "path": np.where(allowed, "1 2", ""), "allowed": allowed,
                              "rtt_if_allowed_ms": physical}))
    tables["latency"] = pd.concat(rows, ignore_index=True)
    tables["latency_summary"] = pd.concat([tables["latency_summary"], pd.DataFrame([
        {"src": "taipei", "dst": "tokyo", "min_ms": np.nan, "median_ms": np.nan, "p95_ms": np.nan,
         "max_ms": np.nan, "no_path_frac": 1.0, "path_changes": 0, "great_circle_km": 2100.0,
         "fibre_rtt_ms": 20.5, "vacuum_rtt_ms": 14.0, "stretch_fibre": np.nan, "stretch_vacuum": np.nan,
         "denied_frac": 1.0}])], ignore_index=True)
    return tables


def _lines(ax, text: str) -> list:
    return [line for line in ax.get_lines() if line.get_label() == text]


def test_denied_pair_is_drawn_from_its_would_be_rtt():
    fig = plots.pair_latency_figure(_tables_with_denied_pairs())
    series_ax, cdf_ax = fig.axes[:2]
    [would] = _lines(series_ax, "Taipei → tokyo (denied: would be)")
    assert not _lines(series_ax, "Taipei → tokyo")  # never served: no served series
    np.testing.assert_array_equal(would.get_xdata(), TIMES.to_numpy())
    np.testing.assert_array_equal(would.get_ydata(), TAIPEI_WOULD_MS)
    assert would.get_linestyle() != "-" and would.get_alpha() < 1.0
    assert would.get_marker() in ("None", None, "")  # no lone instants, no markers
    # same colour as the pair's ideal-fibre reference line (20.5 ms)
    [fibre] = [line for line in series_ax.get_lines() if list(line.get_ydata()) == [20.5, 20.5]]
    assert would.get_color() == fibre.get_color()
    # its CDF: the would-be values sorted, fractions 1/7 .. 7/7, faded like the series
    [cdf] = [line for line in cdf_ax.get_lines()
             if line.get_color() == fibre.get_color() and line.get_drawstyle() == "steps-post"]
    assert cdf.get_alpha() == would.get_alpha()
    np.testing.assert_array_equal(cdf.get_xdata(), np.sort(TAIPEI_WOULD_MS))
    np.testing.assert_allclose(cdf.get_ydata(), np.arange(1, len(TIMES) + 1) / len(TIMES))


def test_partly_denied_pair_keeps_served_instants_and_adds_the_would_be_ones():
    fig = plots.pair_latency_figure(_tables_with_denied_pairs())
    series_ax, cdf_ax = fig.axes[:2]
    [served] = _lines(series_ax, "Warsaw → Kyiv")
    [would] = _lines(series_ax, "Warsaw → Kyiv (denied: would be)")
    physical = 30.0 + np.arange(len(TIMES))
    denied = np.isin(np.arange(len(TIMES)), PARTLY_DENIED)
    np.testing.assert_array_equal(served.get_ydata(), np.where(denied, np.nan, physical))
    np.testing.assert_array_equal(would.get_ydata(), np.where(denied, physical, np.nan))
    # lone instants get a marker, runs a line: denied 5 alone; served 0 (before the run 1-2) and 6 (after 5)
    assert list(would.get_markevery()) == [5]
    assert list(served.get_markevery()) == [0, 6]
    assert served.get_color() == would.get_color()
    steps = [line for line in cdf_ax.get_lines() if line.get_color() == served.get_color()
             and line.get_drawstyle() == "steps-post"]
    xs = sorted((tuple(line.get_xdata()) for line in steps), key=len)
    assert xs == [tuple(physical[denied]), tuple(physical[~denied])]
    # the always-allowed pair has no would-be series
    assert not _lines(series_ax, "Kyiv → Warsaw (denied: would be)")


def test_latency_without_the_policy_columns_renders_as_before():
    old = synthetic_tables()
    assert "allowed" not in old["latency"]
    fig = plots.pair_latency_figure(old)
    labels = [line.get_label() for line in fig.axes[0].get_lines() if not line.get_label().startswith("_")]
    assert labels == ["Kyiv → Warsaw"]
    # the same pair with the new columns, allowed throughout, gives the very same picture
    new = synthetic_tables()
    new["latency"] = new["latency"].assign(allowed=True, rtt_if_allowed_ms=new["latency"]["rtt_ms"])
    assert figure_png(fig) == figure_png(plots.pair_latency_figure(new))
    html = _built("latency", old, synthetic_meta())
    assert "RTT between named pairs" in html and "would give" not in html


def test_report_says_what_the_faded_lines_are():
    tables = _tables_with_denied_pairs()
    html = _built("latency", tables, synthetic_meta())
    assert "would give if allowed" in html
    assert "Over the window" in html and "denied" in html
    assert html == _built("latency", _tables_with_denied_pairs(), synthetic_meta())


# ----- issue 14: honest labels, sources, grouping, label placement ----------------------------------------
def test_window_is_instants_times_step():
    # 180 instants every 60 s are 3.0 h (not the 2.98 h from the first to the last instant)
    assert plots.window_hours({}, {"instants": 180, "step_s": 60.0}) == pytest.approx(3.0)
    # from the tables alone: 7 instants 10 minutes apart
    assert plots.window_hours(synthetic_tables(), {}) == pytest.approx(70.0 / 60.0)
    summary = _built("summary", synthetic_tables(), {**synthetic_meta(), "instants": 180, "step_s": 60.0})
    assert "3.0 h" in summary and "2.98" not in summary


def test_times_carry_their_zone(report):
    assert "2022-02-26 00:00:00 UTC" in _section(report, "map")  # the rules' "since" column
    assert "Window from 2024-10-25 06:00 UTC" in report


def _denied_pair_tables():
    tables = synthetic_tables()
    tables["latency_summary"] = pd.concat([tables["latency_summary"], pd.DataFrame([
        {"src": "taipei", "dst": "warsaw", "min_ms": np.nan, "median_ms": np.nan, "p95_ms": np.nan,
         "max_ms": np.nan, "no_path_frac": 1.0, "path_changes": 0, "great_circle_km": 8900.0,
         "fibre_rtt_ms": 87.2, "vacuum_rtt_ms": 59.4, "stretch_fibre": np.nan, "stretch_vacuum": np.nan,
         "denied_frac": 1.0, "median_if_allowed_ms": 95.25}])], ignore_index=True)
    return tables


def test_denied_pair_says_what_it_would_get():
    latency = _built("latency", _denied_pair_tables(), synthetic_meta())
    assert "denied (would be 95.2 ms)" in latency or "denied (would be 95.3 ms)" in latency
    assert "No path" not in latency  # the old column that read "No path 100 %" next to "Denied 100 %"
    assert "Median if allowed (ms)" in latency and "would get a median RTT of" in latency
    row = re.search(r"<tr><td[^>]*>Taipei → Warsaw</td>(.*?)</tr>", latency).group(1)
    assert ">0<" not in row  # a pair that never had a path has no path-change count: "—"


def test_stretch_only_for_long_enough_pairs():
    from leosim.constants import MIN_STRETCH_DISTANCE_KM
    from leosim.scenario import summaries

    # Tokyo and a PoP 16 km away (the seed scenario's "stretch 55.81"), and Kyiv-Warsaw (690 km)
    sites = pd.DataFrame({"site_id": ["tokyo", "pop-tyo", "kyiv", "warsaw"],
                          "lat_deg": [35.6762, 35.6195, 50.4501, 52.2297],
                          "lon_deg": [139.6503, 139.7925, 30.5234, 21.0122]})
    latency = pd.DataFrame([{"time_utc": t, "src": s, "dst": d, "rtt_ms": 9.0, "path": "1 2", "allowed": True,
                             "rtt_if_allowed_ms": 9.0} for t in TIMES for s, d in (("tokyo", "pop-tyo"),
                                                                                  ("kyiv", "warsaw"))])
    access = pd.DataFrame(columns=["variant", "site_id", "pop", "time_utc", "allowed", "rtt_ms", "path"])
    table = summaries.latency_summary(latency, access, sites).set_index("src")
    assert table.loc["tokyo", "great_circle_km"] < MIN_STRETCH_DISTANCE_KM
    assert np.isnan(table.loc["tokyo", "stretch_fibre"]) and np.isnan(table.loc["tokyo", "stretch_vacuum"])
    assert table.loc["kyiv", "stretch_fibre"] == pytest.approx(9.0 / table.loc["kyiv", "fibre_rtt_ms"])
    assert table.loc["kyiv", "median_if_allowed_ms"] == pytest.approx(9.0)


def test_step_limited_path_dynamics_say_so():
    tables = synthetic_tables()
    tables["path_changes"] = pd.DataFrame([{"time_utc": TIMES[k], "src": "kyiv", "dst": "warsaw", "old_path": "1",
                                            "new_path": "2"} for k in range(1, 7)])  # a change at every instant
    rates = plots.path_change_rates(tables, synthetic_meta())
    assert bool(rates.iloc[0]["step_limited"]) and rates.iloc[0]["median_minutes_between"] == pytest.approx(10.0)
    paths = _built("paths", tables, synthetic_meta())
    assert "at least " in paths and "limited by the 600 s step" in paths


def test_cited_sources_become_links_and_the_cost_chart_is_tagged():
    meta = {**synthetic_meta(), "sources": [
        {"what": "rule", "subject": "UKR", "key": "UKR", "state": "active", "reason": "r",
         "url": "https://example.org/ukr?a=1&b=2", "source": "Example, 2022"},
        {"what": "fleet", "subject": "donated", "key": "", "state": "", "reason": "",
         "url": "javascript:alert(1)", "source": "Illustrative. Press reports."}]}
    report = _built("summary", synthetic_tables(), meta) + _built("notes", synthetic_tables(), meta)
    assert '<a href="https://example.org/ukr?a=1&amp;b=2" rel="noopener noreferrer" target="_blank">' in report
    assert "javascript:" not in report.replace("javascript:alert(1)</", "")  # shown as text, never a link
    assert 'href="javascript' not in report
    assert plots.costs_are_illustrative(meta) and not plots.costs_are_illustrative(synthetic_meta())
    tagged = plots.cost_figure(synthetic_tables(), meta)
    assert any(plots.ILLUSTRATIVE_TAG == text.get_text() for text in tagged.axes[0].texts)


def test_terminals_are_grouped_as_in_the_scenario():
    tables = synthetic_tables()
    groups = {"kyiv": "Ukraine", "kharkiv": "front line", "lviv": "Ukraine", "sevastopol": "Crimea",
              "warsaw": "control", "taipei": "Taiwan"}
    tables["sites"]["group"] = tables["sites"]["site_id"].map(groups).fillna("")
    availability = _built("availability", tables, synthetic_meta())
    site_table = availability[availability.index("Per terminal"):]
    order = [site_table.index(f">{name}<") for name in ("Kyiv", "Kharkiv", "Sevastopol", "Warsaw", "Taipei")]
    # groups in the order of first appearance (Ukraine: Kyiv then Lviv), not alphabetical
    assert order == sorted(order) and ">Ukraine<" in site_table and ">front line<" in site_table


def test_close_map_labels_do_not_overlap():
    from leosim.report.maps import place_labels
    from leosim.report.render import new_figure, report_style

    # Kramatorsk, Pokrovsk, Donetsk and Taichung/Hualien-like neighbours on a 35-degree-wide map
    lon = np.array([37.5848, 37.1759, 37.8028, 35.3675, 35.1396])
    lat = np.array([48.7389, 48.2829, 48.0159, 46.8489, 47.8388])
    names = ["Kramatorsk", "Pokrovsk", "Donetsk", "Melitopol", "Zaporizhzhia"]
    with report_style():
        fig = new_figure(8.0, 5.0)
        ax = fig.add_subplot()
        ax.set_xlim(5, 41)
        ax.set_ylim(43, 55)
        ax.scatter(lon, lat)
        labels = place_labels(ax, lon, lat, names, obstacles_deg=np.column_stack([lon, lat]))
        fig.draw_without_rendering()
        boxes = [a.get_window_extent() for a in labels]
    assert len(boxes) == len(names)
    for i in range(len(boxes)):
        for j in range(i + 1, len(boxes)):
            assert not boxes[i].overlaps(boxes[j]), (names[i], names[j])
