"""Bootstrap of one node: its Temporal client, database pool, directory and signing key, and the worker."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

from psycopg_pool import AsyncConnectionPool
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from activities.node import NodeActivities, NodeContext
from activities.retention import RetentionActivities, ensure_schedule
from adapters.directory import Directory
from adapters.keys import load_or_create_private_key
from probatio import telemetry
from probatio.settings import Settings
from store.db import open_pool
from workflows.incoming import IncomingTransfer
from workflows.outgoing import OutgoingTransfer
from workflows.retention import RetentionSweep

log = logging.getLogger(__name__)

WORKFLOWS = [OutgoingTransfer, IncomingTransfer, RetentionSweep]


async def connect_temporal(settings: Settings, *, attempts: int = 30) -> Client:
    """Connect, waiting for a Temporal server that is still starting (the embedded stack, a pod restart)."""
    last: Exception | None = None
    for _ in range(attempts):
        try:
            return telemetry.traced(await Client.connect(
                settings.effective_temporal_address, namespace=settings.temporal_namespace,
                data_converter=pydantic_data_converter))
        except Exception as err:
            last = err
            await asyncio.sleep(1)
    raise RuntimeError(f"Temporal at {settings.effective_temporal_address} does not answer: {last}")


def load_directory(settings: Settings) -> Directory:
    path = settings.effective_directory_file
    if not path.exists():
        return Directory.from_dict({"states": {}})
    directory = Directory.load(path)
    problems = directory.check_adapters()
    if problems:
        raise RuntimeError(f"directory {path}: " + "; ".join(problems))
    return directory


@dataclass
class Node:
    settings: Settings
    pool: AsyncConnectionPool[Any]
    client: Client
    directory: Directory

    @classmethod
    async def open(cls, settings: Settings) -> Node:
        pool = open_pool(settings.effective_database_url)
        await pool.open(wait=True, timeout=60)
        client = await connect_temporal(settings)
        return cls(settings=settings, pool=pool, client=client, directory=load_directory(settings))

    async def close(self) -> None:
        await self.pool.close()

    def context(self) -> NodeContext:
        return NodeContext(state=self.settings.state, pool=self.pool, directory=self.directory,
                           signing_key=load_or_create_private_key(self.settings.effective_signing_key_file))

    def retention_activities(self) -> RetentionActivities:
        key = load_or_create_private_key(self.settings.effective_signing_key_file)
        return RetentionActivities(self.pool, state=self.settings.state, public_key=key.public_key())

    def worker(self) -> Worker:
        return Worker(self.client, task_queue=self.settings.task_queue, workflows=WORKFLOWS,
                      activities=NodeActivities(self.context()).all() + self.retention_activities().all(),
                      workflow_runner=workflow_runner(),
                      max_cached_workflows=self.settings.worker_cached_workflows,
                      interceptors=telemetry.worker_interceptors(self.client, self.settings.state))


def workflow_runner() -> SandboxedWorkflowRunner:
    """The sandbox, with our own deterministic modules passed through: their pydantic models must be the
    same classes inside and outside it, or a Deadline made in a workflow fails validation outside."""
    return SandboxedWorkflowRunner(
        restrictions=SandboxRestrictions.default.with_passthrough_modules("workflows", "forms", "pydantic")
    )


async def run_worker(settings: Settings) -> None:
    telemetry.instrument_worker(settings)
    node = await Node.open(settings)
    try:
        log.info("worker for %s on task queue %s", settings.state, settings.task_queue)
        await ensure_schedule(node.client, settings.state, settings.task_queue, settings.retention_days,
                              settings.retention_sweep_hours)
        from probatio.ecodex_poller import run_poller

        poller = asyncio.create_task(run_poller(node))
        try:
            await node.worker().run()
        finally:
            poller.cancel()
    finally:
        await node.close()
