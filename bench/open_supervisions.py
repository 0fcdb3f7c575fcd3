"""open-supervisions: worker memory per cached open supervision, against bare waiting workflows.

`--supervisions` supervisions are opened at BE the way a received certificate opens one: a certificate
sealed with LU's key goes into BE's real inbox (intake: verification, case row, signal-with-start of the
executing side's workflow), BE's prosecutor recognises it and BE's officer starts supervision through
BE's API, so each workflow runs its real updates and continues as new into its supervising run. What this
skips of a full LU → BE transfer: LU's own side (draft, submission, approval, the certificate's PDF and the
judgment, which BE keeps in PostgreSQL, not in the workflow); BE's messages to LU are answered by a fake LU
inbox that accepts them as web/inbox.py does. Then BE's worker runs alone as a child process with a workflow
cache that holds them all; each supervision is queried once, which replays it into the cache, and the
growth of the worker's resident memory is divided by their number. The baseline is the same measurement for
as many bare workflows that hold a year's timer and wait for a signal (run first by a worker that then
stops, as ours were). Target: ≤ 60 KiB per cached supervision and ≤ 3× the baseline; the ratio is ours /
baseline. `--breakdown` says where the Python part goes (tracemalloc).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from temporalio.api.enums.v1 import EventType

from adapters.envelope import Envelope, seal
from bench._worker import TRACE_ENV
from bench.common import Outcome, embedded_stack
from bench.transfers import POLL_SECONDS
from forms.messages import MessageType
from forms.stages import Side
from probatio.console import Steps
from workflows.model import workflow_id as case_workflow_id


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-n", "--supervisions", type=int, default=2000,
                        help="supervisions opened and measured (default 2000, the size the target is set for)")
    parser.add_argument("-c", "--concurrency", type=int, default=8)
    parser.add_argument("--breakdown", action="store_true",
                        help="also replay them into a worker that traces its allocations (tracemalloc), and say "
                             "where a cached supervision's Python memory goes")


def progress_total(args: argparse.Namespace) -> int:
    """The steps `run` reports: the stack started, each supervision opened and then settled, our worker
    measured (and traced, with --breakdown), the baseline's workflows started, run and measured."""
    supervisions = int(args.supervisions)
    return 1 + 2 * supervisions + 1 + (1 if args.breakdown else 0) + 3


def _rss(pid: int) -> int:
    import psutil  # type: ignore[import-untyped]

    return int(psutil.Process(pid).memory_info().rss)


async def _snapshot(proc: subprocess.Popen[bytes], path: Path) -> None:
    """Have the worker dump a tracemalloc snapshot to `path` (bench/_worker.py) and wait until it is whole."""
    proc.send_signal(signal.SIGUSR1)
    for _ in range(1200):
        if os.path.exists(path):  # noqa: ASYNC240 - a stat every half second
            return
        await asyncio.sleep(0.5)
    raise TimeoutError(f"the benchmark worker wrote no snapshot {path}")


async def _measure(argv: list[str], env: dict[str, str], client: Any, ids: list[str],
                   trace: Path | None = None) -> tuple[int, int]:
    """Resident memory of a fresh worker before and after every workflow in `ids` is in its cache. With
    `trace`, the worker traces its allocations and dumps snapshots `trace.1` (before) and `trace.2` (after)."""
    if trace is not None:
        env = {**env, TRACE_ENV: str(trace)}
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)  # noqa: ASYNC220
    try:
        assert proc.stdout is not None
        line = await asyncio.get_running_loop().run_in_executor(None, proc.stdout.readline)
        if b"ready" not in line:
            raise RuntimeError("the benchmark worker did not start")
        await client.get_workflow_handle(ids[0]).query("case_state")  # load the code paths once
        await asyncio.sleep(2)
        if trace is not None:
            await _snapshot(proc, trace.with_name(f"{trace.name}.1"))
        before = _rss(proc.pid)
        limit = asyncio.Semaphore(8)

        async def query(workflow_id: str) -> None:
            async with limit:
                await client.get_workflow_handle(workflow_id).query("case_state")

        await asyncio.gather(*(query(i) for i in ids[1:]))
        await asyncio.sleep(2)
        after = _rss(proc.pid)
        if trace is not None:
            await _snapshot(proc, trace.with_name(f"{trace.name}.2"))
        return before, after
    finally:
        proc.terminate()
        proc.wait(30)


