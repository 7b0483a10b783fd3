"""Moving terminals: track interpolation and per-terminal rule conditions for 10,000 terminals over
1 hour at 10 s (360 instants).

Prints the time of each step: packing the tracks, interpolating positions/speed/heading, the country
lookup of every (terminal, instant) position, the days-abroad history and its query, the registry
look-ups, and the policy verdict with conditions (whitelist, speed limit, roaming) next to the verdict
of the same terminals held fixed (rules without per-instant inputs). The comparison against a whole
run of fixed terminals (issue: moving adds <= 50%) needs the service engine and comes with it.

Usage: ``python bench/bench_mobility.py [--terminals N]``
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
    args = parser.parse_args()
    pin_one_core()
    rng = np.random.default_rng(0)
    registry, lat, lon = synthesise_fleet(args.terminals, area=UKRAINE_BOX, share_registered=0.6, seed=1,
                                          country="UKR", plan="residential")
    ids = registry.terminal_id
    track_list = _tracks(lat, lon, rng)
    times = Times.from_range(START, 3600, 10)
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
    print(f"{args.terminals} moving terminals x {len(times)} instants (1 h at 10 s), one core")
    for label, seconds in timings.items():
        print(f"  {label:45s} {seconds:7.3f} s")
    mobility = sum(v for k, v in timings.items() if k != "verdict, same terminals fixed")
    print(f"  {'mobility total (all but the fixed verdict)':45s} {mobility:7.3f} s")
    print(f"  present {sample.present.mean():.1%}, allowed moving {moving.allowed[sample.present].mean():.1%}, "
          f"allowed fixed {fixed.allowed.mean():.1%}; peak memory {peak_rss_mib():.0f} MiB")
    # Note: the verdict above uses each terminal's country at the window's first instant; the service
    # engine evaluates per instant with the country of the position then.


if __name__ == "__main__":
    main()
