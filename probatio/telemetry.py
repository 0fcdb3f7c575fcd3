"""Telemetry: traces (OpenTelemetry, exported over OTLP/HTTP), metrics (Prometheus), and the case id
that logs carry.

One trace follows a transfer from the web request through the workflow and its activities to the
adapter call: a server span per HTTP request (`TelemetryMiddleware`), Temporal's `TracingInterceptor`
on client and worker (it carries the context in workflow and activity headers), and `span()` around
the adapter call. Tracing is off unless `PROBATIO_OTEL_EXPORTER_OTLP_ENDPOINT` is set (or a test
installs an exporter); then every hook below is a no-op or nearly so.

Metrics go to the process's default Prometheus registry: the web app serves them at `/metrics`, and
any process with `PROBATIO_METRICS_PORT` set also serves them on that port (the worker's only way).

Spans and metric labels carry ids, stages, states, adapters and message types — never personal data.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Awaitable, Callable, Iterator, MutableMapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from opentelemetry import propagate, trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor, SpanExporter
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, Counter, Gauge, Histogram, generate_latest
from temporalio import activity
from temporalio.client import Client
from temporalio.contrib.opentelemetry import TracingInterceptor
from temporalio.worker import ActivityInboundInterceptor, ExecuteActivityInput
from temporalio.worker import Interceptor as WorkerInterceptor

from probatio.logs import case_context

if TYPE_CHECKING:
    from fastapi import FastAPI
    from starlette.requests import Request
    from starlette.responses import Response

    from probatio.settings import Settings

log = logging.getLogger(__name__)

TRACER_NAME = "probatio"

# --- traces ---------------------------------------------------------------------------------------------

_provider: TracerProvider | None = None
_lock = threading.Lock()


def traces_url(endpoint: str) -> str:
    """The OTLP/HTTP traces URL for an endpoint given as a base (`http://collector:4318`) or in full."""
    endpoint = endpoint.rstrip("/")
    return endpoint if endpoint.endswith("/v1/traces") else f"{endpoint}/v1/traces"


def configure_tracing(settings: Settings | None = None, *, exporter: SpanExporter | None = None,
                      service: str = "probatio") -> TracerProvider | None:
    """Install a tracer provider for this process: OTLP/HTTP to the configured endpoint, or `exporter`
    (tests pass an in-memory one; its spans are exported at once). None when tracing stays off."""
    global _provider
    if exporter is None:
        endpoint = settings.otel_exporter_otlp_endpoint if settings else None
        if not endpoint:
            return _provider
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        processor: Any = BatchSpanProcessor(OTLPSpanExporter(endpoint=traces_url(endpoint)))
    else:
        processor = SimpleSpanProcessor(exporter)
    with _lock:
        if _provider is None:
            attributes: dict[str, str] = {"service.name": service}
            if settings is not None:
                attributes["probatio.state"] = settings.state
            _provider = TracerProvider(resource=Resource.create(attributes))
            if exporter is None:
                # Production: also the global provider, so any library's spans join ours.
                trace.set_tracer_provider(_provider)
        _provider.add_span_processor(processor)
    return _provider


def reset_tracing() -> None:
    """Flush and forget this module's provider (tests)."""
    global _provider
    with _lock:
        if _provider is not None:
            _provider.shutdown()
        _provider = None


def tracing_enabled() -> bool:
    return _provider is not None


def tracer() -> trace.Tracer:
    return (_provider or trace.get_tracer_provider()).get_tracer(TRACER_NAME)


@contextmanager
def span(name: str, attributes: dict[str, str | int | bool] | None = None) -> Iterator[trace.Span]:
    """A span in the current trace (a no-op span when tracing is off). Exceptions are recorded."""
    with tracer().start_as_current_span(name, attributes=attributes or {}) as current:
        yield current


