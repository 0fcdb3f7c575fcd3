"""Fault injection: a transfer survives a worker killed mid-dispatch, a Temporal restart, PostgreSQL
down for 30 s and a peer down for a day, reaching its stage with each message received exactly once.

Slow by design (a killed activity is retried only when its start-to-close timeout of 2 minutes
expires): run with `make proof`, not in `make test`.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import tempfile
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
import uvicorn
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from probatio import embedded
from probatio.harness import LocalNodes, start_nodes
from tests.faults.support import assert_each_message_once, decide_and_finish, until, wait_stage
from tests.support import create_and_approve

pytestmark = [pytest.mark.integration, pytest.mark.timeout(420)]


def _outbox_row(nodes: LocalNodes, case_id: str) -> bool:
    with psycopg.connect(nodes["LU"].node.settings.effective_database_url) as conn:
        return conn.execute("SELECT 1 FROM outbox WHERE conversation_id = %s", (case_id,)).fetchone() is not None


def _worker_env(nodes: LocalNodes, state: str, temporal_address: str) -> dict[str, str]:
    s = nodes[state].node.settings
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROBATIO_")}
    env.update({"PROBATIO_STATE": state, "PROBATIO_HOME": str(s.home),
                "PROBATIO_DATABASE_URL": s.effective_database_url, "PROBATIO_TEMPORAL_ADDRESS": temporal_address,
                "PROBATIO_SIGNING_KEY_FILE": str(s.effective_signing_key_file),
                "PROBATIO_DIRECTORY_FILE": str(s.effective_directory_file)})
    return env


def _spawn_worker(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    return embedded.spawn([sys.executable, "-m", "probatio", "worker"], env=env, log=log)


@pytest.mark.proof
async def test_worker_killed_during_dispatch(temporal_dev: WorkflowEnvironment, pg_server: str,
                                            tmp_path: Path) -> None:
    client = temporal_dev.client
    address = client.service_client.config.target_host
    nodes = await start_nodes(client, pg_server, ["LU", "BE"], tmp_path, db_prefix="fault_kill_")
    worker: subprocess.Popen[bytes] | None = None
    try:
        # LU's worker runs as its own process, so that it can be killed like a crashed pod.
        assert nodes["LU"].worker is not None
        await nodes["LU"].worker.shutdown()
        env = _worker_env(nodes, "LU", address)
        worker = _spawn_worker(env, tmp_path / "worker-1.log")
        async with httpx.AsyncClient(timeout=30) as http:
            case_id = await create_and_approve(http, nodes)
            # The worker is sending the certificate (the outbox row is written just before the adapter call).
            await until(lambda: asyncio.to_thread(_outbox_row, nodes, case_id), bool, 60, "dispatch started")
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait(10)
            worker = _spawn_worker(env, tmp_path / "worker-2.log")
            # The lost attempt is retried once its start-to-close timeout (2 min) expires.
            await wait_stage(http, nodes, "BE", case_id, "under_decision", 240)
            await decide_and_finish(http, nodes, case_id, 120)
        assert_each_message_once(nodes, case_id, lu=["acknowledgement", "decision"], be=["certificate"])
    finally:
        if worker is not None:
            embedded.stop([worker])
        await nodes.stop()


@pytest.mark.proof
async def test_temporal_server_restarted(pg_server: str, tmp_path: Path) -> None:
    data, port = tmp_path / "temporal", embedded.free_port()
    server = embedded.start_temporal(data, port=port, ui_port=None, log=tmp_path / "temporal.log")
    nodes: LocalNodes | None = None
    try:
        client = await Client.connect(f"127.0.0.1:{port}", data_converter=pydantic_data_converter)
        nodes = await start_nodes(client, pg_server, ["LU", "BE"], tmp_path / "home", db_prefix="fault_temporal_")
        async with httpx.AsyncClient(timeout=30) as http:
            case_id = await create_and_approve(http, nodes)
            embedded.stop([server])  # mid-dispatch: the state is in its database file
            await asyncio.sleep(3)
            server = embedded.start_temporal(data, port=port, ui_port=None, log=tmp_path / "temporal.log")
            await wait_stage(http, nodes, "BE", case_id, "under_decision", 120)
            await decide_and_finish(http, nodes, case_id, 120)
        assert_each_message_once(nodes, case_id, lu=["acknowledgement", "decision"], be=["certificate"])
    finally:
        if nodes is not None:
            await nodes.stop()
        embedded.stop([server])


@pytest.fixture
async def own_postgres() -> AsyncIterator[tuple[Path, int]]:
    """A PostgreSQL of this test's own: it is stopped and started again, so the shared one stays up."""
    home = Path(tempfile.mkdtemp(prefix="probatio-fault-pg-"))
    port = embedded.free_port()
    proc = embedded.start_postgres(home / "postgres", port=port, log=home / "postgres.log")
    try:
        yield home, port
    finally:
        embedded.stop([proc])


