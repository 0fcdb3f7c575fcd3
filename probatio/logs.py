"""Logging: plain text for people, JSON lines for production (case ids, never personal data).

Each JSON line carries the case id of the request or activity it was written in (from `case_context`),
Temporal's workflow id and the trace and span ids where there are any, so that logs, traces and the
audit log can be joined on ids. Personal data never enters a log on purpose; as a guard, the values
that pydantic quotes in validation errors (`input_value=…`) are cut out of messages and tracebacks.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

_case_id: ContextVar[str | None] = ContextVar("probatio_case_id", default=None)

# pydantic's errors quote the rejected input, which may be a name, a date of birth or an address.
_INPUT_VALUE = re.compile(r"input_value=(?:.*?(?=, input_type=)|[^,\]\s]+)", re.DOTALL)


@contextmanager
def case_context(case_id: str | None) -> Iterator[None]:
    """Log lines written inside carry this case id (no-op for None)."""
    if case_id is None:
        yield
        return
    token = _case_id.set(case_id)
    try:
        yield
    finally:
        _case_id.reset(token)


def bind_case(case_id: str) -> None:
    """From here to the end of the current task (one web request), log lines carry this case id."""
    _case_id.set(case_id)


def current_case_id() -> str | None:
    return _case_id.get()


def redact(text: str) -> str:
    return _INPUT_VALUE.sub("input_value=<redacted>", text)


def _trace_ids() -> tuple[str, str] | None:
    try:
        from opentelemetry import trace
    except ImportError:  # pragma: no cover - a dependency, but logs must work without it
        return None
    ctx = trace.get_current_span().get_span_context()
    if not ctx.is_valid:
        return None
    return format(ctx.trace_id, "032x"), format(ctx.span_id, "016x")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "at": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": redact(record.getMessage()),
        }
        for key in ("case_id", "message_id", "workflow_id"):
            if hasattr(record, key):
                entry[key] = getattr(record, key)
        entry.setdefault("case_id", current_case_id())
        # Temporal's own loggers attach the workflow or activity they speak for.
        for attr in ("temporal_workflow", "temporal_activity"):
            details = getattr(record, attr, None)
            if isinstance(details, dict) and "workflow_id" in details:
                entry.setdefault("workflow_id", details["workflow_id"])
        ids = _trace_ids()
        if ids:
            entry["trace_id"], entry["span_id"] = ids
        if record.exc_info:
            entry["error"] = redact(self.formatException(record.exc_info))
        return json.dumps({k: v for k, v in entry.items() if v is not None}, default=str)


def configure(fmt: str = "text") -> None:
    handler = logging.StreamHandler(sys.stderr)
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=logging.INFO, handlers=[handler], force=True)
    # httpx logs every request at INFO (the dev supervisor's health checks, each adapter call); send_message
    # logs each delivery itself, with its message id, type, case id and adapter.
    logging.getLogger("httpx").setLevel(logging.WARNING)
