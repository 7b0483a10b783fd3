"""Rules that look at each terminal: whitelists, speed limits, roaming and maritime conditions.

Reference values are worked out by hand from the routes' geometry (see each test); the territory lookup
in the roaming tests is a stand-in with a straight border (longitude 24° E) so the crossing instant is
known exactly; the real Natural Earth lookup is exercised in the coast tests.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from leosim.constants import MEAN_EARTH_RADIUS_KM, NAUTICAL_MILE_KM
from leosim.errors import LeosimInputError
from leosim.ground.tracks import Track, Tracks
from leosim.policy import Condition, PolicyStore, Rule, TerminalRegistry, decide, evaluate, explain
from leosim.policy.conditions import ALLOW, CONDITION_NAMES, OFFSHORE, ROAMING, SPEED
from leosim.policy.roaming import AbroadHistory, days_abroad
from leosim.territory.coast import LandDistance

T0 = np.datetime64("2026-02-03T00:00:00", "ns")
BEFORE = "2026-01-01T00:00:00Z"


def _active_ukr():
    return Rule("UKR", "active", valid_from="2022-01-01", decided_at="2022-01-01")


def test_whitelisted_terminal_keeps_service_and_an_unlisted_one_in_the_same_place_loses_it(tmp_path):
    registry_file = tmp_path / "registry.csv"
    registry_file.write_text("terminal_id,owner,country,plan,registered_on\n"
                             "T-0001,unit A,UKR,military,2026-01-20\n"
                             "T-0002,unit B,UKR,military,\n")
    registry = TerminalRegistry.read(registry_file)
    ids = np.array(["T-0001", "T-0002", "T-0003"])       # T-0003 is not in the registry at all
    instants = np.array([T0 - np.timedelta64(1, "D"), T0, T0 + np.timedelta64(1, "D")])
    whitelist = Rule("UKR", "restricted", valid_from=T0, allow=("registered",), decided_at=T0)
    rules = [_active_ukr(), whitelist]
    decision = decide(rules, territory=["UKR"] * 3, terminal_id=ids, instants=instants,
                      registered=registry.registered(ids, instants))
    # Before the measure everyone is served by the country rule; from it on, only the registered one.
    assert decision.allowed.tolist() == [[True, True, True], [True, False, False], [True, False, False]]
    assert decision.rule_index[:, 1:].tolist() == [[1, 1], [1, 1], [1, 1]]
    assert decision.condition[1, 1] == ALLOW and decision.condition[0, 1] == 0
    text = explain(rules, decision, ([1], [1]), terminal_id=ids)
    assert text == ["T-0002 denied: not in the allow list (registered), rule #1 (UKR restricted)"]
    # A registration after the measure counts from its date.
    late = TerminalRegistry.from_rows([{"terminal_id": "T-0002", "registered_on": "2026-02-03T12:00:00"}])
    allowed, _ = evaluate(rules, territory=["UKR"], terminal_id=["T-0002"], instants=instants,
                          registered=late.registered(["T-0002"], instants))
    assert allowed.tolist() == [[True, False, True]]


def _accelerating_car():
    """60 km/h for 1 h, 120 km/h for 30 min, 60 km/h for 1 h, due north from Kyiv: leg lengths from the
    speeds; the speed changes at 01:00 and 01:30."""
    km_per_deg = np.radians(1.0) * MEAN_EARTH_RADIUS_KM
    lat = 50.0 + np.cumsum([0.0, 60.0, 60.0, 60.0]) / km_per_deg
    times = T0 + np.array([0, 60, 90, 150]).astype("timedelta64[m]")
    return Track.from_arrays(times, lat, np.full(4, 30.5), kind="vehicle")


def test_vehicle_crossing_the_speed_limit_loses_and_regains_service_at_the_right_instants():
    car = _accelerating_car()
    step = np.timedelta64(5, "m")
    instants = T0 + np.arange(0, 150, 5).astype("timedelta64[m]")
    sample = Tracks([car, car]).at(instants)
    limit = Rule("UKR", "denied", valid_from=T0, decided_at=T0,
                 when={"speed_above_kmh": 75, "exempt_plans": ["aviation", "maritime"]})
    rules = [_active_ukr(), limit]
    decision = decide(rules, territory=["UKR", "UKR"], terminal_id=["car", "plane"], instants=instants,
                      plan=["residential", "aviation"], speed_kmh=sample.speed_kmh)
    denied = instants[~decision.allowed[0]]
    # Denied from 01:00 (the 120 km/h leg starts) to before 01:30 (back to 60 km/h), ± one step.
    assert abs(denied[0] - (T0 + np.timedelta64(60, "m"))) <= step
    assert abs(denied[-1] + step - (T0 + np.timedelta64(90, "m"))) <= step
    assert decision.allowed[1].all()                          # the aviation plan is exempt
    assert (decision.condition[0][~decision.allowed[0]] == SPEED).all()
    first = int(np.flatnonzero(~decision.allowed[0])[0])
    text = explain(rules, decision, ([0], [first]), terminal_id=["car", "plane"], speed_kmh=sample.speed_kmh)[0]
    assert text == "car denied: 120 km/h > 75 km/h limit (except aviation, maritime plans), rule #1 (UKR denied)"


class _StraightBorder:
    """Poland west of 24° E, Ukraine east of it (a stand-in for the country lookup with a border whose
    crossing instant is known exactly)."""

    def locate(self, lat_deg, lon_deg):
        return SimpleNamespace(country=np.where(np.asarray(lon_deg) < 24.0, "POL", "UKR"))


def _roam_track():
    # Leaves (50 N, 22 E) at T0 for (50 N, 26 E), 4 h later, then stays 100 days. The great circle
    # between two points on one parallel crosses the middle meridian (24 E) halfway, at T0 + 2 h.
    times = [T0, T0 + np.timedelta64(4, "h"), T0 + np.timedelta64(100, "D")]
    return Track.from_arrays(times, [50.0, 50.0, 50.0], [22.0, 26.0, 26.0], kind="vehicle")


def test_roam_terminal_loses_service_on_the_right_day():
    history = AbroadHistory.from_tracks(Tracks([_roam_track()]), ["POL"], _StraightBorder())
    instants = T0 + np.timedelta64(12, "h") + np.arange(0, 80).astype("timedelta64[D]")
    days = days_abroad(history, instants)
    # Abroad from T0 + 2 h: at T0 + k days + 12 h, k + 10/24 days abroad.
    np.testing.assert_allclose(days["rolling"][0], np.arange(80) + 10 / 24, atol=1e-9)
    # A country rule: a global (*) one would rank below UKR's own rule and never decide in Ukraine.
    rule = Rule("UKR", "denied", valid_from=BEFORE, decided_at=BEFORE,
                when={"days_abroad_above": 60, "plans": ["roam"]})
    rules = [_active_ukr(), rule]
    decision = decide(rules, territory=["UKR", "UKR"], terminal_id=["roam", "home"], instants=instants,
                      plan=["roam", "residential"], days_abroad={"rolling": np.repeat(days["rolling"], 2, 0)})
    lost = int(np.flatnonzero(~decision.allowed[0])[0])
    assert lost == 60                        # 60 + 10/24 > 60 on day 60; 59 + 10/24 is not
    assert not decision.allowed[0, 60:].any() and decision.allowed[0, :60].all()
    assert decision.allowed[1].all()         # not a roam plan
    assert decision.condition[0, 60] == ROAMING
    assert CONDITION_NAMES[ROAMING] == "roaming"


def test_days_abroad_in_the_calendar_year_restart_on_1_january():
    start = np.datetime64("2025-12-01T00:00:00", "ns")
    track = Track.from_arrays([start, start + np.timedelta64(60, "D")], [50.0, 50.0], [26.0, 26.0])
    history = AbroadHistory.from_tracks(Tracks([track]), ["POL"], _StraightBorder())
    at = np.array(["2025-12-31T00:00:00", "2026-01-10T00:00:00"], dtype="datetime64[ns]")
    np.testing.assert_allclose(history.days(at, "calendar")[0], [30.0, 9.0])
    np.testing.assert_allclose(history.days(at, "rolling")[0], [30.0, 40.0])


def test_roaming_state_is_identical_whatever_the_chunking():
    tracks = Tracks([_roam_track(), Track.route([(50.0, 23.9), (50.0, 24.1), (50.0, 20.0)], speed_kmh=3,
                                                start=T0 - np.timedelta64(3, "D"))])
    home = ["POL", "POL"]
    instants = T0 + np.arange(0, 90 * 24, 7).astype("timedelta64[h]")
    rule = Rule("*", "denied", valid_from=BEFORE, decided_at=BEFORE, when={"days_abroad_above": 30})
    whole_history = AbroadHistory.from_tracks(tracks, home, _StraightBorder())
    whole = decide([rule], territory=["UKR", "UKR"], instants=instants, default_state="active",
                   days_abroad=days_abroad(whole_history, instants))
    assert not whole.allowed.all() and whole.allowed.any()
    for size in (1, 5, 64):
        for begin in range(0, instants.size, size):
            part = instants[begin:begin + size]
            # Each chunk rebuilds everything from the tracks alone, as a worker would.
            history = AbroadHistory.from_tracks(tracks, home, _StraightBorder())
            days = days_abroad(history, part)
            np.testing.assert_array_equal(days["rolling"], days_abroad(whole_history, instants)["rolling"]
                                          [:, begin:begin + size])
            chunk = decide([rule], territory=["UKR", "UKR"], instants=part, default_state="active", days_abroad=days)
            np.testing.assert_array_equal(chunk.allowed, whole.allowed[:, begin:begin + size])
            np.testing.assert_array_equal(chunk.rule_index, whole.rule_index[:, begin:begin + size])


def test_fixed_terminal_abroad_counts_from_a_given_instant():
    history = AbroadHistory.fixed([True, False], [T0, T0])
    days = history.days([T0 + np.timedelta64(10, "D")])
    np.testing.assert_allclose(days[:, 0], [10.0, 0.0])


def _island():
    import shapely

    return shapely.box(-1.0, -1.0, 0.0, 1.0)     # land: 1° × 2°, its east coast on the prime meridian


def test_distance_to_land_is_metric_on_a_hand_checkable_island():
    land = LandDistance([_island()])
    lon = np.array([-0.5, 0.0, 0.1, 0.2, 0.5])
    km = land.distance_km(np.zeros(5), lon)
    # Along the equator the nearest land is the coast at (0, 0): distance = Δλ · R (great circle).
    # Coast points are 1 km apart: error ≤ spacing²/(8·distance), under 20 m from 11 km out.
    expected = np.radians(np.maximum(lon, 0.0)) * MEAN_EARTH_RADIUS_KM
    assert km[0] == 0.0 and km[1] == 0.0
    np.testing.assert_allclose(km[2:], expected[2:], atol=0.02)


def test_ship_loses_service_past_the_coastal_limit_without_a_maritime_plan():
    land = LandDistance([_island()])
    # Two ships leave the coast due east along the equator at 20 km/h for 3 h (60 km).
    route = Track.route([(0.0, 0.0001), (0.0, 0.0001 + np.degrees(60.0 / MEAN_EARTH_RADIUS_KM))],
                        speed_kmh=20.0, start=T0, kind="ship")
    step = np.timedelta64(6, "m")
    instants = T0 + np.arange(0, 180, 6).astype("timedelta64[m]")
    sample = Tracks([route, route]).at(instants)
    offshore_nm = land.distance_km(sample.lat_deg, sample.lon_deg) / NAUTICAL_MILE_KM
    rule = Rule("*", "denied", valid_from=BEFORE, decided_at=BEFORE,
                when={"offshore_above_nm": 12, "exempt_plans": ["maritime"]})
    territory = np.full(2, "")                              # at sea: no country
    decision = decide([Rule("*", "active", valid_from=BEFORE, decided_at="2025-01-01"), rule],
                      territory=territory, instants=instants, plan=["residential", "maritime"],
                      offshore_nm=offshore_nm)
    # 12 nm = 22.224 km from the coast, reached after (22.224 - 0.011) km / 20 km/h ≈ 66.6 min.
    crossing = T0 + np.timedelta64(int((12 * NAUTICAL_MILE_KM - np.radians(0.0001) * MEAN_EARTH_RADIUS_KM)
                                       / 20.0 * 3600), "s")
    lost = instants[int(np.flatnonzero(~decision.allowed[0])[0])]
    assert abs(lost - crossing) <= step
    assert not decision.allowed[0, instants >= crossing + step].any()
    assert decision.allowed[1].all()
    assert decision.condition[0, -1] == OFFSHORE


def test_precedence_with_conditions():
    # A terminal rule beats a conditional country rule; a later unconditional country rule beats an
    # earlier conditional one; a condition that does not hold leaves the next rule to decide.
    speed = np.array([[100.0], [100.0], [10.0]])
    rules = [Rule("UKR", "denied", valid_from=BEFORE, decided_at="2026-01-02", when={"speed_above_kmh": 75}),
             Rule("terminal:T-1", "active", valid_from=BEFORE, decided_at="2025-01-01"),
             Rule("UKR", "active", valid_from=BEFORE, decided_at="2026-01-01")]
    allowed, index = evaluate(rules, territory=["UKR"] * 3, terminal_id=["T-1", "T-2", "T-3"],
                              instants=[T0], speed_kmh=speed)
    assert allowed[:, 0].tolist() == [True, False, True]
    assert index[:, 0].tolist() == [1, 0, 2]
    later = [*rules[:1], Rule("UKR", "active", valid_from=BEFORE, decided_at="2026-01-03")]
    allowed, _ = evaluate(later, territory=["UKR"], instants=[T0], speed_kmh=[[100.0]])
    assert allowed.tolist() == [[True]]


def test_conditions_validate_and_round_trip_through_the_store(tmp_path):
    with pytest.raises(LeosimInputError, match="at least one"):
        Condition()
    with pytest.raises(LeosimInputError, match="abroad_year"):
        Condition(days_abroad_above=60, abroad_year="fiscal")
    with pytest.raises(LeosimInputError, match="unknown condition 'speed'"):
        Rule("UKR", "denied", valid_from=BEFORE, when={"speed": 75})
    rule = Rule("UKR", "denied", valid_from=T0, when={"speed_above_kmh": 75, "exempt_plans": ["Aviation"]})
    plain = Rule("UKR", "denied", valid_from=T0)
    with PolicyStore(tmp_path / "p.sqlite") as store:
        store.record([rule, plain], by="ops", reason="3 Feb 2026 measure (reported)")
        got = sorted(store.rules(), key=lambda r: r.rule_id)
        assert got[0].when == Condition(speed_above_kmh=75.0, exempt_plans=("aviation",))
        assert got[1].when is None
        entries = store.entries()
        # The condition is in the hash-chained rule JSON; an unconditional rule's JSON has no "when" key.
        assert entries[0].rule["when"] == {"speed_above_kmh": 75.0, "exempt_plans": ["aviation"]}
        assert "when" not in entries[1].rule
        assert store.verify() is None


def test_cli_policy_set_records_conditions(tmp_path):
    import json

    from click.testing import CliRunner

    from leosim.cli import main

    db = str(tmp_path / "cli.sqlite")
    runner = CliRunner()
    ok = runner.invoke(main, ["policy", "set", "UKR", "denied", "--from", "2026-02-01", "--by", "ops", "--reason",
                              "speed limit (reported)", "--speed-above-kmh", "75", "--exempt-plan", "military",
                              "--exempt-plan", "aviation", "--db", db])
    assert ok.exit_code == 0, ok.output
    assert "when speed > 75 km/h, except military, aviation plans" in ok.output
    ok = runner.invoke(main, ["policy", "set", "global", "denied", "--from", "2024-01-01", "--by", "ops", "--reason",
                              "coastal limit", "--offshore-above-nm", "12", "--exempt-plan", "maritime", "--db", db])
    assert ok.exit_code == 0, ok.output
    ok = runner.invoke(main, ["policy", "set", "UKR", "restricted", "--allow", "registered:UKR", "--from",
                              "2026-02-03", "--by", "ops", "--reason", "whitelist", "--db", db])
    assert ok.exit_code == 0, ok.output
    shown = json.loads(runner.invoke(main, ["policy", "show", "--at", "2026-02-04", "--json", "--db", db]).output)
    by_subject = {(r["subject"], r["state"]): r for r in shown["rules"]}
    assert by_subject[("UKR", "denied")]["when"] == {"speed_above_kmh": 75.0, "exempt_plans": ["military", "aviation"]}
    assert by_subject[("*", "denied")]["when"] == {"offshore_above_nm": 12.0, "exempt_plans": ["maritime"]}
    assert by_subject[("UKR", "restricted")]["when"] is None
    table = runner.invoke(main, ["policy", "show", "--at", "2026-02-04", "--db", db]).output
    assert "> 12 nm from land, except maritime plans" in table
    bad = runner.invoke(main, ["policy", "set", "UKR", "denied", "--from", "2026-02-01", "--by", "ops", "--reason",
                               "x", "--speed-above-kmh", "-5", "--db", db])
    assert bad.exit_code == 2 and "speed_above_kmh must be a finite number >= 0" in bad.output


def test_national_whitelist_allows_only_terminals_registered_in_that_country():
    registry = TerminalRegistry.from_rows([
        {"terminal_id": "UA", "country": "UKR", "registered_on": "2026-01-01"},
        {"terminal_id": "PL", "country": "POL", "registered_on": "2026-01-01"}])
    ids = ["UA", "PL"]
    rule = Rule("UKR", "restricted", valid_from=BEFORE, allow=("registered:UKR",))
    allowed, _ = evaluate([rule], territory=["UKR", "UKR"], terminal_id=ids, instants=[T0],
                          registered=registry.registered(ids, [T0]),
                          registered_country=registry.columns(ids)["country"])
    assert allowed[:, 0].tolist() == [True, False]


def test_scalar_columns_are_not_truncated():
    # A scalar fleet/tenant applies to every terminal in full (np.full with dtype=str used to keep 1 character).
    rule = Rule("UKR", "restricted", valid_from=BEFORE, allow=("fleet:donated",))
    allowed, _ = evaluate([rule], territory=["UKR", "UKR"], fleet="donated", instants=[T0])
    assert allowed.all()
