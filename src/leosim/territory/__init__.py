"""Territories: countries (Natural Earth, German point of view), custom regions, H3 cells, lookup."""

from .._lazy import lazy_exports

_EXPORTS = {
    "Region": ".regions",
    "regions_from_geojson": ".regions",
    "Territories": ".territories",
    "TerritoryHits": ".territories",
}

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

__all__ = ["Region", "Territories", "TerritoryHits", "regions_from_geojson"]
