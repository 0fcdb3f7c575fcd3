"""lifecycle: transfers per second from the officer's draft to `recognised`, through two nodes.

Two nodes (LU issuing, BE executing) run in this process against the Temporal dev server and the
embedded PostgreSQL, linked over real HTTP; each transfer is created, submitted and approved on LU
(the certificate is rendered to PDF and sent signed), decided on BE, and followed until LU shows it
`transferred`. The baseline is a bare Temporal workflow pair on the same server and in the same process
with the same number of updates, signals and activities as one of ours (counted from our histories in
this run), its activities doing nothing but the peer deliveries. Target: at least 0.5 of its throughput.
"""

from __future__ import annotations

import argparse
import time
import uuid
from typing import Any

from temporalio import activity
from temporalio.client import Client

from bench.baseline_workflows import Delivery
from bench.common import Outcome, embedded_stack


class BaselineActivities:
    """The baseline's activities: nothing, or a delivery to the peer workflow (as our inbox does)."""

    def __init__(self, client: Client, queue: str) -> None:
        self.client = client
        self.queue = queue

    @activity.defn(name="base_noop")
    async def noop(self, case_id: str) -> None:
        return None

    @activity.defn(name="base_deliver")
    async def deliver(self, d: Delivery) -> None:
        if d.to == "executing" and d.first:
            await self.client.start_workflow("BaseExecuting", d.plan, id=f"base-e-{d.case_id}",
                                             task_queue=self.queue, start_signal="receive",
                                             start_signal_args=["certificate"])
        else:
            prefix = "base-e" if d.to == "executing" else "base-i"
            await self.client.get_workflow_handle(f"{prefix}-{d.case_id}").signal("receive", "message")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-n", "--transfers", type=int, default=40, help="transfers measured (default 40)")
    parser.add_argument("-c", "--concurrency", type=int, default=8, help="transfers in flight at once (default 8)")
    parser.add_argument("--warmup", type=int, default=2)


async def _baseline(stack: Any, plans: tuple[Any, Any], n: int, concurrency: int, warmup: int) -> float:
    import asyncio

    from temporalio.client import WorkflowHandle
    from temporalio.service import RPCError
    from temporalio.worker import Worker
    from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

    from bench.baseline_workflows import BaseExecuting, BaseIssuing, Plan

    client: Client = stack.client
    queue = "bench-baseline"

    acts = BaselineActivities(client, queue)

    runner = SandboxedWorkflowRunner(
        restrictions=SandboxRestrictions.default.with_passthrough_modules("pydantic", "bench"))
    issuing_plan, executing_plan = plans

    async def one() -> None:
        case_id = str(uuid.uuid4())
        lp = Plan(**{**issuing_plan.model_dump(), "case_id": case_id, "task_queue": queue})
        ep = Plan(**{**executing_plan.model_dump(), "case_id": case_id, "task_queue": queue})
        lu: WorkflowHandle[Any, Any] = await client.start_workflow("BaseIssuing", args=[lp, ep],
                                                                   id=f"base-i-{case_id}", task_queue=queue)
        for _ in range(lp.updates):
            await lu.execute_update("step")
        be = client.get_workflow_handle(f"base-e-{case_id}")
        while True:  # as ours polls the executing node until the certificate is there
            try:
                await be.describe()
                break
            except RPCError:
                await asyncio.sleep(0.1)
        for _ in range(ep.updates):
            await be.execute_update("step")
        await lu.result()

    async def batch(count: int) -> None:
        limit = asyncio.Semaphore(concurrency)

        async def guarded() -> None:
            async with limit:
                await one()

        await asyncio.gather(*(guarded() for _ in range(count)))

    async with Worker(client, task_queue=queue, workflows=[BaseIssuing, BaseExecuting],
                      activities=[acts.noop, acts.deliver],
                      workflow_runner=runner):
        await batch(warmup)
        start = time.perf_counter()
        await batch(n)
        return n / (time.perf_counter() - start)


async def run(args: argparse.Namespace) -> Outcome:
    from bench.baseline_workflows import Plan
    from bench.transfers import history_counts, many
    from forms.examples import example_certificate
    from probatio.harness import start_nodes

    cert = example_certificate("LU", "BE").model_dump(mode="json")
    async with embedded_stack("lifecycle") as stack:
        nodes = await start_nodes(stack.client, stack.pg_url, ["LU", "BE"], stack.home / "nodes")
        try:
            first = await many(nodes, cert, args.warmup, args.concurrency)
            start = time.perf_counter()
            await many(nodes, cert, args.transfers, args.concurrency)
            ours = args.transfers / (time.perf_counter() - start)
            lu = await history_counts(stack.client, f"transfer-{first[0]}")
            be = await history_counts(stack.client, f"incoming-{first[0]}")
        finally:
            await nodes.stop()
        issuing = Plan(case_id="", task_queue="", updates=max(1, lu["updates"]), sends=be["signals"],
                       noops=max(0, lu["activities"] - be["signals"]), signals=lu["signals"])
        executing = Plan(case_id="", task_queue="", updates=max(1, be["updates"]), sends=lu["signals"],
                         noops=max(0, be["activities"] - lu["signals"]), signals=be["signals"])
        base = await _baseline(stack, (issuing, executing), args.transfers, args.concurrency, args.warmup)
    ratio = ours / base
    lines = [
        f"one transfer (from our histories): issuing {lu['updates']} updates, {lu['signals']} signals, "
        f"{lu['activities']} activities ({lu['sends']} sends); executing {be['updates']} updates, {be['signals']} "
        f"signals, {be['activities']} activities ({be['sends']} sends)",
        f"baseline: bare workflow pair with those counts: {base:.2f} transfers/s",
        f"probatio: {args.transfers} transfers LU → BE, draft to recognised (PDF rendering, signing, HTTP, "
        f"PostgreSQL included), {args.concurrency} in flight: {ours:.2f} transfers/s",
    ]
    return Outcome(name="lifecycle", params=f"-n {args.transfers} -c {args.concurrency}", lines=lines,
                   ratio=ratio, target="≥ 0.5", met=ratio >= 0.5)
