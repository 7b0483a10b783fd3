"""A resolved scenario: everything a run needs, built from a validated :class:`ScenarioSpec`.

A :class:`Plan` is cheap to pickle (it carries the spec and file paths; heavy objects such as the
constellation and the territory index are rebuilt lazily in each worker from the same inputs, so every
worker computes bit-identical results).
"""

from __future__ import annotations

import hashlib
import json
import warnings
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
import shapely

from ..errors import LeosimInputError, LeosimWarning, PropagationWarning
from ..ground.sites import Sites, _slugify, default_cities, default_gateways, default_pops
from ..policy.fleets import Fleet, PayerPeriod, Tenant
from ..policy.rules import Rule, check_rules
from ..service.rules import RuleBook
from ..timebase import LATEST_UTC, Times, parse_utc
from .schema import RuleSpec, ScenarioSpec, line_of

WHATIF_DECIDED_AT = LATEST_UTC  # the last supported instant: after any decision a scenario can record
"""What-if rules are recorded as decided at this instant, after every real decision, so they win
among rules of the same precedence."""


@dataclass(frozen=True)
class Variant:
    """A policy variant: the baseline, or the baseline plus a what-if's rules."""

    name: str
    description: str
    rules: tuple[Rule, ...]


def _rule(spec: RuleSpec, *, decided_at=None) -> Rule:
    kwargs = {"subject": spec.subject, "state": spec.state, "valid_from": _instant(spec.from_),
              "valid_until": _instant(spec.until) if spec.until is not None else None,
              "allow": tuple(spec.allow), "decided_by": spec.by, "reason": spec.reason,
              "url": spec.url, "source": spec.source,
              "when": spec.when.model_dump(exclude_none=True) if spec.when is not None else None}
    decided = decided_at if decided_at is not None else spec.decided_at
    if decided is not None:
        kwargs["decided_at"] = _instant(decided)
    else:
        kwargs["decided_at"] = kwargs["valid_from"]
    return Rule(**kwargs)


def _instant(value):
    import datetime as dt

    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        value = dt.datetime(value.year, value.month, value.day)
    return parse_utc(value, source="scenario")


