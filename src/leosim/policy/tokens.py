"""API tokens for ``leosim serve``: random secrets with a role, stored only as SHA-256 hashes.

A token is ``leosim_`` followed by 43 URL-safe characters (32 random bytes from :mod:`secrets`). The
policy store keeps its SHA-256 (hex) in the ``api_tokens`` table (migration 3 of
:data:`leosim.policy.store.MIGRATIONS`) with a name and a role, never the token itself, so a copy of the
database does not give anyone a working token. Verification hashes the presented token and compares it
with every active hash using :func:`hmac.compare_digest` (constant time, no early exit), so timing
does not reveal how much of a guess was right.

Token names are unique (case-insensitive, revoked tokens included): a name is the author of that
token's changes in the audit log, and must name one holder.

Roles, in increasing power: ``viewer`` (read), ``operator`` (read, change policy), ``admin`` (all).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import sqlite3
from dataclasses import dataclass

from ..errors import LeosimInputError
from ..timebase import parse_utc
from .store import store_error

ROLES = ("viewer", "operator", "admin")
"""Token roles, least to most powerful."""
WRITE_ROLES = ("operator", "admin")
"""Roles that may change policy."""
TOKEN_PREFIX = "leosim_"
#: Random bytes in a token (256 bits: not guessable, and SHA-256 without salt is enough for such secrets).
TOKEN_BYTES = 32
#: Longest text accepted as a token (longer input is refused before hashing).
MAX_TOKEN_CHARS = 128
#: Longest token name.
MAX_NAME_CHARS = 100


@dataclass(frozen=True)
class TokenInfo:
    """What a verified token stands for: its row id, ``name`` (the audit author) and ``role``."""

    token_id: int
    name: str
    role: str
    created_at: str

    @property
    def can_write(self) -> bool:
        return self.role in WRITE_ROLES


def token_sha256(token: str) -> str:
    """SHA-256 (hex) of a token's UTF-8 text: what the store keeps."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _check_name(name: str) -> str:
    if not isinstance(name, str) or not name.strip():
        raise LeosimInputError("token name must be a non-empty text", field="--name")
    name = name.strip()
    if len(name) > MAX_NAME_CHARS or not name.isprintable():
        raise LeosimInputError(f"token name must be printable and at most {MAX_NAME_CHARS} characters",
                               field="--name")
    return name


def create_token(store, *, name: str, role: str) -> str:
    """Make a new token for ``name`` with ``role`` in the :class:`~leosim.policy.store.PolicyStore`
    ``store``; returns the token (shown once: only its hash is stored)."""
    if role not in ROLES:
        raise LeosimInputError(f"unknown role {role!r}; accepted: {', '.join(ROLES)}", field="--role")
    name = _check_name(name)
    token = TOKEN_PREFIX + secrets.token_urlsafe(TOKEN_BYTES)
    created = str(parse_utc("now").astype("datetime64[s]")) + "Z"
    db = store._db  # same package: the store owns the connection and has already migrated the schema
    try:
        db.execute("BEGIN IMMEDIATE")
        try:
            taken = db.execute("SELECT id, revoked_at FROM api_tokens WHERE lower(name) = lower(?)",
                               (name,)).fetchone()
            if taken is not None:  # names are the audit log's authors: one name, one token, ever
                state = "revoked" if taken[1] else "active"
                raise LeosimInputError(f"token name {name!r} is taken (token #{taken[0]}, {state}); names are "
                                       "the authors in the audit log and must be unique: choose another",
                                       field="--name")
            db.execute("INSERT INTO api_tokens (name, role, token_sha256, created_at) VALUES (?, ?, ?, ?)",
                       (name, role, token_sha256(token), created))
            db.execute("COMMIT")
        except BaseException:
            store._rollback()
            raise
    except sqlite3.DatabaseError as error:
        raise store_error(error, store.path) from None
    return token


def verify_token(store, token: str | None) -> TokenInfo | None:
    """The :class:`TokenInfo` of an active token, or None (unknown, revoked, malformed or missing)."""
    if not token or not isinstance(token, str) or len(token) > MAX_TOKEN_CHARS:
        return None
    presented = token_sha256(token)
    found = None
    try:
        rows = store._db.execute("SELECT id, name, role, token_sha256, created_at FROM api_tokens "
                                 "WHERE revoked_at IS NULL").fetchall()
    except sqlite3.DatabaseError as error:
        raise store_error(error, store.path) from None
    for row in rows:  # compare with every row, no early exit: constant time in the token's content
        if hmac.compare_digest(presented, row[3]):
            found = row
    if found is None:
        return None
    return TokenInfo(token_id=int(found[0]), name=found[1], role=found[2], created_at=found[4])


def list_tokens(store) -> list[dict]:
    """Every token's id, name, role, created_at and revoked_at (never the hash)."""
    try:
        rows = store._db.execute("SELECT id, name, role, created_at, revoked_at FROM api_tokens ORDER BY id").fetchall()
    except sqlite3.DatabaseError as error:
        raise store_error(error, store.path) from None
    return [dict(zip(("id", "name", "role", "created_at", "revoked_at"), row, strict=True)) for row in rows]


def revoke_token(store, token_id: int) -> None:
    """Mark a token revoked (it stops working at once)."""
    revoked = str(parse_utc("now").astype("datetime64[s]")) + "Z"
    try:
        cursor = store._db.execute("UPDATE api_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
                                   (revoked, int(token_id)))
    except sqlite3.DatabaseError as error:
        raise store_error(error, store.path) from None
    if cursor.rowcount == 0:
        raise LeosimInputError(f"no active token #{token_id}", field="token_id")
