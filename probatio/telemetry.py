"""Telemetry: traces (OpenTelemetry), metrics (Prometheus), and the case id that logs carry.

Traces come from the libraries' own OpenTelemetry instrumentations — FastAPI (a server span per request),
httpx (a client span per call, carrying `traceparent`, so the node link's trace goes on at the peer's
inbox) and psycopg (a span per statement) — plus Temporal's `TracingInterceptor` on client and worker
(the context travels in workflow and activity headers) and `span()` around each adapter call. They are
configured by the standard variables (`OTEL_EXPORTER_OTLP_ENDPOINT`, `OTEL_SERVICE_NAME`,
`OTEL_TRACES_EXPORTER`, `OTEL_TRACES_SAMPLER`, `OTEL_RESOURCE_ATTRIBUTES`, `OTEL_SDK_DISABLED`, …) through
the OpenTelemetry distro's configurator; tracing is off unless an exporter or an endpoint is named (or a
test installs an exporter). OTLP goes over HTTP (`http/protobuf`), the exporter this package ships.

Metrics go to the process's default Prometheus registry: the web app serves them at `/metrics`, and any
process with `PROBATIO_METRICS_PORT` set also serves them on that port (the worker's only way). They are
ours (stage changes, deliveries, activities, cases by stage), the HTTP server and client metrics of the
instrumentations, and on the worker the Temporal SDK's own (`temporal_…`: polls, task latencies, slots).

Spans and metric labels carry ids, stages, states, adapters and message types — never personal data.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import re
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from opentelemetry import trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, Counter, Gauge, Histogram, generate_latest
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.registry import Collector
from temporalio import activity
from temporalio.client import Client
from temporalio.contrib.opentelemetry import TracingInterceptor
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig
from temporalio.worker import ActivityInboundInterceptor, ExecuteActivityInput
from temporalio.worker import Interceptor as WorkerInterceptor

from probatio.logs import bind_case, case_context

if TYPE_CHECKING:
    from fastapi import FastAPI
    from prometheus_client.metrics_core import Metric
    from starlette.requests import Request
    from starlette.responses import Response

    from probatio.settings import Settings

log = logging.getLogger(__name__)

TRACER_NAME = "probatio"

# --- traces ---------------------------------------------------------------------------------------------

_provider: TracerProvider | None = None
_instrumented = False
_lock = threading.Lock()


def tracing_requested(environ: dict[str, str] | os._Environ[str] = os.environ) -> bool:
    """Whether the OTEL_* variables ask for traces: an exporter other than `none`, or an OTLP endpoint."""
    if environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    exporter = environ.get("OTEL_TRACES_EXPORTER", "").strip().lower()
    if exporter:
        return exporter != "none"
    return bool(environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"))


def _resource_attributes(settings: Settings | None, service: str) -> dict[str, str]:
    """Ours beside the OTEL_* ones; a service name only where the operator named none."""
    attributes = {"probatio.state": settings.state} if settings is not None else {}
    named = os.environ.get("OTEL_SERVICE_NAME") or "service.name=" in os.environ.get("OTEL_RESOURCE_ATTRIBUTES", "")
    if not named:
        attributes["service.name"] = service
    return attributes


def _stable_conventions() -> None:
    """The instrumentations name things by OpenTelemetry's stable HTTP conventions (`http.route`,
    `http.response.status_code`, `http_server_request_duration_seconds`) unless the operator chose otherwise;
    read once per process, when the first instrumentation starts."""
    os.environ.setdefault("OTEL_SEMCONV_STABILITY_OPT_IN", "http")


def configure_tracing(settings: Settings | None = None, *, exporter: SpanExporter | None = None,
                      service: str = "probatio") -> TracerProvider | None:
    """Install this process's tracer provider, once: as the OTEL_* variables say (then it is also the global
    provider), or exporting to `exporter` (tests pass an in-memory one; its spans are exported at once).
    The FastAPI, httpx and psycopg instrumentations are switched on with it. None while tracing is off."""
    global _provider
    _stable_conventions()
    with _lock:
        if _provider is not None:
            if exporter is not None:
                _provider.add_span_processor(SimpleSpanProcessor(exporter))
            return _provider
        if exporter is not None:
            _provider = TracerProvider(resource=Resource.create(_resource_attributes(settings, service)))
            _provider.add_span_processor(SimpleSpanProcessor(exporter))
        elif tracing_requested():
            from opentelemetry.distro import OpenTelemetryConfigurator

            # We ship the OTLP/HTTP exporter: OTEL_TRACES_EXPORTER=otlp means it unless the operator chose
            # another protocol, and an endpoint alone means it too.
            os.environ.setdefault("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")
            names = [] if os.environ.get("OTEL_TRACES_EXPORTER") else ["otlp_proto_http"]
            OpenTelemetryConfigurator().configure(  # type: ignore[no-untyped-call]
                trace_exporter_names=names, resource_attributes=_resource_attributes(settings, service))
            configured = trace.get_tracer_provider()
            if not isinstance(configured, TracerProvider):
                return None
            _provider = configured
        else:
            return None
        _instrument_libraries(_provider)
        return _provider


def _instrument_libraries(provider: TracerProvider) -> None:
    """The httpx and psycopg instrumentations patch the libraries for the whole process."""
    global _instrumented
    if _instrumented:
        return
    from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
    from opentelemetry.instrumentation.psycopg import PsycopgInstrumentor

    HTTPXClientInstrumentor().instrument(tracer_provider=provider, meter_provider=meter_provider())
    PsycopgInstrumentor().instrument(tracer_provider=provider, enable_commenter=False)
    _instrumented = True


def reset_tracing() -> None:
    """Flush and forget this module's provider and undo the library patches (tests)."""
    global _provider, _instrumented
    with _lock:
        if _instrumented:
            from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
            from opentelemetry.instrumentation.psycopg import PsycopgInstrumentor

            HTTPXClientInstrumentor().uninstrument()
            PsycopgInstrumentor().uninstrument()
            _instrumented = False
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
CASES = Gauge("probatio_cases", "Cases in the projection, by direction and stage (read at scrape time)",
              ["state", "direction", "stage"])

