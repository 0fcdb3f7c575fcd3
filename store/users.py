"""Users, their authorities and API tokens."""

from __future__ import annotations

import hashlib
import secrets
import time
import weakref
from dataclasses import dataclass
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from psycopg import AsyncConnection, Connection
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

ROLES = ("officer", "prosecutor", "supervisor", "auditor", "admin")

_hasher = PasswordHasher()


@dataclass(frozen=True)
class User:
    id: int
    name: str
    role: str
    authorities: tuple[str, ...]

    def may_see(self, authority: str) -> bool:
        return authority in self.authorities


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    return "prb_" + secrets.token_urlsafe(32)


def create_user(conn: Connection[Any], name: str, role: str, authorities: list[str],
                password: str | None = None) -> str:
    """Create (or update the role and authorities of) a user, and issue a fresh API token."""
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}")
    if not authorities:
        raise ValueError("a user belongs to at least one authority")
    pw_hash = _hasher.hash(password) if password else None
    with conn.transaction():
        row = conn.execute(
            "INSERT INTO users (name, role, authorities, password_hash) VALUES (%s, %s, %s, %s)"
            " ON CONFLICT (name) DO UPDATE SET role = EXCLUDED.role, authorities = EXCLUDED.authorities,"
            " password_hash = COALESCE(EXCLUDED.password_hash, users.password_hash)"
            " RETURNING id",
            (name, role, authorities, pw_hash),
        ).fetchone()
        assert row is not None
        token = new_token()
        conn.execute("INSERT INTO api_tokens (token_hash, user_id) VALUES (%s, %s)",
                     (token_digest(token), _first(row)))
    return token


def token_is_valid(conn: Connection[Any], token: str) -> bool:
    return conn.execute("SELECT 1 FROM api_tokens WHERE token_hash = %s", (token_digest(token),)).fetchone() \
        is not None


def _first(row: Any) -> Any:
    return row["id"] if isinstance(row, dict) else row[0]


def _user(row: dict[str, Any]) -> User:
    return User(id=row["id"], name=row["name"], role=row["role"], authorities=tuple(row["authorities"]))


# A token looked up less than this long ago is not looked up again: a page refreshing itself or an
# integration polling costs no database round trip per request. A token deleted from the database (or a
# user's role or authorities changed) takes effect within this time.
TOKEN_CACHE_SECONDS = 5.0
_TOKEN_CACHE_SIZE = 10_000
# Per pool (per node's database): tests and `probatio simulate` run several nodes in one process.
_recent_tokens: weakref.WeakKeyDictionary[AsyncConnectionPool[Any], dict[str, tuple[float, User]]] = (
    weakref.WeakKeyDictionary())


async def user_for_token(pool: AsyncConnectionPool[Any], token: str) -> User | None:
    digest = token_digest(token)
    recent = _recent_tokens.setdefault(pool, {})
    hit = recent.get(digest)
    if hit is not None and time.monotonic() - hit[0] < TOKEN_CACHE_SECONDS:
        return hit[1]
    user = await _user_for_digest(pool, digest)
    if user is not None:
        if len(recent) >= _TOKEN_CACHE_SIZE:
            recent.clear()
        recent[digest] = (time.monotonic(), user)
    else:
        recent.pop(digest, None)
    return user


async def _user_for_digest(pool: AsyncConnectionPool[Any], digest: str) -> User | None:
    async with pool.connection() as conn:
        cur = await conn.execute(
            "SELECT u.id, u.name, u.role, u.authorities, t.last_used_at < now() - interval '1 minute'"
            " OR t.last_used_at IS NULL AS stale FROM api_tokens t JOIN users u ON u.id = t.user_id"
            " WHERE t.token_hash = %s", (digest,))
        row = await cur.fetchone()
        # Note the last use at most once a minute: a write on every request would cost every read its sync.
        if row and row["stale"]:
            await conn.execute("UPDATE api_tokens SET last_used_at = now() WHERE token_hash = %s", (digest,))
    return _user(row) if row else None


async def user_by_name(conn: AsyncConnection[Any], name: str) -> tuple[User, str | None] | None:
    cur = await conn.execute("SELECT id, name, role, authorities, password_hash FROM users WHERE name = %s", (name,))
    row = await cur.fetchone()
    return (_user(row), row["password_hash"]) if row else None


def password_matches(password_hash: str | None, password: str) -> bool:
    if not password_hash:
        return False
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def list_users(conn: Connection[Any]) -> list[dict[str, Any]]:
    """Every user, by name: role, authorities, whether a password is set, live API tokens, created when."""
    cur = conn.cursor(row_factory=dict_row)
    cur.execute(
        "SELECT u.name, u.role, u.authorities, u.password_hash IS NOT NULL AS has_password, u.created_at,"
        " count(t.token_hash) AS tokens, max(t.last_used_at) AS last_used_at"
        " FROM users u LEFT JOIN api_tokens t ON t.user_id = u.id GROUP BY u.id ORDER BY u.name")
    return list(cur.fetchall())
