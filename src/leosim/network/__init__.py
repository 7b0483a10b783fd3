"""Network layer: links (ISL, GSL), the per-instant delay graph, routing, RTT over time, references.

Plain arrays in, plain arrays out; node ids follow Hypatia (satellites ``0..N-1``, site ``j`` = ``N + j``).
"""

from .._lazy import lazy_exports

_EXPORTS = {
    "default_max_isl_length_km": ".links",
    "fibre_rtt_ms": ".references",
    "GATEWAY_SELECTIONS": ".routing",
    "great_circle_km": ".references",
    "gsl_edges_by_elevation": ".links",
    "gsl_edges_by_range": ".links",
    "isl_lengths_km": ".links",
    "isl_validity": ".links",
    "IslReport": ".links",
    "load_isl_file": ".links",
    "MODES": ".routing",
    "pair_references": ".references",
    "path_strings": ".paths",
    "PairReferences": ".references",
    "PairSummary": ".rtt",
    "PathChanges": ".rtt",
    "plus_grid_isls": ".links",
    "Router": ".routing",
    "rtt_over_time": ".rtt",
    "rtt_statistics": ".rtt",
    "RttAccumulator": ".rtt",
    "RttStatistics": ".rtt",
    "RttSeries": ".rtt",
    "StepRoutes": ".routing",
    "vacuum_rtt_ms": ".references",
}

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

__all__ = [
    "GATEWAY_SELECTIONS",
    "MODES",
    "IslReport",
    "PairReferences",
    "PairSummary",
    "PathChanges",
    "Router",
    "RttAccumulator",
    "RttSeries",
    "RttStatistics",
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
    "path_strings",
    "plus_grid_isls",
    "rtt_over_time",
    "rtt_statistics",
    "vacuum_rtt_ms",
]
