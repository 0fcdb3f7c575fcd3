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
from web import i18n, labels
from web.auth import CSRF_FIELD, page_session
from web.errors import ApiError
from web.i18n import N_, Message

TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"

# autoescape=True for every template whatever its name: no value reaches a page unescaped.
env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=True, undefined=StrictUndefined,
                  trim_blocks=True, lstrip_blocks=True, extensions=["jinja2.ext.i18n"])
# `{% trans %}` blocks read as they are written, over several lines; the extraction uses the same policy.
env.policies["ext.i18n.trimmed"] = True
i18n.install(env)

SignedIn = Annotated[Session, Depends(page_session)]

# Where each role starts, and what its navigation shows.
HOME = {"officer": "/cases", "prosecutor": "/queue", "supervisor": "/dashboard", "auditor": "/audit",
        "admin": "/dashboard"}
# Labels are marked with N_ here and translated where a page shows them (web/labels.py, the templates).
NAV = {
    "officer": [("/cases", N_("Cases")), ("/transfers/new", N_("Start a transfer")), ("/dashboard", N_("Dashboard"))],
    "prosecutor": [("/queue", N_("My queue")), ("/cases", N_("Cases")), ("/dashboard", N_("Dashboard"))],
    "supervisor": [("/dashboard", N_("Dashboard")), ("/cases", N_("Cases"))],
    "auditor": [("/audit", N_("Audit log")), ("/audit/person", N_("Data about a person")),
                ("/dashboard", N_("Dashboard"))],
    # The audit log and the data about a person are the auditor's (CONTRACT §2), not the admin's.
    "admin": [("/dashboard", N_("Dashboard")), ("/cases", N_("Cases"))],
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


env.globals.update(days_left=days_left, csrf_field=CSRF_FIELD)
labels.install(env)


def render(request: Request, template: str, session: Session | None, status_code: int = 200,
           **context: Any) -> HTMLResponse:
    node = node_of(request)
    lang = i18n.request_language(request)
    page = env.get_template(template).render(
        lang=lang, languages=i18n.available_languages(),
        here=request.url.path + (f"?{request.url.query}" if request.url.query else ""),
        request=request, session=session, user=session.user if session else None,
        csrf_token=session.csrf_token if session else "", state=node.settings.state,
        nav=NAV.get(session.user.role, []) if session else [], path=request.url.path, **context)
    # Vary: the same address answers in the language of the cookie or of Accept-Language.
    return HTMLResponse(page, status_code=status_code, headers={"Cache-Control": "no-store", "Content-Language": lang,
                                                                "Vary": "Accept-Language, Cookie"})


def require_role(session: Session, *roles: str, what: str) -> None:
    """403 unless the user has one of `roles`; `what` (marked with N_) names the page in the message."""
    if session.user.role not in roles:
        allowed = [Message(labels.ROLES.get(r, r)) for r in roles]
        roles_text = allowed[0] if len(allowed) == 1 else Message(N_("%(one)s or %(other)s"), one=allowed[0],
                                                                  other=allowed[1])
        raise ApiError(403, Message(N_("%(what)s: only for the %(roles)s; you are signed in as %(role)s."),
                                    what=Message(what), roles=roles_text,
                                    role=Message(labels.ROLES.get(session.user.role, session.user.role))))



def page_detail(detail: Any, t: i18n.Translator) -> str:
    """An error's detail as a page shows it: a Message in the reader's language, a list of problems as lines."""
    if isinstance(detail, i18n.Message):
        return detail.in_language(t)
    if isinstance(detail, list):
        return "; ".join(f"{p.get('path')}: {page_detail(p.get('reason'), t)}" for p in detail if isinstance(p, dict))
    return str(detail)
