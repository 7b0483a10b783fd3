"""The JSON API of ``leosim serve`` (``/api/...``); every answer is computed by :mod:`leosim.web.state`.

Every error has one body, :class:`ErrorBody` (``{"error", "status", "code", "field"}``), and one status per
kind of fault (table in :mod:`leosim.web.app`): 400 unreadable request, 401/403 token, 413 body too large,
422 any refused value (wrong type, out of range, unknown), 503 policy store busy; never a 500 for input.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field

from ..policy.tokens import TokenInfo
from .auth import require_reader, require_writer
from .state import MAX_RTT_STEPS, ServerState, instant, iso

#: Longest accepted time parameter (an ISO 8601 instant is ~30 characters).
MAX_TIME_CHARS = 64
MAX_ID_CHARS = 200
#: Most audit entries one ``/api/policy/log`` answer holds.
MAX_LOG_ENTRIES = 10_000
#: Shortest and longest step of ``/api/rtt``, seconds.
MIN_RTT_STEP_S = 1.0
MAX_RTT_STEP_S = 86_400.0

#: Example instant in the schema (also the first example property-based tests try).
EXAMPLE_TIME = "2024-10-25T06:00:00Z"
TIME_SCHEMA = {"format": "date-time"}
TimeParam = Annotated[str, Query(max_length=MAX_TIME_CHARS, description="UTC instant, ISO 8601 (or 'now').",
                                 examples=[EXAMPLE_TIME], json_schema_extra=TIME_SCHEMA)]
Reader = Annotated[TokenInfo | None, Depends(require_reader)]



class ErrorBody(BaseModel):
    """The body of every error answer."""

    error: str = Field(description="what is wrong, in words")
    status: int = Field(description="the HTTP status, repeated")
    code: str = Field(description="kind of fault: bad_request, unauthorized, forbidden, payload_too_large, "
                                  "invalid_input, store_busy, ...")
    field: str | None = Field(default=None, description="the parameter or body field at fault, if one is")
    detail: list[dict[str, Any]] | None = Field(default=None, description="validation details (some 422s)")


def _error_response(description: str) -> dict:
    return {"model": ErrorBody, "description": description}


#: Documented on every endpoint: the errors any request can meet.
ERROR_RESPONSES = {
    400: _error_response("the request cannot be read (a body that is not JSON, a bad Content-Length)"),
    401: _error_response("no valid token (reads on a non-loopback bind, and every write, need one)"),
    403: _error_response("the token's role may not do this"),
    413: _error_response("request body too large"),
    422: _error_response("a parameter or field refused: wrong type, out of range (instants outside the "
                         "supported range too), unknown or inconsistent"),
    503: _error_response("the policy store is busy (another process holds its write lock); try again"),
}

router = APIRouter(prefix="/api", responses=ERROR_RESPONSES)


def _state(request: Request) -> ServerState:
    return request.app.state.leosim


def _json(body: bytes) -> Response:
    return Response(content=body, media_type="application/json")


@router.get("/health", summary="Server status, window and what is loaded")
def health(request: Request, _: Reader) -> dict:
    state = _state(request)
    return {"status": "ok", "version": request.app.version, "scenario": state.scenario_name or None,
            "satellites": len(state.constellation), "sites": len(state.sites), "window": state.window_dict(),
            "results": state.results_status, "globe": request.app.state.globe_available,
            "reads_open": request.app.state.reads_open, "max_rtt_steps": MAX_RTT_STEPS}


@router.get("/constellation", summary="Satellites: ids, names, shells, planes, slots, ISL pairs (flat)")
def constellation(request: Request, _: Reader) -> Response:
    return _json(_state(request).constellation_json())


@router.get("/positions", summary="Every satellite's position at one instant, as compact arrays",
            description="`frame=geodetic` (default): `lat_deg`, `lon_deg` (1e-4 deg) and `alt_km` (0.01 km) "
                        "arrays in the order of `ids`; `frame=ecef`: `ecef_km`, a flat array x0,y0,z0,x1,... "
                        "(Earth-fixed ITRS, 0.01 km). null where SGP4 failed.")
async def positions(request: Request, _: Reader, t: TimeParam,
                    frame: Literal["geodetic", "ecef"] = "geodetic") -> Response:
    state = _state(request)
    when = instant(t)
    cached = state.cached_positions_json(when, frame)  # the common case: no thread hop
    return _json(cached if cached is not None else await run_in_threadpool(state.positions_json, when, frame))


@router.get("/sites", summary="Ground sites: terminals, gateways, PoPs")
def sites(request: Request, _: Reader) -> dict:
    return {"sites": _state(request).sites_list()}


class MovingTerminal(BaseModel):
    """A moving terminal at one instant (``null`` position and speed when absent, off its track)."""

    id: str
    lat_deg: float | None = Field(description="degrees (WGS84)")
    lon_deg: float | None = Field(description="degrees (WGS84)")
    speed_kmh: float | None = Field(description="ground speed along the track, km/h")
    status: Literal["ok", "no_coverage", "no_route", "denied", "absent"]


@router.get("/terminals", summary="Moving terminals at one instant: where they are, how fast, their status",
            response_model=list[MovingTerminal])
def terminals(request: Request, _: Reader, t: TimeParam) -> list[dict]:
    return _state(request).moving_terminals(instant(t))


@router.get("/access", summary="What one place gets at one instant (as `leosim access --json`)")
def access(request: Request, _: Reader, lat: Annotated[float, Query(ge=-90.0, le=90.0, description="degrees")],
           lon: Annotated[float, Query(ge=-180.0, le=180.0, description="degrees")], t: TimeParam) -> dict:
    return _state(request).access(lat, lon, instant(t))


@router.get("/route", summary="Path (nodes with positions) and RTT from a site at one instant",
            description="`src`: a site id (or unique name); `dst`: `pop` (the best PoP, user mode: terminal → "
                        "satellites → gateway → fibre → PoP), a PoP id (that PoP), or another site (ISL mode).")
def route(request: Request, _: Reader, src: Annotated[str, Query(min_length=1, max_length=MAX_ID_CHARS)],
          t: TimeParam, dst: Annotated[str, Query(min_length=1, max_length=MAX_ID_CHARS)] = "pop") -> dict:
    return _state(request).route(src, dst, instant(t))


@router.get("/rtt", summary=f"RTT series over a window (at most {MAX_RTT_STEPS} instants per request)")
def rtt(request: Request, _: Reader, src: Annotated[str, Query(min_length=1, max_length=MAX_ID_CHARS)],
        from_: Annotated[str, Query(alias="from", max_length=MAX_TIME_CHARS, description="first instant",
                                       examples=[EXAMPLE_TIME], json_schema_extra=TIME_SCHEMA)],
        to: Annotated[str, Query(max_length=MAX_TIME_CHARS, description="last instant (included)",
                                 json_schema_extra=TIME_SCHEMA)],
        dst: Annotated[str, Query(min_length=1, max_length=MAX_ID_CHARS)] = "pop",
        step: Annotated[float, Query(ge=MIN_RTT_STEP_S, le=MAX_RTT_STEP_S, description="seconds")] = 60.0) -> dict:
    return _state(request).rtt(src, dst, instant(from_, field="from"), instant(to, field="to"), float(step))


@router.get("/capacity", summary="Capacity cells (demand, served, beams, bottleneck, H3 boundary) at the slot "
                                 "holding an instant",
            description="From the run's `capacity_cells` table when the server has results for that slot, else "
                        "computed for it with the server's current rules. Needs a scenario with `[capacity]` "
                        "(422 otherwise). Slots start at :12, :27, :42 and :57 s past the minute.")
def capacity(request: Request, _: Reader, t: TimeParam) -> dict:
    from .capacity import capacity_answer

    return capacity_answer(_state(request), instant(t))


@router.get("/territories", summary="GeoJSON of territories named by policy, with their state at an instant")
def territories(request: Request, _: Reader, at: TimeParam = "now") -> dict:
    return _state(request).territories_geojson(instant(at, field="at"))


def _rule_row(rule, source: str) -> dict:
    def when(value):
        return None if value is None else iso(value)

    return {"rule_id": rule.rule_id, "subject": rule.subject, "state": rule.state, "allow": list(rule.allow),
            "from": when(rule.valid_from), "until": when(rule.valid_until), "decided_at": when(rule.decided_at),
            "by": rule.decided_by, "reason": rule.reason, "source": source,
            "url": rule.url, "citation": rule.source,  # "source" is where the rule comes from (store/scenario)
            "when": rule.when.as_dict() if rule.when is not None else None}


@router.get("/policy", summary="Rules in force at an instant (store and scenario)")
def policy(request: Request, _: Reader, at: TimeParam = "now") -> dict:
    state = _state(request)
    when = instant(at, field="at")
    with state.store(read_only=True) as store:
        stored = store.rules_at(when)
    rows = [_rule_row(r, "store") for r in stored]
    rows += [_rule_row(r, source) for r, source in zip(state.book.rules, state.book.sources, strict=True)
             if r.in_force(when)]
    rows.sort(key=lambda r: (r["subject"], r["decided_at"] or ""))
    return {"at": iso(when), "rules": rows}


@router.get("/policy/log", summary="The audit log, oldest first")
def policy_log(request: Request, _: Reader,
               offset: Annotated[int, Query(ge=0, le=2**31)] = 0,
               limit: Annotated[int, Query(ge=1, le=MAX_LOG_ENTRIES)] = 1000) -> dict:
    with _state(request).store(read_only=True) as store:
        entries = store.entries()
    return {"total": len(entries), "offset": offset,
            "entries": [e.as_dict() for e in entries[offset:offset + limit]]}


@router.get("/policy/verify", summary="Check the audit log (hash chain, head, consistency with the rules)")
def policy_verify(request: Request, _: Reader,
                  expect_head: Annotated[str | None, Query(max_length=MAX_ID_CHARS, description=(
                      "SEQ:HASH kept from `leosim policy head`: also fail unless the log still extends it"))] = None
                  ) -> dict:
    from ..policy.store import parse_head

    expected = parse_head(expect_head, field="expect_head") if expect_head is not None else None
    with _state(request).store(read_only=True) as store:
        broken = store.verify(expect_head=expected)
        seq, head = store.head()
    return {"intact": broken is None, "entries": seq, "head": head,
            "broken": None if broken is None else {"seq": broken.seq, "reason": broken.reason}}


class PolicyCondition(BaseModel):
    """Conditions per terminal and instant (all must hold), as in a scenario rule's ``when``."""

    model_config = ConfigDict(extra="forbid")

    speed_above_kmh: float | None = Field(default=None, ge=0, le=1e5, description="faster than this, km/h")
    days_abroad_above: float | None = Field(default=None, ge=0, le=366,
                                            description="more days than this outside the registered country")
    abroad_year: Literal["rolling", "calendar"] = "rolling"
    offshore_above_nm: float | None = Field(default=None, ge=0, le=1e4, description="at sea farther than this")
    plans: list[Annotated[str, Field(min_length=1, max_length=MAX_ID_CHARS)]] = Field(default_factory=list,
                                                                                      max_length=20)
    exempt_plans: list[Annotated[str, Field(min_length=1, max_length=MAX_ID_CHARS)]] = Field(default_factory=list,
                                                                                             max_length=20)