def traced(client: Client) -> Client:
    """`client` with Temporal's tracing interceptor when tracing is on: workflows and activities started
    through it continue the caller's trace. Unchanged when tracing is off or already there."""
    config = client.config()
    interceptors = list(config["interceptors"])
    if not tracing_enabled() or any(isinstance(i, TracingInterceptor) for i in interceptors):
        return client
    config["interceptors"] = [*interceptors, TracingInterceptor(tracer())]
    return Client(**config)


def worker_interceptors(client: Client, state: str) -> list[WorkerInterceptor]:
    """Metrics always; tracing when on and the client does not bring it already (a client's interceptors
    that also intercept workers are applied to the worker by Temporal itself)."""
    result: list[WorkerInterceptor] = [MetricsInterceptor(state)]
    if tracing_enabled() and not any(isinstance(i, TracingInterceptor) for i in client.config()["interceptors"]):
        result.append(TracingInterceptor(tracer()))
    return result


# --- metrics --------------------------------------------------------------------------------------------

STAGE_CHANGES = Counter("probatio_stage_changes", "Transfers moved into a stage, by side",
                        ["state", "side", "stage"])
DEADLINE_MISSES = Counter("probatio_deadline_misses", "Deadlines found missed (decision, policy duties)",
                          ["state", "side", "alert"])
DELIVERY_ATTEMPTS = Counter("probatio_delivery_attempts", "Attempts to deliver a message to a peer",
                            ["state", "to_state", "type", "result"])
DELIVERY_RETRIES = Counter("probatio_delivery_retries", "Delivery attempts after the first (retries)",
                           ["state", "to_state", "type"])
ACTIVITY_SECONDS = Histogram("probatio_activity_seconds", "Activity run time", ["state", "activity", "result"])
HTTP_REQUESTS = Counter("probatio_http_requests", "HTTP requests served", ["state", "method", "route", "status"])
HTTP_SECONDS = Histogram("probatio_http_request_seconds", "HTTP request time", ["state", "method", "route"])
CASES = Gauge("probatio_cases", "Cases in the projection, by direction and stage (read at scrape time)",
              ["state", "direction", "stage"])

_SIDES = {"OutgoingTransfer": "issuing", "IncomingTransfer": "executing"}


def case_of(workflow_id: str | None) -> str | None:
    """The case id in a workflow id (`transfer-<id>`, `incoming-<id>`)."""
    if not workflow_id:
        return None
    prefix, _, rest = workflow_id.partition("-")
    return rest if prefix in ("transfer", "incoming") and rest else None


class MetricsInterceptor(WorkerInterceptor):
    """Counts what the worker's activities do: stage changes and missed deadlines as written to the
    projection, delivery attempts and retries, activity time. Sets the case id for logs."""

    def __init__(self, state: str) -> None:
        self.state = state

    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _MetricsActivityInbound(next, self.state)


class _MetricsActivityInbound(ActivityInboundInterceptor):
    def __init__(self, next: ActivityInboundInterceptor, state: str) -> None:
        super().__init__(next)
        self.state = state

    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        info = activity.info()
        name = info.activity_type
        message = input.args[0] if name == "send_message" and input.args else None
        to_state = str(getattr(message, "to_state", "")) if message is not None else ""
        msg_type = str(getattr(message, "type", "")) if message is not None else ""
        if message is not None and info.attempt > 1:
            DELIVERY_RETRIES.labels(self.state, to_state, msg_type).inc()
        result_label = "error"
        start = time.perf_counter()
        with case_context(case_of(info.workflow_id)):
            try:
                result = await self.next.execute_activity(input)
                result_label = "ok"
            finally:
                ACTIVITY_SECONDS.labels(self.state, name, result_label).observe(time.perf_counter() - start)
                if message is not None:
                    DELIVERY_ATTEMPTS.labels(self.state, to_state, msg_type, result_label).inc()
        if name == "record_case" and input.args:
            self._count_projection(input.args[0], _SIDES.get(info.workflow_type or "", "unknown"))
        return result

    def _count_projection(self, projection: Any, side: str) -> None:
        for event in getattr(projection, "events", None) or []:
            new_stage = getattr(event, "new_stage", None)
            if new_stage:
                STAGE_CHANGES.labels(self.state, side, str(new_stage)).inc()
            if getattr(event, "type", None) == "alert":
                alert = str((getattr(event, "detail", None) or {}).get("alert", ""))
                if alert.endswith("_overdue"):
                    DEADLINE_MISSES.labels(self.state, side, alert).inc()


