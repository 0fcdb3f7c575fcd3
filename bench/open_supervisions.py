"""open-supervisions: worker memory per 10,000 open supervisions, against bare waiting workflows.

`--supervisions` transfers are driven LU → BE to `supervising` (two nodes in this process). Then BE's
worker runs alone as a child process with a workflow cache that holds them all; each supervision is
queried once, which replays it into the cache, and the growth of the worker's resident memory is
scaled to 10,000. The baseline is the same measurement for as many bare workflows that hold a year's
timer and wait for a signal. The ratio is ours / baseline (lower is better; no target is set — the
number is for sizing workers, whose cache defaults to 1,000 workflows: the rest are replayed on demand).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import time
from typing import Any

from bench.common import Outcome, embedded_stack
from forms.stages import Side
from workflows.model import workflow_id as case_workflow_id


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-n", "--supervisions", type=int, default=150,
                        help="supervisions opened and measured (default 150; 10000 for the full size)")
    parser.add_argument("-c", "--concurrency", type=int, default=8)


def _rss(pid: int) -> int:
    import psutil  # type: ignore[import-untyped]

    return int(psutil.Process(pid).memory_info().rss)


async def _measure(argv: list[str], env: dict[str, str], client: Any, ids: list[str]) -> tuple[int, int]:
    """Resident memory of a fresh worker before and after every workflow in `ids` is in its cache."""
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)  # noqa: ASYNC220
    try:
        assert proc.stdout is not None
        line = await asyncio.get_running_loop().run_in_executor(None, proc.stdout.readline)
        if b"ready" not in line:
            raise RuntimeError("the benchmark worker did not start")
        await client.get_workflow_handle(ids[0]).query("case_state")  # load the code paths once
        await asyncio.sleep(2)
        before = _rss(proc.pid)
        limit = asyncio.Semaphore(8)

        async def query(workflow_id: str) -> None:
            async with limit:
                await client.get_workflow_handle(workflow_id).query("case_state")

        await asyncio.gather(*(query(i) for i in ids[1:]))
        await asyncio.sleep(2)
        return before, _rss(proc.pid)
    finally:
        proc.terminate()
        proc.wait(30)


async def run(args: argparse.Namespace) -> Outcome:
    from bench.transfers import many
    from forms.examples import example_certificate
    from probatio.harness import start_nodes

    n = args.supervisions
    cert = example_certificate("LU", "BE").model_dump(mode="json")
    async with embedded_stack("supervisions") as stack:
        nodes = await start_nodes(stack.client, stack.pg_url, ["LU", "BE"], stack.home / "nodes")
        start = time.perf_counter()
        try:
            cases = await many(nodes, cert, n, args.concurrency, supervise=True)
        finally:
            be = nodes["BE"].node.settings
            await nodes.stop()
        opened = time.perf_counter() - start
        env = {k: v for k, v in os.environ.items() if not k.startswith("PROBATIO_")}
        env.update({"PROBATIO_STATE": "BE", "PROBATIO_HOME": str(be.home),
                    "PROBATIO_DATABASE_URL": be.effective_database_url,
                    "PROBATIO_TEMPORAL_ADDRESS": stack.temporal_address,
                    "PROBATIO_SIGNING_KEY_FILE": str(be.effective_signing_key_file),
                    "PROBATIO_DIRECTORY_FILE": str(be.effective_directory_file)})
        argv = [sys.executable, "-m", "bench._worker"]
        ours_before, ours_after = await _measure([*argv, "ours", str(n + 100), stack.temporal_address], env,
                                                 stack.client, [case_workflow_id(Side.EXECUTING, c) for c in cases])
        base_ids = [f"bench-idle-{i}" for i in range(n)]
        for workflow_id in base_ids:
            await stack.client.start_workflow("BaseSupervision", workflow_id, id=workflow_id, task_queue="bench-idle")
        base_before, base_after = await _measure([*argv, "baseline", str(n + 100), stack.temporal_address], env,
                                                 stack.client, base_ids)
    ours = max(ours_after - ours_before, 1) / (n - 1) * 10_000
    base = max(base_after - base_before, 1) / (n - 1) * 10_000
    mib = 2**20
    lines = [
        f"{n} transfers driven to supervising in {opened:.0f} s",
        f"probatio worker: {ours_before / mib:.0f} MiB idle → {ours_after / mib:.0f} MiB with {n} supervisions "
        f"cached: {ours / mib:.0f} MiB per 10,000 open supervisions",
        f"baseline worker: {base_before / mib:.0f} MiB → {base_after / mib:.0f} MiB with {n} waiting workflows: "
        f"{base / mib:.0f} MiB per 10,000",
    ]
    ratio = ours / base
    return Outcome(name="open-supervisions", params=f"-n {n}", lines=lines, ratio=ratio,
                   target="none (sizing figure; ours / baseline)", met=True)
