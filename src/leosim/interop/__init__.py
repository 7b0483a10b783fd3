"""Interoperability with other simulators' file formats (Hypatia's satgenpy)."""

from .._lazy import lazy_exports

_EXPORTS = {
    "dynamic_state_dirname": ".hypatia",
    "HypatiaNetwork": ".hypatia",
    "plus_grid_isls": ".hypatia",
    "read_satgenpy_folder": ".hypatia",
    "satellite_positions_km": ".hypatia",
    "write_dynamic_state": ".hypatia",
}

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

__all__ = [
    "HypatiaNetwork",
    "dynamic_state_dirname",
    "plus_grid_isls",
    "read_satgenpy_folder",
    "satellite_positions_km",
    "write_dynamic_state",
]
