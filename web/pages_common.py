"""What every page shares: the template environment (autoescaping everything), the signed-in user,
role checks that read the same table as the API, and rendering errors as pages instead of JSON."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from store.sessions import Session
from web.auth import CSRF_FIELD, page_session
from web.errors import ApiError

TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"

# autoescape=True for every template whatever its name: no value reaches a page unescaped.
env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=True, undefined=StrictUndefined,
                  trim_blocks=True, lstrip_blocks=True)

SignedIn = Annotated[Session, Depends(page_session)]

# Where each role starts, and what its navigation shows.
HOME = {"officer": "/cases", "prosecutor": "/queue", "supervisor": "/dashboard", "auditor": "/audit",
        "admin": "/dashboard"}
NAV = {
    "officer": [("/cases", "Cases"), ("/transfers/new", "Start a transfer"), ("/dashboard", "Dashboard")],
    "prosecutor": [("/queue", "My queue"), ("/cases", "Cases"), ("/dashboard", "Dashboard")],
    "supervisor": [("/dashboard", "Dashboard"), ("/cases", "Cases")],
    "auditor": [("/audit", "Audit log"), ("/audit/person", "Data about a person"), ("/dashboard", "Dashboard")],
    # The audit log and the data about a person are the auditor's (CONTRACT §2), not the admin's.
    "admin": [("/dashboard", "Dashboard"), ("/cases", "Cases")],
}

STAGE_LABELS = {
    "draft": "Draft", "awaiting_approval": "Awaiting approval", "sent": "Sent", "under_decision": "Under decision",
    "completion_requested": "Completion requested", "consultation": "Consultation", "adapted": "Adapted",
    "transferred": "Transferred", "returned": "Returned", "closed": "Closed", "received": "Received",
    "recognised": "Recognised", "supervising": "Supervising",
}


def node_of(request: Request) -> Any:
    return request.app.state.node


def now() -> datetime:
    return datetime.now(UTC)


def days_left(due: Any, at: datetime | None = None) -> int | None:
    """Whole days from now to a due date (negative when overdue)."""
    if due is None:
        return None
    if isinstance(due, str):
        due = datetime.fromisoformat(due)
    if due.tzinfo is None:
        due = due.replace(tzinfo=UTC)
    delta: float = (due - (at or now())).total_seconds() / 86400
    return math.floor(delta)


def fmt_time(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return str(value)
    if not isinstance(value, datetime):
        return str(value)
    when: datetime = value
    return when.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def fmt_date(value: Any) -> str:
    text = fmt_time(value)
    return text[:10]


env.globals.update(stage_label=lambda s: STAGE_LABELS.get(str(s), str(s).replace("_", " ")), days_left=days_left,
                   fmt_time=fmt_time, fmt_date=fmt_date, csrf_field=CSRF_FIELD)


def render(request: Request, template: str, session: Session | None, status_code: int = 200,
           **context: Any) -> HTMLResponse:
    node = node_of(request)
    page = env.get_template(template).render(
        request=request, session=session, user=session.user if session else None,
        csrf_token=session.csrf_token if session else "", state=node.settings.state,
        nav=NAV.get(session.user.role, []) if session else [], path=request.url.path, **context)
    return HTMLResponse(page, status_code=status_code, headers={"Cache-Control": "no-store"})


def require_role(session: Session, *roles: str, what: str) -> None:
    if session.user.role not in roles:
        raise ApiError(403, f"{what} is for the {' or '.join(roles)}, not the {session.user.role}")
