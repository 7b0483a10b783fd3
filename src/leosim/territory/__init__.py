"""Territories: countries (Natural Earth, German point of view), custom regions, H3 cells, lookup."""

from .regions import Region, regions_from_geojson
from .territories import Territories, TerritoryHits

__all__ = ["Region", "Territories", "TerritoryHits", "regions_from_geojson"]
