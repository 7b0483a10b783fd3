"""Who asks for capacity: terminals (or groups of identical terminals) with a cell, a tier and a demand.

:class:`Terminals` is the per-slot input of :func:`~leosim.capacity.slot.capacity_slot`: one row per
terminal site, which may stand for ``count`` identical terminals (an explicit site counting as N
terminals, or the background subscribers of one cell). Each terminal draws ``demand_mbps × activity``
on average in the busy hour; ``tier`` is the fleet's priority (higher first): the tenant priority of
:func:`leosim.policy.fleets.tenant_priority`.

Placing terminals: :func:`spread_uniform` (uniform on the sphere over a territory's polygon) and
:func:`spread_by_population` (around the cities of the shipped GeoNames table, in proportion to their
population, with a Gaussian spread; leosim ships no gridded population data, see docs/capacity.md).
:func:`place_in_territory` does either inside a territory. :func:`group_by_cell` turns many placed
subscribers into one row per cell.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..constants import MEAN_EARTH_RADIUS_KM
from ..errors import LeosimInputError
from .params import ACTIVITY_FACTOR, BUSY_HOUR_DEMAND_MBPS, PLAN_CAP_MBPS

POPULATION_SPREAD_KM = 30.0
"""Standard deviation of the Gaussian scatter of subscribers around a city, km. *Assumption*: satellite
subscribers live mostly outside city cores (Starlink's users are largely rural and suburban)."""


@dataclass(frozen=True)
class Terminals:
    """``P`` terminal rows: ``cell`` int64 row in the :class:`~leosim.capacity.cells.CellTable`;
    ``tier`` int64 (higher served first); ``demand_mbps`` per-terminal busy-hour demand when active;
    ``count`` terminals the row stands for; ``activity`` share of them active; ``plan_cap_mbps`` ceiling of
    a speed test; ``new`` bool: activation requests (refused in cells at capacity)."""

    cell: np.ndarray
    tier: np.ndarray
    demand_mbps: np.ndarray
    count: np.ndarray
    activity: np.ndarray
    plan_cap_mbps: np.ndarray
    new: np.ndarray

    def __len__(self) -> int:
        return int(self.cell.size)

    @classmethod
    def make(cls, cell, *, tier=0, demand_mbps=BUSY_HOUR_DEMAND_MBPS, count=1.0, activity=ACTIVITY_FACTOR,
             plan_cap_mbps=PLAN_CAP_MBPS, new=False) -> Terminals:
        """Broadcast scalars to one value per terminal row and check them."""
        cell = np.asarray(cell, dtype=np.int64).ravel()
        n = cell.size

        def col(value, dtype):
            return np.array(np.broadcast_to(np.asarray(value, dtype=dtype), (n,)))

        out = cls(cell=cell, tier=col(tier, np.int64), demand_mbps=col(demand_mbps, np.float64),
                  count=col(count, np.float64), activity=col(activity, np.float64),
                  plan_cap_mbps=col(plan_cap_mbps, np.float64), new=col(new, bool))
        for name in ("demand_mbps", "count", "plan_cap_mbps"):
            v = getattr(out, name)
            if (~np.isfinite(v) | (v < 0)).any():
                raise LeosimInputError(f"terminal {name} must be finite and >= 0", field=name)
        if ((out.activity < 0) | (out.activity > 1) | ~np.isfinite(out.activity)).any():
            raise LeosimInputError("terminal activity must be within 0..1", field="activity")
        return out


def _uniform_points(rng, n, lon_min, lat_min, lon_max, lat_max):
    """``n`` points uniform on the sphere within a lon/lat box (deg)."""
    z = rng.uniform(np.sin(np.radians(lat_min)), np.sin(np.radians(lat_max)), n)
    return np.degrees(np.arcsin(z)), rng.uniform(lon_min, lon_max, n)


def spread_uniform(geometry, n: int, seed: int = 0, max_rounds: int = 100) -> tuple[np.ndarray, np.ndarray]:
    """``n`` points (lat_deg, lon_deg) uniform on the sphere inside a shapely (multi)polygon in lon/lat
    degrees (e.g. ``Territories.geometry('UKR')``); deterministic for a ``seed``."""
    import shapely

    rng = np.random.default_rng(seed)
    lon_min, lat_min, lon_max, lat_max = geometry.bounds
    shapely.prepare(geometry)
    lat_out, lon_out = np.empty(0), np.empty(0)
    for _ in range(max_rounds):
        need = n - lat_out.size
        if need <= 0:
            break
        lat, lon = _uniform_points(rng, 2 * need + 16, lon_min, lat_min, lon_max, lat_max)
        inside = shapely.contains_xy(geometry, lon, lat)
        lat_out, lon_out = np.r_[lat_out, lat[inside]], np.r_[lon_out, lon[inside]]
    if lat_out.size < n:
        raise LeosimInputError("could not place terminals inside the territory (is it empty?)", field="territory")
    return lat_out[:n], lon_out[:n]


def spread_by_population(city_lat_deg, city_lon_deg, population, n: int, seed: int = 0, *,
                         spread_km: float = POPULATION_SPREAD_KM, geometry=None,
                         max_rounds: int = 100) -> tuple[np.ndarray, np.ndarray]:
    """``n`` points (lat_deg, lon_deg): a city drawn in proportion to its population, then a Gaussian
    offset of ``spread_km`` (km, each axis) around it; points outside ``geometry`` (shapely, lon/lat) are
    drawn again. Deterministic for a ``seed``."""
    import shapely

    lat_c = np.asarray(city_lat_deg, dtype=np.float64)
    lon_c = np.asarray(city_lon_deg, dtype=np.float64)
    weight = np.asarray(population, dtype=np.float64)
    if lat_c.size == 0 or weight.sum() <= 0:
        raise LeosimInputError("no populated place to spread terminals around", field="population")
    p = weight / weight.sum()
    rng = np.random.default_rng(seed)
    if geometry is not None:
        shapely.prepare(geometry)
    lat_out, lon_out = np.empty(0), np.empty(0)
    km_per_deg = np.radians(1.0) * MEAN_EARTH_RADIUS_KM
    for _ in range(max_rounds):
        need = n - lat_out.size
        if need <= 0:
            break
        pick = rng.choice(lat_c.size, size=need + need // 4 + 16, p=p)
        dn, de = rng.normal(0.0, spread_km, (2, pick.size))
        lat = np.clip(lat_c[pick] + dn / km_per_deg, -89.9, 89.9)
        lon = (lon_c[pick] + de / (km_per_deg * np.cos(np.radians(lat))) + 180.0) % 360.0 - 180.0
        keep = np.ones(lat.size, bool) if geometry is None else shapely.contains_xy(geometry, lon, lat)
        lat_out, lon_out = np.r_[lat_out, lat[keep]], np.r_[lon_out, lon[keep]]
    if lat_out.size < n:
        raise LeosimInputError("could not place terminals inside the territory", field="territory")
    return lat_out[:n], lon_out[:n]


def group_by_cell(cell_rows) -> tuple[np.ndarray, np.ndarray]:
    """Distinct cell rows and how many points fall in each: ``(cell_row, count)``."""
    rows, count = np.unique(np.asarray(cell_rows, dtype=np.int64), return_counts=True)
    return rows, count.astype(np.float64)


def place_in_territory(territories, key: str, n: int, *, by: str = "population", seed: int = 0,
                       spread_km: float = POPULATION_SPREAD_KM, cities=None) -> tuple[np.ndarray, np.ndarray]:
    """``n`` terminal positions (lat_deg, lon_deg) inside territory ``key`` (alpha-3 code or region name of
    ``territories``): ``by="population"`` around the cities inside it (the shipped GeoNames table unless
    ``cities`` is given), in proportion to population, or ``by="uniform"``. A territory with no listed
    city falls back to uniform. Deterministic for a ``seed``."""
    if by not in ("population", "uniform"):
        raise LeosimInputError(f"terminals are spread 'uniform' or by 'population', not {by!r}", field="spread")
    geometry = territories.geometry(key)
    if by == "population":
        if cities is None:
            from ..ground.sites import default_cities

            cities = default_cities()
        inside = np.asarray(territories.lookup(cities.lat_deg, cities.lon_deg)) == key
        weight = cities.population[inside].astype(np.float64)
        if inside.any() and weight.sum() > 0:
            return spread_by_population(cities.lat_deg[inside], cities.lon_deg[inside], weight, n, seed,
                                        spread_km=spread_km, geometry=geometry)
    return spread_uniform(geometry, n, seed)
