"""Who may do what: bearer tokens (``Authorization: Bearer <token>``) checked against the policy store.

* Reads are open when the server is bound to a loopback address (only this machine can reach it) and
  need a token of any role otherwise.
* Writes always need an ``operator`` or ``admin`` token: 401 without a (valid) token, 403 with a
  ``viewer`` token.

Tokens travel only in the ``Authorization`` header — never in the URL, which access logs print.
"""

from __future__ import annotations

import ipaddress
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from ..policy.tokens import TokenInfo, verify_token

bearer = HTTPBearer(auto_error=False, description="An API token from `leosim token create`.")
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]

_LOOPBACK_NAMES = ("localhost",)


def is_loopback(host: str) -> bool:
    """Whether a bind address only accepts connections from this machine (127.0.0.0/8, ::1, localhost)."""
    name = host.strip().strip("[]").lower()
    if name in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def _unauthorized(message: str) -> HTTPException:
    return HTTPException(status_code=401, detail=message, headers={"WWW-Authenticate": "Bearer"})


def _token(request: Request, credentials: HTTPAuthorizationCredentials | None) -> TokenInfo | None:
    if credentials is None or credentials.scheme.lower() != "bearer":
        return None
    with request.app.state.leosim.store(read_only=True) as store:
        return verify_token(store, credentials.credentials)


def require_reader(request: Request,
                   credentials: Credentials) -> TokenInfo | None:
    """Let a read through: open on loopback, else any valid token (401 otherwise)."""
    if request.app.state.reads_open:
        return None
    info = _token(request, credentials)
    if info is None:
        raise _unauthorized("a token is needed to read from a server bound to a non-loopback address "
                            "(Authorization: Bearer <token>; make one with `leosim token create`)")
    return info


def require_writer(request: Request,
                   credentials: Credentials) -> TokenInfo:
    """Let a write through only with an operator or admin token (401 without a valid token, 403 for viewers)."""
    if credentials is None:
        raise _unauthorized("changing policy needs a token: Authorization: Bearer <token> "
                            "(make one with `leosim token create --role operator`)")
    info = _token(request, credentials)
    if info is None:
        raise _unauthorized("unknown or revoked token")
    if not info.can_write:
        raise HTTPException(status_code=403, detail=f"role {info.role!r} may not change policy; "
                                                    "an operator or admin token is needed")
    return info
