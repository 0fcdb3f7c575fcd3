"""Two real nodes (LU issuing, BE executing) on the session's Temporal dev server and PostgreSQL, shared by
the tests of one module; pages are driven over real HTTP like a browser without script would."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from temporalio.client import Client

from probatio.harness import LocalNodes, start_nodes


@pytest.fixture(scope="module")
async def nodes(temporal_client: Client, pg_server: str, tmp_path_factory: pytest.TempPathFactory,
                request: pytest.FixtureRequest) -> AsyncIterator[LocalNodes]:
    home: Path = tmp_path_factory.mktemp("browser")
    prefix = re.sub(r"\W", "_", request.module.__name__.rsplit(".", 1)[-1])[:20] + "_"
    local = await start_nodes(temporal_client, pg_server, ["LU", "BE"], home, db_prefix=prefix)
    try:
        yield local
    finally:
        await local.stop()
