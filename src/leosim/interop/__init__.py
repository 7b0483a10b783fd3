"""Interoperability with other simulators' file formats (Hypatia's satgenpy)."""

from .hypatia import (
    HypatiaNetwork,
    dynamic_state_dirname,
    plus_grid_isls,
    read_satgenpy_folder,
    satellite_positions_km,
    write_dynamic_state,
)

__all__ = [
    "HypatiaNetwork",
    "dynamic_state_dirname",
    "plus_grid_isls",
    "read_satgenpy_folder",
    "satellite_positions_km",
    "write_dynamic_state",
]
