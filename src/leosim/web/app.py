"""The ASGI application of ``leosim serve``: API routes, the globe page and its static files, safety layers.

:func:`create_app` wires a :class:`~leosim.web.state.ServerState` into a FastAPI app:

* ``/api/...`` (see :mod:`leosim.web.routes`), OpenAPI schema at ``/openapi.json``, docs at ``/docs``
  are off (they would load scripts from a CDN);
* ``/`` the globe page and ``/ui/...`` its scripts (``leosim/web/frontend``), ``/static/cesium/...``
  CesiumJS as copied by ``scripts/build_web_assets.sh`` (absent: the API still works and the page says
  how to build it). Starlette's ``StaticFiles`` refuses paths that leave their folder;
* request bodies over ``max_body_bytes`` get 413, bodies without a ``Content-Length`` 411;
* no CORS headers unless ``cors_origins`` are given (browsers then refuse cross-origin reads);
* on a loopback bind only ``Host: localhost / 127.0.0.1 / [::1]`` is accepted (DNS-rebinding guard for
  the open reads);
* every answer carries ``X-Content-Type-Options: nosniff``, ``Referrer-Policy: no-referrer`` and a
  Content-Security-Policy that lets pages reach only this server;
* uvicorn's access log never shows a token, even one sent in a query string (:class:`RedactTokenFilter`).

Errors share one body (:class:`leosim.web.routes.ErrorBody`): ``{"error": message, "status": HTTP status,
"code": kind of fault, "field": the parameter or body field at fault or null}`` (422s from request
validation add ``detail``, pydantic's list). One status per kind of fault:

====  ====================  ==============================================================================
400   ``bad_request``       the request cannot be read: a body that is not JSON, a bad Content-Length
401   ``unauthorized``      no valid token where one is needed
403   ``forbidden``         the token's role may not do this
404   ``not_found``         no such path
405   ``method_not_allowed``
411   ``length_required``   a body without Content-Length
413   ``payload_too_large`` a body over the limit
422   ``invalid_input``     a parameter or field of the wrong type, out of range (instants outside the
                            supported range included), unknown (a site, a territory) or inconsistent
503   ``store_busy``        the policy store's write lock is held by another process; try again
500   ``store_damaged`` / ``internal``  the policy store cannot be read, or a bug (logged)
====  ====================  ==============================================================================
"""

from __future__ import annotations

import copy
import logging
import re
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.cors import CORSMiddleware
from starlette.middleware.trustedhost import TrustedHostMiddleware

from ..errors import LeosimInputError, LeosimStoreBusy, LeosimStoreError
from .auth import is_loopback
from .routes import router
from .state import ServerState

#: Largest accepted request body, bytes (a policy change is well under 4 KiB).
MAX_BODY_BYTES = 64 * 1024
WEB_DIR = Path(__file__).resolve().parent
FRONTEND_DIR = WEB_DIR / "frontend"
STATIC_DIR = WEB_DIR / "static"
CESIUM_DIR = STATIC_DIR / "cesium"
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "[::1]", "::1")

#: Pages may load and fetch from this server only (no outside request, by construction). Cesium needs
#: eval-free workers from blob: URLs and inline styles.
CONTENT_SECURITY_POLICY = ("default-src 'self'; script-src 'self' 'unsafe-eval' blob:; worker-src 'self' blob:; "
                           "style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; connect-src 'self' "
                           "data: blob:; font-src 'self' data:; object-src 'none'; base-uri 'none'; "
                           "frame-ancestors 'none'")

log = logging.getLogger("leosim.web")


def cesium_available(static_dir: Path = STATIC_DIR) -> bool:
    """Whether ``scripts/build_web_assets.sh`` has copied CesiumJS into the static folder."""
    cesium = Path(static_dir) / "cesium"
    return (cesium / "Cesium.js").is_file() and (cesium / "Assets" / "Textures" / "NaturalEarthII").is_dir()


#: The ``code`` of each error status (see the module doc).
ERROR_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
               405: "method_not_allowed", 411: "length_required", 413: "payload_too_large",
               422: "invalid_input", 500: "internal", 503: "store_busy"}


def _error(status: int, message: str, *, field: str | None = None, code: str | None = None, headers=None,
           **extra) -> JSONResponse:
    """The one error body: ``{"error", "status", "code", "field"}`` (plus ``detail`` where given)."""
    body = {"error": message, "status": status, "code": code or ERROR_CODES.get(status, "error"),
            "field": field, **extra}
    return JSONResponse(body, status_code=status, headers=headers)


#: Query parameters whose values are secrets, and the shape of a leosim token anywhere in a URL.
_SECRET_QUERY = re.compile(r"((?:^|[?&;])(?:token|access_token|api_key|apikey|key|auth|authorization|bearer)=)"
                           r"[^&;#\s]*", re.IGNORECASE)
_TOKEN_TEXT = re.compile(r"leosim_[A-Za-z0-9_\-]+")
REDACTED = "[redacted]"


def redact_url(text: str) -> str:
    """``text`` (a path with its query string) with token-like values replaced by ``[redacted]``."""
    return _TOKEN_TEXT.sub(REDACTED, _SECRET_QUERY.sub(lambda m: m.group(1) + REDACTED, text))


