"""The documents attached to a transfer (Art 6(1)): the judgment, the probation decision, others.

They share the `documents` table with the rendered certificates (kind `certificate`), so retention and
the right-of-access export treat them alike; an attached document is one with a `doc_id`.
"""

from __future__ import annotations

from typing import Any

from psycopg import AsyncConnection
from psycopg.errors import UniqueViolation
from psycopg_pool import AsyncConnectionPool

Row = dict[str, Any]

# What a list shows of each document (the API's answer), never its content.
_LISTED = "doc_id AS id, kind, filename, sha256, size, lang AS language, added_by, created_at"


class AlreadyAttached(Exception):
    """The same file is already attached to this case as this kind in this language."""


async def attach(conn: AsyncConnection[Any], *, case_id: str, doc_id: str, kind: str, filename: str, language: str,
                 sha256: str, content: bytes, added_by: str) -> None:
    try:
        async with conn.transaction():
            await conn.execute(
                "INSERT INTO documents (case_id, doc_id, kind, filename, lang, media_type, sha256, size, content,"
                " added_by) VALUES (%s, %s, %s, %s, %s, 'application/pdf', %s, %s, %s, %s)",
                (case_id, doc_id, kind, filename, language, sha256, len(content), content, added_by),
            )
    except UniqueViolation as err:
        raise AlreadyAttached(f"this file is already attached as {kind} in {language}") from err


async def keep_received(conn: AsyncConnection[Any], *, case_id: str, doc_id: str, kind: str, filename: str,
                        language: str, sha256: str, content: bytes, sender: str) -> None:
    """A document that came with a certificate or completion; a repeat (a completion resends them) is kept once."""
    await conn.execute(
        "INSERT INTO documents (case_id, doc_id, kind, filename, lang, media_type, sha256, size, content, added_by)"
        " VALUES (%s, %s, %s, %s, %s, 'application/pdf', %s, %s, %s, %s) ON CONFLICT DO NOTHING",
        (case_id, doc_id, kind, filename, language, sha256, len(content), content, sender),
    )


async def listed(pool: AsyncConnectionPool[Any], case_id: str) -> list[Row]:
    async with pool.connection() as conn:
        cur = await conn.execute(
            f"SELECT {_LISTED} FROM documents WHERE case_id = %s AND doc_id IS NOT NULL ORDER BY documents.id",
            (case_id,))
        return list(await cur.fetchall())


async def with_content(pool: AsyncConnectionPool[Any], case_id: str) -> list[Row]:
    """Every attached document with its bytes, in the order they were attached: what a certificate carries."""
    async with pool.connection() as conn:
        cur = await conn.execute(
            f"SELECT {_LISTED}, content FROM documents WHERE case_id = %s AND doc_id IS NOT NULL ORDER BY documents.id",
            (case_id,))
        return list(await cur.fetchall())


async def one(pool: AsyncConnectionPool[Any], case_id: str, doc_id: str) -> Row | None:
    async with pool.connection() as conn:
        cur = await conn.execute(
            f"SELECT {_LISTED}, content FROM documents WHERE case_id = %s AND doc_id = %s", (case_id, doc_id))
        row: Row | None = await cur.fetchone()
        return row


async def totals(conn: AsyncConnection[Any], case_id: str) -> tuple[int, int]:
    """How many documents are attached and their bytes together."""
    cur = await conn.execute(
        "SELECT count(*) AS n, coalesce(sum(size), 0) AS bytes FROM documents WHERE case_id = %s"
        " AND doc_id IS NOT NULL", (case_id,))
    row = await cur.fetchone()
    assert row is not None
    return int(row["n"]), int(row["bytes"])


async def remove(pool: AsyncConnectionPool[Any], case_id: str, doc_id: str) -> bool:
    async with pool.connection() as conn:
        cur = await conn.execute("DELETE FROM documents WHERE case_id = %s AND doc_id = %s", (case_id, doc_id))
        return bool(cur.rowcount > 0)