async def _first_tasks(argv: list[str], env: dict[str, str], client: Any, ids: list[str]) -> None:
    """A worker that runs the workflows in `ids` until each waits, then stops."""
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)  # noqa: ASYNC220
    try:
        assert proc.stdout is not None
        await asyncio.get_running_loop().run_in_executor(None, proc.stdout.readline)
        for workflow_id in ids:
            await _settled(client, workflow_id)
    finally:
        proc.terminate()
        proc.wait(30)


def _where(trace: Any) -> str:
    """The code an allocation is charged to: the innermost frame in our workflows and forms, the Temporal SDK
    (its sandbox apart) or pydantic, by file."""
    site = os.sep + "site-packages" + os.sep
    for frame in reversed(trace.traceback):  # most recent first
        name: str = frame.filename
        if site in name:
            name = name.split(site, 1)[1]
            if name.startswith("temporalio/worker/workflow_sandbox"):
                return "Temporal SDK: workflow sandbox (per-run importer, restricted builtins)"
            if name.startswith(("temporalio", "pydantic")):
                return name
        elif any(f"{os.sep}{p}{os.sep}" in name for p in ("workflows", "forms")):
            return f"ours: {os.sep.join(name.rsplit(os.sep, 2)[-2:])}"
    last: str = trace.traceback[-1].filename
    return last.rsplit(os.sep, 1)[-1]


def breakdown(before: Path, after: Path, count: int, top: int = 10) -> tuple[float, list[str]]:
    """The Python heap added per cached workflow between two snapshots (KiB), and lines saying where."""
    import tracemalloc
    from collections import Counter

    old, new = tracemalloc.Snapshot.load(str(before)), tracemalloc.Snapshot.load(str(after))
    ignore = [tracemalloc.Filter(False, tracemalloc.__file__)]
    by_where: Counter[str] = Counter()
    for diff in new.filter_traces(ignore).compare_to(old.filter_traces(ignore), "traceback"):
        by_where[_where(diff)] += diff.size_diff
    total = sum(by_where.values()) / count / 1024
    lines = [f"Python heap (tracemalloc, a second worker replaying the same {count + 1}): {total:.1f} KiB per "
             "cached supervision, by the code that allocated it:"]
    for where, size in by_where.most_common(top):
        lines.append(f"  - {size / count / 1024:.1f} KiB {where}")
    return total, lines


# The activity events that end a scheduled activity (bench waits for a supervision to have none in flight).
_ACTIVITY_ENDS = frozenset({
    EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED, EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED,
    EventType.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT, EventType.EVENT_TYPE_ACTIVITY_TASK_CANCELED})
_WORKFLOW_TASK = frozenset({
    EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED, EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED,
    EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED, EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED,
    EventType.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT})


def _issuing_peer() -> Any:
    """The issuing node LU as BE's deliveries meet it: an ASGI app that answers every POST /api/v1/inbox the
    way web/inbox.py answers a message that intake/receive.py accepted ({accepted, message_id, received_at})."""

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            chunk = await receive()
            body += chunk.get("body", b"")
            if not chunk.get("more_body"):
                break
        if scope["method"] == "POST" and scope["path"] == "/api/v1/inbox":
            status, answer = 200, {"accepted": True, "message_id": json.loads(body)["message_id"],
                                   "received_at": datetime.now(UTC).isoformat()}
        else:
            status, answer = 404, {"detail": "not found"}
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": json.dumps(answer).encode()})

    return app


