"""One transfer, traced: the web request, the workflow and the adapter call are spans of one trace
(exported to memory), the worker and web metrics count it, and JSON log lines carry ids only."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from temporalio.client import Client

from probatio import telemetry
from probatio.harness import LocalNodes, start_nodes
from probatio.logs import JsonFormatter, case_context
from tests.support import create_and_approve

pytestmark = pytest.mark.integration


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    telemetry.configure_tracing(exporter=exporter)
    try:
        yield exporter
    finally:
        telemetry.reset_tracing()


@pytest.fixture
async def nodes(spans: InMemorySpanExporter, temporal_client: Client, pg_server: str,
                tmp_path: Path) -> AsyncIterator[LocalNodes]:
    local = await start_nodes(telemetry.traced(temporal_client), pg_server, ["LU", "BE"], tmp_path,
                              db_prefix="telemetry_")
    try:
        yield local
    finally:
        await local.stop()



async def until(check: Any, timeout: float = 30.0) -> Any:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = await check()
        if value or asyncio.get_running_loop().time() > deadline:
            return value
        await asyncio.sleep(0.2)


def describe(trace: list[ReadableSpan]) -> str:
    return ", ".join(sorted(s.name for s in trace))


async def test_one_transfer_is_one_trace_from_web_to_adapter(nodes: LocalNodes,
                                                               spans: InMemorySpanExporter) -> None:
    lu = nodes["LU"].url
    async with httpx.AsyncClient(timeout=30) as http:
        case_id = await create_and_approve(http, nodes)

        def adapter_spans() -> list[ReadableSpan]:
            return [s for s in spans.get_finished_spans() if s.name.startswith("adapter.deliver")
                    and s.attributes and s.attributes.get("probatio.case_id") == case_id]

        async def delivered() -> list[ReadableSpan]:
            return adapter_spans()

        found = await until(delivered)
        assert found, "no adapter span: " + describe(list(spans.get_finished_spans()))
        adapter = found[0]
        assert adapter.attributes is not None
        assert adapter.attributes["probatio.adapter"] == "nodelink"
        assert adapter.attributes["probatio.message_type"] == "certificate"

        assert adapter.context is not None
        trace_id = adapter.context.trace_id
        trace = [s for s in spans.get_finished_spans() if s.context is not None and s.context.trace_id == trace_id]
        # The workflow keeps the trace of the request that started it: the transfer is one trace, from
        # the officer's POST through every update, activity and adapter call.
        web = [s for s in trace if s.kind == SpanKind.SERVER and s.attributes and "http.route" in s.attributes
               and s.attributes.get("probatio.state") == "LU" and s.attributes["http.route"] != "/api/v1/inbox"]
        assert [s.name for s in web] == ["POST /api/v1/transfers"], describe(trace)
        assert web[0].attributes is not None
        assert web[0].attributes["http.response.status_code"] == 201
        assert any(s.name == "HandleUpdate:approve" for s in trace), describe(trace)
        workflow = [s for s in trace if ":OutgoingTransfer" in s.name or s.name.startswith("HandleUpdate")]
        assert workflow, "no workflow span in the adapter's trace: " + describe(trace)
        assert any(s.name == "RunActivity:send_message" for s in trace), describe(trace)
        # The adapter call is inside the activity that made it.
        run_activity = next(s for s in trace if s.name == "RunActivity:send_message")
        assert adapter.parent is not None and run_activity.context is not None
        assert adapter.parent.span_id == run_activity.context.span_id
        # ... and the trace goes on at the peer: BE's inbox request is a child of LU's adapter call.
        inbox = [s for s in trace if s.name == "POST /api/v1/inbox" and s.attributes
                 and s.attributes.get("probatio.state") == "BE"]
        assert inbox, describe(trace)
        assert inbox[0].parent is not None and inbox[0].parent.span_id == adapter.context.span_id
        assert any(s.name == "RunWorkflow:IncomingTransfer" for s in trace), describe(trace)

        # Metrics: the worker counted the stage change and the delivery; the web counted the requests.
        r = await http.get(f"{lu}/metrics")
        assert r.status_code == 200
        text = r.text
        assert 'probatio_stage_changes_total{side="issuing",stage="sent",state="LU"}' in text
        assert 'probatio_delivery_attempts_total{result="ok",state="LU",to_state="BE",type="certificate"}' in text
        assert ('probatio_http_requests_total{method="POST",route="/api/v1/transfers/{case_id}/actions/{action}",'
                'state="LU",status="200"}') in text
        assert 'probatio_cases{direction="outgoing",stage="sent",state="LU"}' in text or \
            'probatio_cases{direction="outgoing"' in text
        # No raw path (and so no case id) is ever a label: cardinality stays bounded.
        assert case_id not in text


def test_json_log_lines_carry_ids_and_no_personal_data() -> None:
    formatter = JsonFormatter()
    logger = logging.getLogger("probatio.test")
    with case_context("3f1c0a4e-0000-4000-8000-000000000001"):
        record = logger.makeRecord("probatio.test", logging.WARNING, __file__, 1,
                                   "certificate rejected: 1 validation error for Certificate\n  person.name\n"
                                   "  Input should be a valid string [type=string_type, input_value=['Jean Dupont'],"
                                   " input_type=list]", None, None)
        line = json.loads(formatter.format(record))
    assert line["case_id"] == "3f1c0a4e-0000-4000-8000-000000000001"
    assert line["level"] == "warning"
    assert "Jean" not in line["message"] and "input_value=<redacted>" in line["message"]
    record = logger.makeRecord("probatio.test", logging.INFO, __file__, 1, "outside any case", None, None)
    assert "case_id" not in json.loads(formatter.format(record))


def test_traces_url_accepts_a_base_or_a_full_endpoint() -> None:
    assert telemetry.traces_url("http://collector:4318") == "http://collector:4318/v1/traces"
    assert telemetry.traces_url("http://collector:4318/v1/traces/") == "http://collector:4318/v1/traces"
    assert telemetry.case_of("transfer-abc") == "abc"
    assert telemetry.case_of("incoming-abc") == "abc"
    assert telemetry.case_of("retention-sweep") is None
