"""The tables a scenario run writes, and their columns (a contract: extend, never rename).

docs/outputs.md describes each column; a test keeps the two in step.
"""

TABLE_COLUMNS: dict[str, tuple[str, ...]] = {
    "sites": ("site_id", "name", "kind", "lat_deg", "lon_deg", "country", "territory", "region", "fleet", "group"),
    "territory_state": ("territory", "layer", "state", "rule", "since"),
    "coverage": ("time_utc", "site_id", "visible_sats"),
    "access": ("time_utc", "site_id", "status", "covered", "routable", "allowed", "rtt_ms", "gateway", "pop",
               "rule", "sat_id", "path", "speed_kmh", "lat_deg", "lon_deg", "condition"),
    "access_variants": ("variant", "time_utc", "site_id", "status", "covered", "routable", "allowed", "rtt_ms",
                        "gateway", "pop", "rule", "sat_id", "path", "speed_kmh", "lat_deg", "lon_deg", "condition"),
    "availability": ("scope", "key", "name", "steps", "covered_frac", "routable_frac", "allowed_frac",
                     "service_frac", "down_no_coverage_frac", "down_no_route_frac", "down_denied_frac"),
    "latency": ("time_utc", "src", "dst", "rtt_ms", "hops", "path", "allowed", "rtt_if_allowed_ms"),
    "latency_summary": ("src", "dst", "min_ms", "median_ms", "p95_ms", "max_ms", "no_path_frac", "path_changes",
                        "great_circle_km", "fibre_rtt_ms", "vacuum_rtt_ms", "stretch_fibre", "stretch_vacuum",
                        "denied_frac", "median_if_allowed_ms"),
    "path_changes": ("time_utc", "src", "dst", "old_path", "new_path"),
    "whatif": ("variant", "scope", "key", "name", "service_frac", "denied_frac", "median_rtt_ms", "p95_rtt_ms",
               "gateway", "pop"),
    "cost": ("month", "payer", "fleet", "terminals", "cost_usd", "kind"),
    "constellation": ("sat_id", "name", "shell", "plane", "slot", "status", "altitude_km", "inclination_deg",
                      "raan_deg", "arg_latitude_deg"),
    "capacity_cells": ("time_utc", "cell", "territory", "terminals", "demand_mbps", "served_mbps", "beams",
                       "satellites", "bottleneck"),
    "throughput": ("time_utc", "site_id", "fleet", "demand_mbps", "served_mbps", "available_mbps", "bottleneck"),
    "gateway_load": ("time_utc", "gateway", "load_mbps", "capacity_mbps"),
    "capacity_summary": ("scope", "key", "terminals", "mean_demand_mbps", "served_fraction", "p5_mbps", "median_mbps",
                         "at_capacity_frac", "refused"),
    "sweep": ("variant", "scope", "key", "name", "service_frac", "covered_frac", "median_rtt_ms", "p95_rtt_ms"),
}

CAPACITY_TABLES = ("capacity_cells", "throughput", "gateway_load", "capacity_summary")
"""Tables written only when the scenario has a ``[capacity]`` section; the ``whatif`` table then gains a
last column ``median_mbps`` (per-terminal median ``available_mbps``)."""
