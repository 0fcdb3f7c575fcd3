"""Issue 14 (4), outside the case pages: dates as day/month/year and durations as years and months, as the
certificate wizard asks them. The dashboard's period, the audit log's filters and the person-data search ask
their dates in the wizard's three boxes and read them back to the ISO dates the routes take (links and the API
keep `since`/`until` as ISO dates); a date that cannot be read is refused (422) with the message beside its box,
what was typed kept. Box (g)'s maximum custody is asked in years and months and stored in months, the unit of
the certificate's model."""

from __future__ import annotations

import re

import pytest
from webhelp import draft_certificate, example_draft, form_fields, signed_in

from probatio.harness import LocalNodes

pytestmark = pytest.mark.integration


def _beside(html: str, fid: str) -> str:
    """The message shown beside the field whose first input has id `fid`, as text ('' when none)."""
    found = re.search(rf'<p class="field-error" id="{re.escape(fid)}-error">(.*?)</p>', html, re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", found.group(1))).strip() if found else ""


def _box(html: str, name: str) -> str | None:
    """The value an input named `name` shows, or None when the page has no such input."""
    found = re.search(rf'<input[^>]*name="{re.escape(name)}"[^>]*value="([^"]*)"', html)
    return found.group(1) if found else None


def _date_boxes(html: str, name: str) -> bool:
    """The wizard's day, month and year boxes for `name`, and no browser date picker."""
    return all(f'name="{name}-{part}"' in html for part in ("day", "month", "year")) and 'type="date"' not in html


def _day(prefix: str, day: str, month: str, year: str) -> dict[str, str]:
    return {f"{prefix}-day": day, f"{prefix}-month": month, f"{prefix}-year": year}


async def test_the_dashboard_period_in_day_month_year_boxes(nodes: LocalNodes) -> None:
    supervisor = await signed_in(nodes["LU"].url, "supervisor")
    page = await supervisor.get("/dashboard")
    assert page.status_code == 200 and _date_boxes(page.text, "since") and _date_boxes(page.text, "until")
    # Typed as day, month and year: read back to the ISO period the exports' links carry.
    r = await supervisor.get("/dashboard", params={**_day("since", "1", "1", "2001"),
                                                   **_day("until", "1", "2", "2001")})
    assert r.status_code == 200, r.text[-2000:]
    assert r.text.count("No cases started in this period.") == 3
    assert "/dashboard/export.json?since=2001-01-01&amp;until=2001-02-01" in r.text
    assert (_box(r.text, "since-day"), _box(r.text, "since-month"), _box(r.text, "since-year")) == ("1", "1", "2001")
    # A link's ISO dates still work, and show in the boxes.
    r = await supervisor.get("/dashboard", params={"since": "2001-01-01", "until": "2001-02-01"})
    assert r.status_code == 200 and r.text.count("No cases started in this period.") == 3
    assert (_box(r.text, "until-day"), _box(r.text, "until-month"), _box(r.text, "until-year")) == ("1", "2", "2001")
    # A date that does not exist: 422, named beside its box and in the summary, what was typed kept.
    r = await supervisor.get("/dashboard", params=_day("since", "31", "2", "2026"))
    assert r.status_code == 422
    assert "must be a real date" in _beside(r.text, "since"), r.text[-3000:]
    assert 'class="error-summary"' in r.text and 'href="#since"' in r.text
    assert (_box(r.text, "since-day"), _box(r.text, "since-month"), _box(r.text, "since-year")) == ("31", "2", "2026")
    assert "<svg" not in r.text  # nothing counted over a period that cannot be read
    # An end before the start: refused beside the end.
    r = await supervisor.get("/dashboard", params={**_day("since", "1", "5", "2026"),
                                                   **_day("until", "1", "4", "2026")})
    assert r.status_code == 422
    assert "the end of the period must come after its start" in _beside(r.text, "until")
    # In French too: the boxes' message in the reader's language.
    r = await supervisor.get("/dashboard", params=_day("until", "x", "2", "2026"), headers={"Accept-Language": "fr"})
    assert r.status_code == 422 and _beside(r.text, "until") and "must be a real date" not in r.text
    assert _box(r.text, "until-day") == "x"
    await supervisor.aclose()


async def test_the_audit_log_filters_in_day_month_year_boxes(nodes: LocalNodes) -> None:
    auditor = await signed_in(nodes["LU"].url, "auditor")
    page = await auditor.get("/audit")
    assert page.status_code == 200 and _date_boxes(page.text, "since") and _date_boxes(page.text, "until")
    assert "No entries match." not in page.text  # signing in and reading the log are on record
    r = await auditor.get("/audit", params=_day("since", "1", "1", "2099"))
    assert r.status_code == 200 and "No entries match." in r.text
    r = await auditor.get("/audit", params={**_day("since", "1", "1", "2001"), **_day("until", "1", "1", "2099")})
    assert r.status_code == 200 and "No entries match." not in r.text
    r = await auditor.get("/audit", params={"since": "2099-01-01"})  # a link's ISO date
    assert r.status_code == 200 and "No entries match." in r.text and _box(r.text, "since-year") == "2099"
    r = await auditor.get("/audit", params={**_day("until", "30", "2", "2026"), "user": "officer"})
    assert r.status_code == 422 and "must be a real date" in _beside(r.text, "until")
    assert _box(r.text, "until-day") == "30" and _box(r.text, "user") == "officer"
    assert 'href="#until"' in r.text
    await auditor.aclose()


async def test_the_person_search_asks_the_date_of_birth_in_boxes(nodes: LocalNodes) -> None:
    auditor = await signed_in(nodes["LU"].url, "auditor")
    page = await auditor.get("/audit/person")
    assert page.status_code == 200 and _date_boxes(page.text, "date_of_birth")
    fields = form_fields(page.text, "/audit/person")
    r = await auditor.post("/audit/person", data={**fields, "surname": "Nobody",
                                                   **_day("date_of_birth", "31", "2", "1990")})
    assert r.status_code == 422 and "must be a real date" in _beside(r.text, "a-date_of_birth")
    assert (_box(r.text, "date_of_birth-day"), _box(r.text, "date_of_birth-month"),
            _box(r.text, "date_of_birth-year")) == ("31", "2", "1990")
    assert _box(r.text, "surname") == "Nobody" and 'href="#a-date_of_birth"' in r.text
    r = await auditor.post("/audit/person", data={**fields, "surname": "Nobody"})
    assert r.status_code == 422 and "the date of birth is required" in _beside(r.text, "a-date_of_birth")
    r = await auditor.post("/audit/person", data={**fields, "surname": "Nobody",
                                                   **_day("date_of_birth", "2", "6", "1990")})
    assert r.status_code == 200 and r.json()["date_of_birth"] == "1990-06-02", r.text[:500]
    await auditor.aclose()


async def test_the_maximum_custody_in_years_and_months(nodes: LocalNodes) -> None:
    officer = await signed_in(nodes["LU"].url, "officer")
    draft = await example_draft(officer)
    action = f"/transfers/drafts/{draft.rsplit('/', 1)[-1]}/g"
    page = (await officer.get(f"{draft}/g")).text
    name = "offences.maximum_custody_months"
    assert f'name="{name}-years"' in page and f'name="{name}-months"' in page
    assert f'name="{name}-days"' not in page and f'name="{name}"' not in page
    fields = form_fields(page, action)
    fields.update({f"{name}-years": "2", f"{name}-months": "6", "go": "stay"})
    r = await officer.post(f"{draft}/g", data=fields)
    assert r.status_code in (200, 303), r.text[-2000:]
    assert (await draft_certificate(nodes, draft))["offences"]["maximum_custody_months"] == 30
    # Shown back as years and the months left over.
    page = (await officer.get(f"{draft}/g")).text
    assert (_box(page, f"{name}-years"), _box(page, f"{name}-months")) == ("2", "6")
    # Not a number: named beside the field, nothing stored.
    fields = form_fields(page, action)
    fields.update({f"{name}-years": "two", "go": "stay"})
    r = await officer.post(f"{draft}/g", data=fields)
    assert "whole numbers" in _beside(r.text, "f-offences-maximum-custody-months"), r.text[-2000:]
    assert (await draft_certificate(nodes, draft))["offences"]["maximum_custody_months"] == 30
    await officer.aclose()
