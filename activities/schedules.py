"""The node's recurring work (retention sweep, e-CODEX poll) as Temporal schedules, kept to the settings."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

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


async def ensure_interval_schedule(client: Any, schedule_id: str, workflow: str, arg: Any, *, workflow_id: str,
                                   task_queue: str, every: timedelta) -> None:
    """Create the schedule that starts `workflow` every `every`, or bring an existing one up to these settings
    (each worker of a node calls this at start: the second one updates, it does not fail). Never two runs at
    once: a round still running when the next is due is skipped."""
    schedule = Schedule(
        action=ScheduleActionStartWorkflow(workflow, arg, id=workflow_id, task_queue=task_queue),
        spec=ScheduleSpec(intervals=[ScheduleIntervalSpec(every=every)]),
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP),
    )
    try:
        await client.create_schedule(schedule_id, schedule)
    except ScheduleAlreadyRunningError:
        async def update(_: ScheduleUpdateInput) -> ScheduleUpdate:
            return ScheduleUpdate(schedule=schedule)

        await client.get_schedule_handle(schedule_id).update(update)
