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
# Verified against when the user name is unknown, so that an answer takes as long whether or not the name
# exists (a fast "no" would tell an attacker which names to try passwords on).
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))
DEFAULT_TOKEN_DAYS = 90


class UserExists(Exception):
    """`users create` on a name that exists: a role change is `users set-role`, never a side effect."""


class NoSuchUser(Exception):
    pass


@dataclass(frozen=True)
class User:
    id: int
    name: str
    role: str
    authorities: tuple[str, ...]
    # An auditor who reads the audit log and the data about a person across every authority of the node:
    # only ever set on purpose (`probatio users create NAME --role auditor --node-wide`).
    node_wide: bool = False

    def may_see(self, authority: str) -> bool:
        return authority in self.authorities


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    return "prb_" + secrets.token_urlsafe(32)


def create_user(conn: Connection[Any], name: str, role: str, authorities: list[str],
                password: str | None = None, *, node_wide: bool = False,
                token_days: int = DEFAULT_TOKEN_DAYS) -> str:
    """Create a user and issue their first API token. An existing name raises UserExists: nothing changes."""
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}")
    if not authorities:
        raise ValueError("a user belongs to at least one authority")
    if node_wide and role != "auditor":
        raise ValueError("only an auditor can be node-wide")
    pw_hash = _hasher.hash(password) if password else None
    with conn.transaction():
        row = conn.execute(
            "INSERT INTO users (name, role, authorities, password_hash, node_wide) VALUES (%s, %s, %s, %s, %s)"
            " ON CONFLICT (name) DO NOTHING RETURNING id",
            (name, role, authorities, pw_hash, node_wide),
        ).fetchone()
        if row is None:
            raise UserExists(f"user {name} exists; change a role with `probatio users set-role {name} ROLE`, "
                             f"issue a token with `probatio users tokens {name} --new`")
        return _issue(conn, _first(row), token_days)


def _issue(conn: Connection[Any], user_id: int, token_days: int) -> str:
    token = new_token()
    conn.execute("INSERT INTO api_tokens (token_hash, user_id, expires_at)"
                 " VALUES (%s, %s, now() + %s * interval '1 day')", (token_digest(token), user_id, token_days))
    return token


def _user_id(conn: Connection[Any], name: str) -> int:
    row = conn.execute("SELECT id FROM users WHERE name = %s", (name,)).fetchone()
    if row is None:
        raise NoSuchUser(f"no user {name}")
    return int(_first(row))


def issue_token(conn: Connection[Any], name: str, token_days: int = DEFAULT_TOKEN_DAYS) -> str:
    """A fresh API token for an existing user (their other tokens stay valid until revoked or expired)."""
    return _issue(conn, _user_id(conn, name), token_days)


def create_or_issue(conn: Connection[Any], name: str, role: str, authorities: list[str],
                    password: str | None = None) -> str:
    """The demo users of `probatio dev`: created the first time, a fresh token for them afterwards."""
    try:
        return create_user(conn, name, role, authorities, password)
    except UserExists:
        return issue_token(conn, name)


def tokens_of(conn: Connection[Any], name: str) -> list[dict[str, Any]]:
    """A user's tokens, newest first: the first characters of each digest (never the token), and dates."""
    user_id = _user_id(conn, name)
    cur = conn.execute("SELECT left(token_hash, 12) AS digest, created_at, last_used_at, expires_at,"
                       " expires_at <= now() AS expired FROM api_tokens WHERE user_id = %s"
                       " ORDER BY created_at DESC", (user_id,))
    cols = [c.name for c in cur.description or ()]
    return [r if isinstance(r, dict) else dict(zip(cols, r, strict=True)) for r in cur.fetchall()]


def revoke(conn: Connection[Any], name: str, digest_prefix: str | None = None) -> int:
    """Delete the user's tokens (or the one whose digest starts so) and end their page sessions. A web
    process that looked a token up less than TOKEN_CACHE_SECONDS ago honours it that much longer."""
    user_id = _user_id(conn, name)
    with conn.transaction():
        if digest_prefix:
            cur = conn.execute("DELETE FROM api_tokens WHERE user_id = %s AND token_hash LIKE %s",
                               (user_id, digest_prefix.replace("%", "").replace("_", "") + "%"))
        else:
            cur = conn.execute("DELETE FROM api_tokens WHERE user_id = %s", (user_id,))
            conn.execute("DELETE FROM web_sessions WHERE user_id = %s", (user_id,))
    return int(cur.rowcount)


def set_role(conn: Connection[Any], name: str, role: str) -> str:
    """Change a user's role on purpose; returns the previous role. Node-wide reading ends with the auditor role."""
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}")
    user_id = _user_id(conn, name)
    row = conn.execute("SELECT role FROM users WHERE id = %s", (user_id,)).fetchone()
    old = str(row["role"] if isinstance(row, dict) else row[0]) if row else ""
    conn.execute("UPDATE users SET role = %s, node_wide = node_wide AND %s = 'auditor' WHERE id = %s",
                 (role, role, user_id))
    return old


def token_is_valid(conn: Connection[Any], token: str) -> bool:
    return conn.execute("SELECT 1 FROM api_tokens WHERE token_hash = %s AND expires_at > now()",
                        (token_digest(token),)).fetchone() is not None


def _first(row: Any) -> Any:
    return row["id"] if isinstance(row, dict) else row[0]


def _user(row: dict[str, Any]) -> User:
    return User(id=row["id"], name=row["name"], role=row["role"], authorities=tuple(row["authorities"]),
                node_wide=bool(row.get("node_wide")))


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
            "SELECT u.id, u.name, u.role, u.authorities, u.node_wide, t.last_used_at < now() - interval '1 minute'"
            " OR t.last_used_at IS NULL AS stale FROM api_tokens t JOIN users u ON u.id = t.user_id"
            " WHERE t.token_hash = %s AND t.expires_at > now()", (digest,))
        row = await cur.fetchone()
        # Note the last use at most once a minute: a write on every request would cost every read its sync.
        if row and row["stale"]:
            await conn.execute("UPDATE api_tokens SET last_used_at = now() WHERE token_hash = %s", (digest,))
    return _user(row) if row else None


async def user_by_name(conn: AsyncConnection[Any], name: str) -> tuple[User, str | None] | None:
    cur = await conn.execute("SELECT id, name, role, authorities, node_wide, password_hash FROM users WHERE name = %s",
                             (name,))
    row = await cur.fetchone()
    return (_user(row), row["password_hash"]) if row else None


def password_matches(password_hash: str | None, password: str) -> bool:
    """Always one Argon2 verification, also for an unknown user or one without a password (the dummy
    hash), so the time taken does not tell whether the name exists."""
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and bool(password_hash)
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
