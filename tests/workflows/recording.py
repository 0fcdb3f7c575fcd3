"""Activities for workflow tests that run the workflows as they are on a real Temporal server: they do nothing
but remember what each case published and sent (no database, no rendering, no peer)."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from temporalio import activity

from workflows.model import (
    AdaptationCheck,
    CaseFacts,
    CaseProjection,
    OutgoingMessage,
    SendResult,
    SubmissionCheck,
    TimelineEvent,
)

# How long writing a racing case to the database takes here, as it may in production: the moment between the
# last handler and the hand-over is then as wide on a fast machine as on a slow one, and races land in it.
SLOW_PUBLISH = 0.03


class Recorder:
    """The timeline events each case published and the messages it sent; `slow` cases publish in SLOW_PUBLISH."""

    def __init__(self) -> None:
        self.events: dict[str, list[TimelineEvent]] = defaultdict(list)
        self.sent: dict[str, list[str]] = defaultdict(list)
        self.slow: set[str] = set()

    @activity.defn(name="record_case")
    async def record_case(self, projection: CaseProjection) -> None:
        if projection.case_id in self.slow:
            await asyncio.sleep(SLOW_PUBLISH)
        self.events[projection.case_id].extend(projection.events)

    @activity.defn(name="load_facts")
    async def load_facts(self, case_id: str) -> CaseFacts:
        return CaseFacts(probation_period_days=365, measure_count=1)

    @activity.defn(name="check_certificate")
    async def check_certificate(self, case_id: str) -> SubmissionCheck:
        return SubmissionCheck()

    @activity.defn(name="prepare_certificate")
    async def prepare_certificate(self, case_id: str) -> str:
        return "fr"

    @activity.defn(name="approve_certificate")
    async def approve_certificate(self, case_id: str, approver: str, note_id: str | None,
                                  judgment_sent_separately: str | None) -> str:
        return "fr"

    @activity.defn(name="check_adaptation")
    async def check_adaptation(self, case_id: str, note_id: str | None) -> AdaptationCheck:
        return AdaptationCheck()

    @activity.defn(name="send_message")
    async def send_message(self, msg: OutgoingMessage) -> SendResult:
        self.sent[msg.case_id].append(msg.type)
        return SendResult(message_id=msg.message_id, delivered=True, adapter="nodelink")

    def all(self) -> list[Callable[..., Any]]:
        return [self.record_case, self.load_facts, self.check_certificate, self.prepare_certificate,
                self.approve_certificate, self.check_adaptation, self.send_message]
