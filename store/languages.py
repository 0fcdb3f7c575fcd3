"""The page language a user chose (migration 0016): read at sign-in, written when they pick one."""

from __future__ import annotations

from typing import Any

from psycopg_pool import AsyncConnectionPool


async def chosen_language(pool: AsyncConnectionPool[Any], user_id: int) -> str | None:
    async with pool.connection() as conn:
        cur = await conn.execute("SELECT language FROM users WHERE id = %s", (user_id,))
        row = await cur.fetchone()
    if row is None:
        return None
    value = row["language"] if isinstance(row, dict) else row[0]
    return str(value) if value else None


async def remember_language(pool: AsyncConnectionPool[Any], user_id: int, language: str) -> None:
    async with pool.connection() as conn:
        await conn.execute("UPDATE users SET language = %s WHERE id = %s", (language, user_id))
