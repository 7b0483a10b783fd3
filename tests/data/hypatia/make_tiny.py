"""Regenerate the tiny satgenpy fixture in ./tiny with satgenpy itself (run once; needs satgenpy 0.4.0).

    python tests/data/hypatia/make_tiny.py

4 orbits x 4 satellites (Hypatia's TLE generator: 53°, 15.19 rev/day, e = 1e-7, odd orbits shifted by half a
slot, epoch 2000-01-01), plus-grid ISLs (shift 0), 3 ground stations, one GSL interface per node, and
satgenpy's dynamic state (algorithm_free_one_only_over_isls) for 10 steps of 60 s (satgenpy divides by zero
for fewer than 10 steps). The maximum lengths are large (3,000 km GSL, 13,000 km ISL) because 4 orbits of 4
satellites are far apart.
"""

import importlib.util
import shutil
import sys
import types
from pathlib import Path

TINY_GROUND_STATIONS = (
    "0,Tokyo,35.6895,139.69171,0\n"
    "1,Delhi,28.66667,77.21667,40\n"
    "2,Sao-Paulo,-23.5475,-46.63611,760\n"
)


def import_satgen():
    """satgen's sub-packages without its ``__init__`` (which imports matplotlib, cartopy and statsmodels for
    plotting only): a bare package object pointing at the installed folder."""
    if "satgen" not in sys.modules:
        spec = importlib.util.find_spec("satgen")
        package = types.ModuleType("satgen")
        package.__path__ = list(spec.submodule_search_locations)
        sys.modules["satgen"] = package
    import satgen.description
    import satgen.dynamic_state
    import satgen.ground_stations
    import satgen.interfaces
    import satgen.isls
    import satgen.tles

    return satgen


def make_folder(folder: Path, orbits: int, per_orbit: int, ground_stations: str, max_gsl_m: float, max_isl_m: float):
    satgen = import_satgen()
    folder.mkdir(parents=True, exist_ok=True)
    satgen.tles.generate_tles_from_scratch_manual(str(folder / "tles.txt"), "Test", orbits, per_orbit, True, 53.0,
                                                  0.0000001, 0.0, 15.19)
    satgen.isls.generate_plus_grid_isls(str(folder / "isls.txt"), orbits, per_orbit, isl_shift=0)
    (folder / "ground_stations.basic.txt").write_text(ground_stations)
    satgen.ground_stations.extend_ground_stations(str(folder / "ground_stations.basic.txt"),
                                                  str(folder / "ground_stations.txt"))
    satgen.interfaces.generate_simple_gsl_interfaces_info(str(folder / "gsl_interfaces_info.txt"), orbits * per_orbit,
                                                          ground_stations.count("\n"), 1, 1, 1.0, 1.0)
    satgen.description.generate_description(str(folder / "description.txt"), max_gsl_m, max_isl_m)


def run_dynamic_state(folder: Path, duration_s: int, step_ms: int, max_gsl_m: float, max_isl_m: float) -> Path:
    """satgenpy's own dynamic state (one thread) into ``folder/dynamic_state_...``."""
    satgen = import_satgen()
    satgen.dynamic_state.help_dynamic_state(str(folder.parent), 1, folder.name, step_ms, duration_s, max_gsl_m,
                                            max_isl_m, "algorithm_free_one_only_over_isls", False)
    return folder / f"dynamic_state_{step_ms}ms_for_{duration_s}s"


if __name__ == "__main__":
    target = Path(__file__).resolve().parent / "tiny"
    shutil.rmtree(target, ignore_errors=True)
    make_folder(target, 4, 4, TINY_GROUND_STATIONS, 3_000_000.0, 13_000_000.0)
    run_dynamic_state(target, 600, 60_000, 3_000_000.0, 13_000_000.0)