_SIDES = {"OutgoingTransfer": "issuing", "IncomingTransfer": "executing"}

_meter_provider: MeterProvider | None = None


def meter_provider() -> MeterProvider:
    """The instrumentations' metrics, read into the Prometheus registry at scrape time (one per process)."""
    global _meter_provider
    if _meter_provider is None:
        from opentelemetry.exporter.prometheus import PrometheusMetricReader

        _meter_provider = MeterProvider(metric_readers=[PrometheusMetricReader(disable_target_info=True)])
    return _meter_provider


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


# --- Temporal's own metrics -------------------------------------------------------------------------------


class TemporalMetrics(Collector):
    """Temporal SDK core's metrics (worker polls, task latencies, slots, sticky cache, RPC requests) in our
    registry: the runtime serves them in Prometheus format on a loopback port of its own, and each scrape of
    ours reads them from there, so the worker has one metrics endpoint."""

    def __init__(self, url: str) -> None:
        self.url = url

    def collect(self) -> Iterator[Metric]:
        try:
            # The URL is built here from 127.0.0.1 and our own port: never a file: or another scheme.
            with urllib.request.urlopen(self.url, timeout=2) as answer:  # noqa: S310  # nosec B310
                text = answer.read().decode("utf-8")
        except OSError as err:  # the scrape must answer even while the runtime's server does not
            log.debug("Temporal metrics unavailable: %s", err)
            return
        yield from text_string_to_metric_families(text)


def temporal_runtime(registry: Any = REGISTRY) -> tuple[Runtime, TemporalMetrics]:
    """A Temporal runtime exporting its metrics, and the collector that brings them into `registry`."""
    from probatio.embedded import free_port

    address = f"127.0.0.1:{free_port()}"
    runtime = Runtime(telemetry=TelemetryConfig(metrics=PrometheusConfig(bind_address=address,
                                                                        durations_as_seconds=True)))
    bridge = TemporalMetrics(f"http://{address}/metrics")
    registry.register(bridge)
    return runtime, bridge


# --- the cases gauge -----------------------------------------------------------------------------------------

# The (direction, stage) series each node has set, so a stage that empties is set to 0, not left stale.
_gauge_series: dict[str, set[tuple[str, str]]] = {}


