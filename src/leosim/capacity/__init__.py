"""Capacity: beams on H3 demand cells, a link budget with DVB-S2X MODCODs, and flow-level rates on the
service engine's routes (strict priority between tiers, max-min fair within). See docs/capacity.md."""

from .allocation import Allocation, allocate, available_rate_mbps, max_min_fair
from .beams import BeamPlan, candidate_pairs, schedule_beams, slot_instants
from .cells import CellTable, cells_of, locate_in_cells
from .demand import Terminals, group_by_cell, place_in_territory, spread_by_population, spread_uniform
from .linkbudget import beam_capacity_mbps, esn0_db, free_space_path_loss_db, satellite_peak_mbps
from .params import CapacityParams, SatelliteCapacity, capacity_preset, satellite_generations
from .slot import BOTTLENECKS, SlotCapacity, capacity_slot
from .tables import (
    capacity_cells_frame,
    capacity_summary,
    gateway_load_frame,
    median_available_mbps,
    throughput_frame,
)

__all__ = [
    "BOTTLENECKS",
    "Allocation",
    "BeamPlan",
    "CapacityParams",
    "CellTable",
    "SatelliteCapacity",
    "SlotCapacity",
    "Terminals",
    "allocate",
    "available_rate_mbps",
    "beam_capacity_mbps",
    "candidate_pairs",
    "capacity_cells_frame",
    "capacity_preset",
    "capacity_slot",
    "capacity_summary",
    "cells_of",
    "esn0_db",
    "free_space_path_loss_db",
    "gateway_load_frame",
    "group_by_cell",
    "locate_in_cells",
    "max_min_fair",
    "median_available_mbps",
    "place_in_territory",
    "satellite_generations",
    "satellite_peak_mbps",
    "schedule_beams",
    "slot_instants",
    "spread_by_population",
    "spread_uniform",
    "throughput_frame",
]
