"""leosim: an open simulator of a Starlink-style satellite-internet system.

The curated public names live here; everything else may change between releases.

>>> import leosim
>>> len(leosim.Constellation.preset("starlink-gen1"))
4408
"""

from .service.access import access_at
from .errors import LeosimError, LeosimInputError
from .geometry import look_angles, visible_pairs
from .ground.geodesy import ecef_to_geodetic, enu_basis, geodetic_to_ecef
from .ground.sites import Sites, default_cities, default_gateways, default_ground_infrastructure, default_pops
from .network.references import fibre_rtt_ms, great_circle_km, vacuum_rtt_ms
from .network.routing import Router
from .network.rtt import rtt_over_time
from .orbits.constellation import Constellation
from .orbits.elements import ElementSet, load_elements
from .orbits.presets import preset_names
from .orbits.propagate import States
from .orbits.walker import WalkerShell
from .policy.fleets import Fleet, PayerPeriod, Tenant, cost_by_payer_month
from .policy.rules import Rule, evaluate, landing_rights
from .policy.store import PolicyStore
from .scenario import Scenario, ScenarioResult
from .territory.regions import Region
from .territory.territories import Territories
from .timebase import Times, parse_utc
from .visibility import visibility_table

__all__ = [
    "Constellation", "ElementSet", "Fleet", "LeosimError", "LeosimInputError", "PayerPeriod", "PolicyStore",
    "Region", "Router", "Rule", "Scenario", "ScenarioResult", "Sites", "States", "Tenant", "Territories", "Times",
    "WalkerShell", "access_at", "cost_by_payer_month", "default_cities", "default_gateways",
    "default_ground_infrastructure", "default_pops", "ecef_to_geodetic", "enu_basis", "evaluate", "fibre_rtt_ms",
    "geodetic_to_ecef", "great_circle_km", "landing_rights", "load_elements", "look_angles", "parse_utc",
    "preset_names", "rtt_over_time", "vacuum_rtt_ms", "visibility_table", "visible_pairs",
]
