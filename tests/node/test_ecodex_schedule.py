"""The e-CODEX poll runs once per node: one Temporal schedule, created by the worker when a route uses
e-CODEX and removed when none does (not a loop inside every worker)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from temporalio.client import Client, ScheduleOverlapPolicy
from temporalio.service import RPCError

from activities.ecodex import ensure_poll_schedule
from workflows.ecodex_poll import poll_schedule_id

pytestmark = pytest.mark.integration


async def test_one_schedule_per_node_that_skips_overlapping_rounds(temporal_client: Client) -> None:
    await ensure_poll_schedule(temporal_client, "ZY", "probatio-ZY", 30, wanted=True)
    await ensure_poll_schedule(temporal_client, "ZY", "probatio-ZY", 10, wanted=True)  # a second worker, new settings
    handle = temporal_client.get_schedule_handle(poll_schedule_id("ZY"))
    described = await handle.describe()
    assert [i.every for i in described.schedule.spec.intervals] == [timedelta(seconds=10)]
    assert described.schedule.policy.overlap is ScheduleOverlapPolicy.SKIP

    await ensure_poll_schedule(temporal_client, "ZY", "probatio-ZY", 10, wanted=False)
    with pytest.raises(RPCError):
        await handle.describe()
    await ensure_poll_schedule(temporal_client, "ZY", "probatio-ZY", 10, wanted=False)  # nothing to remove: fine
