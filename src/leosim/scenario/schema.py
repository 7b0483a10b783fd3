"""The scenario file: a TOML document validated by pydantic models.

Unknown keys are rejected, ranges are checked, and every error names the file, the key path and, where
it can be found, the line. :func:`schema_reference` renders the documented schema (docs/scenario-schema.md
is generated from it).
"""

from __future__ import annotations

import datetime as dt
import tomllib
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator, model_validator

from ..constants import DEFAULT_MIN_ELEVATION_DEG
from ..errors import LeosimInputError
from ..timebase import instant_count

Instant = dt.datetime | dt.date | str
"""An instant: a TOML datetime or date, or an ISO 8601 string; naive means UTC."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True, allow_inf_nan=False)


class ScenarioInfo(_Strict):
    """``[scenario]``: what the scenario is called and what question it answers."""

    name: str = Field(min_length=1, description="Short title, shown in the report.")
    description: str = Field("", description="What the scenario asks, in a sentence or two.")


class ConstellationSpec(_Strict):
    """``[constellation]``: exactly one of ``preset``, ``tle`` (TLE or OMM file) or ``hypatia`` (a satgenpy folder)."""

    preset: str | None = Field(None, description="A preset name (`leosim constellations`).")
    tle: str | None = Field(None, description="Element file, relative to the scenario file: TLE or OMM.")
    hypatia: str | None = Field(None, description="A satgenpy output folder, relative to the scenario file.")
    as_of: dt.date | None = Field(None, description="Element files: keep only satellites launched on or before "
                                                      "this date (from the international designator).")
    non_operational: Literal["auto", "exclude", "keep"] = Field(
        "auto", description="Element files: satellites off their shell (raising, decaying, parked): `exclude` "
                            "(no ISLs, no service), `keep` (no ISLs, bent-pipe service) or `auto` (exclude with "
                            "`isl = \"plus-grid\"`, keep otherwise).")

    @model_validator(mode="after")
    def _exactly_one(self):
        given = [k for k in ("preset", "tle", "hypatia") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(f"give exactly one of preset, tle, hypatia (got {', '.join(given) or 'none'})")
        return self


class TimeSpec(_Strict):
    """``[time]``: the window, its end excluded."""

    start: Instant = Field(description="First instant, UTC (TOML datetime or ISO 8601 string).")
    duration_s: float = Field(gt=0, le=366 * 86_400, description="Length of the window, seconds.")
    step_s: float = Field(gt=0, le=86_400, description="Time step, seconds.")

    @field_validator("step_s")
    @classmethod
    def _not_absurd(cls, step_s: float, info: ValidationInfo) -> float:
        duration_s = info.data.get("duration_s")
        if duration_s is not None:
            try:
                instant_count(duration_s, step_s)
            except LeosimInputError as error:
                raise ValueError(error.message) from None
        return step_s


class NetworkSpec(_Strict):
    """``[network]``: links and routing."""

    isl: str = Field("plus-grid", description="`plus-grid`, `none` (bent pipe) or an isls.txt file.")
    isl_shift: int = Field(0, ge=0, description="Plus-grid: slot shift between neighbouring planes.")
    routing: Literal["isl", "bent-pipe", "ground-relay", "user"] = Field(
        "user", description="`user`: terminal → satellites → gateway → PoP (what a terminal experiences).")
    terminal_min_elevation_deg: float = Field(DEFAULT_MIN_ELEVATION_DEG, ge=0, le=90,
                                              description="Elevation mask of terminals.")
    gateway_min_elevation_deg: float = Field(DEFAULT_MIN_ELEVATION_DEG, ge=0, le=90,
                                             description="Elevation mask of gateways.")
    max_gsl_length_km: float | None = Field(
        None, gt=0, description="Hypatia's GSL rule for [[pairs]]: every satellite within this range (instead of "
                                "the elevation masks).")
    max_isl_length_km: float | None = Field(None, gt=0, description="ISLs longer than this are not used.")
    gateway_selection: Literal["lowest-rtt", "nearest"] = Field(
        "lowest-rtt", description="Where terminals' traffic lands: `lowest-rtt`: the gateway and PoP with the least "
                                  "RTT (lasers at c beat fibre at c/1.468, so mostly the gateways next to the "
                                  "PoPs); `nearest`: the gateway with the least space-segment delay from the "
                                  "terminal, then terrestrial fibre to the PoP (the given one, or the one nearest "
                                  "that gateway), as Starlink lands traffic.")


class GroundSpec(_Strict):
    """``[ground]``: gateways and PoPs: `default` (the shipped list) or a sites CSV file."""

    gateways: str = Field("default", description="`default` or a CSV of gateways.")
    pops: str = Field("default", description="`default`, `starlink` (the PoPs in Starlink's GeoIP feed by the "
                                             "window's start, shipped) or a CSV of PoPs.")
    fibre: str | None = Field(None, description="CSV of measured gateway-to-PoP fibre distances (gateway, pop, "
                                                "distance_km); unlisted pairs use the great circle.")
    pop_assignment: Literal["nearest", "published"] = Field(
        "nearest", description="`nearest`: each terminal's traffic goes to the best PoP; `published`: to the PoP "
                               "Starlink's GeoIP feed assigned its country at the window's start (shares as "
                               "weights), nearest where the feed does not list the country.")


class RouteSpec(_Strict):
    """``route`` of a ``[[sites]]`` entry: a generated track along great circles at a constant speed."""

    waypoints: list[tuple[float, float]] = Field(min_length=2, description="[[lat, lon], ...], degrees.")
    speed_kmh: float = Field(gt=0, le=5_000, description="Ground speed, km/h.")
    start: Instant = Field(description="When the terminal leaves the first waypoint (UTC).")
    alt_m: float = Field(0.0, ge=-500, le=20_000, description="Height, metres.")


class SiteSpec(_Strict):
    """``[[sites]]``: one explicit place, or a moving terminal (``track`` file or generated ``route``)."""

    id: str | None = Field(None, description="Unique id; defaults to a slug of the name.")
    name: str = Field(min_length=1)
    lat_deg: float | None = Field(None, alias="lat", ge=-90, le=90,
                                  description="Latitude, degrees (WGS84); not with track/route.")
    lon_deg: float | None = Field(None, alias="lon", ge=-180, le=180,
                                  description="Longitude, degrees (WGS84); not with track/route.")
    alt_m: float = Field(0.0, ge=-500, le=9_000, description="Height, metres.")
    kind: Literal["terminal", "gateway", "pop", "city"] = "terminal"
    fleet: str = Field("", description="Fleet the terminal belongs to (see [[policy.fleets]]).")
    tenant: str = Field("", description="Tenant (customer) of the terminal.")
    group: str = Field("", description="A label for grouping in the report (e.g. 'occupied', 'control').")
    track: str | None = Field(None, description="A moving terminal's track: CSV (time_utc, lat_deg, lon_deg[, "
                                                "alt_m]), GPX or GeoJSON LineString with properties.times; "
                                                "relative to the scenario file.")
    route: RouteSpec | None = Field(None, description="A generated track: waypoints, speed_kmh, start, alt_m.")
    track_kind: Literal["aircraft", "ship", "vehicle", "drone", "other"] = Field(
        "other", description="What moves (a label for tracks and routes).")

    @model_validator(mode="after")
    def _one_position(self):
        point = self.lat_deg is not None or self.lon_deg is not None
        given = [k for k, v in (("lat/lon", point), ("track", self.track is not None),
                                ("route", self.route is not None)) if v]
        if len(given) != 1:
            raise ValueError(f"give exactly one of lat/lon, track, route (got {', '.join(given) or 'none'})")
        if point and (self.lat_deg is None or self.lon_deg is None):
            raise ValueError("give both lat and lon")
        if (self.track is not None or self.route is not None) and self.kind != "terminal":
            raise ValueError("only terminals move: track/route need kind = 'terminal'")
        return self


class SiteFileSpec(_Strict):
    """``[[site_files]]``: places from a file: a sites CSV or Hypatia's ground_stations(.basic).txt."""

    path: str = Field(description="File, relative to the scenario file.")
    format: Literal["csv", "hypatia"] = "csv"
    kind: Literal["terminal", "city"] = "terminal"
    group: str = ""
    fleet: str = ""


