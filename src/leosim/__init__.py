"""leosim: an open simulator of a Starlink-style satellite-internet system.

The curated public names live here; everything else may change between releases.

>>> import leosim
>>> len(leosim.Constellation.preset("starlink-gen1"))
4408
"""

from ._lazy import lazy_exports

_EXPORTS = {
    "access_at": ".service.access",
    "RuleBook": ".service.rules",
    "ServiceEngine": ".service.engine",
    "Constellation": ".orbits.constellation",
    "cost_by_payer_month": ".policy.fleets",
    "default_cities": ".ground.sites",
    "default_gateways": ".ground.sites",
    "default_ground_infrastructure": ".ground.sites",
    "default_pops": ".ground.sites",
    "ecef_to_geodetic": ".ground.geodesy",
    "ElementSet": ".orbits.elements",
    "enu_basis": ".ground.geodesy",
    "evaluate": ".policy.rules",
    "fibre_rtt_ms": ".network.references",
    "Fleet": ".policy.fleets",
    "geodetic_to_ecef": ".ground.geodesy",
    "great_circle_km": ".network.references",
    "landing_rights": ".policy.rules",
    "LeosimError": ".errors",
    "LeosimInputError": ".errors",
    "load_elements": ".orbits.elements",
    "look_angles": ".geometry",
    "parse_utc": ".timebase",
    "PayerPeriod": ".policy.fleets",
    "PolicyStore": ".policy.store",
    "preset_names": ".orbits.presets",
    "Region": ".territory.regions",
    "Router": ".network.routing",
    "rtt_over_time": ".network.rtt",
    "Rule": ".policy.rules",
    "Scenario": ".scenario.api",
    "ScenarioResult": ".scenario.api",
    "Sites": ".ground.sites",
    "States": ".orbits.propagate",
    "Tenant": ".policy.fleets",
    "Territories": ".territory.territories",
    "Times": ".timebase",
    "vacuum_rtt_ms": ".network.references",
    "visibility_table": ".visibility",
    "visible_pairs": ".geometry",
    "WalkerShell": ".orbits.walker",
}

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

__all__ = [
    "Constellation", "ElementSet", "Fleet", "LeosimError", "LeosimInputError", "PayerPeriod", "PolicyStore",
    "Region", "Router", "Rule", "RuleBook", "Scenario", "ScenarioResult", "ServiceEngine", "Sites", "States",
    "Tenant", "Territories", "Times", "WalkerShell", "access_at", "cost_by_payer_month", "default_cities",
    "default_gateways",
    "default_ground_infrastructure", "default_pops", "ecef_to_geodetic", "enu_basis", "evaluate", "fibre_rtt_ms",
    "geodetic_to_ecef", "great_circle_km", "landing_rights", "load_elements", "look_angles", "parse_utc",
    "preset_names", "rtt_over_time", "vacuum_rtt_ms", "visibility_table", "visible_pairs",
]