async def refresh_case_gauge(node: Any) -> None:
    """Cases by direction and stage, read from the projection (bounded time; kept stale on failure). A stage
    that no longer has cases reads 0."""
    import asyncio

    state = node.settings.state
    try:
        async with asyncio.timeout(2), node.pool.connection() as conn:
            cur = await conn.execute("SELECT direction, stage, count(*) AS n FROM cases GROUP BY 1, 2")
            rows = await cur.fetchall()
    except Exception as err:  # the metrics page must answer even when the database does not
        log.warning("case counts unavailable for /metrics: %s", type(err).__name__)
        return
    now = {(row["direction"], row["stage"]): row["n"] for row in rows}
    for direction, stage in _gauge_series.get(state, set()) - set(now):
        CASES.labels(state, direction, stage).set(0)
    for (direction, stage), n in now.items():
        CASES.labels(state, direction, stage).set(n)
    _gauge_series[state] = _gauge_series.get(state, set()) | set(now)


# How often the web process refreshes the cases gauge for the metrics port, which a scraper reads without
# going through the app (the web port's /metrics refreshes it on each request).
CASE_GAUGE_SECONDS = 30.0


async def keep_case_gauge(node: Any, every: float = CASE_GAUGE_SECONDS) -> None:
    """Refresh the cases gauge now and every `every` seconds, until cancelled (the web app's lifespan runs it
    while PROBATIO_METRICS_PORT is served)."""
    import asyncio

    while True:
        await refresh_case_gauge(node)
        await asyncio.sleep(every)


# --- processes ------------------------------------------------------------------------------------------

_CASE_PATH = re.compile(r"^/api/v1/(?:transfers|incoming)/([0-9a-fA-F-]{8,64})(?:/|$)")


def _on_server_request(state: str) -> Any:
    """The FastAPI instrumentation's hook: our attributes on the server span, and the case id for the log
    lines of this request (each request runs in a task of its own, so the id goes no further)."""

    def hook(current: trace.Span, scope: dict[str, Any]) -> None:
        match = _CASE_PATH.match(str(scope.get("path", "")))
        if match:
            bind_case(match.group(1))
        if current.is_recording():
            current.set_attribute("probatio.state", state)
            if match:
                current.set_attribute("probatio.case_id", match.group(1))

    return hook


def from_this_host(request: Request) -> bool:
    """Whether the request comes from this host (behind a trusted proxy: the client the proxy names)."""
    try:
        return request.client is not None and ipaddress.ip_address(request.client.host).is_loopback
    except ValueError:
        return False


def instrument_app(app: FastAPI, settings: Settings) -> None:
    """Tracing and metrics for the web app: the FastAPI instrumentation, `/metrics`, the metrics port if set."""
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
    from starlette.responses import Response

    _stable_conventions()
    provider = configure_tracing(settings)
    serve_metrics(settings)
    FastAPIInstrumentor.instrument_app(app, server_request_hook=_on_server_request(settings.state),
                                       tracer_provider=provider, meter_provider=meter_provider(),
                                       excluded_urls="/metrics,/healthz,/static/.*", exclude_spans=["receive", "send"])

    async def metrics(request: Request) -> Response:
        # The node's counts by stage and its traffic are the operator's, not the public's: on the web port
        # they answer only on this host (`probatio dev`, a local scraper); a cluster scrapes the metrics port
        # (PROBATIO_METRICS_PORT, deploy/k8s), which is not exposed. Anyone else is told nothing is here.
        if not from_this_host(request):
            return Response(status_code=404)
        node = getattr(request.app.state, "node", None)
        if node is not None:
            await refresh_case_gauge(node)
        return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)

    app.add_route("/metrics", metrics, include_in_schema=False)


def instrument_worker(settings: Settings) -> None:
    """Tracing, the metrics port and there Temporal's own metrics, for the worker process: call before
    connecting to Temporal, so the client is made on the runtime that exports them."""
    configure_tracing(settings, service="probatio-worker")
    if serve_metrics(settings):
        runtime, _ = temporal_runtime()
        Runtime.set_default(runtime, error_if_already_set=False)