class SiteGroupSpec(_Strict):
    """``[[site_groups]]``: generated places within territories."""

    kind: Literal["largest-cities", "population-sample", "h3-cells"]
    territories: list[str] = Field(min_length=1, description="Alpha-3 codes or custom region names.")
    count: int = Field(10, ge=1, le=100_000, description="Cities, or sampled places, per territory.")
    resolution: int = Field(4, ge=0, le=9, description="H3 resolution for `h3-cells`.")
    seed: int = Field(0, description="Random seed for `population-sample`.")
    fleet: str = ""
    group: str = ""


class RegionSpec(_Strict):
    """``[[regions]]``: a custom region overlaying countries: a GeoJSON file, a polygon or H3 cells."""

    name: str = Field(min_length=1)
    geojson: str | None = Field(None, description="GeoJSON file, relative to the scenario file.")
    polygon: list[tuple[float, float]] | None = Field(None, description="[[lon, lat], ...], degrees.")
    h3_cells: list[str] | None = None
    note: str = Field("", description="Where the outline comes from.")

    @model_validator(mode="after")
    def _exactly_one(self):
        given = [k for k in ("geojson", "polygon", "h3_cells") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(f"give exactly one of geojson, polygon, h3_cells (got {', '.join(given) or 'none'})")
        if self.polygon is not None and len(self.polygon) < 3:
            raise ValueError("a polygon needs at least 3 points")
        return self


class ConditionSpec(_Strict):
    """``when`` of a rule: the rule applies only where all these hold (leosim.policy.conditions)."""

    speed_above_kmh: float | None = Field(None, ge=0, description="Ground speed above this, km/h.")
    days_abroad_above: float | None = Field(None, ge=0, description="More days than this outside the registered "
                                                                    "country in the year.")
    abroad_year: Literal["rolling", "calendar"] = Field("rolling", description="Year of days_abroad_above: the 365 "
                                                                               "days up to the instant, or since 1 "
                                                                               "January UTC.")
    offshore_above_nm: float | None = Field(None, ge=0, description="At sea farther than this from land, "
                                                                    "nautical miles.")
    plans: list[str] = Field(default_factory=list, description="Only terminals on these plans (empty: any).")
    exempt_plans: list[str] = Field(default_factory=list, description="Not terminals on these plans.")


class RuleSpec(_Strict):
    """``[[policy.rules]]``: one decision."""

    subject: str = Field(description="Alpha-3 code, region:NAME, fleet:NAME, terminal:ID or `*` (every terminal).")
    state: Literal["active", "denied", "restricted"]
    from_: Instant = Field(alias="from")
    until: Instant | None = None
    allow: list[str] = Field(default_factory=list, description="Tenants/fleets a restricted rule lets through; "
                                                               "`registered`, `registered:ISO3` and `plan:NAME` "
                                                               "read the registry.")
    decided_at: Instant | None = None
    by: str = ""
    reason: str = ""
    url: str = Field("", description="Link to the public source of the decision (shown in the report).")
    source: str = Field("", description="The source in words (outlet, date).")
    when: ConditionSpec | None = Field(None, description="Conditions per terminal and instant (speed, days "
                                                         "abroad, offshore distance, plans).")


class PayerSpec(_Strict):
    """``[[policy.fleets.payers]]``: who pays for a fleet, when, how much."""

    payer: str = Field(min_length=1)
    kind: Literal["operator donation", "government contract", "subscribers", "other"] = "other"
    from_: Instant = Field(alias="from")
    until: Instant | None = None
    monthly_cost_per_terminal_usd: float = Field(0.0, ge=0)
    terminals: int | None = Field(None, ge=0)


class FleetSpec(_Strict):
    """``[[policy.fleets]]``: a fleet of terminals."""

    name: str = Field(min_length=1)
    terminals: int = Field(0, ge=0)
    tenant: str | None = None
    priority: int = 0
    payers: list[PayerSpec] = Field(default_factory=list)
    source: str = Field("", description="Where the figures come from, or 'illustrative'.")
    url: str = Field("", description="Link to the public source of the figures (shown in the report).")


class PolicySpec(_Strict):
    """``[policy]``: rules, fleets, the default state, and an optional store to read rules from."""

    default_state: Literal["active", "denied"] = Field(
        "denied", description="State of a terminal where no rule applies (service is the operator's decision).")
    landing_default_state: Literal["active", "denied"] = Field(
        "active", description="State of a gateway's territory where no rule applies: gateways land traffic "
                              "unless their territory is denied.")
    store: str | None = Field(None, description="A policy SQLite store whose rules are added.")
    rules: list[RuleSpec] = Field(default_factory=list)
    fleets: list[FleetSpec] = Field(default_factory=list)


class RegistryEntrySpec(_Strict):
    """``[[registry.terminals]]``: one terminal of the registry."""

    terminal_id: str = Field(min_length=1, description="A site id or a synthesised terminal's id.")
    owner: str = ""
    tenant: str = ""
    country: str = Field("", description="Registered country, ISO 3166 alpha-3.")
    plan: str = Field("", description="residential, roam, maritime, aviation, military, or free text.")
    registered_on: Instant | None = Field(None, description="Registration instant; absent: listed, not registered.")


class SyntheticFleetSpec(_Strict):
    """``[[registry.synthetic]]``: N terminals spread over a territory or a box, a share registered."""

    id_prefix: str = Field(min_length=1, description="Ids are this plus a zero-padded number.")
    count: int = Field(ge=1, le=1_000_000)
    territory: str | None = Field(None, description="Alpha-3 code or custom region name to spread over.")
    box: tuple[float, float, float, float] | None = Field(None, description="[lon_min, lat_min, lon_max, lat_max].")
    share_registered: float = Field(ge=0, le=1, description="Share of the terminals registered.")
    registered_on: Instant = Field("2026-01-01", description="Registration instant of the registered ones.")
    country: str = Field("", description="Registered country, ISO 3166 alpha-3.")
    plan: str = "residential"
    owner: str = ""
    tenant: str = ""
    fleet: str = ""
    group: str = ""
    seed: int = 0

    @model_validator(mode="after")
    def _one_area(self):
        if (self.territory is None) == (self.box is None):
            raise ValueError("give exactly one of territory, box")
        return self


class RegistrySpec(_Strict):
    """``[registry]``: the terminal registry (owner, registered country, plan, registration date)."""

    files: list[str] = Field(default_factory=list, description="Registry files (CSV or TOML), relative to the "
                                                               "scenario file.")
    terminals: list[RegistryEntrySpec] = Field(default_factory=list)
    synthetic: list[SyntheticFleetSpec] = Field(default_factory=list)


class PairSpec(_Strict):
    """``[[pairs]]``: a pair of places whose RTT over time is reported."""

    src: str
    dst: str


class WhatIfSpec(_Strict):
    """``[[whatif]]``: the scenario again with these rules added (they are decided last, so they win)."""

    name: str = Field(min_length=1)
    description: str = ""
    rules: list[RuleSpec] = Field(min_length=1)


class CapacityFleetSpec(_Strict):
    """``[[capacity.fleets]]``: a fleet's terminals spread over territories (they take the fleet's tier)."""

    fleet: str = Field(min_length=1, description="A fleet of [[policy.fleets]].")
    territories: list[str] = Field(min_length=1, description="Alpha-3 codes or custom region names.")
    terminals: int | None = Field(None, ge=0, description="Terminals in all (default: the fleet's count).")
    spread: Literal["uniform", "population"] = "uniform"
    busy_hour_mbps: float | None = Field(None, ge=0, description="Per-terminal busy-hour demand, Mbps.")
    activity: float | None = Field(None, ge=0, le=1)
    seed: int = 0
    source: str = Field("", description="Where the figures come from, or 'illustrative'.")


class CapacityBackgroundSpec(_Strict):
    """``[[capacity.background]]``: subscribers of a territory, spread by population (tier 0, no fleet)."""

    territory: str = Field(min_length=1)
    subscribers: int = Field(ge=0)
    spread: Literal["uniform", "population"] = "population"
    busy_hour_mbps: float | None = Field(None, ge=0)
    activity: float | None = Field(None, ge=0, le=1)
    seed: int = 0
    source: str = ""


class CapacitySpec(_Strict):
    """``[capacity]``: beams, cells and who gets the bandwidth (docs/capacity.md). Off when absent."""

    preset: Literal["starlink-v1.5", "starlink-v2-mini"] = Field("starlink-v1.5",
                                                                 description="Capacity parameter set.")
    gateway_overflow: Literal["spill", "none"] = Field(
        "spill", description="`spill`: traffic that would overload a gateway's feeders lands at the next gateway "
        "with room (leosim.network.balancing); `none`: every route keeps its idle-network gateway.")
    generations: Literal["preset", "launch-date"] = Field(
        "preset", description="`preset`: every satellite has the preset's beams and ceiling; `launch-date`: each "
        "satellite those of its generation by launch date (v2 mini from 2023-02-27, else v1.5; element files).")
    parameters: dict[str, float] = Field(default_factory=dict,
                                         description="Overrides of leosim.capacity.CapacityParams fields.")
    busy_hour_mbps: float = Field(3.4, ge=0, description="Per-terminal busy-hour demand, Mbps (docs/capacity.md).")
    activity: float = Field(1.0, ge=0, le=1, description="Share of terminals drawing it at once.")
    plan_cap_mbps: float = Field(220.0, gt=0, description="Ceiling of a speed test, Mbps (Starlink Residential's "
                                                           "published 25-220 Mbps).")
    site_terminals: int = Field(1, ge=0, description="Terminals each scenario terminal site counts as.")
    site_counts: dict[str, int] = Field(default_factory=dict, description="Per site id: terminals it counts as.")
    gateway_antennas: dict[str, int] = Field(default_factory=dict, description="Per gateway id: antennas.")
    every_slots: int = Field(1, ge=1, description="Compute one slot in this many (slot number since the Unix "
                                                   "epoch a multiple of it), to thin long runs.")
    fleets: list[CapacityFleetSpec] = Field(
        default_factory=list, description="[[capacity.fleets]]: `fleet`, `territories`, `terminals` (default the "
        "fleet's count), `spread` (uniform or population), `busy_hour_mbps`, `activity`, `seed`, `source`.")
    background: list[CapacityBackgroundSpec] = Field(
        default_factory=list, description="[[capacity.background]]: `territory`, `subscribers`, `spread` (default "
        "population), `busy_hour_mbps`, `activity`, `seed`, `source`.")


class AnalysesSpec(_Strict):
    """``[analyses]``: which analyses to run."""

    coverage: bool = True
    availability: bool = True
    latency: bool = True
    path_dynamics: bool = True
    whatif: bool = True
    cost: bool = True


class OutputSpec(_Strict):
    """``[output]``: what to write besides the tables."""

    report: bool = True


SWEEP_SETTABLE = ("network.isl", "network.isl_shift", "network.routing", "network.terminal_min_elevation_deg",
                  "network.gateway_min_elevation_deg", "network.gateway_selection", "ground.gateways", "ground.pops",
                  "constellation.preset", "constellation.tle", "constellation.hypatia", "policy.default_state",
                  "policy.landing_default_state", "policy.store")
"""Key paths a sweep variant may override (``set``); files are relative to the scenario file."""


class SweepVariantSpec(_Strict):
    """``[[sweep.variants]]``: the scenario again with some settings overridden and policy rules added."""

    name: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$",
                      description="Variant name (letters, digits, `.`, `_`, `-`): its tables go to "
                                  "`variants/<name>/`.")
    description: str = ""
    set: dict[str, str | float | int | bool] = Field(
        default_factory=dict, description="Overrides by key path, e.g. `\"network.terminal_min_elevation_deg\" = 40`, "
                                          "`\"ground.gateways\" = \"gw.csv\"`, `\"constellation.preset\" = \"...\"`, "
                                          "`\"network.isl\" = \"none\"`.")
    rules: list[RuleSpec] = Field(default_factory=list, description="Policy rules added to `[policy]`'s.")

    @model_validator(mode="after")
    def _known_keys(self):
        unknown = [k for k in self.set if k not in SWEEP_SETTABLE]
        if unknown:
            raise ValueError(f"cannot sweep {unknown[0]!r}; accepted: {', '.join(SWEEP_SETTABLE)}")
        if not self.set and not self.rules:
            raise ValueError("a sweep variant needs `set` overrides or `rules`")
        return self


