"""The report's map: territories coloured by service state, with the sites on them.

Projection: equirectangular (plate carrée) with the horizontal scale set to the cosine of the panel's mid
latitude, which keeps shapes right near that latitude and needs no projection library. Longitudes are
unwrapped around each panel's centre, and every polygon is drawn at -360°, 0° and +360° so that a panel
may span the antimeridian (Natural Earth splits countries there; a custom region crossing it unsplit is
unwrapped first).

Terminals are grouped into panels (single-linkage clusters, :data:`CLUSTER_LINK_DEG`), each zoomed to its
terminals and the gateways and PoPs they use, plus a world overview showing where the panels are.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pandas as pd
import shapely
from matplotlib import patheffects, ticker
from matplotlib.collections import PatchCollection
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, PathPatch, Rectangle
from matplotlib.path import Path
from scipy.cluster.hierarchy import fcluster, linkage
from scipy.spatial.distance import pdist
from shapely.geometry.polygon import orient

from .render import STATE_COLOURS, label, new_figure, report_style, territory_names, usable

#: Terminals closer than this (great-circle angle, degrees) end up on the same map panel.
CLUSTER_LINK_DEG = 25.0
#: More clusters than this: one panel holding every site instead.
MAX_PANELS = 4
#: Margin around a panel's sites: this share of its span, but at least :data:`MIN_MARGIN_DEG`.
MARGIN_SHARE = 0.12
MIN_MARGIN_DEG = 2.0
#: Smallest span of a panel, degrees (a single terminal still shows its surroundings).
MIN_SPAN_DEG = 8.0
#: More terminals than this in a panel: no name labels (they would cover the map).
MAX_LABELS = 40
#: Latitude limits of the drawing, degrees (equirectangular stretches without bound near the poles).
MAX_LAT_DEG = 85.0
#: World overview extent, degrees (Antarctica left out).
WORLD_LAT_DEG = (-60.0, 85.0)
#: Simplification of the country outlines on the world overview, degrees (a pixel there is ~0.4°).
WORLD_SIMPLIFY_DEG = 0.1
#: Figure width of a panel, inches.
MAP_WIDTH_IN = 8.0

SEA_COLOUR = "#dcebf5"
#: Land with no entry in the territory_state table.
LAND_COLOUR = "#efebe2"
BORDER_COLOUR = "#ffffff"
REGION_EDGE_COLOUR = "#5a0000"
PANEL_BOX_COLOUR = "#08306b"

#: Marker style per site kind: (marker, face colour, size in points², label).
SITE_STYLES = {
    "terminal": ("o", "#08306b", 36.0, "terminal"),
    "city": ("o", "#08306b", 20.0, "city"),
    "gateway": ("^", "#6a3d9a", 30.0, "gateway"),
    "pop": ("s", "#111111", 30.0, "PoP"),
}
_OTHER_STYLE = ("D", "#555555", 20.0, "other site")
_DRAW_ORDER = ("gateway", "pop", "city", "terminal")


@dataclass(frozen=True)
class Panel:
    """One map panel: extent in unwrapped degrees (``lon_min`` may be < -180 or ``lon_max`` > 180) and the
    row positions (in the sites table) of the terminals it was made for."""

    lon_min: float
    lon_max: float
    lat_min: float
    lat_max: float
    terminals: tuple[int, ...]

    @property
    def lon_centre(self) -> float:
        return 0.5 * (self.lon_min + self.lon_max)


# ----- geometry -----------------------------------------------------------------------------------------
def _unwrapped_polygons(geometry) -> list:
    """The polygons of a geometry, each moved so that it does not jump across the antimeridian."""
    polygons = []
    for part in shapely.get_parts(geometry):
        if part.geom_type == "MultiPolygon" or part.geom_type == "GeometryCollection":
            polygons.extend(_unwrapped_polygons(part))
            continue
        if part.geom_type != "Polygon" or part.is_empty:
            continue
        west, _, east, _ = part.bounds
        if east - west > 180.0:
            shifted = shapely.transform(part, lambda xy: np.column_stack([np.where(xy[:, 0] < 0, xy[:, 0] + 360.0,
                                                                                    xy[:, 0]), xy[:, 1]]))
            if shifted.bounds[2] - shifted.bounds[0] < 180.0:
                part = shifted
        polygons.append(orient(part, sign=1.0))  # exterior CCW, holes CW: non-zero fill leaves holes empty
    return polygons


def _polygon_path(polygon, offset_deg: float) -> Path:
    vertices, codes = [], []
    for ring in (polygon.exterior, *polygon.interiors):
        xy = np.asarray(ring.coords, dtype=float)
        if len(xy) < 3:
            continue
        xy = xy + np.array([offset_deg, 0.0])
        ring_codes = np.full(len(xy), Path.LINETO, dtype=Path.code_type)
        ring_codes[0], ring_codes[-1] = Path.MOVETO, Path.CLOSEPOLY
        vertices.append(xy)
        codes.append(ring_codes)
    return Path(np.concatenate(vertices), np.concatenate(codes))


class _Layer:
    """Polygons of many territories with their bounds, for fast selection by view extent."""

    def __init__(self, keyed_geometries: list[tuple[str, object]]):
        self.keys, self.polygons = [], []
        for key, geometry in keyed_geometries:
            for polygon in _unwrapped_polygons(geometry):
                self.keys.append(key)
                self.polygons.append(polygon)
        self.bounds = (shapely.bounds(np.array(self.polygons, dtype=object)) if self.polygons
                       else np.zeros((0, 4)))

    def paths(self, lon_min, lon_max, lat_min, lat_max):
        """(key, Path) of every polygon copy (offsets -360, 0, +360°) that touches the extent."""
        selected = []
        for offset in (-360.0, 0.0, 360.0):
            hit = ((self.bounds[:, 0] + offset <= lon_max) & (self.bounds[:, 2] + offset >= lon_min)
                   & (self.bounds[:, 1] <= lat_max) & (self.bounds[:, 3] >= lat_min))
            selected.extend((self.keys[i], _polygon_path(self.polygons[i], offset)) for i in np.flatnonzero(hit))
        return selected


def _default_countries():
    """Natural Earth countries from the territory layer, or ``None`` when its data cannot be read."""
    try:
        from ..territory import Territories

        return Territories.default()
    except (ImportError, OSError):  # no bundled country data: the map draws what meta provides
        return None


def territory_geometries(meta: dict | None) -> dict[str, object]:
    """Shapely geometry (lon/lat degrees) per territory key: every Natural Earth country, overridden or
    extended by ``meta['geometries']`` (custom regions, or everything when the country data is unavailable)."""
    countries = _default_countries()
    geometries = {} if countries is None else {str(c): countries.geometry(str(c)) for c in countries.codes}
    geometries.update({str(k): g for k, g in ((meta or {}).get("geometries") or {}).items() if g is not None})
    return geometries


@lru_cache(maxsize=2)
def _country_layer(tolerance_deg: float) -> _Layer:
    """The default countries as a drawing layer, simplified to ``tolerance_deg`` (0: as stored). Cached: the
    geometry never changes, only the colours do."""
    countries = _default_countries()
    if countries is None:
        return _Layer([])
    keyed = [(str(c), countries.geometry(str(c))) for c in countries.codes]
    if tolerance_deg > 0:
        keyed = [(k, shapely.simplify(g, tolerance_deg, preserve_topology=True)) for k, g in keyed]
    return _Layer(keyed)


# ----- panels -------------------------------------------------------------------------------------------
def _wrap_near(lon_deg: np.ndarray, centre_deg: float) -> np.ndarray:
    """Longitudes moved by multiples of 360° into [centre - 180, centre + 180)."""
    return centre_deg + (np.asarray(lon_deg, dtype=float) - centre_deg + 180.0) % 360.0 - 180.0


def _circular_mean_deg(lon_deg: np.ndarray) -> float:
    angle = np.radians(lon_deg)
    return float(np.degrees(np.arctan2(np.sin(angle).mean(), np.cos(angle).mean())))


def _unit_vectors(lat_deg: np.ndarray, lon_deg: np.ndarray) -> np.ndarray:
    lat, lon = np.radians(lat_deg), np.radians(lon_deg)
    return np.column_stack([np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)])


def _used_sites(tables: dict, terminal_ids: set[str]) -> set[str]:
    """Gateways and PoPs that these terminals used in any variant."""
    used: set[str] = set()
    for name, key_column in (("access", "site_id"), ("access_variants", "site_id"), ("whatif", "key")):
        frame = usable(tables, name, (key_column,))
        if frame is None:
            continue
        rows = frame[frame[key_column].astype(str).isin(terminal_ids)]
        for column in ("gateway", "pop"):
            if column in rows:
                used.update(v for v in rows[column].dropna().astype(str).unique() if v)
    return used


def _extent(lat_deg: np.ndarray, lon_deg: np.ndarray) -> tuple[float, float, float, float]:
    """Padded extent of points already unwrapped around one centre."""
    lon_min, lon_max, lat_min, lat_max = lon_deg.min(), lon_deg.max(), lat_deg.min(), lat_deg.max()
    lon_pad = max(MIN_MARGIN_DEG, MARGIN_SHARE * (lon_max - lon_min), 0.5 * (MIN_SPAN_DEG - (lon_max - lon_min)))
    lat_pad = max(MIN_MARGIN_DEG, MARGIN_SHARE * (lat_max - lat_min), 0.5 * (MIN_SPAN_DEG - (lat_max - lat_min)))
    west, east = float(lon_min - lon_pad), float(lon_max + lon_pad)
    if east - west > 360.0:  # sites all around the globe: the usual world map
        west, east = -180.0, 180.0
    return west, east, float(max(lat_min - lat_pad, -MAX_LAT_DEG)), float(min(lat_max + lat_pad, MAX_LAT_DEG))


def map_panels(tables: dict) -> list[Panel]:
    """Panels for the sites table: clusters of terminals (or of all sites when there are no terminals),
    largest first, each with the gateways and PoPs its terminals used; at most :data:`MAX_PANELS`, else one
    panel over everything. Empty when there are no sites."""
    sites = usable(tables, "sites", ("site_id", "kind", "lat_deg", "lon_deg"))
    if sites is None:
        return []
    lat = sites["lat_deg"].to_numpy(dtype=float)
    lon = sites["lon_deg"].to_numpy(dtype=float)
    finite = np.isfinite(lat) & np.isfinite(lon)
    kind = sites["kind"].astype(str).to_numpy()
    anchors = np.flatnonzero(np.isin(kind, ("terminal", "city")) & finite)
    if anchors.size == 0:
        anchors = np.flatnonzero(finite)
    if anchors.size == 0:
        return []
    if anchors.size == 1:
        groups = [anchors]
    else:
        chord = pdist(_unit_vectors(lat[anchors], lon[anchors]))
        labels = fcluster(linkage(chord, method="single"), t=2.0 * np.sin(np.radians(CLUSTER_LINK_DEG) / 2.0),
                          criterion="distance")
        groups = [anchors[labels == value] for value in np.unique(labels)]
        groups.sort(key=lambda g: (-g.size, g.min()))
        if len(groups) > MAX_PANELS:
            groups = [anchors]
    ids = sites["site_id"].astype(str).to_numpy()
    position = {site: i for i, site in enumerate(ids)}
    panels = []
    for group in groups:
        used = [position[s] for s in sorted(_used_sites(tables, set(ids[group]))) if s in position]
        members = np.union1d(group, np.array(used, dtype=int))
        members = members[finite[members]]
        centre = _circular_mean_deg(lon[group])
        lon_min, lon_max, lat_min, lat_max = _extent(lat[members], _wrap_near(lon[members], centre))
        panels.append(Panel(lon_min, lon_max, lat_min, lat_max, tuple(int(i) for i in group)))
    return panels


# ----- drawing ------------------------------------------------------------------------------------------
def _lon_label(value: float, _position=None) -> str:
    wrapped = (value + 180.0) % 360.0 - 180.0
    if abs(wrapped) < 1e-9 or abs(abs(wrapped) - 180.0) < 1e-9:
        return f"{abs(wrapped):g}°"
    return f"{abs(wrapped):g}°{'E' if wrapped > 0 else 'W'}"


def _lat_label(value: float, _position=None) -> str:
    return "0°" if abs(value) < 1e-9 else f"{abs(value):g}°{'N' if value > 0 else 'S'}"


def _states(tables: dict) -> tuple[dict[str, str], dict[str, str]]:
    """Service state per territory key, split into the country and the region layer."""
    state = usable(tables, "territory_state", ("territory", "state"))
    countries: dict[str, str] = {}
    regions: dict[str, str] = {}
    if state is None:
        return countries, regions
    layer = state["layer"].astype(str) if "layer" in state else pd.Series("country", index=state.index)
    for key, kind, value in zip(state["territory"].astype(str), layer, state["state"].astype(str), strict=True):
        (regions if kind == "region" else countries)[key] = value if value in STATE_COLOURS else "none"
    return countries, regions


class _MapData:
    """Everything the panels share: the two polygon layers and their states, the sites."""

    def __init__(self, tables: dict, meta: dict | None):
        self.country_state, self.region_state = _states(tables)
        given = {str(k): g for k, g in ((meta or {}).get("geometries") or {}).items() if g is not None}
        default = _country_layer(0.0)
        known = set(default.keys)
        # countries: the cached default layer; meta's geometries only for keys it lacks (everything without
        # the country data); regions (and any key the state table calls a region) from meta on top
        extra = [(k, g) for k, g in given.items() if k not in known and k not in self.region_state]
        self.countries = [default, _Layer(extra)]
        self.world = [_country_layer(WORLD_SIMPLIFY_DEG), self.countries[1]]
        self.regions = _Layer([(k, given[k]) for k in self.region_state if k in given])
        self.sites = usable(tables, "sites", ("site_id", "kind", "lat_deg", "lon_deg"))

    def draw(self, ax, lon_min, lon_max, lat_min, lat_max, *, labels: bool, marker_scale: float = 1.0,
             world: bool = False) -> set:
        """Draw territories and sites within the extent; return the states that appear."""
        ax.set_facecolor(SEA_COLOUR)
        shown = set()
        countries = self.world if world else self.countries
        for layers, states, edge, width, z in ((countries, self.country_state, BORDER_COLOUR, 0.5, 1),
                                               ([self.regions], self.region_state, REGION_EDGE_COLOUR, 0.9, 2)):
            patches, colours = [], []
            for key, path in (item for layer in layers for item in layer.paths(lon_min, lon_max, lat_min, lat_max)):
                state = states.get(key)
                shown.add(state)
                patches.append(PathPatch(path))
                colours.append(STATE_COLOURS.get(state, LAND_COLOUR))
            if patches:
                ax.add_collection(PatchCollection(patches, facecolors=colours, edgecolors=edge, linewidths=width,
                                                  zorder=z))
        if self.sites is not None:
            centre = 0.5 * (lon_min + lon_max)
            lat = self.sites["lat_deg"].to_numpy(dtype=float)
            lon = _wrap_near(self.sites["lon_deg"].to_numpy(dtype=float), centre)
            kind = self.sites["kind"].astype(str).to_numpy()
            inside = (lon >= lon_min) & (lon <= lon_max) & (lat >= lat_min) & (lat <= lat_max)
            kinds = [k for k in _DRAW_ORDER if k in set(kind)] + sorted(set(kind) - set(_DRAW_ORDER))
            for z, site_kind in enumerate(kinds, start=5):
                marker, colour, size, _ = SITE_STYLES.get(site_kind, _OTHER_STYLE)
                pick = inside & (kind == site_kind)
                if pick.any():
                    ax.scatter(lon[pick], lat[pick], s=size * marker_scale, marker=marker, c=colour,
                               edgecolors="white", linewidths=0.7, zorder=z)
            if labels:
                names = (self.sites["name"] if "name" in self.sites else self.sites["site_id"]).astype(str)
                halo = [patheffects.withStroke(linewidth=2.5, foreground="white")]
                named = np.flatnonzero(inside & np.isin(kind, ("terminal", "city")))
                for i in named if named.size <= MAX_LABELS else ():
                    ax.annotate(names.iloc[i], (lon[i], lat[i]), xytext=(4, 3), textcoords="offset points",
                                fontsize=7, zorder=20, path_effects=halo, annotation_clip=True)
        ax.set_xlim(lon_min, lon_max)
        ax.set_ylim(lat_min, lat_max)
        ax.set_aspect(1.0 / max(np.cos(np.radians(0.5 * (lat_min + lat_max))), 0.2), adjustable="box")
        ax.xaxis.set_major_formatter(ticker.FuncFormatter(_lon_label))
        ax.yaxis.set_major_formatter(ticker.FuncFormatter(_lat_label))
        ax.grid(True, color="#ffffff", alpha=0.5, linewidth=0.5)
        ax.set_axisbelow(True)  # graticule over the sea only: land colours stay pure
        return shown

    def legend(self, fig, shown_states: set) -> None:
        handles = [Patch(facecolor=STATE_COLOURS[s], edgecolor="#666666", label=f"service {s}")
                   for s in STATE_COLOURS if s in shown_states or s in ("active", "denied")]
        if self.sites is not None:
            for site_kind in [k for k in _DRAW_ORDER if k in set(self.sites["kind"].astype(str))]:
                marker, colour, _, text = SITE_STYLES[site_kind]
                handles.append(Line2D([], [], marker=marker, linestyle="", markerfacecolor=colour,
                                      markeredgecolor="white", markersize=7, label=label(text)))
        fig.legend(handles=handles, loc="outside lower center", ncols=min(len(handles), 4))


def _panel_title(tables: dict, panel: Panel) -> str:
    sites = usable(tables, "sites", ("site_id",))
    if sites is None or "territory" not in sites:
        return "Service state by territory"
    territories = sites["territory"].astype(str).iloc[list(panel.terminals)]
    counts = territories[territories != ""].value_counts(sort=False).sort_index()
    counts = counts.sort_values(ascending=False, kind="stable")
    names = territory_names(tables)
    listed = ", ".join(names.get(k, k) for k in counts.index[:4])
    return f"Service state by territory — {listed}" if listed else "Service state by territory"


def map_figures(tables: dict, meta: dict | None = None) -> list[tuple[str, object]]:
    """(title, figure) for each map panel, then a world overview (when there is more than one panel or the
    panel is small); empty when there are neither sites nor territory states to show."""
    panels = map_panels(tables)
    state = usable(tables, "territory_state", ("territory", "state"))
    if not panels and state is None:
        return []
    data = _MapData(tables, meta)
    figures = []
    with report_style():
        for panel in panels:
            aspect = (panel.lat_max - panel.lat_min) / (
                (panel.lon_max - panel.lon_min) * np.cos(np.radians(0.5 * (panel.lat_max + panel.lat_min))))
            fig = new_figure(MAP_WIDTH_IN, float(np.clip(MAP_WIDTH_IN * aspect, 3.0, 7.0)) + 0.8)
            ax = fig.add_subplot()
            shown = data.draw(ax, panel.lon_min, panel.lon_max, panel.lat_min, panel.lat_max, labels=True)
            title = _panel_title(tables, panel)
            ax.set_title(title)
            ax.set_xlabel("Longitude")
            ax.set_ylabel("Latitude")
            data.legend(fig, shown)
            figures.append((title, fig))
        if len(panels) != 1 or (panels[0].lon_max - panels[0].lon_min) < 120.0:
            fig = new_figure(MAP_WIDTH_IN, 4.6)
            ax = fig.add_subplot()
            centre = panels[0].lon_centre if len(panels) == 1 else 0.0
            shown = data.draw(ax, centre - 180.0, centre + 180.0, *WORLD_LAT_DEG, labels=False, marker_scale=0.4,
                              world=True)
            for number, panel in enumerate(panels, start=1):
                lon_min = _wrap_near(np.array([panel.lon_centre]), centre)[0] - 0.5 * (panel.lon_max - panel.lon_min)
                ax.add_patch(Rectangle((lon_min, panel.lat_min), panel.lon_max - panel.lon_min,
                                       panel.lat_max - panel.lat_min, fill=False, edgecolor=PANEL_BOX_COLOUR,
                                       linewidth=1.4, zorder=30))
                ax.annotate(str(number), (lon_min, panel.lat_max), xytext=(2, 2), textcoords="offset points",
                            color=PANEL_BOX_COLOUR, fontweight="bold", zorder=31)
            ax.set_title("World overview (boxes: the panels above)" if panels else "Service state by territory")
            data.legend(fig, shown)
            figures.append(("World overview", fig))
    return figures
