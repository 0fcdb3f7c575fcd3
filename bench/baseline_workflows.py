"""The lifecycle baseline: a bare Temporal workflow pair with the same number of updates, signals and
activities as one probatio transfer, the activities doing nothing but the peer deliveries (a signal, or
a signal-with-start for the first message). Deterministic: safe inside the workflow sandbox."""

from __future__ import annotations

from datetime import timedelta

from pydantic import BaseModel
from temporalio import workflow


class Plan(BaseModel):
    case_id: str
    task_queue: str
    updates: int  # updates this side receives from people; the last one sends the messages
    sends: int  # messages it sends to the peer (each an activity and a signal there)
    noops: int  # further activities, spread over start and updates
    signals: int  # messages it waits for from the peer (for the executing side: including the first)


class Delivery(BaseModel):
    case_id: str
    to: str  # "issuing" or "executing"
    first: bool
    plan: Plan | None = None  # the executing side's plan, sent with the first message


def _spread(total: int, parts: int) -> list[int]:
    return [total // parts + (1 if i < total % parts else 0) for i in range(parts)]


class _Side:
    to: str

    def _begin(self, plan: Plan) -> None:
        self.plan = plan
        self.updates_done = 0
        self.signals = 0
        self.peer_plan: Plan | None = None
        # Activities: one share at start, one per update.
        self.shares = _spread(plan.noops, plan.updates + 1)

    async def _noops(self, n: int) -> None:
        for _ in range(n):
            await workflow.execute_activity("base_noop", self.plan.case_id,
                                            start_to_close_timeout=timedelta(seconds=30))

    async def _step(self) -> str:
        self.updates_done += 1
        await self._noops(self.shares[self.updates_done])
        if self.updates_done == self.plan.updates:
            for i in range(self.plan.sends):
                await workflow.execute_activity(
                    "base_deliver", Delivery(case_id=self.plan.case_id, to=self.to, first=(i == 0),
                                             plan=self.peer_plan if i == 0 else None),
                    start_to_close_timeout=timedelta(seconds=30))
        return "ok"

    async def _main(self) -> int:
        await self._noops(self.shares[0])
        await workflow.wait_condition(
            lambda: self.updates_done >= self.plan.updates and self.signals >= self.plan.signals
            and workflow.all_handlers_finished())
        return self.signals


@workflow.defn(name="BaseIssuing")
class BaseIssuing(_Side):
    to = "executing"

    @workflow.init
    def __init__(self, plan: Plan, peer_plan: Plan) -> None:
        self._begin(plan)
        self.peer_plan = peer_plan

    @workflow.run
    async def run(self, plan: Plan, peer_plan: Plan) -> int:
        return await self._main()

    @workflow.update
    async def step(self) -> str:
        return await self._step()

    @workflow.signal
    def receive(self, message: str) -> None:
        self.signals += 1


@workflow.defn(name="BaseExecuting")
class BaseExecuting(_Side):
    to = "issuing"

    @workflow.init
    def __init__(self, plan: Plan) -> None:
        self._begin(plan)

    @workflow.run
    async def run(self, plan: Plan) -> int:
        return await self._main()

    @workflow.update
    async def step(self) -> str:
        return await self._step()

    @workflow.signal
    def receive(self, message: str) -> None:
        self.signals += 1


@workflow.defn(name="BaseSupervision")
class BaseSupervision:
    """The open-supervisions baseline: a workflow that holds a year's timer and waits for a signal."""

    def __init__(self) -> None:
        self.ended = False

    @workflow.run
    async def run(self, case_id: str) -> None:
        await workflow.wait_condition(lambda: self.ended, timeout=timedelta(days=365))

    @workflow.signal
    def end(self) -> None:
        self.ended = True

    @workflow.query
    def case_state(self) -> str:
        return "supervising"
