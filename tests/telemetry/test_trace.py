"""One transfer, traced: the web request, the workflow, its SQL and the adapter call are spans of one trace
(exported to memory) that goes on at the peer; the worker and web metrics count it; the OTEL_* variables
configure the exporter; Temporal's own metrics join ours; and JSON log lines carry ids only."""

from __future__ import annotations

import asyncio
import json
import logging
import os
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
        # psycopg's instrumentation: the request's SQL is in the trace, as statements without their values.
        sql = [s for s in trace if s.attributes and s.attributes.get("db.system") == "postgresql"]
        assert sql, describe(trace)
        assert any(s.name == "HandleUpdate:approve" for s in trace), describe(trace)
        workflow = [s for s in trace if ":OutgoingTransfer" in s.name or s.name.startswith("HandleUpdate")]
        assert workflow, "no workflow span in the adapter's trace: " + describe(trace)
        assert any(s.name == "RunActivity:send_message" for s in trace), describe(trace)
        # The adapter call is inside the activity that made it.
        run_activity = next(s for s in trace if s.name == "RunActivity:send_message")
        assert adapter.parent is not None and run_activity.context is not None
        assert adapter.parent.span_id == run_activity.context.span_id
        # ... and the trace goes on at the peer: BE's inbox request is a child of the HTTP call (httpx's
        # instrumentation) that LU's adapter made, `traceparent` carrying it across the node link.
        inbox = [s for s in trace if s.name == "POST /api/v1/inbox" and s.attributes
                 and s.attributes.get("probatio.state") == "BE"]
        assert inbox, describe(trace)
        assert inbox[0].parent is not None
        call = next(s for s in trace if s.context is not None and s.context.span_id == inbox[0].parent.span_id)
        assert call.kind == SpanKind.CLIENT and call.parent is not None
        assert call.parent.span_id == adapter.context.span_id
        assert any(s.name == "RunWorkflow:IncomingTransfer" for s in trace), describe(trace)

        # Metrics: the worker counted the stage change and the delivery; the web counted the requests.
        r = await http.get(f"{lu}/metrics")
        assert r.status_code == 200
        text = r.text
        assert 'probatio_stage_changes_total{side="issuing",stage="sent",state="LU"}' in text
        assert 'probatio_delivery_attempts_total{result="ok",state="LU",to_state="BE",type="certificate"}' in text
        # The FastAPI instrumentation's request metrics, by route template.
        requests = [line for line in text.splitlines() if line.startswith("http_server_request_duration_seconds_count")
                    and 'http_route="/api/v1/transfers/{case_id}/actions/{action}"' in line
                    and 'http_request_method="POST"' in line and 'http_response_status_code="200"' in line]
        assert requests, [line for line in text.splitlines() if line.startswith("http_server_") and "count" in line][:8]
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


def test_the_otel_variables_configure_the_exporter() -> None:
    """OTEL_EXPORTER_OTLP_ENDPOINT and OTEL_SERVICE_NAME as any OpenTelemetry SDK reads them: OTLP over HTTP
    to the collector's traces path, under the operator's service name (a process of its own: the global
    tracer provider can be set once)."""
    import subprocess
    import sys

    probe = (
        "from probatio.settings import Settings\n"
        "from probatio import telemetry\n"
        "provider = telemetry.configure_tracing(Settings(state='LU'))\n"
        "exporter = provider._active_span_processor._span_processors[0].span_exporter\n"
        "print(type(exporter).__name__, exporter._endpoint, provider.resource.attributes['service.name'],"
        " provider.resource.attributes['probatio.state'])\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    shown = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, env={
        **env, "OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318", "OTEL_SERVICE_NAME": "probatio-lu-web"})
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.split() == ["OTLPSpanExporter", "http://collector:4318/v1/traces", "probatio-lu-web", "LU"]
    off = subprocess.run([sys.executable, "-c", "from probatio import telemetry\n"
                          "print(telemetry.configure_tracing(None))"], capture_output=True, text=True, timeout=60,
                         env=env)
    assert off.stdout.strip() == "None", off.stderr
    assert telemetry.tracing_requested({"OTEL_TRACES_EXPORTER": "console"})
    assert not telemetry.tracing_requested({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318",
                                            "OTEL_SDK_DISABLED": "true"})
    assert telemetry.case_of("transfer-abc") == "abc"
    assert telemetry.case_of("incoming-abc") == "abc"
    assert telemetry.case_of("retention-sweep") is None


async def test_temporal_sdk_metrics_join_the_registry(temporal_client: Client) -> None:
    """A client on the runtime `probatio worker` uses: Temporal's own metrics appear in our registry."""
    from prometheus_client import CollectorRegistry, generate_latest

    registry = CollectorRegistry()
    runtime, _ = telemetry.temporal_runtime(registry)
    config = temporal_client.config()
    client = await Client.connect(temporal_client.service_client.config.target_host,
                                  namespace=temporal_client.namespace, runtime=runtime)
    await client.count_workflows()

    async def exported() -> bool:
        return "temporal_request" in generate_latest(registry).decode()

    assert await until(exported), generate_latest(registry).decode()[:2000]
    assert config["namespace"] == client.namespace


async def test_the_cases_gauge_falls_to_zero_when_a_stage_empties(nodes: LocalNodes) -> None:
    from prometheus_client import REGISTRY

    node = nodes["LU"].node
    async with httpx.AsyncClient(timeout=30) as http:
        case_id = await create_and_approve(http, nodes)
    await telemetry.refresh_case_gauge(node)

    def count(stage: str) -> float | None:
        return REGISTRY.get_sample_value("probatio_cases", {"state": "LU", "direction": "outgoing", "stage": stage})

    stage = next(s for s in ("draft", "awaiting_approval", "sent", "under_decision", "transferred")
                 if (count(s) or 0) > 0)
    async with node.pool.connection() as conn:
        await conn.execute("UPDATE cases SET stage = 'closed' WHERE id = %s", (case_id,))
    await telemetry.refresh_case_gauge(node)
    assert count(stage) == 0
    assert count("closed") == 1
    # Where a cluster scrapes the metrics port, the web process keeps the gauge fresh on its own.
    async with node.pool.connection() as conn:
        await conn.execute("UPDATE cases SET stage = 'transferred' WHERE id = %s", (case_id,))
    keeping = asyncio.create_task(telemetry.keep_case_gauge(node, every=0.05))
    try:
        async def refreshed() -> bool:
            return count("closed") == 0

        assert await until(refreshed), count("closed")
    finally:
        keeping.cancel()
