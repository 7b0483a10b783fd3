"""What the server knows and computes: constellation, sites, window, policy, results; cached per instant.

:class:`ServerState` is built once at start-up (:meth:`ServerState.default`, :meth:`ServerState.from_scenario`,
:meth:`ServerState.from_results`) and answers the API's questions as plain dicts. Time-dependent answers
for instants of a scenario's results (the ``access`` table of ``leosim run``, read from ``--results DIR``
or from a run done in a background thread at start-up) come from those tables; everything else is
computed on demand. Work per request is bounded (:data:`MAX_RTT_STEPS`), and positions are cached per
instant (:data:`POSITIONS_CACHE_INSTANTS`, least recently used first out).
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..access import access_at, default_isls, describe_rule
from ..errors import LeosimInputError
from ..geometry import DEFAULT_MIN_ELEVATION_DEG
from ..ground.geodesy import ecef_to_geodetic
from ..ground.sites import Sites, default_cities, default_ground_infrastructure
from ..network.routing import Router
from ..policy.rules import evaluate, landing_rights
from ..policy.store import PolicyStore
from ..timebase import Times, parse_utc

#: Default terminals when no scenario is given: the largest cities of the shipped table.
DEFAULT_TERMINAL_CITIES = 40
#: Default window without a scenario: from the start of the current hour, this long, at this step.
DEFAULT_WINDOW_S = 2 * 3600.0
DEFAULT_STEP_S = 60.0
#: Most instants one ``/api/rtt`` request may ask for (one routing per instant, ~20 ms each).
MAX_RTT_STEPS = 200
#: Instants whose positions (and encoded answers) are kept in memory.
POSITIONS_CACHE_INSTANTS = 64
#: Instants encoded at start-up (the globe's first half hour at 60 s).
PREWARM_INSTANTS = 30
#: Instants accepted by the API: from Sputnik to 2100 (SGP4 elements far from their epoch are meaningless,
#: and datetime64[ns] ends in 2262).
EARLIEST_UTC = np.datetime64("1957-10-04T00:00:00", "ns")
LATEST_UTC = np.datetime64("2100-01-01T00:00:00", "ns")
#: Rounding of positions in answers: 1e-4 degree is ~11 m on the ground; 0.01 km is 10 m.
POSITION_DEG_DECIMALS = 4
POSITION_KM_DECIMALS = 2
#: Simplification of territory outlines sent to the globe, degrees (~5 km: plenty for a whole-Earth view).
TERRITORY_SIMPLIFY_DEG = 0.05
#: Results tables are used only for scenarios with at most this many (instants × terminals) when run at
#: start-up (about a second per 2,000 on this kind of machine; larger runs belong to ``leosim run``).
STARTUP_RUN_MAX_WORK = 20_000


def instant(text: str, *, field: str = "t") -> np.datetime64:
    """Parse an API time parameter (ISO 8601 or 'now') and check it lies in the accepted range."""
    if text is None or not str(text).strip():
        raise LeosimInputError("missing time; expected ISO 8601 such as 2024-10-25T12:00:00Z", field=field)
    try:
        value = parse_utc(str(text), source=field)
    except (OverflowError, ValueError, OSError):
        raise LeosimInputError(f"{text!r} is not a usable instant", field=field) from None
    if not EARLIEST_UTC <= value < LATEST_UTC:
        raise LeosimInputError(f"{text!r} is outside the accepted range 1957-10-04 .. 2100-01-01", field=field)
    return value


def iso(value: np.datetime64) -> str:
    """ISO 8601 UTC with milliseconds and a ``Z``."""
    return np.datetime_as_string(np.datetime64(value, "ms"), unit="ms") + "Z"


def _nan_to_none(values: np.ndarray) -> list:
    out = values.astype(object)
    out[~np.isfinite(values)] = None
    return out.tolist()


@dataclass
class Results:
    """The tables of a scenario run the server answers from (pandas DataFrames by table name)."""

    tables: dict
    source: str

    def access_rows(self, site_id: str):
        access = self.tables.get("access")
        if access is None:
            return None
        return access[access["site_id"] == site_id]


class ServerState:
    """Everything the API answers from. Thread-safe for reads; the policy store is opened per call."""

    def __init__(self, *, constellation, sites: Sites, window: Times, db_path=None, scenario_rules=(),
                 territories=None, isls=None, country3=None, region=None,
                 min_elevation_deg: float = DEFAULT_MIN_ELEVATION_DEG,
                 gateway_min_elevation_deg: float = DEFAULT_MIN_ELEVATION_DEG, scenario_name: str = "",
                 results: Results | None = None):
        from ..territory.territories import Territories

        self.constellation = constellation
        self.sites = sites
        self.window = window
        self.db_path = Path(db_path) if db_path is not None else None
        self.scenario_rules = tuple(scenario_rules)
        self.territories = territories or Territories.default()
        self.isls = default_isls(constellation) if isls is None else np.asarray(isls, dtype=np.int64)
        if country3 is None or region is None:
            hits = self.territories.locate(sites.lat_deg, sites.lon_deg)
            country3, region = hits.country, hits.region
        self.country3 = np.asarray(country3, dtype=str)
        self.region = np.asarray(region, dtype=str)
        self.min_elevation_deg = float(min_elevation_deg)
        self.gateway_min_elevation_deg = float(gateway_min_elevation_deg)
        self.scenario_name = scenario_name
        self.results: Results | None = None
        self.results_status = "none"
        self._lock = threading.Lock()
        self._positions: OrderedDict[int, np.ndarray] = OrderedDict()
        self._encoded: OrderedDict[tuple, bytes] = OrderedDict()
        self._flights: dict[tuple, threading.Lock] = {}
        self._routers: OrderedDict[tuple, Router] = OrderedDict()
        self._rules_cache: tuple[tuple, list] | None = None
        self._geometry_cache: dict[str, dict] = {}
        self._static_cache: dict[str, bytes] = {}
        if results is not None:
            self.attach_results(results)
        # Open the store once now: creates and migrates it, so bad files fail at start-up.
        with self.store():
            pass

    # ----- construction ---------------------------------------------------------------------------
    @classmethod
    def default(cls, *, db_path=None, preset: str = "starlink-gen1", start=None,
                terminals: int = DEFAULT_TERMINAL_CITIES) -> ServerState:
        """The default constellation, the largest cities as terminals, the shipped gateways and PoPs;
        a two-hour window from the start of the current hour (or from ``start``)."""
        from ..orbits.constellation import Constellation

        cities = default_cities(terminals)
        sites = Sites.concat([cities, default_ground_infrastructure()])
        if start is None:
            start = parse_utc("now").astype("datetime64[h]").astype("datetime64[ns]")
        window = Times.from_range(start, DEFAULT_WINDOW_S, DEFAULT_STEP_S)
        return cls(constellation=Constellation.preset(preset), sites=sites, window=window, db_path=db_path)

    @classmethod
    def from_scenario(cls, scenario, *, db_path=None, results: Results | None = None) -> ServerState:
        """From a :class:`~leosim.scenario.api.Scenario` (its constellation, sites, window, regions and
        baseline rules)."""
        plan = scenario.plan
        attrs = plan.site_attributes
        net = scenario.spec.network
        return cls(constellation=plan.constellation, sites=plan.sites, window=plan.times, db_path=db_path,
                   scenario_rules=plan.rules, territories=plan.territories, isls=plan.isls,
                   country3=attrs["country3"], region=attrs["region"],
                   min_elevation_deg=getattr(net, "terminal_min_elevation_deg", DEFAULT_MIN_ELEVATION_DEG),
                   gateway_min_elevation_deg=getattr(net, "gateway_min_elevation_deg",
                                                     DEFAULT_MIN_ELEVATION_DEG),
                   scenario_name=scenario.spec.scenario.name, results=results)

    @classmethod
    def from_results(cls, results_dir, *, scenario=None, db_path=None) -> ServerState:
        """From a ``leosim run`` output folder; the scenario is rebuilt from its ``scenario.resolved.json``
        unless given (file paths in it resolve against the current directory)."""
        from ..scenario.api import Scenario

        results_dir = Path(results_dir)
        resolved = results_dir / "scenario.resolved.json"
        if not resolved.is_file():
            raise LeosimInputError("not a leosim results folder (no scenario.resolved.json); make one with "
                                   "`leosim run SCENARIO.toml --out DIR`", source=str(results_dir))
        if scenario is None:
            spec = json.loads(resolved.read_text(encoding="utf-8"))["scenario"]
            scenario = Scenario(spec, base_dir=Path.cwd(), source=str(resolved))
        return cls.from_scenario(scenario, db_path=db_path, results=load_results(results_dir))

    def run_in_background(self, scenario) -> threading.Thread | None:
        """Run a small scenario in a thread and answer from its tables once done (None when too large)."""
        work = len(self.window) * int(np.isin(self.sites.kinds, ("terminal", "city")).sum())
        if work > STARTUP_RUN_MAX_WORK:
            self.results_status = f"none (run `leosim run` for {work} instant-terminals, then --results)"
            return None

        def run():
            try:
                result = scenario.run(None)
                self.attach_results(Results(result.tables, "start-up run"))
            except Exception as error:
                self.results_status = f"start-up run failed: {error}"

        self.results_status = "running"
        thread = threading.Thread(target=run, name="leosim-startup-run", daemon=True)
        thread.start()
        return thread

    def prewarm(self, instants: int = PREWARM_INSTANTS) -> threading.Thread:
        """Encode the positions of the window's first instants (on a grid of at most 60 s, as the globe
        asks for them) in a background thread, so the first viewers are answered from the cache."""
        utc = self.window.utc
        step = np.timedelta64(int(min(self.window_dict()["step_s"], 60.0) * 1e9), "ns")
        grid = utc[0] + step * np.arange(instants)

        def run():
            for t in grid:
                self.positions_json(t, "ecef")

        thread = threading.Thread(target=run, name="leosim-prewarm", daemon=True)
        thread.start()
        return thread

    def attach_results(self, results: Results) -> None:
        sites = results.tables.get("sites")
        if sites is not None and not np.array_equal(sites["site_id"].to_numpy(dtype=str), self.sites.ids):
            self.results_status = "ignored (its sites differ from the scenario's)"
            return
        self.results = results
        self.results_status = "loaded"

    # ----- policy -----------------------------------------------------------------------------------
    def store(self) -> PolicyStore:
        """A fresh connection to the policy store (SQLite connections stay in their thread)."""
        return PolicyStore(self.db_path)

    def rules(self) -> list:
        """Scenario rules, then the store's (re-read only when the store's chain head moves)."""
        with self.store() as store:
            head = store.head()
            cached = self._rules_cache
            if cached is not None and cached[0] == head:
                return cached[1]
            rules = [*self.scenario_rules, *store.rules()]
        self._rules_cache = (head, rules)
        return rules

    def known_regions(self) -> set[str]:
        with self.store() as store:
            regions = {r.key for r in store.rules() if r.kind == "region"}
        return regions | set(self.territories.region_names)

    # ----- positions ----------------------------------------------------------------------------------
    def positions_km(self, t: np.datetime64) -> np.ndarray:
        """Earth-fixed satellite positions at ``t``, km, ``(N, 3)`` (NaN where SGP4 failed); LRU-cached."""
        key = int(np.datetime64(t, "ns").astype(np.int64))
        with self._lock:
            found = self._positions.get(key)
            if found is not None:
                self._positions.move_to_end(key)
                return found
        position = self.constellation.positions_km(Times(np.array([t], dtype="datetime64[ns]")))[0]
        position.setflags(write=False)
        with self._lock:
            self._positions[key] = position
            while len(self._positions) > POSITIONS_CACHE_INSTANTS:
                self._positions.popitem(last=False)
        return position

    def cached_positions_json(self, t: np.datetime64, frame: str) -> bytes | None:
        """The encoded ``/api/positions`` answer if it is cached (cheap: no computation), else None."""
        key = (int(np.datetime64(t, "ns").astype(np.int64)), frame)
        with self._lock:
            found = self._encoded.get(key)
            if found is not None:
                self._encoded.move_to_end(key)
            return found

    def positions_json(self, t: np.datetime64, frame: str) -> bytes:
        """The ``/api/positions`` answer, encoded once per (instant, frame): concurrent requests for the same
        instant wait for one computation instead of all computing it."""
        key = (int(np.datetime64(t, "ns").astype(np.int64)), frame)
        with self._lock:
            flight = self._flights.setdefault(key, threading.Lock())
        with flight:
            found = self.cached_positions_json(t, frame)
            if found is None:
                found = self._encode_positions(t, frame, key)
        with self._lock:
            self._flights.pop(key, None)
        return found

    def _encode_positions(self, t: np.datetime64, frame: str, key: tuple) -> bytes:
        xyz = self.positions_km(t)
        answer = {"time_utc": iso(t), "count": int(xyz.shape[0]), "frame": frame,
                  "ids": self.constellation.sat_id.tolist()}
        if frame == "ecef":
            answer["ecef_km"] = _nan_to_none(np.round(xyz, POSITION_KM_DECIMALS).ravel())
        else:
            lat, lon, alt = ecef_to_geodetic(xyz)
            answer["lat_deg"] = _nan_to_none(np.round(lat, POSITION_DEG_DECIMALS))
            answer["lon_deg"] = _nan_to_none(np.round(lon, POSITION_DEG_DECIMALS))
            answer["alt_km"] = _nan_to_none(np.round(alt, POSITION_KM_DECIMALS))
        body = json.dumps(answer, separators=(",", ":"), allow_nan=False).encode()
        with self._lock:
            self._encoded[key] = body
            while len(self._encoded) > 2 * POSITIONS_CACHE_INSTANTS:
                self._encoded.popitem(last=False)
        return body

    def constellation_json(self) -> bytes:
        if "constellation" not in self._static_cache:
            c = self.constellation
            shells = [{"index": k, "name": s.name, "altitude_km": s.altitude_km, "inclination_deg": s.inclination_deg,
                       "planes": s.planes, "sats_per_plane": s.sats_per_plane} for k, s in enumerate(c.shells)]
            answer = {"description": c.description, "count": len(c), "shells": shells,
                      "sat_id": c.sat_id.tolist(), "name": [str(n) for n in c.name], "shell": c.shell.tolist(),
                      "plane": c.plane.tolist(), "slot": c.slot.tolist(), "isls": self.isls.ravel().tolist(),
                      "window": self.window_dict()}
            self._static_cache["constellation"] = json.dumps(answer, separators=(",", ":")).encode()
        return self._static_cache["constellation"]

    def window_dict(self) -> dict:
        utc = self.window.utc
        step = float((utc[1] - utc[0]) / np.timedelta64(1, "s")) if len(utc) > 1 else DEFAULT_STEP_S
        return {"start": iso(utc[0]), "end": iso(utc[-1]), "step_s": step, "instants": len(utc)}

    # ----- sites ----------------------------------------------------------------------------------------
    def sites_list(self) -> list[dict]:
        s = self.sites
        territory = np.where(self.region != "", self.region, self.country3)
        return [{"id": str(s.ids[i]), "name": str(s.names[i]), "kind": str(s.kinds[i]),
                 "lat_deg": round(float(s.lat_deg[i]), 5), "lon_deg": round(float(s.lon_deg[i]), 5),
                 "alt_m": float(s.alt_m[i]), "territory": str(territory[i])} for i in range(len(s))]

    def site_index(self, key: str, *, field: str) -> int:
        try:
            return self.sites.index_of(key)
        except LeosimInputError as error:
            raise LeosimInputError(error.message, field=field) from None

    # ----- access -----------------------------------------------------------------------------------------
    def access(self, lat_deg: float, lon_deg: float, t: np.datetime64) -> dict:
        """:func:`~leosim.access.access_at` with the server's constellation, ground, territories and rules."""
        ground = self.sites.subset(np.isin(self.sites.kinds, ("gateway", "pop")))
        answer = access_at(lat_deg, lon_deg, t, constellation=self.constellation, rules=self.rules(),
                           territories=self.territories, ground=ground, isls=self.isls,
                           min_elevation_deg=self.min_elevation_deg,
                           gateway_min_elevation_deg=self.gateway_min_elevation_deg,
                           position_km=self.positions_km(np.datetime64(t, "ns")))
        answer["source"] = "computed"
        return answer

    # ----- routes -----------------------------------------------------------------------------------------
    def _router(self, mode: str, landing: np.ndarray) -> Router:
        key = (mode, landing.tobytes())
        with self._lock:
            found = self._routers.get(key)
            if found is not None:
                return found
        kinds = np.asarray(self.sites.kinds, dtype=object).copy()
        if mode == "user":
            gateways = np.flatnonzero(self.sites.kinds == "gateway")
            kinds[gateways[~landing]] = "city"  # no landing rights: a gateway that carries nothing
        mask = np.where(self.sites.kinds == "gateway", self.gateway_min_elevation_deg, self.min_elevation_deg)
        router = Router(self.sites.ecef_km, kinds.astype(str), mode=mode, isls=self.isls, site_up=self.sites.up,
                        min_elevation_deg=mask)
        with self._lock:
            self._routers[key] = router
            while len(self._routers) > 8:
                self._routers.popitem(last=False)
        return router

    def _landing(self, rules, times: Times) -> np.ndarray:
        gateways = np.flatnonzero(self.sites.kinds == "gateway")
        allowed, _ = landing_rights(rules, territory=self.country3[gateways], region=self.region[gateways],
                                    instants=times, default_state="active")
        return np.asarray(allowed, dtype=bool)  # (gateways, time)

    def _destination(self, src: int, dst: str) -> tuple[str, int]:
        """Routing mode and destination index: ``pop`` → user mode, best PoP (-1); a PoP → user mode to
        that PoP; any other site → ISL mode between the two sites."""
        if self.sites.kinds[src] == "pop":
            raise LeosimInputError(f"site {str(self.sites.ids[src])!r} is a PoP: PoPs are reached over fibre and "
                                   "cannot be a route's source", field="src")
        if dst.strip().lower() == "pop":
            return "user", -1
        j = self.site_index(dst, field="dst")
        if j == src:
            raise LeosimInputError("source and destination are the same site", field="dst")
        return ("user" if self.sites.kinds[j] == "pop" else "isl"), j

    def _result_row(self, src: int, mode: str, dst_index: int, t: np.datetime64):
        if self.results is None or mode != "user" or dst_index != -1:
            return None
        rows = self.results.access_rows(str(self.sites.ids[src]))
        if rows is None or rows.empty:
            return None
        hit = rows[rows["time_utc"].to_numpy(dtype="datetime64[ns]") == np.datetime64(t, "ns")]
        return None if hit.empty else hit.iloc[0]

    def _node(self, node: int, xyz: np.ndarray) -> dict:
        n_sat = xyz.shape[0]
        if node < n_sat:
            lat, lon, alt = ecef_to_geodetic(xyz[node])
            return {"node": int(node), "kind": "satellite", "id": str(int(self.constellation.sat_id[node])),
                    "name": str(self.constellation.name[node]), "shell": int(self.constellation.shell[node]),
                    "lat_deg": round(float(lat), POSITION_DEG_DECIMALS),
                    "lon_deg": round(float(lon), POSITION_DEG_DECIMALS),
                    "alt_km": round(float(alt), POSITION_KM_DECIMALS),
                    "ecef_km": np.round(xyz[node], POSITION_KM_DECIMALS).tolist()}
        j = node - n_sat
        s = self.sites
        return {"node": int(node), "kind": str(s.kinds[j]), "id": str(s.ids[j]), "name": str(s.names[j]),
                "lat_deg": round(float(s.lat_deg[j]), 5), "lon_deg": round(float(s.lon_deg[j]), 5),
                "alt_km": round(float(s.alt_m[j]) / 1000.0, 3),
                "ecef_km": np.round(s.ecef_km[j], POSITION_KM_DECIMALS).tolist()}

    def route(self, src_key: str, dst: str, t: np.datetime64) -> dict:
        """Path (nodes with positions) and RTT from site ``src_key`` to ``dst`` (a site, or ``pop``) at ``t``."""
        src = self.site_index(src_key, field="src")
        mode, dst_index = self._destination(src, dst)
        xyz = self.positions_km(t)
        row = self._result_row(src, mode, dst_index, t)
        if row is not None:
            nodes = [int(v) for v in str(row["path"]).split()] if str(row["path"]).strip() else []
            rtt = float(row["rtt_ms"]) if np.isfinite(row["rtt_ms"]) else None
            gateway, pop, source = row["gateway"] or None, row["pop"] or None, "results"
        else:
            rules = self.rules()
            times = Times(np.array([t], dtype="datetime64[ns]"))
            landing = self._landing(rules, times)[:, 0] if mode == "user" else np.zeros(0, bool)
            routes = self._router(mode, landing).route(xyz, np.array([src]), np.array([dst_index]))
            nodes = routes.path(0).tolist()
            rtt = float(routes.rtt_ms[0]) if np.isfinite(routes.rtt_ms[0]) else None
            gateway = str(self.sites.ids[routes.gateway[0]]) if routes.gateway[0] >= 0 else None
            pop = (str(self.sites.ids[routes.dst[0]]) if mode == "user" and routes.dst[0] >= 0 else None)
            source = "computed"
        verdict = self._verdict(src, t)
        return {"src": str(self.sites.ids[src]), "dst": dst if dst_index == -1 else str(self.sites.ids[dst_index]),
                "time_utc": iso(t), "mode": mode, "routable": bool(nodes), "rtt_ms": rtt, "gateway": gateway,
                "pop": pop, "hops": max(len(nodes) - 1, 0), "path": [self._node(n, xyz) for n in nodes],
                **verdict, "source": source}

    def _verdict(self, src: int, t: np.datetime64) -> dict:
        rules = self.rules()
        allowed, index = evaluate(rules, territory=self.country3[src:src + 1], region=self.region[src:src + 1],
                                  instants=np.array([t], dtype="datetime64[ns]"), default_state="denied")
        k = int(index[0, 0])
        return {"allowed": bool(allowed[0, 0]),
                "rule": describe_rule(rules[k]) if k >= 0 else "default: denied (no rule applies)"}

    def rtt(self, src_key: str, dst: str, start: np.datetime64, end: np.datetime64, step_s: float) -> dict:
        """RTT series from ``src_key`` to ``dst`` over ``[start, end]`` every ``step_s`` seconds."""
        src = self.site_index(src_key, field="src")
        mode, dst_index = self._destination(src, dst)
        if end < start:
            raise LeosimInputError("'to' is before 'from'", field="to")
        span_s = float((end - start) / np.timedelta64(1, "s"))
        steps = int(np.floor(span_s / step_s + 1e-9)) + 1
        if steps > MAX_RTT_STEPS:
            raise LeosimInputError(f"{steps} instants asked for; at most {MAX_RTT_STEPS} per request "
                                   f"(use a longer step or a shorter span)", field="step")
        times = Times.from_range(start, span_s + step_s / 2, step_s)[:steps]
        utc = times.utc
        rtt = np.full(len(times), np.nan)
        gateway = np.full(len(times), "", dtype=object)
        pop = np.full(len(times), "", dtype=object)
        todo = np.ones(len(times), dtype=bool)
        if self.results is not None and mode == "user" and dst_index == -1:
            rows = self.results.access_rows(str(self.sites.ids[src]))
            if rows is not None and not rows.empty:
                stamp = rows["time_utc"].to_numpy(dtype="datetime64[ns]")
                where = np.searchsorted(stamp, utc)
                found = (where < stamp.size) & (stamp[np.minimum(where, stamp.size - 1)] == utc)
                picked = where[found]
                rtt[found] = rows["rtt_ms"].to_numpy(dtype=np.float64)[picked]
                gateway[found] = rows["gateway"].to_numpy(dtype=object)[picked]
                pop[found] = rows["pop"].to_numpy(dtype=object)[picked]
                todo &= ~found
        computed = int(todo.sum())
        if computed:
            rules = self.rules()
            sub = times[np.flatnonzero(todo)]
            positions = self.constellation.positions_km(sub)
            landing = self._landing(rules, sub) if mode == "user" else np.zeros((0, len(sub)), bool)
            for k, i in enumerate(np.flatnonzero(todo)):  # one routing per instant (bounded by MAX_RTT_STEPS)
                routes = self._router(mode, landing[:, k]).route(positions[k], np.array([src]),
                                                                 np.array([dst_index]))
                rtt[i] = routes.rtt_ms[0]
                gateway[i] = str(self.sites.ids[routes.gateway[0]]) if routes.gateway[0] >= 0 else ""
                if mode == "user" and routes.dst[0] >= 0:
                    pop[i] = str(self.sites.ids[routes.dst[0]])
        source = "results" if computed == 0 else ("computed" if computed == len(times) else "mixed")
        return {"src": str(self.sites.ids[src]), "dst": dst if dst_index == -1 else str(self.sites.ids[dst_index]),
                "mode": mode, "step_s": step_s, "time_utc": [iso(v) for v in utc],
                "rtt_ms": _nan_to_none(np.round(rtt, 3)), "gateway": [g or None for g in gateway.tolist()],
                "pop": [p or None for p in pop.tolist()], "source": source}

    # ----- territories --------------------------------------------------------------------------------
    def territory_keys(self, rules) -> list[tuple[str, str]]:
        """``(layer, key)`` of every territory named by a rule, and the scenario's custom regions."""
        keys = {("region", r) for r in self.territories.region_names}
        for rule in rules:
            if rule.kind == "country" and rule.key in self.territories.names:
                keys.add(("country", rule.key))
            elif rule.kind == "region" and rule.key in self.territories.region_names:
                keys.add(("region", rule.key))
        return sorted(keys)

    def _geometry(self, key: str) -> dict:
        if key not in self._geometry_cache:
            import shapely

            shape = shapely.simplify(self.territories.geometry(key), TERRITORY_SIMPLIFY_DEG, preserve_topology=True)
            shape = shapely.set_precision(shape, 1e-3)
            self._geometry_cache[key] = json.loads(shapely.to_geojson(shape))
        return self._geometry_cache[key]

    def territories_geojson(self, t: np.datetime64) -> dict:
        """GeoJSON of the territories named by rules (and custom regions) with their state at ``t``:
        ``active``, ``denied``, ``restricted``, or ``none`` (no rule: the default, denied)."""
        import shapely

        rules = self.rules()
        keys = self.territory_keys(rules)
        if not keys:
            return {"type": "FeatureCollection", "time_utc": iso(t), "features": []}
        territory, region = [], []
        for layer, key in keys:
            if layer == "country":
                territory.append(key)
                region.append("")
            else:
                point = shapely.point_on_surface(self.territories.geometry(key))
                territory.append(str(self.territories.locate(point.y, point.x).country))
                region.append(key)
        _, index = evaluate(rules, territory=territory, region=region, instants=np.array([t], "datetime64[ns]"),
                            default_state="denied")
        features = []
        for (layer, key), k in zip(keys, index[:, 0].tolist(), strict=True):
            rule = rules[k] if k >= 0 else None
            features.append({"type": "Feature", "geometry": self._geometry(key), "properties": {
                "code": key, "name": self.territories.name(key), "layer": layer,
                "state": rule.state if rule is not None else "none",
                "rule": describe_rule(rule) if rule is not None else "default: denied (no rule applies)"}})
        return {"type": "FeatureCollection", "time_utc": iso(t), "features": features}


def load_results(results_dir) -> Results:
    """The ``sites`` and ``access`` tables of a ``leosim run`` folder."""
    import pandas as pd

    results_dir = Path(results_dir)
    tables = {}
    for name in ("sites", "access"):
        path = results_dir / f"{name}.parquet"
        if not path.is_file():
            raise LeosimInputError(f"no {name}.parquet in the results folder", source=str(results_dir))
        tables[name] = pd.read_parquet(path)
    tables["access"] = tables["access"].sort_values(["site_id", "time_utc"], kind="stable").reset_index(drop=True)
    return Results(tables, str(results_dir))
