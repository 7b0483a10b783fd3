"""Territories for the globe: the outlines named by rules (and a scenario's custom regions), simplified once,
with the state the service engine's rules give them at an instant."""

from __future__ import annotations

import json

import numpy as np

from ..service.engine import territory_verdicts
from ..service.rules import RuleBook
from .encoding import iso

#: Simplification of territory outlines sent to the globe, degrees (~5 km: plenty for a whole-Earth view).
TERRITORY_SIMPLIFY_DEG = 0.05


def territory_keys(territories, rules) -> list[tuple[str, str]]:
    """``(layer, key)`` of every territory named by a rule, and the scenario's custom regions."""
    keys = {("region", r) for r in territories.region_names}
    for rule in rules:
        if rule.kind == "country" and rule.key in territories.names:
            keys.add(("country", rule.key))
        elif rule.kind == "region" and rule.key in territories.region_names:
            keys.add(("region", rule.key))
    return sorted(keys)


def _geometry(territories, key: str, cache: dict) -> dict:
    if key not in cache:
        import shapely

        shape = shapely.simplify(territories.geometry(key), TERRITORY_SIMPLIFY_DEG, preserve_topology=True)
        shape = shapely.set_precision(shape, 1e-3)
        cache[key] = json.loads(shapely.to_geojson(shape))
    return cache[key]


def territories_geojson(territories, book: RuleBook, t: np.datetime64, cache: dict) -> dict:
    """GeoJSON of the territories named by ``book``'s rules (and custom regions) with their state at ``t``:
    ``active``, ``denied``, ``restricted``, or ``none`` (no rule: the default state holds); ``cache`` keeps
    the simplified outlines by key."""
    import shapely

    keys = territory_keys(territories, book.rules)
    if not keys:
        return {"type": "FeatureCollection", "time_utc": iso(t), "features": []}
    country, region = [], []
    for layer, key in keys:
        if layer == "country":
            country.append(key)
            region.append("")
        else:
            point = shapely.point_on_surface(territories.geometry(key))
            country.append(str(territories.locate(point.y, point.x).country))
            region.append(key)
    index = territory_verdicts(book, country, region, np.array([t], "datetime64[ns]"))[:, 0]
    texts = book.texts()
    features = []
    for (layer, key), k in zip(keys, index.tolist(), strict=True):
        features.append({"type": "Feature", "geometry": _geometry(territories, key, cache), "properties": {
            "code": key, "name": territories.name(key), "layer": layer,
            "state": book.rules[k].state if k >= 0 else "none", "rule": str(texts[k]),
            "default_state": book.default_state, "source": book.source_of(k)}})
    return {"type": "FeatureCollection", "time_utc": iso(t), "features": features}