class RedactTokenFilter(logging.Filter):
    """Redacts tokens from uvicorn access-log records (their third argument is the path and query)."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str):
            record.args = (*args[:2], redact_url(args[2]), *args[3:])
        elif isinstance(record.msg, str):
            record.msg = redact_url(record.msg)
        return True


def uvicorn_log_config() -> dict:
    """uvicorn's default logging configuration with :class:`RedactTokenFilter` on its access log."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config.setdefault("filters", {})["redact_tokens"] = {"()": f"{__name__}.RedactTokenFilter"}
    config["handlers"]["access"].setdefault("filters", []).append("redact_tokens")
    return config


class BodyLimitMiddleware:
    """413 for a declared body over ``max_bytes``; 411 for a body sent without a length (chunked)."""

    def __init__(self, app, max_bytes: int = MAX_BODY_BYTES):
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http":
            headers = dict(scope.get("headers") or ())
            length = headers.get(b"content-length")
            if length is not None:
                if not length.strip().isdigit():
                    await _error(400, "Content-Length is not a number")(scope, receive, send)
                    return
                if int(length) > self.max_bytes:
                    await _error(413, f"request body over {self.max_bytes} bytes")(scope, receive, send)
                    return
            elif b"chunked" in headers.get(b"transfer-encoding", b"").lower():
                await _error(411, "send a Content-Length with request bodies")(scope, receive, send)
                return
        await self.app(scope, receive, send)


class SecurityHeadersMiddleware:
    """Adds nosniff, no-referrer and the Content-Security-Policy to every answer."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                headers = list(message.get("headers") or [])
                headers += [(b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"no-referrer"),
                            (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
                            (b"x-frame-options", b"DENY")]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _version() -> str:
    try:
        return version("leosim")
    except PackageNotFoundError:  # pragma: no cover - source tree without install
        return "0"


def create_app(state: ServerState, *, host: str = "127.0.0.1", allowed_hosts=None, cors_origins=(),
               max_body_bytes: int = MAX_BODY_BYTES, static_dir: Path | str = STATIC_DIR) -> FastAPI:
    """The FastAPI app serving ``state``, configured for a server bound to ``host``.

    Reads are open when ``host`` is a loopback address, token-protected otherwise. ``allowed_hosts``
    (Host header values; default: the loopback names on a loopback bind, any otherwise) and
    ``cors_origins`` (default none: CORS closed) tighten or open the defaults.
    """
    app = FastAPI(title="leosim", version=_version(), docs_url=None, redoc_url=None,
                  description="The operator API of leosim: constellation, sites, access, routes, RTT and "
                              "service policy. Reads are open on loopback; writes need an operator token "
                              "(Authorization: Bearer).")
    static_dir = Path(static_dir)
    app.state.leosim = state
    app.state.reads_open = is_loopback(host)
    app.state.globe_available = cesium_available(static_dir)

    @app.exception_handler(LeosimInputError)
    async def input_error(request: Request, error: LeosimInputError):
        return _error(422, str(error), field=error.field)

    @app.exception_handler(LeosimStoreError)
    async def store_error(request: Request, error: LeosimStoreError):
        if isinstance(error, LeosimStoreBusy):
            return _error(503, str(error), headers={"Retry-After": "1"})
        log.error("policy store unusable: %s", error)
        return _error(500, str(error), code="store_damaged")

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, error: RequestValidationError):
        details = jsonable_encoder(error.errors(), custom_encoder={Exception: str})
        where = "; ".join(f"{'.'.join(str(p) for p in d.get('loc', ()))}: {d.get('msg', '')}" for d in details)
        first = details[0] if details else {}
        loc = [str(p) for p in first.get("loc", ())]
        field = ".".join(loc[1:] if len(loc) > 1 and loc[0] in ("query", "body", "path", "header") else loc)
        unreadable = any(d.get("type") == "json_invalid" for d in details)  # the body is not JSON at all
        return _error(400 if unreadable else 422, f"invalid request: {where}", field=field or None,
                      detail=details)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException):
        return _error(error.status_code, str(error.detail), headers=error.headers)

    @app.exception_handler(Exception)
    async def server_error(request: Request, error: Exception):
        log.exception("internal error on %s %s", request.method, request.url.path)
        return _error(500, "internal server error")

    app.include_router(router)

    @app.get("/", include_in_schema=False)
    def index():
        return FileResponse(FRONTEND_DIR / "index.html", media_type="text/html")

    app.mount("/ui", StaticFiles(directory=FRONTEND_DIR), name="ui")
    if static_dir.is_dir():
        app.mount("/static", StaticFiles(directory=static_dir), name="static")
    else:
        @app.get("/static/{path:path}", include_in_schema=False)
        def no_static(path: str):
            return _error(404, "static assets not built (scripts/build_web_assets.sh)")

    if allowed_hosts is None:
        allowed_hosts = [*LOOPBACK_HOSTS, host] if is_loopback(host) else ["*"]
    app.add_middleware(BodyLimitMiddleware, max_bytes=max_body_bytes)
    if list(allowed_hosts) != ["*"]:
        app.add_middleware(TrustedHostMiddleware, allowed_hosts=list(allowed_hosts))
    if cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=list(cors_origins), allow_methods=["GET", "POST"],
                           allow_headers=["Authorization", "Content-Type"])
    app.add_middleware(SecurityHeadersMiddleware)  # outermost: every answer gets the headers
    return app
