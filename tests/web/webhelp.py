"""Helpers for driving the pages over HTTP: sign in, read the CSRF token, poll until the projection moves."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Any

import httpx

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    found = CSRF.search(html)
    assert found, "no CSRF token on the page"
    return found.group(1)


async def signed_in(url: str, name: str, password: str = "demo") -> httpx.AsyncClient:
    """A client holding the session cookie of `name` on the node at `url`."""
    http = httpx.AsyncClient(base_url=url, timeout=30)
    page = await http.get("/login")
    r = await http.post("/login", data={"username": name, "password": password, "csrf_token": csrf_of(page.text)})
    assert r.status_code == 303, r.text
    return http




class _FormReader(HTMLParser):
    """The fields a browser without script would send for one form: text, hidden and date inputs, ticked
    checkboxes, the chosen radio, the selected option of each enabled select, textareas; disabled fields never."""

    def __init__(self, action: str) -> None:
        super().__init__(convert_charrefs=True)
        self.action = action
        self.inside = False
        self.fields: list[tuple[str, str]] = []
        self._select: str | None = None
        self._first_option: str | None = None
        self._chosen: str | None = None
        self._textarea: str | None = None
        self._text = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.inside = a.get("action") == self.action
            return
        if not self.inside or "disabled" in a:
            return
        name = a.get("name", "")
        if tag == "input" and name and a.get("type", "text") not in ("submit", "button"):
            if a.get("type") in ("checkbox", "radio") and "checked" not in a:
                return
            self.fields.append((name, a.get("value", "")))
        elif tag == "select" and name:
            self._select, self._first_option, self._chosen = name, None, None
        elif tag == "option" and self._select is not None:
            if self._first_option is None:
                self._first_option = a.get("value", "")
            if "selected" in a:
                self._chosen = a.get("value", "")
        elif tag == "textarea" and name:
            self._textarea, self._text = name, ""

    def handle_data(self, data: str) -> None:
        if self._textarea is not None:
            self._text += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.inside = False
        elif tag == "select" and self._select is not None:
            self.fields.append((self._select, self._chosen if self._chosen is not None else self._first_option or ""))
            self._select = None
        elif tag == "textarea" and self._textarea is not None:
            self.fields.append((self._textarea, self._text.removeprefix("\n")))
            self._textarea = None


def form_fields(html: str, action: str) -> dict[str, str]:
    """What submitting the form posting to `action` sends, as it stands on the page (last value of a name)."""
    reader = _FormReader(action)
    reader.feed(html)
    out: dict[str, str] = {}
    for name, value in reader.fields:
        if name in out and value == "":
            continue  # a hidden "" before a ticked box of the same name
        out[name] = value
    return out


def form_items(html: str, action: str) -> list[tuple[str, str]]:
    """What submitting the form posting to `action` sends, every value of every name in order: for a form whose
    lists (languages, nationalities) post one name several times."""
    reader = _FormReader(action)
    reader.feed(html)
    return reader.fields


def date_of(fields: dict[str, str], path: str) -> str:
    """The ISO date a GOV.UK date input (`path-day`, `path-month`, `path-year`) holds on the page."""
    day, month, year = (fields.get(f"{path}-{part}", "") for part in ("day", "month", "year"))
    return f"{year}-{int(month):02d}-{int(day):02d}" if day and month and year else ""


async def example_draft(officer: httpx.AsyncClient) -> str:
    """A new draft started from the project's example in the wizard: its URL without the step."""
    page = await officer.get("/transfers/new")
    r = await officer.post("/transfers/new", data={"start": "example", "csrf_token": csrf_of(page.text)})
    assert r.status_code == 303
    return str(r.headers["location"].rsplit("/", 1)[0])


async def draft_certificate(nodes: Any, draft: str) -> dict[str, Any]:
    """The certificate the wizard's draft at `draft` (a URL from example_draft) holds now, as stored."""
    from store import drafts

    row = await drafts.get_draft(nodes["LU"].node.pool, draft.rsplit("/", 1)[-1])
    assert row is not None
    return dict(row["certificate"])
