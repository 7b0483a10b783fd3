"""Moving terminals in the capacity model (issue 12 × issue 13): one service engine, one answer.

A plane flies Kyiv → Warsaw (a generated great-circle track) beside a fixed site at Odesa. The run's access
instants are slot instants (start at :12, steps of 600 s = 40 slots, ``every_slots = 40``), so the capacity
tables and the access table can be compared instant by instant. Where the plane should be is computed here
from the public :class:`~leosim.ground.tracks.Track` API and located with h3 directly, not through the
capacity code.
"""

from __future__ import annotations

import h3
import numpy as np
import pytest

from leosim.ground.tracks import Track
from leosim.scenario.api import Scenario
from leosim.service.engine import ABSENT, Terminals
from leosim.timebase import Times

CELL_RESOLUTION = 3
"""H3 resolution 3 (~12,000 km² cells): the plane crosses several cells between instants, and few cells keep
the test fast."""
PLANE_TERMINALS = 7
"""The plane's row stands for 7 terminals, so its cell is the capacity_cells row with 7 terminals."""
WAYPOINTS = [(50.45, 30.52), (52.23, 21.01)]  # Kyiv → Warsaw, ~690 km
SPEED_KMH = 900.0
TAKE_OFF = "2024-10-25T06:05:00Z"
ONE_MM_DEG = 1e-8
"""A millimetre on the ground is ~9e-9 degrees: places' positions survive the ECEF round trip far within it."""

TEXT = f"""
[scenario]
name = "moving capacity"
[constellation]
preset = "starlink-gen1"
[time]
start = 2024-10-25T06:00:12Z
duration_s = 3600
step_s = 600
[network]
isl = "plus-grid"
routing = "user"
[analyses]
latency = false
path_dynamics = false
cost = false
[output]
report = false
[ground]
gateways = "default"
pops = "default"
[[sites]]
id = "plane"
name = "Plane"
track_kind = "aircraft"
route = {{ waypoints = [[50.45, 30.52], [52.23, 21.01]], speed_kmh = {SPEED_KMH}, start = {TAKE_OFF}, alt_m = 10000.0 }}
[[sites]]
id = "odesa"
name = "Odesa"
lat = 46.48
lon = 30.72
[policy]
default_state = "denied"
[[policy.rules]]
subject = "UKR"
state = "active"
from = 2020-01-01T00:00:00Z
[capacity]
parameters = {{ cell_resolution = {CELL_RESOLUTION} }}
site_counts = {{ plane = {PLANE_TERMINALS} }}
every_slots = 40
"""


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    return Scenario.from_text(TEXT).run(tmp_path_factory.mktemp("movecap") / "out", chunk_steps=2)


def _track_cells(instants) -> tuple[np.ndarray, np.ndarray]:
    """Whether the plane is on its track at ``instants`` and the H3 cell (str, '' when not) it is in."""
    sample = Track.route(WAYPOINTS, speed_kmh=SPEED_KMH, start=TAKE_OFF, alt_m=10000.0).at(instants)
    present = sample.present[0]
    cells = [h3.latlng_to_cell(lat, lon, CELL_RESOLUTION) if here else ""
             for lat, lon, here in zip(sample.lat_deg[0].tolist(), sample.lon_deg[0].tolist(), present.tolist(),
                                       strict=True)]
    return present, np.array(cells, dtype=object)


@pytest.mark.slow
def test_moving_demand_follows_the_track_and_agrees_with_access(result):
    access = result["access"]
    thr = result["throughput"]
    cells = result["capacity_cells"]
    instants = np.sort(access["time_utc"].unique())
    # Every access instant is a capacity slot (the scenario is built so).
    np.testing.assert_array_equal(np.sort(thr["time_utc"].unique()), instants)
    present, expected = _track_cells(instants)
    assert (~present).sum() == 1 and present.sum() == 5  # before take-off, then 5 instants in the air
    plane_access = access[access["site_id"] == "plane"].set_index("time_utc").loc[instants]
    plane_thr = thr[thr["site_id"] == "plane"].set_index("time_utc").loc[instants]
    status = plane_access["status"].to_numpy()
    assert status.tolist() == [ABSENT, "ok", "ok", "ok", "denied", "denied"]  # into Poland: denied
    for k, t in enumerate(instants):
        here = cells[(cells["time_utc"] == t) & (cells["terminals"] == PLANE_TERMINALS)]
        row = plane_thr.loc[t]
        if not present[k]:
            # Off its track: in no cell, and no demand.
            assert len(here) == 0
            assert (row["demand_mbps"], row["served_mbps"], row["bottleneck"]) == (0.0, 0.0, "none")
            continue
        assert here["cell"].tolist() == [expected[k]], t
        if status[k] == "ok":
            assert row["served_mbps"] > 0 and row["bottleneck"] not in ("policy", "no_coverage")
            load = result["gateway_load"]
            used = load[(load["time_utc"] == t) & (load["gateway"] == plane_access.loc[t, "gateway"])]
            assert float(used["load_mbps"].iloc[0]) > 0
        else:
            assert (row["demand_mbps"], row["served_mbps"], row["bottleneck"]) == (0.0, 0.0, "policy")
    # The plane's rows count where it was: Poland sees its 7 terminals at 2 slots (and nothing else); Ukraine
    # the Odesa site at 6 slots and the plane at 3 (not before take-off, when it counts nowhere).
    summary = result["capacity_summary"].set_index(["scope", "key"])
    assert summary.loc[("territory", "POL"), "terminals"] == PLANE_TERMINALS
    assert summary.loc[("territory", "UKR"), "terminals"] == (6 * 1 + 3 * PLANE_TERMINALS) / 6
    assert np.isnan(summary.loc[("territory", "POL"), "median_mbps"])  # denied there: no speed test
    # Five distinct cells along the way (the fixed site's cell stays one).
    assert len(set(expected[present])) == 5
    assert cells.loc[cells["terminals"] == 1, "cell"].nunique() == 1


