"""Network layer: links (ISL, GSL), the per-instant delay graph, routing, RTT over time, references.

Plain arrays in, plain arrays out; node ids follow Hypatia (satellites ``0..N-1``, site ``j`` = ``N + j``).
"""

from .links import (
    IslReport,
    default_max_isl_length_km,
    gsl_edges_by_elevation,
    gsl_edges_by_range,
    isl_lengths_km,
    isl_validity,
    load_isl_file,
    plus_grid_isls,
)
from .references import PairReferences, fibre_rtt_ms, great_circle_km, pair_references, vacuum_rtt_ms
from .routing import MODES, Router, StepRoutes
from .rtt import PairSummary, PathChanges, RttAccumulator, RttSeries, rtt_over_time

__all__ = [
    "MODES",
    "IslReport",
    "PairReferences",
    "PairSummary",
    "PathChanges",
    "Router",
    "RttAccumulator",
    "RttSeries",
    "StepRoutes",
    "default_max_isl_length_km",
    "fibre_rtt_ms",
    "great_circle_km",
    "gsl_edges_by_elevation",
    "gsl_edges_by_range",
    "isl_lengths_km",
    "isl_validity",
    "load_isl_file",
    "pair_references",
    "plus_grid_isls",
    "rtt_over_time",
    "vacuum_rtt_ms",
]