async def _open_supervision(http: httpx.AsyncClient, be: Any, lu_key: Any, certificate: dict[str, Any]) -> str:
    """One certificate from LU through BE's real inbox (sealed with LU's key, as LU's send_message seals it),
    then BE's prosecutor recognises and BE's officer starts supervision through BE's API."""
    case_id = str(uuid.uuid4())
    # A judgment of its own for each case (Art 6(5)), as tests/support.py fresh_certificate makes one.
    judgment = {**certificate["judgment"], "court": f"{certificate['judgment']['court']} ({case_id[:8]})"}
    envelope = Envelope(message_id=str(uuid.uuid4()), conversation_id=case_id, type=MessageType.CERTIFICATE,
                        from_state="LU", to_state="BE", sent_at=datetime.now(UTC),
                        payload={"language": "fr", "certificate": {**certificate, "judgment": judgment}})
    sealed = seal(envelope, lu_key)
    r = await http.post(f"{be.url}/api/v1/inbox", content=sealed.body,
                        headers={**sealed.headers, "Content-Type": "application/json"})
    r.raise_for_status()
    prosecutor = {"Authorization": f"Bearer {be.tokens['prosecutor']}"}
    officer = {"Authorization": f"Bearer {be.tokens['officer']}"}
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 300
    while True:
        r = await http.get(f"{be.url}/api/v1/incoming/{case_id}", headers=prosecutor)
        if r.status_code == 200 and r.json()["stage"] == "under_decision":
            break
        if loop.time() > deadline:
            raise TimeoutError(f"{case_id} at BE: still {r.status_code} {r.text[:200]}")
        await asyncio.sleep(POLL_SECONDS)
    r = await http.post(f"{be.url}/api/v1/incoming/{case_id}/actions/decide", json={"outcome": "recognised"},
                        headers=prosecutor)
    r.raise_for_status()
    r = await http.post(f"{be.url}/api/v1/incoming/{case_id}/actions/start_supervision", headers=officer)
    r.raise_for_status()
    return case_id


async def _settled(client: Any, workflow_id: str) -> None:
    """Until the supervision's run has no activity in flight (its messages to LU sent) and sleeps."""
    for _ in range(600):
        events = [e async for e in client.get_workflow_handle(workflow_id).fetch_history_events()]
        scheduled = sum(e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED for e in events)
        ended = sum(e.event_type in _ACTIVITY_ENDS for e in events)
        # None for a run just continued as new: its history may hold only its start, no workflow task yet.
        last_task = next((e.event_type for e in reversed(events) if e.event_type in _WORKFLOW_TASK), None)
        if scheduled == ended and last_task == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
            return
        await asyncio.sleep(0.5)
    raise TimeoutError(f"{workflow_id} did not settle")


async def _open_supervisions(stack: Any, n: int, concurrency: int, steps: Steps) -> tuple[Any, list[str]]:
    """`n` open supervisions at BE: BE's node settings and the case ids. Each is a step as it is opened, and
    again once its run has settled."""
    import uvicorn

    from adapters.keys import load_or_create_private_key
    from forms.examples import example_certificate
    from probatio.embedded import free_port
    from probatio.harness import start_nodes

    port = free_port()
    peer = uvicorn.Server(uvicorn.Config(_issuing_peer(), host="127.0.0.1", port=port, log_level="warning",
                                         lifespan="off", timeout_keep_alive=75))
    serving = asyncio.create_task(peer.serve())
    home = stack.home / "nodes"
    # BE alone; LU is in the directory (its key, its seal's trust anchor), its inbox the fake above.
    nodes = await start_nodes(stack.client, stack.pg_url, ["BE"], home, peers={"LU": f"http://127.0.0.1:{port}"})
    try:
        lu_key = load_or_create_private_key(home / "keys" / "LU.pem")
        certificate = example_certificate("LU", "BE").model_dump(mode="json")
        limit = asyncio.Semaphore(concurrency)
        async with httpx.AsyncClient(timeout=120, limits=httpx.Limits(max_connections=4 * concurrency)) as http:

            async def one() -> str:
                async with limit:
                    case_id = await _open_supervision(http, nodes["BE"], lu_key, certificate)
                steps.advance()
                return case_id

            steps.describe(f"open-supervisions: opening {n} supervisions at BE")
            cases = list(await asyncio.gather(*(one() for _ in range(n))))
        steps.describe("open-supervisions: waiting for each to settle")
        for case_id in cases:
            await _settled(stack.client, case_workflow_id(Side.EXECUTING, case_id))
            steps.advance()
        return nodes["BE"].node.settings, cases
    finally:
        await nodes.stop()
        peer.should_exit = True
        await serving