class SweepSpec(_Strict):
    """``[sweep]``: variants of the scenario run alongside it (the scenario as declared is `baseline`)."""

    variants: list[SweepVariantSpec] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_names(self):
        names = [v.name for v in self.variants]
        for name in names:
            if name == "baseline":
                raise ValueError("the variant name 'baseline' is reserved for the scenario as declared")
            if names.count(name) > 1:
                raise ValueError(f"sweep variant names must be unique ({name!r} is given twice)")
        return self


class ScenarioSpec(_Strict):
    """A whole scenario file."""

    scenario: ScenarioInfo
    constellation: ConstellationSpec
    time: TimeSpec
    network: NetworkSpec = NetworkSpec()
    ground: GroundSpec = GroundSpec()
    sites: list[SiteSpec] = Field(default_factory=list)
    site_files: list[SiteFileSpec] = Field(default_factory=list)
    site_groups: list[SiteGroupSpec] = Field(default_factory=list)
    regions: list[RegionSpec] = Field(default_factory=list)
    registry: RegistrySpec = RegistrySpec()
    policy: PolicySpec = PolicySpec()
    pairs: list[PairSpec] = Field(default_factory=list)
    whatif: list[WhatIfSpec] = Field(default_factory=list)
    capacity: CapacitySpec | None = Field(None, description="Capacity model (off when absent).")
    analyses: AnalysesSpec = AnalysesSpec()
    output: OutputSpec = OutputSpec()
    sweep: SweepSpec | None = Field(None, description="Variants run alongside the scenario (see [sweep]).")

    @model_validator(mode="after")
    def _has_sites(self):
        if not self.sites and not self.site_groups and not self.site_files and not self.registry.synthetic:
            raise ValueError("a scenario needs [[sites]], [[site_files]], [[site_groups]] or "
                             "[[registry.synthetic]]")
        return self


