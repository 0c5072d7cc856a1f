"""Bearer tokens (stored as SHA-256 only, scopes read / push / admin, revocable) and rate limits.

A token is 32 random bytes (``lb_`` + urlsafe base64), so a fast unsalted hash is enough: there
is nothing to brute-force, and lookup by hash is one indexed query. The token text is shown once
when created and never logged or stored.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass

from sqlalchemy import Engine, select

from leaderboard.db import read_session, write_session
from leaderboard.models import SCOPES, Token, User, utcnow

PREFIX = "lb_"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Principal:
    token_id: int
    user: str
    scopes: frozenset[str]

    def allows(self, scope: str) -> bool:
        return scope in self.scopes or "admin" in self.scopes


USER_PATTERN = r"^[A-Za-z0-9_.@-]+$"  # a token's user name (POST /api/tokens, token create)
MAX_TOKEN_ID = 2**31 - 1  # ids are INTEGER on SQLite and PostgreSQL


def check_user(user: str) -> None:
    """A user name as POST /api/tokens takes it (1-100 characters: letters, digits, _ . @ -);
    ValueError otherwise (the users table holds 100 characters on every database)."""
    if not 1 <= len(user) <= 100 or re.match(USER_PATTERN, user) is None:
        raise ValueError(f"user name {user!r:.60} must be 1-100 characters of letters, digits "
                         "and _ . @ - (as POST /api/tokens takes it)")


def create_token(engine: Engine, user: str, scopes: list[str]) -> tuple[int, str]:
    """A new token for ``user`` (created if new); returns (id, token text: show it once)."""
    check_user(user)
    bad = sorted(set(scopes) - set(SCOPES))
    if bad or not scopes:
        raise ValueError(f"scopes must be a non-empty subset of {', '.join(SCOPES)}; got {scopes}")
    token = PREFIX + secrets.token_urlsafe(32)
    with write_session(engine) as s:
        found = s.scalars(select(User).where(User.name == user)).first()
        if found is None:
            found = User(name=user)
            s.add(found)
            s.flush()
        row = Token(user_id=found.id, token_hash=hash_token(token), prefix=token[:10],
                    scopes=",".join(sorted(set(scopes))))
        s.add(row)
        s.flush()
        return row.id, token


def revoke_token(engine: Engine, token_id: int) -> bool:
    with write_session(engine) as s:
        row = s.get(Token, token_id)
        if row is None:
            return False
        if row.revoked_at is None:
            row.revoked_at = utcnow()
        return True


def list_tokens(engine: Engine) -> list[dict[str, object]]:
    with read_session(engine) as s:
        return [{"id": t.id, "user": t.user.name, "prefix": t.prefix, "scopes": t.scopes,
                 "created_at": t.created_at.isoformat(),
                 "revoked_at": t.revoked_at.isoformat() if t.revoked_at else None}
                for t in s.scalars(select(Token).order_by(Token.id))]


class AuthError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


def authenticate(engine: Engine, header: str | None, scope: str) -> Principal:
    """401 without a valid token, 403 when revoked or lacking the scope."""
    if not header:
        raise AuthError(401, "missing bearer token: send 'Authorization: Bearer <token>' "
                             "(create one with `imitation-leaderboard token create`)")
    kind, _, token = header.partition(" ")
    if kind.lower() != "bearer" or not token.strip():
        raise AuthError(401, "malformed Authorization header: expected 'Bearer <token>'")
    digest = hash_token(token.strip())
    with read_session(engine) as s:
        row = s.scalars(select(Token).where(Token.token_hash == digest)).first()
        if row is None or not hmac.compare_digest(row.token_hash, digest):
            raise AuthError(401, "invalid token")
        if row.revoked_at is not None:
            raise AuthError(403, f"token {row.prefix}... was revoked")
        principal = Principal(row.id, row.user.name, row.scope_set())
    if not principal.allows(scope):
        raise AuthError(403, f"token lacks the '{scope}' scope (it has: "
                             f"{', '.join(sorted(principal.scopes))})")
    return principal


class RateLimiter:
    """Sliding one-minute window per key (token id or client address), thread-safe. In-process:
    run one server process per database, or put a shared limiter in front."""

    def __init__(self, per_minute: int, clock=time.monotonic) -> None:  # noqa: ANN001
        self.per_minute = per_minute
        self.clock = clock
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()
        self._swept = clock()

    def __len__(self) -> int:
        """How many keys are remembered (those seen within the last minute, give or take one)."""
        return len(self._hits)

    def check(self, key: str) -> float:
        """0 when allowed (and counted); else the seconds to wait."""
        now = self.clock()
        with self._lock:
            if now - self._swept >= 60.0:  # forget keys idle for a minute (memory stays bounded
                self._swept = now          # by the keys of the last two minutes)
                self._hits = {k: h for k, h in self._hits.items() if h and now - h[-1] < 60.0}
            hits = self._hits.setdefault(key, deque())
            while hits and now - hits[0] >= 60.0:
                hits.popleft()
            if len(hits) >= self.per_minute:
                return max(0.001, 60.0 - (now - hits[0]))
            hits.append(now)
            return 0.0
