"""Start-up cost: ``import leosim`` and ``leosim --help``, each in fresh interpreters.

Prints the median and the fastest of several runs (wall clock, including the interpreter's own start-up,
which is printed too), then the slowest imports of one run from ``python -X importtime``. Targets on the
2-core development machine: ``import leosim`` ≤ 0.5 s, ``leosim --help`` ≤ 0.8 s.
Usage: ``python bench/bench_startup.py [RUNS]``
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time

RUNS = 7
TOP = 8
COMMANDS = {
    "python (bare interpreter)": [sys.executable, "-c", "pass"],
    "import leosim": [sys.executable, "-c", "import leosim"],
    "leosim --help": [sys.executable, "-m", "leosim.cli", "--help"],
}


def wall_s(argv: list[str]) -> float:
    """Wall-clock seconds of one run of ``argv`` in a fresh process."""
    start = time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def top_imports(argv: list[str], top: int = TOP) -> list[tuple[float, str]]:
    """The ``top`` slowest modules (cumulative seconds, name) of one run under ``python -X importtime``."""
    result = subprocess.run([argv[0], "-X", "importtime", *argv[1:]], check=True, capture_output=True, text=True)
    rows = []
    for line in result.stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            _, cumulative, name = line[len("import time:"):].split("|")
            if cumulative.strip().isdigit():
                rows.append((int(cumulative) / 1e6, name))
    # The command's own imports and theirs (importtime indents each level by two spaces); deeper rows are
    # already inside their parents' cumulative times.
    outer = [(seconds, name.strip()) for seconds, name in rows if not name.startswith("     ")]
    return sorted(outer, reverse=True)[:top]


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else RUNS
    for label, argv in COMMANDS.items():
        timings = [wall_s(argv) for _ in range(runs)]
        print(f"{label:28s} median {statistics.median(timings):.3f} s, min {min(timings):.3f} s ({runs} runs)")
    for label, argv in list(COMMANDS.items())[1:]:
        print(f"\nslowest imports (two outer levels) of `{label}` (python -X importtime, cumulative):")
        for seconds, name in top_imports(argv):
            print(f"  {seconds:7.3f} s  {name}")


if __name__ == "__main__":
    main()