def load_scenario_spec(path) -> tuple[ScenarioSpec, str]:
    """Parse and validate a scenario TOML file; returns the model and the file's text."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise LeosimInputError("scenario file not found", source=str(path)) from None
    except (UnicodeDecodeError, IsADirectoryError) as error:
        raise LeosimInputError(f"cannot read the scenario file: {error}", source=str(path)) from None
    return parse_scenario_text(text, source=str(path)), text


def parse_scenario_text(text: str, source: str = "<scenario>") -> ScenarioSpec:
    """Validate scenario TOML text; errors name ``source``, the key path and the line."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        line = getattr(error, "lineno", None)
        raise LeosimInputError(f"not valid TOML: {error.msg if hasattr(error, 'msg') else error}",
                               source=source, line=line) from None
    try:
        return ScenarioSpec.model_validate(data)
    except ValidationError as error:
        errors = error.errors()
        # An unknown key (often a misspelt one) explains a "missing" error elsewhere: report it first.
        first = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
        loc = tuple(first["loc"])
        key_path = _key_path(loc)
        message = first["msg"].removeprefix("Value error, ")
        if first["type"] in ("finite_number",) or _not_finite(first.get("input")):
            message = f"not a number ({first['input']!r}); a finite number is needed"
        elif first["type"] == "extra_forbidden":
            parent = _model_at(loc[:-1])
            accepted = ", ".join(sorted(f.alias or name for name, f in parent.model_fields.items())) if parent else ""
            message = f"unknown key {loc[-1]!r}" + (f"; accepted: {accepted}" if accepted else "")
        elif "input" in first and first["type"] not in ("missing",) and not isinstance(first["input"], dict | list):
            message = f"{message} (got {first['input']!r})"
        raise LeosimInputError(message, source=source, line=line_of(text, loc) if loc else None,
                               field=key_path or None) from None


