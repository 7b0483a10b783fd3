"""Policy evaluation speed: 100,000 terminals x 1,440 instants (one day at 60 s).

Prints the time of a first (cold) and a repeated call. Target: under 2 s.
Usage: ``python bench/bench_policy.py``
"""

from __future__ import annotations

import time

import numpy as np

from leosim.policy import Rule, evaluate
from leosim.timebase import Times

N_TERMINALS = 100_000


def main() -> None:
    rng = np.random.default_rng(0)
    rules = [
        Rule("UKR", "active", "2022-02-26", decided_at="2022-02-26"),
        Rule("region:Crimea", "denied", "2014-03-18", decided_at="2022-02-26"),
        Rule("RUS", "denied", "2022-01-01", decided_at="2022-01-01"),
        Rule("TWN", "denied", "2020-01-01", decided_at="2020-01-01"),
        Rule("POL", "restricted", "2022-01-01", allow=("fleet:donated",), decided_at="2022-01-01"),
        Rule("fleet:donated", "active", "2022-02-26", "2022-03-01T12:00", decided_at="2022-02-26"),
        Rule("terminal:T7", "denied", "2022-03-01T06:00", decided_at="2022-03-01"),
    ]
    territory = rng.choice(["UKR", "RUS", "TWN", "POL", "DEU"], N_TERMINALS)
    region = np.where(rng.random(N_TERMINALS) < 0.1, "Crimea", "")
    fleet = rng.choice(["donated", "subscribers", ""], N_TERMINALS)
    terminal_id = np.char.add("T", np.arange(N_TERMINALS).astype(str))
    instants = Times.from_range("2022-03-01", 86_400, 60)
    for label in ("first call", "second call"):
        start = time.perf_counter()
        allowed, rule_index = evaluate(rules, territory=territory, region=region, fleet=fleet,
                                       terminal_id=terminal_id, instants=instants)
        elapsed = time.perf_counter() - start
        print(f"{label}: {N_TERMINALS} terminals x {len(instants)} instants in {elapsed:.2f} s "
              f"({allowed.mean():.1%} allowed)")
        del allowed, rule_index


if __name__ == "__main__":
    main()
