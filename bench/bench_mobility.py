"""Moving terminals: 10,000 terminals over 1 hour at 10 s (360 instants), moving versus fixed.

Part 1 times each mobility step alone: packing the tracks, interpolating positions/speed/heading, the
country lookup of every (terminal, instant) position, the days-abroad history, the registry look-ups and
the policy verdict with conditions (whitelist, speed limit, roaming) next to the same terminals fixed.
Part 2 (``--engine``) runs the service engine (visibility, routing to a PoP, verdicts) for the same
terminals fixed at their first positions and moving along their tracks, on the same satellite positions,
and prints both run times and the ratio (target from issue 13: moving adds at most 50%).

Usage: ``python bench/bench_mobility.py [--terminals N] [--duration-s S] [--engine]``
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from _common import peak_rss_mib, pin_one_core
from leosim.ground.tracks import Track, Tracks
from leosim.policy import Rule, decide
from leosim.policy.registry import synthesise_fleet
from leosim.policy.roaming import AbroadHistory
from leosim.policy.terminal_inputs import condition_inputs
from leosim.territory import Territories
from leosim.timebase import Times

START = "2026-02-03T09:00:00Z"
UKRAINE_BOX = (24.0, 45.5, 40.0, 52.0)        # lon_min, lat_min, lon_max, lat_max, degrees


def _tracks(lat, lon, rng) -> list[Track]:
    """Each terminal drives or flies a 3-waypoint route from its place, 20-160 km/h, starting up to 30 min
    before the window (so some end inside it)."""
    n = lat.size
    speed = rng.uniform(20.0, 160.0, n)
    hops = rng.normal(0.0, 0.3, (n, 2, 2)).cumsum(axis=1)
    start = np.datetime64(START.rstrip("Z"), "ns") - rng.integers(0, 1800, n).astype("timedelta64[s]")
    return [Track.route([(lat[i], lon[i]), (lat[i] + hops[i, 0, 0], lon[i] + hops[i, 0, 1]),
                         (lat[i] + hops[i, 1, 0], lon[i] + hops[i, 1, 1])], speed_kmh=float(speed[i]),
                        start=start[i], kind="vehicle") for i in range(n)]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--terminals", type=int, default=10_000)
    parser.add_argument("--duration-s", type=float, default=3600.0)
    parser.add_argument("--engine", action="store_true", help="also time the service engine, fixed vs moving")
    args = parser.parse_args()
    pin_one_core()
    rng = np.random.default_rng(0)
    registry, lat, lon = synthesise_fleet(args.terminals, area=UKRAINE_BOX, share_registered=0.6, seed=1,
                                          country="UKR", plan="residential")
    ids = registry.terminal_id
    track_list = _tracks(lat, lon, rng)
    times = Times.from_range(START, args.duration_s, 10)
    territories = Territories.default()
    territories.locate([50.0], [30.0])                          # build the lookup index outside the timings
    rules = [Rule("UKR", "active", "2022-02-26", decided_at="2022-02-26"),
             Rule("UKR", "denied", "2024-01-01", decided_at="2024-01-01",
                  when={"days_abroad_above": 60, "plans": ["roam"]}),
             Rule("UKR", "restricted", "2026-02-03", decided_at="2026-02-01", allow=("registered:UKR",)),
             Rule("UKR", "denied", "2026-02-01", decided_at="2026-02-01T18:00",
                  when={"speed_above_kmh": 75, "exempt_plans": ["military", "aviation"]})]

    timings: dict[str, float] = {}

    def timed(label, function):
        begin = time.perf_counter()
        value = function()
        timings[label] = time.perf_counter() - begin
        return value

    tracks = timed("pack tracks", lambda: Tracks(track_list))
    sample = timed("interpolate (positions, speed, heading)", lambda: tracks.at(times))
    hits = timed("country lookup of every position", lambda: territories.locate(sample.lat_deg, sample.lon_deg))
    history = timed("days-abroad history (from the tracks)",
                    lambda: AbroadHistory.from_tracks(tracks, registry.country, territories))
    inputs = timed("condition inputs (registry, days abroad)",
                   lambda: condition_inputs(rules, terminal_id=ids, instants=times, registry=registry,
                                            speed_kmh=sample.speed_kmh, history=history))
    moving = timed("verdict with conditions", lambda: decide(rules, territory=hits.country[:, 0], terminal_id=ids,
                                                              instants=times, **inputs))
    fixed_hits = territories.locate(lat, lon)
    fixed_inputs = {**inputs, "speed_kmh": None, "days_abroad": {"rolling": np.zeros((ids.size, 1))},
                    "registered": registry.registered(ids, times[:1])[:, 0]}
    fixed = timed("verdict, same terminals fixed", lambda: decide(rules, territory=fixed_hits.country,
                                                                   terminal_id=ids, instants=times, **fixed_inputs))
    print(f"{args.terminals} moving terminals x {len(times)} instants (10 s step), one core")
    for label, seconds in timings.items():
        print(f"  {label:45s} {seconds:7.3f} s")
    mobility = sum(v for k, v in timings.items() if k != "verdict, same terminals fixed")
    print(f"  {'mobility total (all but the fixed verdict)':45s} {mobility:7.3f} s")
    print(f"  present {sample.present.mean():.1%}, allowed moving {moving.allowed[sample.present].mean():.1%}, "
          f"allowed fixed {fixed.allowed.mean():.1%}; peak memory {peak_rss_mib():.0f} MiB")
    # Note: the verdict above uses each terminal's country at the window's first instant; the service
    # engine (part 2) evaluates per instant with the country of the position then.
    if args.engine:
        engine_comparison(registry, lat, lon, track_list, times, rules, territories)


def engine_comparison(registry, lat, lon, track_list, times, rules, territories) -> None:
    """The service engine for the terminals fixed at their first positions, then moving."""
    from leosim.ground.sites import Sites, default_ground_infrastructure
    from leosim.network.links import default_isls
    from leosim.orbits.constellation import Constellation
    from leosim.service.engine import NetworkSettings, ServiceEngine
    from leosim.service.rules import RuleBook

    constellation = Constellation.preset("starlink-gen1")
    begin = time.perf_counter()
    position_km = constellation.states(times).position_km
    propagate_s = time.perf_counter() - begin
    first_lat = np.array([t.lat_deg[0] for t in track_list])
    first_lon = np.array([t.lon_deg[0] for t in track_list])
    terminals = Sites.from_arrays(ids=registry.terminal_id, names=registry.terminal_id, kinds="terminal",
                                  lat_deg=first_lat, lon_deg=first_lon)
    sites = Sites.concat([terminals, default_ground_infrastructure()])
    network = NetworkSettings(isls=default_isls(constellation))
    engine = ServiceEngine(sites, network=network, territories=territories)
    # As a scenario does: the moving terminals' sites stand at their first fixes and get no GSLs of their own.
    moving_engine = ServiceEngine(sites, network=network, territories=territories,
                                  moving_sites=np.arange(len(terminals)))
    book = RuleBook.combine(rules, default_state="denied")
    fixed = engine.fixed_terminals(np.arange(len(terminals)))
    moving = moving_engine.with_mobility(moving_engine.fixed_terminals(np.arange(len(terminals))),
                                         tracks=dict(zip(registry.terminal_id.tolist(), track_list, strict=True)),
                                         registry=registry, abroad_since=times.utc[0])
    begin = time.perf_counter()
    engine.serve(times, position_km, [book], fixed)
    fixed_s = time.perf_counter() - begin
    begin = time.perf_counter()
    moving_engine.serve(times, position_km, [book], moving)
    moving_s = time.perf_counter() - begin
    print(f"service engine, {len(terminals)} terminals x {len(times)} instants (propagation {propagate_s:.1f} s "
          f"excluded): fixed {fixed_s:.1f} s, moving {moving_s:.1f} s, moving/fixed {moving_s / fixed_s:.2f}")


if __name__ == "__main__":
    main()