class PolicyChange(BaseModel):
    """A policy decision: ``territory`` is in ``state`` from ``from`` (until ``until``), for ``reason``."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    territory: str = Field(min_length=1, max_length=MAX_ID_CHARS,
                           description="ISO 3166 alpha-3 code, custom region name, terminal:ID or fleet:NAME")
    state: Literal["active", "denied", "restricted"]
    from_: str = Field(alias="from", min_length=1, max_length=MAX_TIME_CHARS, description="ISO 8601, inclusive")
    until: str | None = Field(default=None, max_length=MAX_TIME_CHARS, description="ISO 8601, exclusive")
    reason: str = Field(min_length=1, max_length=2000)
    allow: list[Annotated[str, Field(min_length=1, max_length=MAX_ID_CHARS)]] = Field(
        default_factory=list, max_length=50, description="for restricted: fleet:NAME, tenant:NAME, registered or "
                                                         "plan:NAME")
    when: PolicyCondition | None = Field(default=None, description="apply only where these conditions hold")
    url: str = Field(default="", max_length=2000, description="link to the public source (https://...)")
    source: str = Field(default="", max_length=2000, description="the source in words (outlet, date)")


@router.post("/policy", status_code=201, summary="Record a policy decision (operator or admin token)")
def policy_set(request: Request, change: PolicyChange, token: Annotated[TokenInfo, Depends(require_writer)]) -> dict:
    from ..policy.rules import Rule
    from ..policy.subjects import resolve_subject

    state = _state(request)
    start = instant(change.from_, field="from")
    end = instant(change.until, field="until") if change.until else None
    subject = resolve_subject(change.territory, state.known_regions())
    when = change.when.model_dump(exclude_none=True) if change.when is not None else None
    rule = Rule(subject=subject, state=change.state, valid_from=start, valid_until=end, allow=tuple(change.allow),
                when=when, url=change.url, source=change.source)
    with state.store() as store:
        entry = store.set(rule, by=token.name, reason=change.reason)
    return entry.as_dict()

