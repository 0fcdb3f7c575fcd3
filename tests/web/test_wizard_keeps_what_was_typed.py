"""The wizard shows back what the officer typed in a box it could not read (GOV.UK: the error beside the field,
and the field as typed, so the mistake can be seen and mended): every duration, number and date box, with its
message beside it and the error summary's link to it. The draft keeps its last readable value meanwhile."""

from __future__ import annotations

import re

import pytest
from webhelp import draft_certificate, example_draft, form_fields, signed_in

from probatio.harness import LocalNodes
from web.pages_wizard import field_id

pytestmark = pytest.mark.integration


def _input(html: str, name: str) -> str:
    """The <input> tag of the box named `name`."""
    found = re.search(rf'<input [^>]*name="{re.escape(name)}"[^>]*>', html)
    assert found, f"no input {name}"
    return found.group(0)


def _beside(html: str, path: str) -> str:
    """The message beside the field of `path`, as text."""
    found = re.search(rf'<p class="field-error" id="{field_id(path)}-error">(.*?)</p>', html, re.S)
    return re.sub(r"<[^>]+>", " ", found.group(1)) if found else ""


async def test_an_unreadable_box_comes_back_as_typed_with_its_error(nodes: LocalNodes) -> None:
    officer = await signed_in(nodes["LU"].url, "officer")
    draft = await example_draft(officer)
    draft_id = draft.rsplit("/", 1)[-1]
    before = await draft_certificate(nodes, draft)
    for step, typed, path, said in (
        # Years, months and days of a duration (box (j)), and a measure's own duration and hours.
        ("j", {"supervision.total_duration_days-years": "two", "supervision.total_duration_days-months": "6"},
         "supervision.total_duration_days", "years, months and days must be whole numbers"),
        ("j", {"measures[0].duration_days-months": "six"}, "measures[0].duration_days",
         "years, months and days must be whole numbers"),
        ("j", {"measures[0].hours": "ten"}, "measures[0].hours", "must be a whole number"),
        # A duration the certificate counts in months, and a number (box (g)); a date (box (b)).
        ("g", {"offences.maximum_custody_months-years": "two"}, "offences.maximum_custody_months",
         "years and months must be whole numbers"),
        ("g", {"offences.count": "three"}, "offences.count", "must be a whole number"),
        ("b", {"judgment.delivered_on-month": "June"}, "judgment.delivered_on", "must be a real date"),
    ):
        action = f"/transfers/drafts/{draft_id}/{step}"
        page = (await officer.get(action)).text
        r = await officer.post(action, data={**form_fields(page, action), **typed, "go": "stay"})
        assert r.status_code == 422, (path, r.text[-1500:])
        assert said in _beside(r.text, path), (path, _beside(r.text, path))
        # Each box holds what was typed in it, marked as the one to mend.
        for name, value in typed.items():
            tag = _input(r.text, name)
            assert f'value="{value}"' in tag and 'aria-invalid="true"' in tag, (name, tag)
        assert f'href="#{field_id(path)}"' in r.text, path  # the error summary leads to the field
        assert f'id="{field_id(path)}"' in r.text
    # Nothing unreadable reached the draft: it holds what it held.
    after = await draft_certificate(nodes, draft)
    for path in ("supervision", "offences", "judgment"):
        assert after[path] == before[path], path
    assert after["measures"][0].get("hours") == before["measures"][0].get("hours")
    assert after["measures"][0].get("duration_days") == before["measures"][0].get("duration_days")

    # A duration posted as one value (in days, the API's way) shows back in the days box.
    action = f"/transfers/drafts/{draft_id}/j"
    page = (await officer.get(action)).text
    r = await officer.post(action, data={**form_fields(page, action), "supervision.total_duration_days": "three",
                                         "go": "stay"})
    assert r.status_code == 422 and "must be a whole number" in _beside(r.text, "supervision.total_duration_days")
    assert 'value="three"' in _input(r.text, "supervision.total_duration_days-days")
    await officer.aclose()
