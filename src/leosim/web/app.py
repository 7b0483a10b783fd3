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
  Content-Security-Policy that lets pages reach only this server.
"""

from __future__ import annotations

import logging
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

from ..errors import LeosimInputError
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


def _error(status: int, message: str, **extra) -> JSONResponse:
    headers = extra.pop("headers", None)
    return JSONResponse({"error": message, **extra}, status_code=status, headers=headers)


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
        return _error(400, str(error), field=error.field)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, error: RequestValidationError):
        details = jsonable_encoder(error.errors(), custom_encoder={Exception: str})
        where = "; ".join(f"{'.'.join(str(p) for p in d.get('loc', ()))}: {d.get('msg', '')}" for d in details)
        return _error(422, f"invalid request: {where}", detail=details)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException):
        return _error(error.status_code, str(error.detail), detail=error.detail, headers=error.headers)

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