_served_ports: set[int] = set()


def serve_metrics(settings: Settings) -> int | None:
    """Serve the registry on PROBATIO_METRICS_PORT (once per process); the port, or None when unset."""
    port = settings.metrics_port
    if not port:
        return None
    with _lock:
        if port not in _served_ports:
            from prometheus_client import start_http_server

            start_http_server(port, addr=settings.metrics_host)
            _served_ports.add(port)
    return port


# --- web ------------------------------------------------------------------------------------------------

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

_CASE_PATH = re.compile(r"^/api/v1/(?:transfers|incoming)/([0-9a-fA-F-]{8,64})(?:/|$)")


class TelemetryMiddleware:
    """A server span and request metrics per HTTP request, labelled by route template (bounded
    cardinality; never the raw path). Continues a trace the caller sent in `traceparent`."""

    def __init__(self, app: ASGIApp, state: str) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method = str(scope.get("method", "GET"))
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope.get("headers", [])}
        parent = propagate.extract(headers)
        status = 500
        match = _CASE_PATH.match(str(scope.get("path", "")))
        case_id = match.group(1) if match else None

        async def send_with_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        start = time.perf_counter()
        with case_context(case_id), tracer().start_as_current_span(
                f"{method} request", context=parent, kind=trace.SpanKind.SERVER) as current:
            try:
                await self.app(scope, receive, send_with_status)
            finally:
                route = getattr(scope.get("route"), "path", None) or "unmatched"
                current.update_name(f"{method} {route}")
                current.set_attribute("http.request.method", method)
                current.set_attribute("http.route", route)
                current.set_attribute("http.response.status_code", status)
                current.set_attribute("probatio.state", self.state)
                if case_id:
                    current.set_attribute("probatio.case_id", case_id)
                if status >= 500:
                    current.set_status(trace.Status(trace.StatusCode.ERROR))
                HTTP_REQUESTS.labels(self.state, method, route, str(status)).inc()
                HTTP_SECONDS.labels(self.state, method, route).observe(time.perf_counter() - start)


async def refresh_case_gauge(node: Any) -> None:
    """Cases by direction and stage, read from the projection (bounded time; kept stale on failure)."""
    import asyncio

    try:
        async with asyncio.timeout(2), node.pool.connection() as conn:
            cur = await conn.execute("SELECT direction, stage, count(*) AS n FROM cases GROUP BY 1, 2")
            rows = await cur.fetchall()
    except Exception as err:  # the metrics page must answer even when the database does not
        log.warning("case counts unavailable for /metrics: %s", type(err).__name__)
        return
    for row in rows:
        CASES.labels(node.settings.state, row["direction"], row["stage"]).set(row["n"])


def instrument_app(app: FastAPI, settings: Settings) -> None:
    """Tracing and metrics for the web app: the middleware, `/metrics`, and the metrics port if set."""
    from starlette.responses import Response

    configure_tracing(settings)
    serve_metrics(settings)
    app.add_middleware(TelemetryMiddleware, state=settings.state)  # type: ignore[arg-type]

    async def metrics(request: Request) -> Response:
        node = getattr(request.app.state, "node", None)
        if node is not None:
            await refresh_case_gauge(node)
        return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)

    app.add_route("/metrics", metrics, include_in_schema=False)


def instrument_worker(settings: Settings) -> None:
    """Tracing and the metrics port for the worker process (call before connecting to Temporal)."""
    configure_tracing(settings)
    serve_metrics(settings)
