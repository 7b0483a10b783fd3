"""The engines a worker process keeps: building one (territories, landing rights, router) costs more than a
chunk, so a worker reuses the engine of a plan across that plan's chunks."""

from __future__ import annotations

from collections import OrderedDict

from .engine import ChunkEngine

ENGINE_CACHE_SIZE = 2
"""Engines (one per plan) a worker keeps: a sweep's chunks are scheduled plan by plan."""

_ENGINES: OrderedDict[str, ChunkEngine] = OrderedDict()


def engine_for(plan) -> ChunkEngine:
    """This process's engine for ``plan`` (keyed by its fingerprint), built on first use."""
    key = plan.fingerprint
    engine = _ENGINES.get(key)
    if engine is None:
        engine = _ENGINES[key] = ChunkEngine(plan)
        while len(_ENGINES) > ENGINE_CACHE_SIZE:
            _ENGINES.popitem(last=False)
    _ENGINES.move_to_end(key)
    return engine
