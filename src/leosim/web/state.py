"""What the server knows: the scenario's service engine, window, rules and results; and its answers.

:class:`ServerState` is built once at start-up (:meth:`ServerState.default`, :meth:`ServerState.from_scenario`,
:meth:`ServerState.from_results`) and answers the API's questions as plain dicts. Every answer about
service (access, routes, RTT series, territory states) comes from the one
:class:`~leosim.service.ServiceEngine` of the scenario, with the scenario's rules and default states plus
the store's (:meth:`leosim.service.rules.RuleBook.combine`): the server caches the engine's inputs
(satellite positions per instant, :mod:`leosim.web.positions`; the rules until the store's head moves) and
answers from a finished run's tables when it has them (:mod:`leosim.web.results`, the same engine's output).
Work per request is bounded (:data:`MAX_RTT_STEPS`).
"""

from __future__ import annotations

import json
import threading
from pathlib import Path

import numpy as np

from ..errors import LeosimInputError
from ..ground.geodesy import ecef_to_geodetic
from ..ground.sites import Sites, default_cities, default_ground_infrastructure
from ..policy.store import PolicyStore
from ..service.access import access_at, answer_dict
from ..service.engine import NetworkSettings, ServiceEngine
from ..service.rules import RuleBook
from ..timebase import Times, parse_utc
from .encoding import POSITION_DEG_DECIMALS, POSITION_KM_DECIMALS, instant, iso, nan_to_none
from .positions import PositionCache
from .results import Results, load_results
from .territories import territories_geojson

__all__ = ["MAX_RTT_STEPS", "Results", "ServerState", "instant", "iso", "load_results"]

#: Default terminals when no scenario is given: the largest cities of the shipped table.
DEFAULT_TERMINAL_CITIES = 40
#: Default window without a scenario: from the start of the current hour, this long, at this step.
DEFAULT_WINDOW_S = 2 * 3600.0
DEFAULT_STEP_S = 60.0
#: Most instants one ``/api/rtt`` request may ask for (one routing per instant, ~20 ms each).
MAX_RTT_STEPS = 200
#: Instants encoded at start-up (the globe's first half hour at 60 s).
PREWARM_INSTANTS = 30
#: Results tables are used only for scenarios with at most this many (instants × terminals) when run at
#: start-up (about a second per 2,000 on this kind of machine; larger runs belong to ``leosim run``).
STARTUP_RUN_MAX_WORK = 20_000


