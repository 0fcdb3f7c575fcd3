"""What an operator sets for the worker reaches the worker."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError
from temporalio.client import Client

from adapters.directory import Directory
from probatio.node import Node
from probatio.settings import Settings
from store.db import open_pool

pytestmark = pytest.mark.integration


async def test_the_workflow_cache_is_sized_by_the_operator(temporal_client: Client, pg_server: str,
                                                           tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PROBATIO_WORKER_CACHED_WORKFLOWS", "250")
    # A client and a task queue of its own: a worker registers with its client until it is shut down, and
    # the other tests' LU workers share the session's client.
    client = await Client.connect(temporal_client.service_client.config.target_host)
    settings = Settings(state="ZZ", home=tmp_path, database_url=pg_server)
    node = Node(settings=settings, pool=open_pool(pg_server), client=client,
                directory=Directory.from_dict({"states": {}}))
    assert node.worker().config()["max_cached_workflows"] == 250
    assert Settings().worker_cached_workflows == 250
    monkeypatch.setenv("PROBATIO_WORKER_CACHED_WORKFLOWS", "0")
    with pytest.raises(ValidationError, match="worker_cached_workflows"):
        Settings()
