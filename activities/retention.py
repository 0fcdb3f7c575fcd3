"""The side effects of the retention sweep: erasure in PostgreSQL, audited as the system's own act."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from psycopg_pool import AsyncConnectionPool
from temporalio import activity

from store import audit, sign_in
from store.audit_chain import anchor, verify_pool
from store.retention import erase_closed_cases, erase_stale_drafts
from workflows.retention import AuditChainCheck, RetentionBatch, RetentionInput

log = logging.getLogger(__name__)


class RetentionActivities:
    def __init__(self, pool: AsyncConnectionPool[Any], *, state: str = "",
                 key: Ed25519PrivateKey | None = None) -> None:
        self.pool = pool
        self.state = state
        self.key = key
        self.public_key = key.public_key() if key is not None else None

    @activity.defn(name="verify_audit_chain")
    async def verify_audit_chain(self) -> AuditChainCheck:
        """The nightly check of the audit log's hash chain (as `probatio audit verify`): a broken chain is
        logged as an error for the operator and recorded in the log itself."""
        report = await verify_pool(self.pool, state=self.state, public_key=self.public_key)
        first = report.problems[0] if report.problems else None
        found = f"seq {first.seq} (row {first.row_id}): {first.what}" if first else None
        if found:
            log.error("the audit log is not intact: %s; run `probatio audit verify`", found)
        elif self.key is not None and (signed := await anchor(self.pool, report, state=self.state, key=self.key)):
            # Also in the log, which leaves the host: a copy of the anchor outside the database it vouches for.
            log.info("audit log intact through seq %s; anchored (hash %s, signature %s)", signed["seq"],
                     bytes(signed["hash"]).hex(), signed["signature"])
        async with self.pool.connection() as conn:
            await audit.record(conn, user_name="retention", role="system", authority=None, case_id=None,
                               action="audit_chain_verified" if first is None else "audit_chain_broken",
                               detail={"rows": report.rows, "last_seq": report.last_seq, "first_problem": found})
        return AuditChainCheck(intact=first is None, rows=report.rows, first_problem=found)

    @activity.defn(name="erase_closed_cases")
    async def erase_closed_cases(self, inp: RetentionInput) -> RetentionBatch:
        cutoff = datetime.now(UTC) - timedelta(days=inp.retention_days)
        ids = await erase_closed_cases(self.pool, closed_before=cutoff, batch=inp.batch)
        drafts = await erase_stale_drafts(self.pool, untouched_before=cutoff)
        await sign_in.forget_old(self.pool)
        async with self.pool.connection() as conn:
            for case_id in ids:
                await audit.record(conn, user_name="retention", role="system", authority=None, case_id=case_id,
                                   action="personal_data_erased",
                                   detail={"retention_days": inp.retention_days})
        return RetentionBatch(erased=ids, drafts_removed=drafts)

    def all(self) -> list[Any]:
        return [self.erase_closed_cases, self.verify_audit_chain]


async def ensure_schedule(client: Any, state: str, task_queue: str, retention_days: int, every_hours: int) -> None:
    """Create the node's retention schedule, or bring an existing one up to the current settings."""
    from activities.schedules import ensure_interval_schedule
    from workflows.retention import schedule_id

    await ensure_interval_schedule(client, schedule_id(state), "RetentionSweep",
                                   RetentionInput(retention_days=retention_days),
                                   workflow_id=f"retention-sweep-{state}", task_queue=task_queue,
                                   every=timedelta(hours=every_hours))
