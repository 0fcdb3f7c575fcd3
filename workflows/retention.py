"""The retention sweep: erases the personal data of cases closed longer ago than the node's retention
period. Started by a Temporal schedule the worker creates (one per node), so a missed night is caught up
and two workers never sweep at once (the schedule's overlap policy)."""

from __future__ import annotations

from datetime import timedelta

from pydantic import BaseModel
from temporalio import workflow
from temporalio.common import RetryPolicy


class RetentionInput(BaseModel):
    retention_days: int
    batch: int = 200


class RetentionBatch(BaseModel):
    erased: list[str]
    drafts_removed: int = 0


class AuditChainCheck(BaseModel):
    intact: bool
    rows: int
    first_problem: str | None = None


class RetentionResult(BaseModel):
    erased: int
    drafts_removed: int
    # The audit log's hash chain, checked after each sweep (None in sweeps from before the check existed).
    audit_intact: bool | None = None


def schedule_id(state: str) -> str:
    return f"retention-{state}"


@workflow.defn(name="RetentionSweep")
class RetentionSweep:
    @workflow.run
    async def run(self, inp: RetentionInput) -> RetentionResult:
        erased = 0
        drafts = 0
        # Batches keep each transaction short; the ids stay in the activity's result only (no names).
        for _ in range(1000):
            batch = await workflow.execute_activity(
                "erase_closed_cases", inp, result_type=RetentionBatch,
                start_to_close_timeout=timedelta(minutes=5),
                retry_policy=RetryPolicy(maximum_interval=timedelta(minutes=5)))
            erased += len(batch.erased)
            drafts += batch.drafts_removed
            if len(batch.erased) < inp.batch:
                break
        audit_intact = None
        if workflow.patched("verify-audit-chain"):
            check = await workflow.execute_activity(
                "verify_audit_chain", result_type=AuditChainCheck, start_to_close_timeout=timedelta(minutes=30),
                retry_policy=RetryPolicy(maximum_attempts=3))
            audit_intact = check.intact
        return RetentionResult(erased=erased, drafts_removed=drafts, audit_intact=audit_intact)