class ServerState:
    """Everything the API answers from. Thread-safe for reads; the policy store is opened per call.

    ``engine``: the :class:`~leosim.service.ServiceEngine` (sites, territories, network settings);
    ``book``: the scenario's :class:`~leosim.service.rules.RuleBook` (its rules and default states), to
    which the store's rules are added at every answer.
    """

    def __init__(self, *, engine: ServiceEngine, constellation, window: Times, book: RuleBook | None = None,
                 db_path=None, scenario_name: str = "", results: Results | None = None, plan=None):
        self.engine = engine
        self.plan = plan  # the scenario's plan (capacity model), None for the default state
        self.constellation = constellation
        self.sites: Sites = engine.sites
        self.territories = engine.territories
        self.window = window
        self.book = book or RuleBook()
        self.db_path = Path(db_path) if db_path is not None else None
        self.scenario_name = scenario_name
        self.isls = engine.network.isls
        self.cache = PositionCache(constellation, knot_spacing_s=engine.knot_spacing_s)
        self.results: Results | None = None
        self.results_status = "none"
        self._rules_cache: tuple[tuple, RuleBook] | None = None
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
        a two-hour window from the start of the current hour (or from ``start``); no scenario rules, the
        default states (terminals denied where no rule applies, gateways landing unless denied)."""
        from ..network.links import default_isls
        from ..orbits.constellation import Constellation

        constellation = Constellation.preset(preset)
        sites = Sites.concat([default_cities(terminals), default_ground_infrastructure()])
        if start is None:
            start = parse_utc("now").astype("datetime64[h]").astype("datetime64[ns]")
        window = Times.from_range(start, DEFAULT_WINDOW_S, DEFAULT_STEP_S)
        engine = ServiceEngine(sites, network=NetworkSettings(isls=default_isls(constellation)),
                               constellation=constellation)
        return cls(engine=engine, constellation=constellation, window=window, db_path=db_path)

    @classmethod
    def from_scenario(cls, scenario, *, db_path=None, results: Results | None = None) -> ServerState:
        """From a :class:`~leosim.scenario.api.Scenario`: its engine (constellation, sites, regions, network
        settings), window, baseline rules and default states."""
        plan = scenario.plan
        book, db_path = _scenario_book_and_store(plan, db_path)
        state = cls(engine=plan.service_engine, constellation=plan.constellation, window=plan.times,
                    book=book, db_path=db_path, scenario_name=scenario.spec.scenario.name,
                    results=results, plan=plan)
        if plan.tracks:
            state.asked = plan.asked_terminals()
        return state

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
        work = len(self.window) * len(self.engine.fixed_terminals())
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
                self.cache.json(t, "ecef")

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
    def store(self, *, read_only: bool = False) -> PolicyStore:
        """A fresh connection to the policy store (SQLite connections stay in their thread); ``read_only``
        for reads, which then never wait for a writer."""
        return PolicyStore(self.db_path, read_only=read_only)

    def rules(self) -> RuleBook:
        """The scenario's rule book plus the store's rules (re-read only when the store's chain head moves)."""
        with self.store(read_only=True) as store:
            head = store.head()
            cached = self._rules_cache
            if cached is not None and cached[0] == head:
                return cached[1]
            book = self.book.with_rules(store.rules(), source="store")
        self._rules_cache = (head, book)
        return book

    def known_regions(self) -> set[str]:
        with self.store(read_only=True) as store:
            regions = {r.key for r in store.rules() if r.kind == "region"}
        return regions | set(self.territories.region_names)

    # ----- positions ----------------------------------------------------------------------------------
    def positions_km(self, t: np.datetime64) -> np.ndarray:
        return self.cache.positions_km(t)

    def cached_positions_json(self, t: np.datetime64, frame: str) -> bytes | None:
        return self.cache.cached_json(t, frame)

    def positions_json(self, t: np.datetime64, frame: str) -> bytes:
        return self.cache.json(t, frame)

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
        s, engine = self.sites, self.engine
        territory = np.where(engine.region != "", engine.region, engine.country3)
        return [{"id": str(s.ids[i]), "name": str(s.names[i]), "kind": str(s.kinds[i]),
                 "lat_deg": round(float(s.lat_deg[i]), 5), "lon_deg": round(float(s.lon_deg[i]), 5),
                 "alt_m": float(s.alt_m[i]), "territory": str(territory[i])} for i in range(len(s))]

    def site_index(self, key: str, *, field: str) -> int:
        try:
            return self.sites.index_of(key)
        except LeosimInputError as error:
            raise LeosimInputError(error.message, field=field) from None

    # ----- access -----------------------------------------------------------------------------------------
    #: The scenario's terminals with their tracks (:meth:`~leosim.scenario.plan.Plan.asked_terminals`), set
    #: when the scenario has moving terminals.
    asked = None

    def moving_terminals(self, t: np.datetime64) -> list[dict]:
        """Where each moving terminal is at ``t`` and its status there (``absent`` off its track): one
        service-engine answer for the scenario's terminals at that instant."""
        asked = self.asked
        if asked is None or asked.mobility is None or asked.mobility.tracks is None:
            return []
        t = np.datetime64(t, "ns")
        answer = self.engine.serve(Times(np.array([t])), self.positions_km(t)[None], [self.rules()], asked)
        moving, motion = asked.mobility.moving, answer.motion
        status = answer.status[0, 0][moving]
        columns = [nan_to_none(np.asarray(getattr(motion, name)[moving, 0], dtype=np.float64))
                   for name in ("lat_deg", "lon_deg", "speed_kmh")]
        return [{"id": str(ident), "lat_deg": lat, "lon_deg": lon, "speed_kmh": speed, "status": str(state)}
                for ident, lat, lon, speed, state in zip(asked.ids[moving], *columns, status, strict=True)]

    def access(self, lat_deg: float, lon_deg: float, t: np.datetime64) -> dict:
        """:func:`~leosim.service.access_at` with the server's engine and rules (store rules added)."""
        return access_at(lat_deg, lon_deg, t, constellation=self.constellation, engine=self.engine,
                         book=self.rules(), position_km=self.positions_km(np.datetime64(t, "ns")))

    # ----- routes -----------------------------------------------------------------------------------------
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

    def _serve(self, src: int, dst_index: int, times: Times, positions) -> tuple:
        """The engine's answer for site ``src`` (to PoP ``dst_index``, -1 the best) at ``times``."""
        terminals = self.engine.fixed_terminals([src], pop=[dst_index])
        if dst_index == -1:  # the scenario's PoP assignment, as its run has it
            terminals, _ = self.engine.assign_pops(terminals, times.utc[0])
        return terminals, self.engine.serve(times, positions, [self.rules()], terminals)

    def results_apply(self) -> bool:
        """Whether the run's tables answer for this server: they were computed with the scenario's rules,
        so only while the live store adds none."""
        return self.results is not None and len(self.rules().rules) == len(self.book.rules)

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
        """Path (nodes with positions), RTT and verdict from site ``src_key`` to ``dst`` (a site, or ``pop``)
        at ``t``."""
        src = self.site_index(src_key, field="src")
        mode, dst_index = self._destination(src, dst)
        xyz = self.positions_km(t)
        times = Times(np.array([t], dtype="datetime64[ns]"))
        row = self.results.access_row(str(self.sites.ids[src]), t) if (
            mode == "user" and dst_index == -1 and self.results_apply()) else None
        terminals, answer = self._serve(src, dst_index if mode == "user" else -1, times, xyz[None])
        verdict = answer_dict(self.engine, terminals, answer, times, 0)
        if row is not None:
            path, rtt = str(row["path"]), (float(row["rtt_ms"]) if np.isfinite(row["rtt_ms"]) else None)
            gateway, pop, computed_from = row["gateway"] or None, row["pop"] or None, "results"
        elif mode == "user":
            path, rtt, gateway, pop = str(answer.path[0, 0, 0]), verdict["rtt_ms"], verdict["gateway"], verdict["pop"]
            computed_from = "computed"
        else:  # between two sites: the scenario's pair routing, and both terminal ends must be allowed
            pair = self.engine.serve_pairs(times, xyz[None], self.rules(), [src], [dst_index])
            # The physical route, like user-mode routes: drawn, with ``allowed`` saying whether policy lets it.
            physical = float(pair.rtt_if_allowed_ms[0, 0])
            path, rtt = str(pair.path_if_allowed[0, 0]), (physical if np.isfinite(physical) else None)
            gateway, pop, computed_from = None, None, "computed"
            verdict["allowed"] = bool(pair.allowed[0, 0])
        nodes = [int(v) for v in path.split()]
        return {"src": str(self.sites.ids[src]), "dst": dst if dst_index == -1 else str(self.sites.ids[dst_index]),
                "time_utc": iso(t), "mode": mode, "routable": bool(nodes), "rtt_ms": rtt, "gateway": gateway,
                "pop": pop, "hops": max(len(nodes) - 1, 0), "path": [self._node(n, xyz) for n in nodes],
                "allowed": verdict["allowed"], "rule": verdict["rule"], "status": verdict["status"],
                "rule_source": verdict["source"], "source": computed_from}

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
        if mode == "user" and dst_index == -1 and self.results_apply():
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
            index = np.flatnonzero(todo)
            sub = times[index]
            positions = self.engine.positions_km(sub)
            ids = self.sites.ids
            if mode == "user":
                _, answer = self._serve(src, dst_index, sub, positions)
                rtt[index] = answer.rtt_ms[0, :, 0]
                gateway[index] = np.where(answer.gateway[0, :, 0] >= 0, ids[answer.gateway[0, :, 0]], "")
                pop[index] = np.where(answer.pop[0, :, 0] >= 0, ids[answer.pop[0, :, 0]], "")
            else:
                pair = self.engine.serve_pairs(sub, positions, self.rules(), [src], [dst_index])
                rtt[index] = pair.rtt_if_allowed_ms[:, 0]  # physical, as the user-mode series
        computed_from = "results" if computed == 0 else ("computed" if computed == len(times) else "mixed")
        return {"src": str(self.sites.ids[src]), "dst": dst if dst_index == -1 else str(self.sites.ids[dst_index]),
                "mode": mode, "step_s": step_s, "time_utc": [iso(v) for v in utc],
                "rtt_ms": nan_to_none(np.round(rtt, 3)), "gateway": [g or None for g in gateway.tolist()],
                "pop": [p or None for p in pop.tolist()], "source": computed_from}

    # ----- territories --------------------------------------------------------------------------------
    def territories_geojson(self, t: np.datetime64) -> dict:
        """GeoJSON of the territories named by rules (and custom regions) with their state at ``t``
        (:func:`leosim.web.territories.territories_geojson`)."""
        return territories_geojson(self.territories, self.rules(), t, self._geometry_cache)


def _scenario_book_and_store(plan, db_path):
    """The server's frozen rule book and live store for a scenario (the README's "Scenario and store rules"):
    ``--db`` when given, else the scenario's ``[policy] store``, else a store for this session only (changes
    made through ``POST /api/policy`` apply at once and end with the server). The live store's rules are
    added after the scenario's at every answer, exactly as ``leosim access --scenario --db`` adds them; a
    store that is the scenario's own is not counted twice."""
    import tempfile

    base = plan.base_book  # checks the scenario's rules and its store's
    own = plan.path(plan.spec.policy.store) if plan.spec.policy.store else None
    if db_path is None and own is not None:
        db_path = own
    elif db_path is None:
        import atexit
        import shutil

        folder = tempfile.mkdtemp(prefix="leosim-serve-")
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
        db_path = Path(folder) / "session.sqlite"
    if own is not None and Path(db_path).resolve() == own:
        base = RuleBook.combine(plan.scenario_rules, (), default_state=base.default_state,
                                landing_default_state=base.landing_default_state)
    return base, db_path
