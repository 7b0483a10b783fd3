"""``/api/capacity``: the capacity cells of the slot holding an instant, with their H3 boundaries.

From a finished run's ``capacity_cells`` table when the server has results covering that slot, else
computed for that slot by the scenario's :class:`~leosim.service.capacity.CapacityService` under the
server's current rule book (scenario and store rules), the same engine ``leosim run`` uses.
"""

from __future__ import annotations

import numpy as np

from ..errors import LeosimInputError

CELL_KEYS = ("cell", "territory", "demand_mbps", "served_mbps", "beams", "bottleneck", "boundary")
"""Keys of each cell in the answer."""


def _iso(t) -> str:
    return str(np.datetime_as_string(np.datetime64(t, "ms"), unit="ms")) + "Z"


def capacity_answer(state, t: np.datetime64) -> dict:
    """``{"time_utc", "slot_utc", "source", "cells": [{cell, territory, demand_mbps, served_mbps, beams,
    bottleneck, boundary: [[lat, lon], ...]}]}`` for the slot holding ``t`` (cells with terminals only)."""
    import h3

    from ..capacity.params import CapacityParams
    from ..service.capacity import slot_at

    plan = getattr(state, "plan", None)
    if plan is None or plan.spec.capacity is None:
        raise LeosimInputError("this server's scenario has no [capacity] section", field="t")
    slot = slot_at(t, plan.capacity_params or CapacityParams())
    cells, source = None, "computed"
    results = state.results
    table = results.tables.get("capacity_cells") if results is not None else None
    if table is not None and len(table) and state.results_apply():
        hit = table[table["time_utc"].to_numpy(dtype="datetime64[ns]") == slot]
        if len(hit):
            cells, source = hit, "results"
    if cells is None:
        position = state.positions_km(slot)
        book = state.rules()
        frames = plan.capacity_service.frames(slot, position, [book], ["baseline"])
        cells = frames["capacity_cells"]
        cells = cells[cells["terminals"] > 0]
    out = []
    for row in cells.itertuples(index=False):
        boundary = [[round(lat, 5), round(lon, 5)] for lat, lon in h3.cell_to_boundary(str(row.cell))]
        out.append({"cell": str(row.cell), "territory": str(row.territory), "demand_mbps": float(row.demand_mbps),
                    "served_mbps": float(row.served_mbps), "beams": int(row.beams),
                    "bottleneck": str(row.bottleneck), "boundary": boundary})
    return {"time_utc": _iso(t), "slot_utc": _iso(slot), "source": source, "cells": out}