@pytest.mark.slow
def test_capacity_rows_are_the_runs_terminals(result):
    # What the capacity service hands the engine gets, at each instant, the access table's answers.
    plan = Scenario.from_text(TEXT).plan
    service = plan.capacity_service
    access = result["access"]
    instants = np.sort(access["time_utc"].unique())
    times = Times(instants)
    answer = service.engine.serve(times, service.engine.positions_km(times), plan.rule_books, service.asked)
    ids = service.rows.site_id[service.order]
    for j, site in enumerate(ids.tolist()):
        rows = access[access["site_id"] == site].set_index("time_utc").loc[instants]
        assert answer.status[0, :, j].tolist() == rows["status"].tolist(), site
        assert answer.allowed[0, :, j].tolist() == rows["allowed"].tolist(), site
        gateway = np.where(answer.gateway[0, :, j] >= 0, plan.sites.ids[answer.gateway[0, :, j]], "")
        assert gateway.tolist() == rows["gateway"].tolist(), site


def test_a_slot_outside_the_window_locates_moving_rows_in_the_runs_cells():
    # A 10-minute window: the cells the plane visits then are in the table; at 06:30:12 (the server's
    # clock, outside the window) it is in Ukraine, routed and allowed, but in a cell the table does not hold,
    # so it offers no demand.
    plan = Scenario.from_text(TEXT.replace("duration_s = 3600", "duration_s = 600")).plan
    service = plan.capacity_service
    present, expected = _track_cells(np.array(["2024-10-25T06:10:12", "2024-10-25T06:30:12"],
                                              dtype="datetime64[ns]"))
    table = {h3.int_to_str(int(c)) for c in service.cells.cell.tolist()}
    assert present.all() and expected[0] in table and expected[1] not in table
    instant = np.datetime64("2024-10-25T06:30:12", "ns")
    position = plan.constellation.states(Times.from_utc([instant]), knot_spacing_s=0.0).position_km[0]
    frames = service.frames(instant, position, plan.rule_books[:1], ["baseline"])
    row = frames["throughput"].set_index("site_id").loc["plane"]
    assert (row["demand_mbps"], row["served_mbps"], row["bottleneck"]) == (0.0, 0.0, "none")
    assert row["territory"] == "UKR"
    assert (frames["capacity_cells"]["terminals"] == PLANE_TERMINALS).sum() == 0


def _strip_terminal(paths: np.ndarray) -> list[str]:
    """Path strings without their first node (the terminal's own node id, which depends on how many
    terminals share the call's layout)."""
    return [" ".join(p.split()[1:]) for p in np.asarray(paths).ravel().tolist()]


def test_places_and_moving_terminals_served_together_equal_each_alone():
    plan = Scenario.from_text(TEXT).plan
    engine = plan.service_engine
    n_site = len(engine.sites)
    times = Times.from_utc(["2024-10-25T06:00:12Z", "2024-10-25T06:20:12Z", "2024-10-25T06:40:12Z"])
    position = engine.positions_km(times)
    books = plan.rule_books
    places = engine.places([50.0, 52.0], [24.0, 20.0], ids=["lutsk-ish", "lodz-ish"])
    fixed = engine.fixed_terminals(plan.terminals)
    alone_places = engine.serve(times, position, books, places)
    alone_moving = engine.serve(times, position, books, plan.asked_terminals())
    both = Terminals(site=np.r_[fixed.site, places.site], ids=np.r_[fixed.ids, places.ids],
                     country3=np.r_[fixed.country3, places.country3], region=np.r_[fixed.region, places.region],
                     fleet=np.r_[fixed.fleet, places.fleet], tenant=np.r_[fixed.tenant, places.tenant],
                     pop=np.r_[fixed.pop, places.pop], extra=places.extra)
    both = engine.with_mobility(both, tracks=plan.tracks, abroad_since=times.utc[0])
    # Places keep their extra sites M, M + 1; the plane is routed after them.
    plane = int(np.flatnonzero(both.ids == "plane")[0])
    assert both.site[-2:].tolist() == [n_site, n_site + 1] and both.site[plane] == n_site + 2
    together = engine.serve(times, position, books, both)
    n_fixed = len(fixed)
    for name in ("visible_sats", "rtt_ms", "gateway", "pop", "first_sat", "allowed", "rule", "condition", "status"):
        got, alone_p, alone_m = (np.asarray(getattr(a, name)) for a in (together, alone_places, alone_moving))
        np.testing.assert_array_equal(got[..., n_fixed:], alone_p, err_msg=name)
        np.testing.assert_array_equal(got[..., :n_fixed], alone_m, err_msg=name)
    assert _strip_terminal(together.path[..., n_fixed:]) == _strip_terminal(alone_places.path)
    assert _strip_terminal(together.path[..., :n_fixed]) == _strip_terminal(alone_moving.path)
    assert together.status[0, :, plane].tolist() == [ABSENT, "ok", "denied"]
    # The places stand where they were put (not at a fixed site's position).
    np.testing.assert_allclose(together.motion.lat_deg[n_fixed:], [[50.0] * 3, [52.0] * 3], atol=ONE_MM_DEG)
    np.testing.assert_allclose(together.motion.lon_deg[n_fixed:], [[24.0] * 3, [20.0] * 3], atol=ONE_MM_DEG)
    assert together.motion.country3[n_fixed:, 0].tolist() == ["UKR", "POL"]