def file_sha256(path: Path) -> str:
    """SHA-256 of a file's bytes, hex."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class Plan:
    """Everything one run needs, resolved from the spec (see module doc)."""

    def __init__(self, spec: ScenarioSpec, *, base_dir: Path, source: str = "<scenario>", text: str = ""):
        self.spec = spec
        self.base_dir = Path(base_dir)
        self.source = source
        self.text = text
        try:
            self.times = Times.from_range(_instant(spec.time.start), spec.time.duration_s, spec.time.step_s)
        except LeosimInputError as error:  # name the scenario file and the key, not the parser's own words
            key = {"step": "time.step_s", "duration": "time.duration_s"}.get(error.field or "", "time.start")
            raise LeosimInputError(error.message, source=source, line=line_of(text, tuple(key.split(".")))
                                   if text else None, field=key) from None
        self._check_files()
        self.input_hashes = self._hash_inputs()

    # -- pickling: drop what can be rebuilt -------------------------------------------------------------
    def __getstate__(self):
        keep = ("spec", "base_dir", "source", "text", "times", "input_hashes")  # the rest is rebuilt
        return {k: self.__dict__[k] for k in keep}

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._unpickled = True  # a worker's copy: the driver already warned about the inputs

    # -- inputs -------------------------------------------------------------------------------------------
    def path(self, relative: str) -> Path:
        """A path named in the scenario, relative to the scenario file's folder."""
        return (self.base_dir / relative).resolve()

    def _input_files(self) -> list[tuple[str, Path]]:
        spec = self.spec
        files = []
        if spec.constellation.tle:
            files.append(("constellation.tle", self.path(spec.constellation.tle)))
        for i, region in enumerate(spec.regions):
            if region.geojson:
                files.append((f"regions[{i}].geojson", self.path(region.geojson)))
        for i, site_file in enumerate(spec.site_files):
            files.append((f"site_files[{i}].path", self.path(site_file.path)))
        for key in ("gateways", "pops"):
            value = getattr(spec.ground, key)
            if value != "default" and not (key == "pops" and value == "starlink"):
                files.append((f"ground.{key}", self.path(value)))
        if spec.ground.fibre:
            files.append(("ground.fibre", self.path(spec.ground.fibre)))
        if spec.network.isl not in ("plus-grid", "none"):
            files.append(("network.isl", self.path(spec.network.isl)))
        if spec.policy.store:
            files.append(("policy.store", self.path(spec.policy.store)))
        for i, site in enumerate(spec.sites):
            if site.track:
                files.append((f"sites[{i}].track", self.path(site.track)))
        for i, name in enumerate(spec.registry.files):
            files.append((f"registry.files[{i}]", self.path(name)))
        return files

    def _check_files(self) -> None:
        for key, path in self._input_files():
            if path.is_dir():
                raise LeosimInputError(f"{path} is a directory, not a file", source=self.source, field=key)
            if not path.is_file():
                raise LeosimInputError(f"file not found: {path}", source=self.source, field=key)
        folder = self.path(self.spec.constellation.hypatia) if self.spec.constellation.hypatia else None
        if folder is not None and folder.exists() and not folder.is_dir():
            raise LeosimInputError(f"{folder} is a file, not a satgenpy folder", source=self.source,
                                   field="constellation.hypatia")
        if folder is not None and not folder.is_dir():
            raise LeosimInputError(f"folder not found: {folder}", source=self.source, field="constellation.hypatia")

    def _hash_inputs(self) -> dict[str, str]:
        hashes = {"scenario": hashlib.sha256(self.text.encode()).hexdigest()}
        for key, path in self._input_files():
            hashes[key] = file_sha256(path)
        if self.spec.constellation.hypatia:
            folder = self.path(self.spec.constellation.hypatia)
            for child in sorted(folder.iterdir()):
                if child.is_file():
                    hashes[f"hypatia/{child.name}"] = file_sha256(child)
        return hashes

    @property
    def fingerprint(self) -> str:
        """One hash over the scenario and every input file (chunks of a run carry it)."""
        return hashlib.sha256(json.dumps(self.input_hashes, sort_keys=True).encode()).hexdigest()

    # -- physical layer ------------------------------------------------------------------------------------
    @cached_property
    def _hypatia(self):
        from ..interop.hypatia import read_satgenpy_folder

        return read_satgenpy_folder(self.path(self.spec.constellation.hypatia))

    @cached_property
    def constellation(self):
        from ..orbits.constellation import Constellation

        c = self.spec.constellation
        try:
            if c.preset:
                return Constellation.preset(c.preset)
            if c.tle:
                with warnings.catch_warnings():
                    if self.__dict__.get("_unpickled"):
                        warnings.simplefilter("ignore", PropagationWarning)
                    return self._real_constellation(Constellation.from_file(self.path(c.tle)))
            return self._hypatia.constellation
        except LeosimInputError as error:
            if error.source is None:
                error = LeosimInputError(error.message, source=self.source, field="constellation")
            raise error from None

    def _real_constellation(self, sats):
        """An element file's constellation: launched by ``as_of``, structure inferred, non-operational
        satellites excluded or kept (``[constellation] non_operational``); warns when the element epochs are
        far from the window."""
        import warnings

        from ..orbits.inference import infer_constellation, launched_by, stale_elements_message

        c = self.spec.constellation
        if c.as_of is not None:
            sats = launched_by(sats, c.as_of)
        message = stale_elements_message(sats.epoch_utc, self.times.utc[0], self.times.utc[-1])
        if message:
            warnings.warn(LeosimWarning(f"{self.source}: {message}"), stacklevel=2)
        keep = c.non_operational == "keep" or (c.non_operational == "auto" and self.spec.network.isl != "plus-grid")
        return infer_constellation(sats, keep_non_operational=keep)

    def constellation_table(self):
        """The ``constellation`` table (inferred structure per satellite), or None for generated shells."""
        from ..orbits.inference import CONSTELLATION_COLUMNS

        sats = self.constellation
        if sats.structure is None:
            return None
        return sats.structure.table(sats.sat_id, sats.name)[list(CONSTELLATION_COLUMNS)]

    @cached_property
    def knot_spacing_s(self) -> float:
        """Propagation method for the whole window (0: SGP4 at every instant), so that chunks agree."""
        from ..orbits.propagate import choose_knot_spacing_s

        return choose_knot_spacing_s(self.times, self.constellation.max_eccentricity)

    @cached_property
    def isls(self) -> np.ndarray:
        """ISL pairs ``(K, 2)`` (empty for bent pipe)."""
        from ..network.links import default_isls, load_isl_file

        isl = self.spec.network.isl
        if isl == "none":
            return np.zeros((0, 2), dtype=np.int64)
        if isl == "plus-grid":
            given = self._hypatia.isls if self.spec.constellation.hypatia else None
            return default_isls(self.constellation, shift=self.spec.network.isl_shift, given=given,
                                max_isl_length_km=self.spec.network.max_isl_length_km)
        return load_isl_file(self.path(isl), n_satellites=len(self.constellation))

    # -- territories ---------------------------------------------------------------------------------------
    @cached_property
    def territories(self):
        from ..territory.regions import Region, regions_from_geojson
        from ..territory.territories import Territories

        regions = []
        for i, spec in enumerate(self.spec.regions):
            try:
                if spec.geojson:
                    found = regions_from_geojson(self.path(spec.geojson))
                    geometry = shapely.union_all([r.geometry for r in found if r.geometry is not None])
                    regions.append(Region.from_geometry(spec.name, geometry))
                elif spec.polygon:
                    regions.append(Region.from_geometry(spec.name, shapely.Polygon(spec.polygon)))
                else:
                    regions.append(Region.from_h3_cells(spec.name, spec.h3_cells))
            except LeosimInputError as error:
                raise LeosimInputError(error.message, source=self.source,
                                       field=f"regions[{i}]" + (f".{error.field}" if error.field else "")) from None
        return Territories.default().with_regions(regions)

    # -- sites ---------------------------------------------------------------------------------------------
    @cached_property
    def sites(self) -> Sites:
        """Terminals (explicit, then generated), then gateways, then PoPs."""
        return self._sites_and_labels[0]

    @cached_property
    def _sites_and_labels(self) -> tuple[Sites, dict[str, tuple[str, str, str]]]:
        labels: dict[str, tuple[str, str, str]] = {}
        origins = [(self.source, "sites")] + [(self.path(f.path), f"site_files[{i}]")
                                               for i, f in enumerate(self.spec.site_files)]
        parts = [self._explicit_sites(labels), *self._file_sites(labels), self._synthetic_sites(labels)]
        origins.append((self.source, "registry.synthetic"))
        groups = self._group_sites(labels)
        origins += [(self.source, "site_groups")] * len(groups)
        origins += [(self._ground_source(key), f"ground.{key}") for key in ("gateways", "pops")]
        parts += [*groups, self._ground("gateways"), self._ground("pops")]
        self._check_unique_site_ids(parts, origins)
        return Sites.concat([p for p in parts if len(p)]), labels

    def _ground_source(self, key: str) -> str:
        value = getattr(self.spec.ground, key)
        return f"leosim's default {key}" if value == "default" else str(self.path(value))

    def _check_unique_site_ids(self, parts: list[Sites], origins: list[tuple]) -> None:
        """Site ids must be unique across the scenario's sites, site files, groups and ground: a duplicate is
        named with both places (file and line)."""
        ids = np.concatenate([np.asarray(p.ids, dtype=str) for p in parts]) if parts else np.array([], str)
        unique, counts = np.unique(ids, return_counts=True)
        if ids.size == 0 or np.all(counts == 1):
            return
        dup = str(unique[np.flatnonzero(counts > 1)[0]])
        owner = np.repeat(np.arange(len(parts)), [len(p) for p in parts])
        row = np.concatenate([np.arange(len(p)) for p in parts])
        places = [self._site_place(origins[owner[i]], int(row[i]), dup) for i in np.flatnonzero(ids == dup)[:2]]
        source, line, field, _ = places[1]
        raise LeosimInputError(f"duplicate site id {dup!r}: given in {places[0][3]} and again here; ids must be "
                               "unique across [[sites]], [[site_files]], [[site_groups]] and the ground sites",
                               source=source, line=line, field=field)

    def _site_place(self, origin: tuple, row: int, site_id: str) -> tuple[str, int | None, str, str]:
        """Where site ``row`` of a part comes from: (file, line, field, description)."""
        source, what = origin
        if what == "sites":
            line = line_of(self.text, ("sites", row, "id")) if self.text else None
            field = f"sites[{row}].id"
        elif what.startswith("site_files") or (what.startswith("ground.") and Path(source).is_file()):
            line, field = _csvline_of(Path(source), site_id), "id"
        else:
            line, field = None, what
        text = f"{source}" + (f", line {line}" if line else "") + f" ({field})"
        return str(source), line, field, text

    @cached_property
    def site_attributes(self) -> dict[str, np.ndarray]:
        """Per site: ``fleet``, ``tenant``, ``group``, ``country3`` (alpha-3 or ''), ``region`` ('' if none),
        ``territory`` (region if any, else country)."""
        sites = self.sites
        n = len(sites)
        fleet = np.full(n, "", dtype=object)
        tenant = np.full(n, "", dtype=object)
        group = np.full(n, "", dtype=object)
        for site_id, (f, t, g) in self._sites_and_labels[1].items():
            i = sites.index_of(site_id)
            fleet[i], tenant[i], group[i] = f, t, g
        tenants = {f.name: f.tenant.name for f in self.fleets if f.tenant is not None}
        for i in np.flatnonzero(tenant == ""):
            tenant[i] = tenants.get(fleet[i], "")
        hits = self.territories.locate(sites.lat_deg, sites.lon_deg)
        country3 = np.asarray(hits.country, dtype=object)
        region = np.asarray(hits.region, dtype=object)
        territory = np.where(region != "", region, country3)
        return {"fleet": fleet.astype(str), "tenant": tenant.astype(str), "group": group.astype(str),
                "country3": country3.astype(str), "region": region.astype(str), "territory": territory.astype(str)}

    def _synthetic_sites(self, labels) -> Sites:
        """Terminals of ``[[registry.synthetic]]`` fleets, at their drawn places."""
        synthetic = self._registry_and_synthetic[1]
        if synthetic is None or synthetic.terminal_id.size == 0:
            return Sites.from_arrays(names=[], lat_deg=[], lon_deg=[])
        for site_id, fleet, group in zip(synthetic.terminal_id.tolist(), synthetic.fleet.tolist(),
                                         synthetic.group.tolist(), strict=True):
            labels[site_id] = (fleet, "", group)
        return Sites.from_arrays(ids=synthetic.terminal_id, names=synthetic.terminal_id, kinds="terminal",
                                 lat_deg=synthetic.lat_deg, lon_deg=synthetic.lon_deg)

    def _explicit_sites(self, labels) -> Sites:
        specs = self.spec.sites
        if not specs:
            return Sites.from_arrays(names=[], lat_deg=[], lon_deg=[])
        # A moving terminal's site stands at its track's first fix (the sites table, maps); the service
        # engine moves it along its track.
        tracks = self.tracks
        first = {i: (t.lat_deg[0], t.lon_deg[0], t.alt_m[0]) for i, t in tracks.items()}
        place = [first.get(s.id or _slugify(s.name), (s.lat_deg, s.lon_deg, s.alt_m)) for s in specs]
        try:
            sites = Sites.from_arrays(ids=[s.id for s in specs] if all(s.id for s in specs) else None,
                                      names=[s.name for s in specs], kinds=[s.kind for s in specs],
                                      lat_deg=[p[0] for p in place], lon_deg=[p[1] for p in place],
                                      alt_m=[p[2] for p in place])
        except LeosimInputError as error:
            raise LeosimInputError(error.message, source=self.source, field=f"sites.{error.field}") from None
        for site_id, s in zip(sites.ids, specs, strict=True):
            labels[str(site_id)] = (s.fleet, s.tenant, s.group)
        return sites

    def _file_sites(self, labels) -> list[Sites]:
        out = []
        for spec in self.spec.site_files:
            path = self.path(spec.path)
            sites = (Sites.from_hypatia(path, kind=spec.kind) if spec.format == "hypatia"
                     else Sites.from_csv(path, default_kind=spec.kind))
            for site_id in sites.ids:
                labels[str(site_id)] = (spec.fleet, "", spec.group)
            out.append(sites)
        return out

    def _group_sites(self, labels) -> list[Sites]:
        out = []
        for i, group in enumerate(self.spec.site_groups):
            for territory in group.territories:
                try:
                    kind, key = self.territories.resolve(territory, field=f"site_groups[{i}].territories")
                except LeosimInputError as error:
                    raise LeosimInputError(error.message, source=self.source,
                                           field=f"site_groups[{i}].territories") from None
                sites = self._generate(group, kind, key)
                if not len(sites):
                    raise LeosimInputError(f"no place found in {territory!r} for {group.kind}",
                                           source=self.source, field=f"site_groups[{i}]")
                for site_id in sites.ids:
                    labels[str(site_id)] = (group.fleet, "", group.group or key)
                out.append(sites)
        return out

    def _generate(self, group, kind: str, key: str) -> Sites:
        cities = default_cities()
        inside = self._inside(cities.lat_deg, cities.lon_deg, kind, key)
        if group.kind == "largest-cities":
            chosen = np.flatnonzero(inside)[: group.count]  # the table is sorted by population
            picked = cities.subset(chosen)
            return Sites.from_arrays(ids=[f"{key.lower()}-{s}" for s in picked.ids], names=picked.names,
                                     kinds="terminal", lat_deg=picked.lat_deg, lon_deg=picked.lon_deg,
                                     country=picked.country, population=picked.population)
        if group.kind == "population-sample":
            # Places drawn with probability proportional to city population (the shipped city table is the
            # population model: there is no gridded population data offline).
            index = np.flatnonzero(inside)
            if index.size == 0:
                return cities.subset(index)
            weights = cities.population[index].astype(np.float64)
            rng = np.random.default_rng(group.seed)
            draws = rng.choice(index, size=group.count, replace=True, p=weights / weights.sum())
            picked = cities.subset(draws)
            return Sites.from_arrays(ids=[f"{key.lower()}-sample-{k}" for k in range(group.count)],
                                     names=[f"{n} #{k}" for k, n in enumerate(picked.names)], kinds="terminal",
                                     lat_deg=picked.lat_deg, lon_deg=picked.lon_deg, country=picked.country)
        return self._h3_sites(group, kind, key)

    def _inside(self, lat, lon, kind, key) -> np.ndarray:
        hits = self.territories.locate(lat, lon)
        return np.asarray(hits.region if kind == "region" else hits.country) == key

    def _h3_sites(self, group, kind, key) -> Sites:
        import h3

        geometry = self._territory_geometry(kind, key)
        polygons = list(getattr(geometry, "geoms", [geometry]))
        cells = set()
        for polygon in polygons:
            shape = h3.LatLngPoly([(y, x) for x, y in polygon.exterior.coords],
                                  *[[(y, x) for x, y in ring.coords] for ring in polygon.interiors])
            cells.update(h3.polygon_to_cells(shape, group.resolution))
        cells = sorted(cells)[: group.count] if len(cells) > group.count else sorted(cells)
        lat = np.array([h3.cell_to_latlng(c)[0] for c in cells])
        lon = np.array([h3.cell_to_latlng(c)[1] for c in cells])
        return Sites.from_arrays(ids=[f"h3-{c}" for c in cells], names=[f"{key} {c}" for c in cells],
                                 kinds="terminal", lat_deg=lat, lon_deg=lon)

    def _territory_geometry(self, kind, key):
        if kind == "region":
            region = next(r for r in self.territories.regions if r.name == key)
            if region.geometry is None:
                raise LeosimInputError(f"h3-cells needs a polygonal region, {key!r} is made of cells",
                                       source=self.source, field="site_groups")
            return region.geometry
        return self.territories.geometry(key)

    def _ground(self, key: str) -> Sites:
        value = getattr(self.spec.ground, key)
        if value == "default":
            return default_gateways() if key == "gateways" else default_pops()
        if key == "pops" and value == "starlink":  # the GeoIP feed's PoPs seen by the window's start
            from ..ground.pops import starlink_pops

            return starlink_pops(as_of=self.times.utc[0])[0]
        sites = Sites.from_csv(self.path(value), default_kind="gateway" if key == "gateways" else "pop")
        return sites

    @cached_property
    def fibre_km(self) -> np.ndarray | None:
        """``(gateways, PoPs)`` measured fibre distances, km (site order), or None for the great circle."""
        if not self.spec.ground.fibre:
            return None
        from ..network.fibre import fibre_matrix_km

        return fibre_matrix_km(self.path(self.spec.ground.fibre), self.sites)

    # -- policy --------------------------------------------------------------------------------------------
    @cached_property
    def scenario_rules(self) -> tuple[Rule, ...]:
        """The rules written in the scenario (``[[policy.rules]]``)."""
        return tuple(self._checked_rule(spec, f"policy.rules[{i}]") for i, spec in enumerate(self.spec.policy.rules))

    @cached_property
    def store_rules(self) -> tuple[Rule, ...]:
        """The rules of the scenario's policy store (``[policy] store``), if any."""
        if not self.spec.policy.store:
            return ()
        from ..policy.store import PolicyStore

        with PolicyStore(self.path(self.spec.policy.store), read_only=True) as store:
            return tuple(store.rules())

    @cached_property
    def rules(self) -> tuple[Rule, ...]:
        """Baseline rules: the scenario's, then those of the policy store (if any)."""
        return self.rule_book().rules

    @cached_property
    def base_book(self) -> RuleBook:
        """The scenario's own :class:`~leosim.service.rules.RuleBook`: its rules, then its ``[policy] store``'s,
        with its default states; subjects and contradictions checked."""
        policy = self.spec.policy
        book = RuleBook.combine(self.scenario_rules, self.store_rules, default_state=policy.default_state,
                                landing_default_state=policy.landing_default_state)
        self._check_subjects(book.rules, "policy.rules")
        try:
            check_rules(book.rules)
        except LeosimInputError as error:
            raise LeosimInputError(error.message, source=self.source, field="policy.rules") from None
        return book

    def rule_book(self, store_rules=()) -> RuleBook:
        """The baseline rule book: :attr:`base_book`, then ``store_rules`` from another store (``leosim access
        --db``, ``leosim serve --db``), which the one precedence puts after the scenario's."""
        return self.base_book.with_rules(store_rules, "store")

    @cached_property
    def rule_books(self) -> tuple[RuleBook, ...]:
        """One rule book per variant (:attr:`variants`): the baseline, then each what-if's."""
        base = self.rule_book()
        return tuple(base.with_rules(v.rules[len(base.rules):]) for v in self.variants)

    @cached_property
    def service_engine(self):
        """The :class:`~leosim.service.ServiceEngine` of this scenario (built once per process)."""
        from ..service.engine import ServiceEngine

        return ServiceEngine.from_plan(self)

    @cached_property
    def capacity_params(self):
        """The :class:`~leosim.capacity.CapacityParams` of ``[capacity]`` (None when absent)."""
        spec = self.spec.capacity
        if spec is None:
            return None
        from ..capacity.params import CapacityParams, capacity_preset

        known = set(CapacityParams.__dataclass_fields__) - {"name", "extra"}
        unknown = sorted(set(spec.parameters) - known)
        if unknown:
            raise LeosimInputError(f"unknown capacity parameter {unknown[0]!r}; accepted: {', '.join(sorted(known))}",
                                   source=self.source, field="capacity.parameters")
        ints = {"beams_per_satellite", "beams_per_cell_per_satellite", "gateway_antennas", "cell_resolution"}
        overrides = {k: (int(v) if k in ints else v) for k, v in spec.parameters.items()}
        return capacity_preset(spec.preset, plan_cap_mbps=spec.plan_cap_mbps, **overrides)

    @cached_property
    def capacity_service(self):
        """The :class:`~leosim.service.capacity.CapacityService` of ``[capacity]`` (None when absent)."""
        if self.spec.capacity is None:
            return None
        from ..service.capacity import CapacityService

        engine = self.service_engine
        params = self.capacity_params
        # Antennas per gateway: the ground data's `antennas` column where given, else the parameter; then
        # [capacity] gateway_antennas.
        given = self.sites.antennas[engine.gateways]
        antennas = np.where(given > 0, given, params.gateway_antennas).astype(np.float64)
        gw_ids = self.sites.ids[engine.gateways]
        for gw, count in self.spec.capacity.gateway_antennas.items():
            hit = gw_ids == gw
            if not hit.any():
                raise LeosimInputError(f"capacity.gateway_antennas: no gateway {gw!r}", source=self.source,
                                       field="capacity.gateway_antennas")
            antennas[hit] = count
        # Moving terminals as the run's access table has them (asked_terminals); their cells are collected at
        # every slot instant of the window (the union of the chunks' spans).
        slots = self.capacity_slot_instants(self.times, thin=False) if self.tracks else None
        return CapacityService(engine, params, self.capacity_rows,
                               gateway_capacity_mbps=antennas * params.gateway_mbps_per_antenna,
                               satellites=self.capacity_satellites, tracks=self.tracks, registry=self.registry,
                               abroad_since=self.times.utc[0], slot_instants=slots,
                               spill=self.spec.capacity.gateway_overflow == "spill")

    def capacity_slot_instants(self, times, *, thin: bool = True) -> np.ndarray:
        """The capacity slot instants in ``times``' span ``[times[0], times[0] + len(times) × step)`` (so that
        any chunking of the window partitions them), ``datetime64[ms]``; with ``thin``, only one in
        ``[capacity] every_slots`` (by the slot's number since the Unix epoch, the same in every chunk)."""
        from ..capacity.beams import slot_instants

        params = self.capacity_params
        start = times.utc[0]
        end = start + np.timedelta64(round(len(times) * self.spec.time.step_s * 1e9), "ns")
        slots = slot_instants(start, end, params)
        every = self.spec.capacity.every_slots
        if thin and every > 1:
            slot_ms = round(params.slot_s * 1000)
            number = (slots.astype("datetime64[ms]").astype(np.int64) - round(params.slot_offset_s * 1000)) // slot_ms
            slots = slots[number % every == 0]
        return slots

    @cached_property
    def capacity_satellites(self):
        """Per-satellite beams and ceilings (:class:`~leosim.capacity.SatelliteCapacity`) when ``[capacity]
        generations = "launch-date"``, else None (every satellite has the preset's)."""
        spec = self.spec.capacity
        if spec is None or spec.generations == "preset":
            return None
        from ..capacity.params import SatelliteCapacity, satellite_generations
        from ..orbits.inference import satellite_launch_dates

        launched = satellite_launch_dates(self.constellation.satrecs)
        if launched.size and np.isnat(launched).all():
            warnings.warn(LeosimWarning(
                f"{self.source}: [capacity] generations = \"launch-date\": no satellite has a launch date "
                f"(generated shells, or element sets with blank international designators); every satellite "
                f"takes the preset {spec.preset!r}"), stacklevel=2)
        overrides = {k: v for k, v in spec.parameters.items()
                     if k in ("beams_per_satellite", "satellite_ceiling_mbps")}
        return SatelliteCapacity.of_generations(satellite_generations(launched, unknown=spec.preset), **overrides)

    @cached_property
    def capacity_rows(self):
        """The demand rows of ``[capacity]`` (:class:`~leosim.service.capacity.DemandRows`): the scenario's
        terminal sites (each counting ``site_terminals``, or its ``site_counts`` entry), then each fleet's
        terminals spread over its territories and each territory's background subscribers, one row per
        H3 cell they fall in (placed at the first terminal drawn in that cell)."""
        import h3

        from ..capacity.cells import cells_of
        from ..capacity.demand import place_in_territory
        from ..policy.fleets import tenant_priority
        from ..service.capacity import DemandRows

        spec, params = self.spec.capacity, self.capacity_params
        attrs = self.site_attributes
        parts = []
        term = self.terminals
        counts = np.array([spec.site_counts.get(i, spec.site_terminals) for i in self.sites.ids[term].tolist()],
                          dtype=np.float64)
        unknown = sorted(set(spec.site_counts) - set(self.sites.ids[term].tolist()))
        if unknown:
            raise LeosimInputError(f"capacity.site_counts: no terminal site {unknown[0]!r}", source=self.source,
                                   field="capacity.site_counts")
        parts.append(dict(site_id=self.sites.ids[term], fleet=attrs["fleet"][term], tenant=attrs["tenant"][term],
                          lat_deg=self.sites.lat_deg[term], lon_deg=self.sites.lon_deg[term], site=term,
                          count=counts, demand_mbps=np.full(term.size, spec.busy_hour_mbps),
                          activity=np.full(term.size, spec.activity)))
        fleets = {f.name: f for f in self.fleets}
        groups = [(f"fleet:{g.fleet}", g.fleet, fleets[g.fleet].tenant.name if g.fleet in fleets
                   and fleets[g.fleet].tenant else "", g.territories,
                   g.terminals if g.terminals is not None else (fleets[g.fleet].terminal_count if g.fleet in fleets
                                                                else 0), g)
                  for g in spec.fleets]
        for g in spec.fleets:
            if g.fleet not in fleets:
                raise LeosimInputError(f"capacity.fleets: no fleet {g.fleet!r} in [[policy.fleets]]",
                                       source=self.source, field="capacity.fleets")
        groups += [(f"bg:{b.territory}", "", "", [b.territory], b.subscribers, b) for b in spec.background]
        for prefix, fleet, tenant, keys, total, g in groups:
            share = np.full(len(keys), total // len(keys), dtype=np.int64)
            share[: total % len(keys)] += 1
            for k, key in enumerate(keys):
                if share[k] == 0:
                    continue
                _kind, code = self.territories.resolve(key, field="capacity")
                lat, lon = place_in_territory(self.territories, code, int(share[k]), by=g.spread, seed=g.seed + k)
                # One row per cell, placed at the cell's first drawn terminal (inside the territory, so the
                # rules see the right place; a cell centre may lie across a border).
                cell_ids, first, count = np.unique(cells_of(lat, lon, params.cell_resolution), return_index=True,
                                                   return_counts=True)
                centre = np.column_stack([lat[first], lon[first]])
                parts.append(dict(site_id=np.array([f"{prefix}:{h3.int_to_str(int(c))}" for c in cell_ids.tolist()]),
                                  fleet=np.full(cell_ids.size, fleet), tenant=np.full(cell_ids.size, tenant),
                                  lat_deg=centre[:, 0], lon_deg=centre[:, 1], site=np.full(cell_ids.size, -1),
                                  count=count.astype(np.float64),
                                  demand_mbps=np.full(cell_ids.size, g.busy_hour_mbps if g.busy_hour_mbps is not None
                                                      else spec.busy_hour_mbps),
                                  activity=np.full(cell_ids.size, g.activity if g.activity is not None
                                                   else spec.activity)))
        cols = {k: np.concatenate([np.asarray(p[k]) for p in parts]) for k in parts[0]}
        n = cols["site_id"].size
        return DemandRows(site_id=cols["site_id"].astype(str), fleet=cols["fleet"].astype(str),
                          tenant=cols["tenant"].astype(str), lat_deg=cols["lat_deg"].astype(np.float64),
                          lon_deg=cols["lon_deg"].astype(np.float64), site=cols["site"].astype(np.int64),
                          count=cols["count"].astype(np.float64),
                          tier=tenant_priority(self.fleets, cols["fleet"].astype(str)),
                          demand_mbps=cols["demand_mbps"].astype(np.float64),
                          activity=cols["activity"].astype(np.float64),
                          plan_cap_mbps=np.full(n, params.plan_cap_mbps))

    @cached_property
    def tracks(self) -> dict:
        """``{site id: Track}`` of the moving ``[[sites]]`` (track files or generated routes)."""
        from .mobility import site_tracks

        return site_tracks(self.spec, base_dir=self.base_dir, source=self.source)

    @cached_property
    def registry(self):
        """The scenario's :class:`~leosim.policy.registry.TerminalRegistry` (None without ``[registry]``)."""
        return self._registry_and_synthetic[0]

    @cached_property
    def _registry_and_synthetic(self):
        section = self.spec.registry
        if not (section.files or section.terminals or section.synthetic):
            return None, None
        from .mobility import scenario_registry

        return scenario_registry(self.spec, base_dir=self.base_dir, territories=self.territories,
                                 source=self.source)

    def asked_terminals(self):
        """The service engine's :class:`~leosim.service.engine.Terminals` of this scenario: its terminal
        sites, with tracks, registry and days-abroad histories when it has moving terminals or a registry."""
        engine = self.service_engine
        terminals = engine.fixed_terminals(self.terminals, pop=self.assigned_pop)
        if not self.tracks and self.registry is None:
            return terminals
        return engine.with_mobility(terminals, tracks=self.tracks, registry=self.registry,
                                    abroad_since=self.times.utc[0])


    def _checked_rule(self, spec: RuleSpec, where: str, **kwargs) -> Rule:
        try:
            return _rule(spec, **kwargs)
        except LeosimInputError as error:
            raise LeosimInputError(error.message, source=self.source, field=where) from None

    def _check_subjects(self, rules, where: str) -> None:
        region_names = set(self.territories.region_names)
        for i, rule in enumerate(rules):
            if rule.kind == "country" and rule.key not in self.territories.names:
                raise LeosimInputError(f"unknown territory {rule.key!r}; {self.territories.suggest(rule.key)}",
                                       source=self.source, field=f"{where}[{i}].subject")
            if rule.kind == "region" and rule.key not in region_names:
                raise LeosimInputError(f"unknown region {rule.key!r}; regions of this scenario: "
                                       f"{', '.join(sorted(region_names)) or 'none'}", source=self.source,
                                       field=f"{where}[{i}].subject")

    @cached_property
    def fleets(self) -> tuple[Fleet, ...]:
        out = []
        for i, spec in enumerate(self.spec.policy.fleets):
            try:
                payers = tuple(PayerPeriod(payer=p.payer, kind=p.kind, start=_instant(p.from_),
                                           until=_instant(p.until) if p.until is not None else None,
                                           monthly_cost_per_terminal_usd=p.monthly_cost_per_terminal_usd,
                                           terminal_count=p.terminals) for p in spec.payers)
                tenant = Tenant(spec.tenant, spec.priority) if spec.tenant else None
                out.append(Fleet(name=spec.name, terminal_count=spec.terminals, payers=payers, tenant=tenant,
                                 url=spec.url, source=spec.source))
            except LeosimInputError as error:
                raise LeosimInputError(error.message, source=self.source, field=f"policy.fleets[{i}]") from None
        return tuple(out)

    @cached_property
    def variants(self) -> tuple[Variant, ...]:
        """The baseline, then one variant per what-if (if the what-if analysis is on)."""
        out = [Variant("baseline", "The scenario as declared.", self.rules)]
        if self.spec.analyses.whatif:
            for i, whatif in enumerate(self.spec.whatif):
                extra = [self._checked_rule(r, f"whatif[{i}].rules[{k}]", decided_at=WHATIF_DECIDED_AT)
                         for k, r in enumerate(whatif.rules)]
                self._check_subjects(extra, f"whatif[{i}].rules")
                out.append(Variant(whatif.name, whatif.description, (*self.rules, *extra)))
        return tuple(out)

    # -- indices -------------------------------------------------------------------------------------------
    @cached_property
    def terminals(self) -> np.ndarray:
        """Indices of terminal (and city) sites: the places whose access is analysed."""
        return np.flatnonzero(np.isin(self.sites.kinds, ("terminal", "city")))

    @cached_property
    def _pop_assignment(self) -> tuple[np.ndarray, np.ndarray]:
        """The PoP each terminal must reach and why (:meth:`leosim.service.ServiceEngine.assign_pops`)."""
        engine = self.service_engine
        terminals, reason = engine.assign_pops(engine.fixed_terminals(self.terminals))
        return terminals.pop, reason

    @property
    def assigned_pop(self) -> np.ndarray:
        """Per terminal (order of :attr:`terminals`): the site index of the PoP its traffic must reach
        (``[ground] pop_assignment = "published"``), or -1 for the best PoP (nearest by delay)."""
        return self._pop_assignment[0]

    @property
    def pop_reason(self) -> np.ndarray:
        """Per terminal: why that PoP (see :func:`leosim.ground.pops.assign_pops`)."""
        return self._pop_assignment[1]

    @cached_property
    def pairs(self) -> np.ndarray:
        """``(P, 2)`` site indices of the ``[[pairs]]``."""
        out = []
        for i, pair in enumerate(self.spec.pairs):
            try:
                out.append((self.sites.index_of(pair.src), self.sites.index_of(pair.dst)))
            except LeosimInputError as error:
                raise LeosimInputError(error.message, source=self.source, field=f"pairs[{i}]") from None
            if out[-1][0] == out[-1][1]:
                raise LeosimInputError("a pair needs two different places", source=self.source, field=f"pairs[{i}]")
        return np.array(out, dtype=np.int64).reshape(-1, 2)

    def validate(self) -> None:
        """Resolve everything that can fail on bad input, so errors surface before any work starts."""
        _ = (self.constellation, self.isls, self.territories, self.sites, self.site_attributes, self.rules,
             self.fleets, self.variants, self.pairs, self.fibre_km)


def _csvline_of(path: Path, site_id: str) -> int | None:
    """The 1-based line of ``path`` whose ``id`` cell is ``site_id`` (for naming a duplicate)."""
    import csv

    try:
        with open(path, encoding="utf-8-sig", newline="") as stream:
            rows = csv.reader(stream)
            header = next(rows, [])
            column = next((i for i, name in enumerate(header) if name.strip().lower() in ("id", "site_id")), None)
            for row in rows:
                if column is not None and column < len(row) and row[column].strip() == site_id:
                    return rows.line_num
    except (OSError, UnicodeDecodeError):
        return None
    return None
