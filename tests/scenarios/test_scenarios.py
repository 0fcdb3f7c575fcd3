"""Every scenario file under tests/scenarios/ runs on one shared time-skipping test server and one
PostgreSQL (a fresh pair of databases per scenario), through `probatio.simulate`, exactly as
`probatio simulate FILE` runs it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import yaml

from forms.messages import ACTIONS, MessageType
from forms.stages import Alert, Side
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


def _covered() -> dict[str, set[str]]:
    """What the scenario files exercise, read from the files themselves."""
    covered: dict[str, set[str]] = {"issuing": set(), "executing": set(), "messages": set(), "alerts": set(),
                                    "issuing_outcomes": set(), "executing_outcomes": set()}
    for path in SCENARIOS:
        scenario = yaml.safe_load(path.read_text(encoding="utf-8"))
        for step in scenario["steps"]:
            if "actor" in step and step.get("expect") != "refused":
                side = "issuing" if step["actor"].split(".")[0] == scenario["issuing"] else "executing"
                covered[side].add(step["action"])
        expect = scenario.get("expect") or {}
        covered["messages"] |= set(expect.get("messages") or [])
        for key, value in expect.items():
            state, _, what = key.partition(".")
            side = "issuing" if state == scenario["issuing"] else "executing"
            if what == "outcome":
                covered[f"{side}_outcomes"].add(value)
            if what == "alerts_seen":
                covered["alerts"] |= set(value)
    return covered


# Exercised elsewhere, where a scenario cannot reach: a failed or unconfirmed delivery needs a peer that
# fails (tests/delivery), and `resend` is what follows one.
NOT_IN_SCENARIOS = {"actions": {"resend"}, "alerts": {Alert.DELIVERY_FAILED, Alert.DELIVERY_UNCONFIRMED}}


def test_there_is_a_scenario_for_every_branch() -> None:
    """Every action of both sides carried out, every message crossing the link, every way a case ends on
    each side and every alert raised, in at least one scenario."""
    covered = _covered()
    for side in (Side.ISSUING, Side.EXECUTING):
        missing = set(ACTIONS[side]) - covered[side] - NOT_IN_SCENARIOS["actions"]
        assert not missing, f"{side} actions no scenario carries out: {sorted(missing)}"
    assert not set(MessageType) - covered["messages"], sorted(set(MessageType) - covered["messages"])
    issuing_ends = {"refused", "withdrawn", "completed", "revoked", "lapsed", "person_not_found", "amnesty"}
    # `forwarded` ends the executing case when the competent authority has a node of its own (scenario 48);
    # forwarding within a node reassigns the case and it goes on (scenario 25).
    executing_ends = issuing_ends | {"transferred_back", "forwarded"}
    assert not issuing_ends - covered["issuing_outcomes"], sorted(issuing_ends - covered["issuing_outcomes"])
    assert not executing_ends - covered["executing_outcomes"], sorted(executing_ends - covered["executing_outcomes"])
    missing_alerts = set(Alert) - covered["alerts"] - NOT_IN_SCENARIOS["alerts"]
    assert not missing_alerts, sorted(missing_alerts)


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.stem for p in SCENARIOS])
async def test_scenario(infra: Infrastructure, path: Path) -> None:
    out = await run_scenario(infra, load_scenario(path))
    said = format_outcome(out)
    assert out.passed, said
