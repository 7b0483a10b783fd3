"""examples/ukraine-whitelist-2026.toml at the policy level: its tracks, registry and reported rules give
the verdicts the scenario's comments promise (before the service engine runs it end to end)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from leosim.ground.tracks import Tracks
from leosim.policy.conditions import ALLOW, OFFSHORE, ROAMING, SPEED
from leosim.policy.roaming import AbroadHistory
from leosim.policy.rules import decide, explain
from leosim.policy.terminal_inputs import condition_inputs
from leosim.scenario.mobility import scenario_registry, site_tracks
from leosim.scenario.plan import Plan
from leosim.scenario.schema import load_scenario_spec
from leosim.timebase import Times

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "ukraine-whitelist-2026.toml"


@pytest.fixture(scope="module")
def verdicts():
    spec, text = load_scenario_spec(EXAMPLE)
    plan = Plan(spec, base_dir=EXAMPLE.parent, source=str(EXAMPLE), text=text)
    territories = plan.territories
    rules = list(plan.rules)
    times = Times.from_range(spec.time.start, spec.time.duration_s, spec.time.step_s)
    tracks = site_tracks(spec, base_dir=EXAMPLE.parent, source=str(EXAMPLE))
    registry, _ = scenario_registry(spec, base_dir=EXAMPLE.parent, territories=territories)
    fixed = [s for s in spec.sites if s.lat_deg is not None]
    ids = np.array([s.id for s in fixed] + list(tracks), dtype=str)
    sample = Tracks(list(tracks.values())).at(times)
    n_t = len(times)
    lat = np.concatenate([np.repeat([[s.lat_deg] for s in fixed], n_t, 1), sample.lat_deg])
    lon = np.concatenate([np.repeat([[s.lon_deg] for s in fixed], n_t, 1), sample.lon_deg])
    speed = np.concatenate([np.zeros((len(fixed), n_t)), sample.speed_kmh])
    present = np.concatenate([np.ones((len(fixed), n_t), bool), sample.present])
    hits = territories.locate(lat, lon)
    home = registry.columns(ids)["country"]
    fixed_abroad = (home[:len(fixed)] != "") & (hits.country[:len(fixed), 0] != home[:len(fixed)])
    history = AbroadHistory.concat([AbroadHistory.fixed(fixed_abroad, np.full(len(fixed), times.utc[0])),
                                    AbroadHistory.from_tracks(Tracks(list(tracks.values())), home[len(fixed):],
                                                              territories)])
    inputs = condition_inputs(rules, terminal_id=ids, instants=times, registry=registry, lat_deg=lat, lon_deg=lon,
                              country=hits.country, speed_kmh=speed, history=history)
    # Terminal-by-instant territory: rules are evaluated per instant for each terminal's place then.
    allowed = np.zeros((ids.size, n_t), bool)
    rule_index = np.zeros((ids.size, n_t), np.int32)
    condition = np.zeros((ids.size, n_t), np.int8)
    for t in range(n_t):
        one = decide(rules, territory=hits.country[:, t], region=hits.region[:, t], terminal_id=ids,
                     instants=times.utc[t:t + 1], default_state=spec.policy.default_state,
                     **{k: (v[:, t:t + 1] if isinstance(v, np.ndarray) and v.ndim == 2 else
                            {y: d[:, t:t + 1] for y, d in v.items()} if isinstance(v, dict) else v)
                        for k, v in inputs.items()})
        allowed[:, t], rule_index[:, t], condition[:, t] = one.allowed[:, 0], one.rule_index[:, 0], one.condition[:, 0]
    index = {ident: i for i, ident in enumerate(ids.tolist())}
    return {"ids": ids, "index": index, "times": times.utc, "allowed": allowed, "rule": rule_index,
            "condition": condition, "present": present, "rules": rules, "inputs": inputs,
            "decision": type("D", (), {"allowed": allowed, "rule_index": rule_index, "condition": condition})}


def _at(v, ident, iso):
    t = int(np.flatnonzero(v["times"] == np.datetime64(iso, "ns"))[0])
    return v["index"][ident], t


@pytest.mark.slow
def test_fixed_terminals_before_and_after_the_whitelist(verdicts):
    v = verdicts
    for ident, before, after in [("T-0001", True, True), ("T-0002", True, False), ("T-0003", True, True),
                                 ("T-0004", True, False), ("T-0005", False, False), ("T-0006", False, False)]:
        assert v["allowed"][_at(v, ident, "2026-02-02T12:00")] == before, ident
        assert v["allowed"][_at(v, ident, "2026-02-03T12:00")] == after, ident
    assert v["condition"][_at(v, "T-0002", "2026-02-03T12:00")] == ALLOW


@pytest.mark.slow
def test_drone_car_ship_and_roam_terminal(verdicts):
    v = verdicts
    # The drone: over occupied Donetsk oblast at 09:00 (the region rule), then over government-controlled
    # territory at 150 km/h: the speed limit.
    i, t = _at(v, "T-0100", "2026-02-03T09:40")
    assert v["present"][i, t] and not v["allowed"][i, t] and v["condition"][i, t] == SPEED
    assert not v["allowed"][_at(v, "T-0100", "2026-02-03T09:00")]
    # The car at 60 km/h, registered: served all the way.
    car = v["index"]["T-0101"]
    assert v["allowed"][car, v["present"][car]].all()
    # The ship: served near Odesa, denied beyond 12 nm without a maritime plan.
    ship = v["index"]["T-0102"]
    on = v["present"][ship]
    assert v["allowed"][ship, on][0] and not v["allowed"][ship, on][-1]
    assert v["condition"][ship, on][-1] == OFFSHORE
    # The Polish Roam terminal: > 60 days abroad on 2 February (roaming), not whitelisted on 3 February.
    i, t = _at(v, "T-0103", "2026-02-02T12:00")
    assert not v["allowed"][i, t] and v["condition"][i, t] == ROAMING
    assert v["inputs"]["days_abroad"]["rolling"][i, t] == pytest.approx(69.1, abs=0.1)
    i, t = _at(v, "T-0103", "2026-02-03T12:00")
    assert not v["allowed"][i, t] and v["condition"][i, t] == ALLOW
    words = explain(v["rules"], v["decision"], ([i], [t]), terminal_id=v["ids"])
    assert words[0].startswith("T-0103 denied: not in the allow list (registered:UKR), rule #")
