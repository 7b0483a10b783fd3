"""Capacity in the service pipeline: landing rights → route → **capacity** → verdict, one slot at a time.

A :class:`CapacityService` is fixed for a scenario: the service engine, the capacity parameters and the
demand rows (:class:`DemandRows`: explicit terminal sites, fleets spread over territories, background
subscribers, each row standing for ``count`` terminals). At a slot instant, :meth:`CapacityService.slot`
asks the engine what every row gets under each rule book (status, verdict, route, gateway) and feeds that,
with the demand, to :func:`leosim.capacity.capacity_slot`. Policy acts first: denied, uncovered and
unroutable rows offer no demand. Each row is routed and judged at its own place; its demand goes to the
beams of the H3 cell that place falls in.

Moving terminals (built with the scenario's ``tracks``, as :meth:`leosim.scenario.plan.Plan.asked_terminals`
gives them to the run): the engine routes and judges a moving row where its track puts it at the slot
instant, and its demand goes to the cell holding that position then. A row off its track (status
:data:`~leosim.service.engine.ABSENT`) offers no demand. The cell table is fixed for the service: the cells
of the other rows plus every cell the tracks visit at the given ``slot_instants`` (a scenario's window); a
moving row in a cell outside it (a slot outside the window) offers no demand.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from ..capacity import CapacityParams, CellTable, SlotCapacity, Terminals, capacity_slot, cells_of, locate_in_cells
from ..capacity.beams import candidate_pairs
from ..capacity.linkbudget import rain_fade_table
from ..capacity.slot import beam_capped_demand
from ..timebase import Times
from .engine import FeederLoad, Motion, ServiceEngine
from .engine import Terminals as AskedTerminals


@dataclass(frozen=True)
class DemandRows:
    """``R`` demand rows: ``site_id`` (str; a fixed site's id, or a synthetic id for a cell of spread
    terminals), ``fleet`` (str, '' for background subscribers), ``tenant``, ``lat_deg``, ``lon_deg``,
    ``site`` (fixed site index in the engine, or -1: a place routed from its cell's centre), ``count``,
    ``tier``, ``demand_mbps``, ``activity``, ``plan_cap_mbps``."""

    site_id: np.ndarray
    fleet: np.ndarray
    tenant: np.ndarray
    lat_deg: np.ndarray
    lon_deg: np.ndarray
    site: np.ndarray
    count: np.ndarray
    tier: np.ndarray
    demand_mbps: np.ndarray
    activity: np.ndarray
    plan_cap_mbps: np.ndarray

    def __len__(self) -> int:
        return int(self.site_id.size)


class CapacityService:
    """Capacity of a scenario's demand rows, slot by slot, under the service engine's answers.

    ``tracks`` (``{site id: Track}``), ``registry`` and ``abroad_since``: the scenario's mobility, as
    :meth:`ServiceEngine.with_mobility` takes it (rows at a fixed site with a track move; rule conditions
    are evaluated per row); ``slot_instants``: the slot instants of the scenario's window, where the tracks'
    cells are collected for the fixed cell table (module docstring).
    """

    def __init__(self, engine: ServiceEngine, params: CapacityParams, rows: DemandRows, *,
                 gateway_capacity_mbps=None, satellites=None, tracks=None, registry=None, abroad_since=None,
                 slot_instants=None, spill: bool = True):
        self.engine = engine
        self.spill = spill  # traffic that would overload a gateway's feeders lands at the next gateway
        self.satellites = satellites  # per-satellite beams and ceilings (SatelliteCapacity), or None
        self.params = params
        self.rows = rows
        fixed = np.flatnonzero(rows.site >= 0)
        placed = np.flatnonzero(rows.site < 0)
        self.order = np.r_[fixed, placed]  # asked terminals: fixed sites first, then places
        asked_fixed = engine.fixed_terminals(rows.site[fixed])
        asked_places = engine.places(rows.lat_deg[placed], rows.lon_deg[placed], ids=rows.site_id[placed],
                                     fleet=rows.fleet[placed], tenant=rows.tenant[placed])
        asked = AskedTerminals(
            site=np.r_[asked_fixed.site, asked_places.site], ids=np.r_[asked_fixed.ids, asked_places.ids],
            country3=np.r_[asked_fixed.country3, asked_places.country3],
            region=np.r_[asked_fixed.region, asked_places.region], fleet=np.r_[asked_fixed.fleet, asked_places.fleet],
            tenant=np.r_[asked_fixed.tenant, asked_places.tenant], pop=np.r_[asked_fixed.pop, asked_places.pop],
            extra=asked_places.extra)
        asked, _why = engine.assign_pops(asked)  # the PoP each row's traffic must reach, as the access table has
        if tracks or registry is not None:
            asked = engine.with_mobility(asked, tracks=tracks, registry=registry, abroad_since=abroad_since)
        self.asked = asked
        mobility = asked.mobility
        #: Positions (in ``order``) of the rows that follow a track.
        self.moving = (mobility.moving if mobility is not None and mobility.tracks is not None
                       else np.zeros(0, np.int64))
        if self.moving.size == 0:
            self.cells, self.cell_row = locate_in_cells(rows.lat_deg, rows.lon_deg, params.cell_resolution,
                                                        engine.territories)
        else:
            still = np.ones(len(rows), bool)
            still[self.order[self.moving]] = False
            row_cells = cells_of(rows.lat_deg, rows.lon_deg, params.cell_resolution)
            visited = self._visited_cells(slot_instants)
            self.cells = CellTable.from_cells(np.r_[row_cells[still], visited], engine.territories)
            self.cell_row = np.where(still, self.cells.index(row_cells), -1)  # moving rows: located per slot
        self.territory = self.asked.territory  # of each asked row (in ``order``): where the rules place it
        self.demand = Terminals.make(self.cell_row[self.order], tier=rows.tier[self.order],
                                     demand_mbps=rows.demand_mbps[self.order], count=rows.count[self.order],
                                     activity=rows.activity[self.order], plan_cap_mbps=rows.plan_cap_mbps[self.order])
        self.rain_db = rain_fade_table(self.cells.lat_deg, self.cells.lon_deg, params)  # None without rain
        self.gateway_sites = np.asarray(engine.gateways, dtype=np.int64)
        self.gateway_ids = engine.sites.ids[self.gateway_sites]
        self.gateway_capacity_mbps = (np.full(self.gateway_sites.size, params.gateway_capacity_mbps)
                                      if gateway_capacity_mbps is None
                                      else np.asarray(gateway_capacity_mbps, dtype=np.float64))

    def _visited_cells(self, slot_instants) -> np.ndarray:
        """H3 cells (uint64) the moving rows' tracks put them in at ``slot_instants`` (where present)."""
        if slot_instants is None or np.size(slot_instants) == 0:
            return np.zeros(0, np.uint64)
        sample = self.asked.mobility.tracks.at(np.asarray(slot_instants, dtype="datetime64[ns]").ravel())
        here = sample.present
        return cells_of(sample.lat_deg[here], sample.lon_deg[here], self.params.cell_resolution)

    def _at_slot(self, motion: Motion | None) -> tuple[Terminals, np.ndarray]:
        """The demand rows (in ``order``) and each row's territory at the one instant of ``motion``: moving
        rows in the cell their track puts them in (-1 when absent or outside the cell table), in the
        territory located there (an absent row keeps its site's)."""
        m = self.moving
        if m.size == 0:
            return self.demand, self.territory
        here = motion.present[m, 0]
        cell = np.full(m.size, -1, np.int64)
        if here.any():
            cell[here] = self.cells.index(cells_of(motion.lat_deg[m, 0][here], motion.lon_deg[m, 0][here],
                                                   self.params.cell_resolution))
        cell_row = self.demand.cell.copy()
        cell_row[m] = cell
        territory = self.territory.astype(object)
        located = np.where(motion.region[m, 0] != "", motion.region[m, 0], motion.country3[m, 0])
        territory[m] = np.where(here, located, territory[m])
        return replace(self.demand, cell=cell_row), territory.astype(str)

    def _slots(self, instant, position_km, books) -> tuple[list[SlotCapacity], Terminals, np.ndarray]:
        """:meth:`slot`, with the demand rows and territories of that slot (:meth:`_at_slot`)."""
        times = Times.from_utc([instant])
        position_km = np.asarray(position_km, dtype=np.float64).reshape(-1, 3)
        # Where the moving rows are at this slot (the engine's own motion, which serve then reuses).
        motion = self.engine.motion(self.asked, times)
        demand, territory = self._at_slot(motion)
        pairs = candidate_pairs(self.cells.ecef_km, self.cells.up, position_km, self.params,
                                site_tree=self.cells.tree)  # once per slot, for every rule book

        def offered_mbps(eligible):
            return beam_capped_demand(self.cells, demand, eligible, position_km, self.params, pairs=pairs,
                                      rain_db=self.rain_db, satellites=self.satellites)

        load = FeederLoad(offered_mbps, self.gateway_capacity_mbps) if self.spill else None
        answer = self.engine.serve(times, position_km[None], books, self.asked, keep_paths=True, load=load,
                                   motion=motion)
        status = answer.status
        out = []
        for b in range(len(answer.books)):
            out.append(capacity_slot(self.cells, demand, status[b, 0], answer.allowed[b, 0],
                                     answer.node_paths[b][0], answer.gateway[b, 0], position_km, self.params,
                                     gateway_sites=self.gateway_sites,
                                     gateway_capacity_mbps=self.gateway_capacity_mbps,
                                     satellites=self.satellites, rain_db=self.rain_db, pairs=pairs))
        return out, demand, territory

    def slot(self, instant, position_km, books) -> list[SlotCapacity]:
        """Capacity at one slot ``instant`` under each rule book, satellites at ``position_km`` ``(N, 3)`` km
        (ITRS). Row ``i`` of each result is row ``order[i]`` of the demand rows."""
        return self._slots(instant, position_km, books)[0]

    def frames(self, instant, position_km, books, names) -> dict:
        """The ``capacity_cells``, ``throughput`` and ``gateway_load`` rows of one slot, every rule book
        (named ``names``) stacked with a leading ``variant`` column; the throughput rows carry ``refused``,
        ``territory`` (where the row is at the slot), ``terminals`` (0 for a moving row in no cell of the
        table at that slot: off its track or outside the table, so the summaries do not count it) and
        ``at_capacity`` for :func:`~leosim.capacity.capacity_summary`."""
        import pandas as pd

        from ..capacity.tables import capacity_cells_frame, gateway_load_frame, throughput_frame

        rows, order = self.rows, self.order
        slots, demand, territory = self._slots(instant, position_km, books)
        out: dict[str, list] = {"capacity_cells": [], "throughput": [], "gateway_load": []}
        for name, slot in zip(names, slots, strict=True):
            built = {"capacity_cells": capacity_cells_frame(instant, self.cells, slot),
                     "throughput": throughput_frame(instant, rows.site_id[order], rows.fleet[order], slot,
                                                    cell_row=demand.cell, territory=territory,
                                                    terminals=np.where(demand.cell >= 0, demand.count, 0.0)),
                     "gateway_load": gateway_load_frame(instant, self.gateway_ids, slot)}
            for table, frame in built.items():
                frame.insert(0, "variant", name)
                out[table].append(frame)
        return {table: pd.concat(parts, ignore_index=True) for table, parts in out.items()}


def slot_at(instant, params: CapacityParams) -> np.datetime64:
    """The start of the slot holding ``instant`` (the last slot boundary at or before it), ``datetime64[ns]``."""
    from ..capacity.beams import slot_instants
    from ..timebase import parse_utc

    t = parse_utc(instant).astype("datetime64[ms]")  # slot boundaries are whole milliseconds
    back = np.timedelta64(round(params.slot_s * 1e3), "ms")
    found = slot_instants(t - back + np.timedelta64(1, "ms"), t + np.timedelta64(1, "ms"), params)
    return found[-1].astype("datetime64[ns]")