async def run(args: argparse.Namespace, steps: Steps) -> Outcome:
    n = args.supervisions
    steps.describe("open-supervisions: starting PostgreSQL, Temporal and the BE node")
    async with embedded_stack("supervisions") as stack:
        steps.advance()
        start = time.perf_counter()
        be, cases = await _open_supervisions(stack, n, args.concurrency, steps)
        opened = time.perf_counter() - start
        steps.describe(f"open-supervisions: our worker with {n} supervisions cached")
        env = {k: v for k, v in os.environ.items() if not k.startswith("PROBATIO_")}
        env.update({"PROBATIO_STATE": "BE", "PROBATIO_HOME": str(be.home),
                    "PROBATIO_DATABASE_URL": be.effective_database_url,
                    "PROBATIO_TEMPORAL_ADDRESS": stack.temporal_address,
                    "PROBATIO_SIGNING_KEY_FILE": str(be.effective_signing_key_file),
                    "PROBATIO_DIRECTORY_FILE": str(be.effective_directory_file)})
        argv = [sys.executable, "-m", "bench._worker"]
        ours_ids = [case_workflow_id(Side.EXECUTING, c) for c in cases]
        ours_before, ours_after = await _measure([*argv, "ours", str(n + 100), stack.temporal_address], env,
                                                 stack.client, ours_ids)
        steps.advance()
        notes: list[str] = []
        python_heap = 0.0
        if args.breakdown:
            steps.describe("open-supervisions: our worker again, tracing its allocations")
            trace = stack.home / "ours.trace"
            await _measure([*argv, "ours", str(n + 100), stack.temporal_address], env, stack.client, ours_ids,
                           trace)
            python_heap, lines = breakdown(trace.with_name("ours.trace.1"), trace.with_name("ours.trace.2"), n - 1)
            notes += lines
            steps.advance()
        steps.describe(f"open-supervisions: the baseline, {n} bare waiting workflows")
        base_ids = [f"bench-idle-{i}" for i in range(n)]
        for workflow_id in base_ids:
            await stack.client.start_workflow("BaseSupervision", workflow_id, id=workflow_id, task_queue="bench-idle")
        steps.advance()
        # Run as ours were: by a worker that then stops, so the measured one replays them from their histories.
        await _first_tasks([*argv, "baseline", str(n + 100), stack.temporal_address], env, stack.client, base_ids)
        steps.advance()
        base_before, base_after = await _measure([*argv, "baseline", str(n + 100), stack.temporal_address], env,
                                                 stack.client, base_ids)
        steps.advance()
    ours = max(ours_after - ours_before, 1) / (n - 1) * 10_000
    base = max(base_after - base_before, 1) / (n - 1) * 10_000
    mib = 2**20
    lines = [
        f"{n} supervisions opened in {opened:.0f} s (certificate into BE's inbox, recognised, supervision started)",
        f"probatio worker: {ours_before / mib:.0f} MiB idle → {ours_after / mib:.0f} MiB with {n} supervisions "
        f"cached: {ours / mib:.0f} MiB per 10,000 open supervisions",
        f"baseline worker: {base_before / mib:.0f} MiB → {base_after / mib:.0f} MiB with {n} waiting workflows: "
        f"{base / mib:.0f} MiB per 10,000",
    ]
    if args.breakdown:
        native = ours / 10_000 / 1024 - python_heap
        notes.append(f"the rest, {native:.1f} KiB per cached supervision, is outside the Python heap: Temporal Core's "
                     "state of each cached run, the protobuf messages the SDK keeps and the allocators' free "
                     "lists (README.md, \"Memory of a worker\")")
    ratio = ours / base
    per_case = ours / 10_000 / 1024
    lines.append(f"per cached open supervision: {per_case:.1f} KiB; per bare waiting workflow: "
                 f"{base / 10_000 / 1024:.1f} KiB")
    return Outcome(name="open-supervisions", params=f"-n {n}" + (" --breakdown" if args.breakdown else ""),
                   lines=lines, ratio=ratio, target="≤ 60 KiB per cached supervision and ratio ≤ 3",
                   met=per_case <= 60 and ratio <= 3, notes=notes)