def _not_finite(value) -> bool:
    """Whether ``value`` is a float NaN or infinity (TOML has ``nan`` and ``inf``)."""
    return isinstance(value, float) and not (value == value and abs(value) != float("inf"))


def _key_path(loc) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _model_at(loc) -> type[BaseModel] | None:
    """The pydantic model class at a location path (for listing accepted keys)."""
    model: type[BaseModel] = ScenarioSpec
    for part in loc:
        if isinstance(part, int):
            continue
        field = model.model_fields.get(part) or next(
            (f for f in model.model_fields.values() if f.alias == part), None)
        if field is None:
            return None
        annotation = field.annotation
        args = getattr(annotation, "__args__", ())
        candidates = [annotation, *args]
        nested = next((c for c in candidates if isinstance(c, type) and issubclass(c, BaseModel)), None)
        if nested is None:
            return None
        model = nested
    return model


def line_of(text: str, loc) -> int | None:
    """Best-effort 1-based line of a key path in TOML text (tables, arrays of tables, then the key)."""
    lines = text.splitlines()
    start, end = 0, len(lines)
    table: list[str] = []
    parts = list(loc)
    i = 0
    while i < len(parts):
        part = parts[i]
        if isinstance(part, str) and i + 1 < len(parts) and isinstance(parts[i + 1], int):
            header = "[[" + ".".join([*table, part]) + "]]"
            hits = [n for n in range(start, end) if lines[n].strip().startswith(header)]
            index = parts[i + 1]
            if index < len(hits):
                start = hits[index] + 1
                later = [n for n in range(start, len(lines)) if lines[n].lstrip().startswith("[")
                         and not lines[n].lstrip().startswith("[[" + ".".join([*table, part]) + ".")]
                end = later[0] if later else len(lines)
                table = [*table, part]
                i += 2
                continue
            return None
        if isinstance(part, str):
            header = "[" + ".".join([*table, part]) + "]"
            hits = [n for n in range(start, end) if lines[n].strip() == header]
            if hits and i + 1 < len(parts):
                start = hits[0] + 1
                later = [n for n in range(start, len(lines)) if lines[n].lstrip().startswith("[")]
                end = later[0] if later else len(lines)
                table = [*table, part]
                i += 1
                continue
            for n in range(start, end):
                stripped = lines[n].strip()
                if stripped.split("=", 1)[0].strip().strip('"') == part and "=" in stripped:
                    return n + 1
            if hits:
                return hits[0] + 1
            return start if start > 0 else None
        i += 1
    return start if start > 0 else None


