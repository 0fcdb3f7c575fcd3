"""Sessions of the pages: a random cookie secret (stored as a digest) and a CSRF token per session."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from psycopg_pool import AsyncConnectionPool

from store.users import User


@dataclass(frozen=True)
class Session:
    user: User
    csrf_token: str
    via: str


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


async def open_session(pool: AsyncConnectionPool[Any], user: User, *, lifetime: timedelta,
                       via: str = "password") -> str:
    """A new session for `user`; returns the cookie secret (shown once, stored only as a digest)."""
    secret = secrets.token_urlsafe(32)
    async with pool.connection() as conn:
        await conn.execute(
            "INSERT INTO web_sessions (token_hash, user_id, csrf_token, via, expires_at)"
            " VALUES (%s, %s, %s, %s, now() + %s)",
            (_digest(secret), user.id, secrets.token_urlsafe(32), via, lifetime),
        )
        # Expired sessions are of no use to anyone; sweep them as new ones are made.
        await conn.execute("DELETE FROM web_sessions WHERE expires_at < now()")
    return secret


async def session_for(pool: AsyncConnectionPool[Any], secret: str) -> Session | None:
    async with pool.connection() as conn:
        cur = await conn.execute(
            "SELECT u.id, u.name, u.role, u.authorities, u.node_wide, s.csrf_token, s.via FROM web_sessions s"
            " JOIN users u ON u.id = s.user_id WHERE s.token_hash = %s AND s.expires_at > now()",
            (_digest(secret),),
        )
        row = await cur.fetchone()
    if row is None:
        return None
    user = User(id=row["id"], name=row["name"], role=row["role"], authorities=tuple(row["authorities"]),
                node_wide=bool(row["node_wide"]))
    return Session(user=user, csrf_token=row["csrf_token"], via=row["via"])


async def close_session(pool: AsyncConnectionPool[Any], secret: str) -> None:
    async with pool.connection() as conn:
        await conn.execute("DELETE FROM web_sessions WHERE token_hash = %s", (_digest(secret),))
