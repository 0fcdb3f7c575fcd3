"""The side effects of the retention sweep: erasure in PostgreSQL, audited as the system's own act."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from psycopg_pool import AsyncConnectionPool
from temporalio import activity

from store import audit
from store.retention import erase_closed_cases, erase_stale_drafts
from workflows.retention import RetentionBatch, RetentionInput


class RetentionActivities:
    def __init__(self, pool: AsyncConnectionPool[Any]) -> None:
        self.pool = pool

    @activity.defn(name="erase_closed_cases")
    async def erase_closed_cases(self, inp: RetentionInput) -> RetentionBatch:
        cutoff = datetime.now(UTC) - timedelta(days=inp.retention_days)
        ids = await erase_closed_cases(self.pool, closed_before=cutoff, batch=inp.batch)
        drafts = await erase_stale_drafts(self.pool, untouched_before=cutoff)
        async with self.pool.connection() as conn:
            for case_id in ids:
                await audit.record(conn, user_name="retention", role="system", authority=None, case_id=case_id,
                                   action="personal_data_erased",
                                   detail={"retention_days": inp.retention_days})
        return RetentionBatch(erased=ids, drafts_removed=drafts)

    def all(self) -> list[Any]:
        return [self.erase_closed_cases]


async def ensure_schedule(client: Any, state: str, task_queue: str, retention_days: int, every_hours: int) -> None:
    """Create the node's retention schedule, or bring an existing one up to the current settings."""
    from temporalio.client import (
        Schedule,
        ScheduleActionStartWorkflow,
        ScheduleAlreadyRunningError,
        ScheduleIntervalSpec,
        ScheduleOverlapPolicy,
        SchedulePolicy,
        ScheduleSpec,
        ScheduleUpdate,
        ScheduleUpdateInput,
    )

    from workflows.retention import schedule_id

    schedule = Schedule(
        action=ScheduleActionStartWorkflow("RetentionSweep", RetentionInput(retention_days=retention_days),
                                           id=f"retention-sweep-{state}", task_queue=task_queue),
        spec=ScheduleSpec(intervals=[ScheduleIntervalSpec(every=timedelta(hours=every_hours))]),
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP),
    )
    try:
        await client.create_schedule(schedule_id(state), schedule)
    except ScheduleAlreadyRunningError:
        async def update(_: ScheduleUpdateInput) -> ScheduleUpdate:
            return ScheduleUpdate(schedule=schedule)

        await client.get_schedule_handle(schedule_id(state)).update(update)
