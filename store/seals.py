"""The receiving node's record of the seal on each certificate PDF it received (migration 0017)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool

Row = dict[str, Any]


async def record(conn: AsyncConnection[Any], *, case_id: str, sha256: str, status: str, signer: str | None,
                 signed_at: datetime | None, detail: str) -> None:
    """Keep the check of one received document; the same document received twice keeps its first check."""
    await conn.execute(
        "INSERT INTO certificate_seals (case_id, sha256, status, signer, signed_at, detail)"
        " VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (case_id, sha256) DO NOTHING",
        (case_id, sha256, status, signer, signed_at, detail))


async def latest(pool: AsyncConnectionPool[Any], case_id: str) -> Row | None:
    """The check of the certificate PDF most recently received for the case (the one `certificate.pdf` serves)."""
    async with pool.connection() as conn:
        cur = await conn.execute(
            "SELECT s.status, s.signer, s.signed_at, s.detail, s.checked_at, s.sha256 FROM certificate_seals s"
            " JOIN documents d ON d.case_id = s.case_id AND d.sha256 = s.sha256 AND d.kind = 'certificate'"
            " WHERE s.case_id = %s ORDER BY d.id DESC LIMIT 1", (case_id,))
        row: Row | None = await cur.fetchone()
        return row
