"""Every scenario file under tests/scenarios/ runs on one shared time-skipping test server and one
PostgreSQL (a fresh pair of databases per scenario), through `probatio.simulate`, exactly as
`probatio simulate FILE` runs it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from probatio.simulate import Infrastructure, format_outcome, load_scenario, open_infrastructure, run_scenario

HERE = Path(__file__).parent
SCENARIOS = sorted(HERE.glob("*.yaml"))


@pytest.fixture(scope="module")
async def infra(pg_server: str) -> AsyncIterator[Infrastructure]:
    infra = await open_infrastructure(pg_server)
    try:
        yield infra
    finally:
        await infra.close()


def test_there_is_a_scenario_for_every_branch() -> None:
    assert len(SCENARIOS) >= 20


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.stem for p in SCENARIOS])
async def test_scenario(infra: Infrastructure, path: Path) -> None:
    out = await run_scenario(infra, load_scenario(path))
    assert out.passed, format_outcome(out)
