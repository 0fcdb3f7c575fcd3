"""A worker process for the benchmarks; prints `ready` once polling.

`ours`: the node's worker (PROBATIO_* settings) and `baseline`: the waiting supervisions, both with
a workflow cache large enough to hold every open supervision (bench/open_supervisions.py); `lifecycle`:
the bare workflow pair of bench/lifecycle.py."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import tracemalloc
from pathlib import Path

# Where the worker writes a tracemalloc snapshot each time it gets SIGUSR1 (`<prefix>.1`, `.2`, ...):
# bench/open_supervisions.py --breakdown uses it to say where a cached supervision's memory goes.
TRACE_ENV = "PROBATIO_BENCH_TRACE"


def _snapshots_on_signal(prefix: Path) -> None:
    tracemalloc.start(12)
    taken = 0

    def dump() -> None:
        nonlocal taken
        taken += 1
        snapshot = tracemalloc.take_snapshot()
        part = prefix.with_name(f"{prefix.name}.{taken}.part")
        snapshot.dump(str(part))
        part.rename(prefix.with_name(f"{prefix.name}.{taken}"))  # whole, or not there yet

    asyncio.get_running_loop().add_signal_handler(signal.SIGUSR1, dump)


async def main(kind: str, cache: int, address: str) -> None:
    from temporalio.client import Client
    from temporalio.contrib.pydantic import pydantic_data_converter
    from temporalio.worker import Worker
    from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

    if kind == "ours":
        from activities.node import NodeActivities
        from probatio.node import WORKFLOWS, Node
        from probatio.runner import workflow_runner
        from probatio.settings import Settings

        node = await Node.open(Settings())
        worker = Worker(node.client, task_queue=node.settings.task_queue, workflows=WORKFLOWS,
                        activities=NodeActivities(node.context()).all(), workflow_runner=workflow_runner(),
                        max_cached_workflows=cache)
    elif kind == "lifecycle":
        from bench.baseline_workflows import BaseExecuting, BaseIssuing
        from bench.lifecycle import BASELINE_QUEUE, BaselineActivities

        client = await Client.connect(address, data_converter=pydantic_data_converter)
        acts = BaselineActivities(client, BASELINE_QUEUE)
        worker = Worker(client, task_queue=BASELINE_QUEUE, workflows=[BaseIssuing, BaseExecuting],
                        activities=[acts.noop, acts.deliver], workflow_runner=SandboxedWorkflowRunner(
                            restrictions=SandboxRestrictions.default.with_passthrough_modules("pydantic", "bench")))
    else:
        from bench.baseline_workflows import BaseSupervision

        client = await Client.connect(address, data_converter=pydantic_data_converter)
        worker = Worker(client, task_queue="bench-idle", workflows=[BaseSupervision], max_cached_workflows=cache,
                        workflow_runner=SandboxedWorkflowRunner(
                            restrictions=SandboxRestrictions.default.with_passthrough_modules("pydantic", "bench")))
    if os.environ.get(TRACE_ENV):
        _snapshots_on_signal(Path(os.environ[TRACE_ENV]))
    print("ready", flush=True)
    await worker.run()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2]), sys.argv[3]))
