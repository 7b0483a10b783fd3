"""Satellite positions per second, Earth-fixed rotation included, on one core.

Cases (issue 2): starlink-gen1 (4,408) over 1 day at 60 s, and starlink-550 (1,584) over 1 hour at 1 s.
Target: at least 2 million satellite-positions per second. Run: ``python bench/bench_propagation.py``.
"""

from __future__ import annotations

import _common
from leosim.orbits.constellation import Constellation
from leosim.timebase import Times


def bench(name: str, duration_s: float, step_s: float) -> None:
    sats = Constellation.preset(name)
    times = Times.from_range(sats.epoch, duration_s, step_s)

    def run():
        for states in sats.iter_states(times):
            states.position_km.sum()

    seconds = _common.best_of(run, repeat=3)
    count = len(sats) * len(times)
    print(f"{name:14s} {len(sats):5d} sats x {len(times):6d} steps of {step_s:g} s: {seconds:6.2f} s, "
          f"{count / seconds / 1e6:5.2f} M satellite-positions/s (target >= 2)")


if __name__ == "__main__":
    _common.pin_one_core()
    bench("starlink-gen1", 86_400, 60)
    bench("starlink-550", 3_600, 1)
    print(f"peak memory {_common.peak_rss_mib():.0f} MiB")