@pytest.mark.proof
async def test_postgres_down_for_30_seconds(temporal_dev: WorkflowEnvironment, own_postgres: tuple[Path, int],
                                            tmp_path: Path) -> None:
    home, port = own_postgres
    nodes = await start_nodes(temporal_dev.client, f"postgresql://postgres@127.0.0.1:{port}", ["LU", "BE"],
                              tmp_path, db_prefix="fault_pg_")
    try:
        async with httpx.AsyncClient(timeout=30) as http:
            case_id = await create_and_approve(http, nodes)
            # Stop the server (both nodes' databases) while the certificate is on its way.
            pids = [p.pid for p in _postgres_processes(port)]
            for pid in pids:
                os.kill(pid, signal.SIGINT)
            await until(lambda: asyncio.to_thread(lambda: not embedded.port_open("127.0.0.1", port)), bool, 30,
                        "PostgreSQL stopped")
            await asyncio.sleep(30)
            restarted = embedded.start_postgres(home / "postgres", port=port, log=home / "postgres-2.log")
            try:
                await wait_stage(http, nodes, "BE", case_id, "under_decision", 180)
                await decide_and_finish(http, nodes, case_id, 180)
                assert_each_message_once(nodes, case_id, lu=["acknowledgement", "decision"], be=["certificate"])
            finally:
                await nodes.stop()
                embedded.stop([restarted])
    except BaseException:
        await nodes.stop()
        raise


def _postgres_processes(port: int) -> list[Any]:
    import psutil

    found = []
    for proc in psutil.process_iter(["name", "cmdline"]):
        cmdline = proc.info.get("cmdline") or []
        if proc.info.get("name") == "postgres" and "-p" in cmdline and str(port) in cmdline:
            found.append(proc)
    return found


async def test_peer_down_for_a_day(pg_server: str, tmp_path: Path) -> None:
    from probatio.simulate import TestServer, skip_until

    env = await TestServer.start(tmp_path / "test-server")
    nodes: LocalNodes | None = None
    try:
        nodes = await start_nodes(env.client, pg_server, ["LU", "BE"], tmp_path, db_prefix="fault_peer_")
        be = nodes["BE"]
        be.server.should_exit = True  # BE's web app (its inbox) goes away; its worker stays
        await be.tasks[0]
        async with httpx.AsyncClient(timeout=30) as http:
            case_id = await create_and_approve(http, nodes)
            await skip_until(env, await env.now() + timedelta(days=1))
            port = int(be.url.rsplit(":", 1)[1])
            from web.app import create_app

            be.server = uvicorn.Server(uvicorn.Config(create_app(node=be.node), host="127.0.0.1", port=port,
                                                      log_level="warning", lifespan="on"))
            be.tasks[0] = asyncio.create_task(be.server.serve())
            # The next retry comes within the maximum back-off of an hour.
            for _ in range(6):
                await skip_until(env, await env.now() + timedelta(minutes=30))
                if await _stage_is(http, nodes, case_id, "under_decision"):
                    break
            await wait_stage(http, nodes, "BE", case_id, "under_decision", 60)
            await decide_and_finish(http, nodes, case_id, 120)
        assert_each_message_once(nodes, case_id, lu=["acknowledgement", "decision"], be=["certificate"])
    finally:
        if nodes is not None:
            await nodes.stop()
        env.close()


async def _stage_is(http: httpx.AsyncClient, nodes: LocalNodes, case_id: str, wanted: str) -> bool:
    from tests.faults.support import stage

    return await stage(http, nodes, "BE", case_id) == wanted
