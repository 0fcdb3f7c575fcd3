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

from activities.ecodex import EcodexActivities, connectors, ensure_poll_schedule
from activities.node import NodeActivities, NodeContext
from activities.retention import RetentionActivities, ensure_schedule
from adapters.directory import Directory
from adapters.keys import load_or_create_private_key
from adapters.seal import NodeSeal, Pkcs11Seal
from intake import hand_over_kept
from probatio import telemetry
from probatio.runner import workflow_runner
from probatio.settings import Settings
from store.db import app_role_refusal, more_than_the_app_role_in, open_pool
from workflows.ecodex_poll import EcodexPoll
from workflows.incoming import IncomingTransfer
from workflows.outgoing import OutgoingTransfer
from workflows.retention import RetentionSweep

log = logging.getLogger(__name__)

WORKFLOWS = [OutgoingTransfer, IncomingTransfer, RetentionSweep, EcodexPoll]


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


def open_node_seal(settings: Settings) -> NodeSeal:
    """The seal this node puts on the certificates it issues: a PKCS#11 token where one is configured,
    else the key and certificate files (self-signed ones created on first start)."""
    if settings.seal_pkcs11_module is None:
        return NodeSeal.from_files(settings.state, settings.effective_seal_key_file,
                                   settings.effective_seal_certificate_file)
    token, key, pin = (settings.seal_pkcs11_token_label, settings.seal_pkcs11_key_label,
                       settings.seal_pkcs11_pin_file)
    if token is None or key is None or pin is None:
        missing = [name for name, value in (("PROBATIO_SEAL_PKCS11_TOKEN_LABEL", token),
                                            ("PROBATIO_SEAL_PKCS11_KEY_LABEL", key),
                                            ("PROBATIO_SEAL_PKCS11_PIN_FILE", pin)) if value is None]
        raise RuntimeError(f"a PKCS#11 seal (PROBATIO_SEAL_PKCS11_MODULE) also needs {', '.join(missing)}")
    return NodeSeal.from_pkcs11(Pkcs11Seal(module=settings.seal_pkcs11_module, token_label=token, key_label=key,
                                           pin_file=pin, certificate_label=settings.seal_pkcs11_certificate_label))


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
        why = await more_than_the_app_role_in(pool)
        if why and not settings.allow_owner_connection:
            # `probatio web` and `worker` said so before starting when the database answered then; this is
            # for one that was not up yet.
            await pool.close()
            raise SystemExit(app_role_refusal(why))
        client = await connect_temporal(settings)
        return cls(settings=settings, pool=pool, client=client, directory=load_directory(settings))

    async def close(self) -> None:
        await self.pool.close()

    def context(self) -> NodeContext:
        return NodeContext(state=self.settings.state, pool=self.pool, directory=self.directory,
                           signing_key=load_or_create_private_key(self.settings.effective_signing_key_file),
                           ecodex_evidence_hours=self.settings.ecodex_evidence_hours,
                           seal=open_node_seal(self.settings))

    def retention_activities(self) -> RetentionActivities:
        key = load_or_create_private_key(self.settings.effective_signing_key_file)
        return RetentionActivities(self.pool, state=self.settings.state, key=key)

    def worker(self) -> Worker:
        return Worker(self.client, task_queue=self.settings.task_queue, workflows=WORKFLOWS,
                      activities=NodeActivities(self.context()).all() + self.retention_activities().all()
                      + EcodexActivities(self).all(),
                      workflow_runner=workflow_runner(),
                      max_cached_workflows=self.settings.worker_cached_workflows,
                      interceptors=telemetry.worker_interceptors(self.client, self.settings.state))


async def run_worker(settings: Settings) -> None:
    telemetry.instrument_worker(settings)
    node = await Node.open(settings)
    try:
        log.info("worker for %s on task queue %s", settings.state, settings.task_queue)
        await ensure_schedule(node.client, settings.state, settings.task_queue, settings.retention_days,
                              settings.retention_sweep_hours)
        # One e-CODEX poll per node, however many workers run (not a loop in each worker).
        await ensure_poll_schedule(node.client, settings.state, settings.task_queue, settings.ecodex_poll_seconds,
                                   wanted=bool(connectors(node)))
        sweeping = asyncio.create_task(_hand_over_kept_forever(node))
        try:
            await node.worker().run()
        finally:
            sweeping.cancel()
    finally:
        await node.close()


async def _hand_over_kept_forever(node: Node) -> None:
    """Messages the intake kept while Temporal did not answer reach their cases without their senders' help
    (a letter or an e-mail is not sent again by anyone). Each worker sweeps: handing over is idempotent."""
    while True:
        await asyncio.sleep(node.settings.hand_over_sweep_seconds)
        try:
            await hand_over_kept(node)
        except Exception:  # a database or Temporal outage: the next round tries again, the worker goes on
            log.exception("handing over kept messages failed; trying again in %ss",
                          node.settings.hand_over_sweep_seconds)
