"""The e-CODEX poll: one round of fetching from the node's connector clients (activities/ecodex.py).

Started by a Temporal schedule the worker creates, one per node, so however many workers a node runs, one
round runs at a time (the schedule's overlap policy skips a round while the last one still runs): the
connector client's list endpoints do no locking and hand each message out once."""

from __future__ import annotations

from datetime import timedelta

from pydantic import BaseModel, Field
from temporalio import workflow
from temporalio.common import RetryPolicy


class EcodexPollInput(BaseModel):
    state: str


class EcodexPollResult(BaseModel):
    received: int = 0
    refused: int = 0
    evidences: int = 0
    errors: list[str] = Field(default_factory=list)


def poll_schedule_id(state: str) -> str:
    return f"ecodex-poll-{state}"


@workflow.defn(name="EcodexPoll")
class EcodexPoll:
    @workflow.run
    async def run(self, inp: EcodexPollInput) -> EcodexPollResult:
        # One attempt: the next scheduled round is the retry, and a round never runs twice at once.
        result: EcodexPollResult = await workflow.execute_activity(
            "poll_ecodex", inp, result_type=EcodexPollResult, start_to_close_timeout=timedelta(minutes=10),
            retry_policy=RetryPolicy(maximum_attempts=1))
        return result
