"""Retention and the right of access: erasing the personal data of long-closed cases, and gathering
everything held about one person. The audit log is never touched (kept five years, store.audit)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from psycopg_pool import AsyncConnectionPool

from store.names import same_name

Row = dict[str, Any]

# What is kept of an erased case: no name, no date of birth, no address, no free text.
_ANONYMOUS_FACTS = """jsonb_build_object(
    'sex', COALESCE(certificate->'person'->>'sex', 'unknown'),
    'age_group', probatio_age_group(certificate->'person'->>'date_of_birth', certificate->'judgment'->>'delivered_on'),
    'judgment_type', certificate->'judgment_nature'->>'judgment_type')"""


async def erase_closed_cases(pool: AsyncConnectionPool[Any], *, closed_before: datetime,
                             batch: int = 200) -> list[str]:
    """Erase one batch of cases closed before `closed_before`; returns their ids (call again until empty).

    The certificate goes (anonymous facts stay for the statistics), and with it the free-text notes, the
    rendered documents and the node-link payloads that repeat the certificate. Stage, dates, timeline and
    deadlines stay: they are what the statistics and the audit trail need, and hold no personal data.
    """
    async with pool.connection() as conn, conn.transaction():
        # The lock order of every write of cases (migration 0031): the audit chain's head before case rows.
        await conn.execute("SELECT probatio_audit_chain_first()")
        cur = await conn.execute(
            "SELECT id FROM cases WHERE closed_at < %s AND erased_at IS NULL ORDER BY closed_at LIMIT %s"
            " FOR UPDATE SKIP LOCKED", (closed_before, batch))
        ids = [r["id"] for r in await cur.fetchall()]
        if not ids:
            return []
        await conn.execute(
            f"UPDATE cases SET anonymous_facts = CASE WHEN certificate IS NULL THEN anonymous_facts"
            f" ELSE {_ANONYMOUS_FACTS} END, certificate = NULL, certificate_before_correction = NULL,"
            f" erased_at = now() WHERE id = ANY(%s)", (ids,))
        await conn.execute("DELETE FROM notes WHERE case_id = ANY(%s)", (ids,))
        await conn.execute("DELETE FROM documents WHERE case_id = ANY(%s)", (ids,))
        await conn.execute(
            "UPDATE inbox SET envelope = jsonb_set(envelope, '{payload}', '{}'::jsonb)"
            " WHERE conversation_id = ANY(%s)", (ids,))
        await conn.execute("DELETE FROM transfer_drafts WHERE case_id = ANY(%s)", (ids,))
        # e-CODEX: the connector's token PDF names the document; the verdict itself stays as the record.
        await conn.execute("UPDATE ecodex_incoming SET trust_pdf = NULL, message = NULL"
                           " WHERE conversation_id = ANY(%s)", (ids,))
    return ids


async def erase_stale_drafts(pool: AsyncConnectionPool[Any], *, untouched_before: datetime) -> int:
    """Drafts that never became a case and nobody touched for the retention period."""
    async with pool.connection() as conn:
        cur = await conn.execute("DELETE FROM transfer_drafts WHERE case_id IS NULL AND updated_at < %s",
                                 (untouched_before,))
        return int(cur.rowcount)


async def data_about_person(pool: AsyncConnectionPool[Any], *, surname: str, forenames: str | None,
                            date_of_birth: date, within: Sequence[str] | None) -> dict[str, Any]:
    """Everything this node holds about one person: cases with their certificate, timeline, notes and
    document list, and unfinished drafts. Matching is on surname (and forenames when given, both without
    regard to case or accents) and the exact date of birth, so a namesake is not swept in. `within`: only the cases
    and drafts of these authorities (None: the whole node, for a node-wide auditor)."""
    # The date of birth narrows in SQL; the names are compared in Python, accents and case aside
    # (store.names: PostgreSQL's unaccent is an extension a server may not have).
    match = ("certificate->'person'->>'date_of_birth' = %s"
             " AND (%s::text[] IS NULL OR authority = ANY(%s::text[]))")
    scope = None if within is None else list(within)
    params = (date_of_birth.isoformat(), scope, scope)

    def theirs(row: dict[str, Any]) -> bool:
        person = (row.get("certificate") or {}).get("person") or {}
        return same_name(person.get("surname"), surname) and (
            not (forenames or "").strip() or same_name(person.get("forenames"), forenames or ""))

    async with pool.connection() as conn:
        found = [row for row in await (await conn.execute(
            f"SELECT id, direction, authority, issuing_state, executing_state, stage, outcome, created_at,"
            f" updated_at, closed_at, certificate FROM cases WHERE {match} ORDER BY created_at", params)).fetchall()
            if theirs(row)]
        ids = [r["id"] for r in found]
        timeline = list(await (await conn.execute(
            "SELECT case_id, at, type, actor, detail FROM timeline WHERE case_id = ANY(%s) ORDER BY case_id, at, id",
            (ids,))).fetchall())
        notes = list(await (await conn.execute(
            "SELECT case_id, author, texts, created_at FROM notes WHERE case_id = ANY(%s) ORDER BY created_at",
            (ids,))).fetchall())
        documents = list(await (await conn.execute(
            "SELECT case_id, kind, lang, media_type, sha256, created_at FROM documents WHERE case_id = ANY(%s)"
            " ORDER BY id", (ids,))).fetchall())
        drafts = [row for row in await (await conn.execute(
            f"SELECT id, authority, created_by, created_at, updated_at, certificate FROM transfer_drafts"
            f" WHERE case_id IS NULL AND {match}", params)).fetchall() if theirs(row)]
    return {"cases": found, "timeline": timeline, "notes": notes, "documents": documents, "drafts": drafts}