def schema_reference() -> str:
    """The scenario schema as Markdown: one section per table (nested tables too, e.g.
    ``policy.rules.when``), one row per key."""
    out = ["# Scenario file reference", "",
           "Generated from `leosim.scenario.schema` (run `leosim schema`). Unknown keys are errors.", ""]

    seen: dict[type[BaseModel], str] = {}

    def section(path: str, model: type[BaseModel]) -> None:
        if model in seen:
            out.extend([f"## `{path}`", "", f"As `{seen[model]}`.", ""])
            return
        seen[model] = path
        out.extend([f"## `{path}`", "", (model.__doc__ or "").strip(), "", "| key | type | default | meaning |",
                    "|---|---|---|---|"])
        nested = []
        for key, sub in model.model_fields.items():
            default = "required" if sub.is_required() else repr(sub.get_default(call_default_factory=True))
            kind = str(sub.annotation).replace("typing.", "").replace("<class '", "").replace("'>", "")
            kind = kind.replace("leosim.scenario.schema.", "")
            out.append(f"| `{sub.alias or key}` | `{kind}` | {default} | {sub.description or ''} |")
            inner = _nested_model(sub.annotation)
            if inner is not None:
                nested.append((f"{path}.{sub.alias or key}", inner))
        out.append("")
        for inner_path, inner in nested:
            section(inner_path, inner)

    for name in ScenarioSpec.model_fields:
        model = _model_at((name,))
        if model is not None:
            section(name, model)
    return "\n".join(out)


def _nested_model(annotation) -> type[BaseModel] | None:
    """The pydantic model inside a field's annotation (``Model``, ``list[Model]``, ``Model | None``)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        found = _nested_model(arg)
        if found is not None:
            return found
    return None
