"""Art 6(3): the officer corrects a certificate the prosecutor returned; before it goes back for approval, the
review page lists what the officer changed, box by box, the old and the new value in words — only the boxes
that changed, not the ones the wizard saved as they were."""

from __future__ import annotations

import re
from html import unescape
from typing import Any

import httpx
import pytest
from webhelp import csrf_of, form_items, signed_in

from probatio.harness import LocalNodes, attach_example_judgment
from tests.support import bearer, fresh_certificate, wait_for

pytestmark = pytest.mark.integration

CAPTION = "What changed in the certificate"


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html))).strip()


def _changes(page: str) -> list[list[str]]:
    """The rows of the review page's table of changes: box, before, after."""
    table = re.search(rf"<table[^>]*>\s*<caption>{CAPTION}</caption>.*?</table>", page, re.S)
    if table is None:
        return []
    body = table.group(0)[table.group(0).index("<tbody>"):]
    return [[_text(c) for c in re.findall(r"<td>(.*?)</td>", row, re.S)]
            for row in re.findall(r"<tr>(.*?)</tr>", body, re.S)]


async def _returned_transfer(nodes: LocalNodes, http: httpx.AsyncClient) -> str:
    lu, officer, prosecutor = nodes["LU"].url, bearer(nodes, "LU", "officer"), bearer(nodes, "LU", "prosecutor")
    r = await http.post(f"{lu}/api/v1/transfers", headers=officer,
                        json={"executing_state": "BE", "certificate": fresh_certificate("LU", "BE")})
    assert r.status_code == 201, r.text
    case_id = str(r.json()["id"])
    assert (await attach_example_judgment(http, lu, case_id, officer)).status_code == 201
    r = await http.post(f"{lu}/api/v1/transfers/{case_id}/actions/submit", headers=officer)
    assert r.status_code == 200, r.text
    r = await http.post(f"{lu}/api/v1/transfers/{case_id}/actions/return", headers=prosecutor,
                        json={"reason": "Box (e): the forenames are wrong, and so is the sex."})
    assert r.status_code == 200, r.text

    async def stage() -> dict[str, Any]:
        return dict((await http.get(f"{lu}/api/v1/transfers/{case_id}", headers=officer)).json())

    await wait_for(stage, lambda c: c.get("stage") == "draft")
    return case_id


async def test_the_review_page_lists_what_the_officer_changed(nodes: LocalNodes) -> None:
    async with httpx.AsyncClient(timeout=60) as http:
        case_id = await _returned_transfer(nodes, http)
    officer = await signed_in(nodes["LU"].url, "officer")
    page = await officer.get(f"/cases/outgoing/{case_id}")
    r = await officer.post(f"/cases/outgoing/{case_id}/correct", data={"csrf_token": csrf_of(page.text)})
    assert r.status_code == 303, r.text
    draft = r.headers["location"].rsplit("/", 1)[0]

    # Nothing changed yet: the page says so, and lists no box.
    review = (await officer.get(f"{draft}/review")).text
    assert _changes(review) == [] and "Nothing in the certificate has been changed yet." in review

    # Box (e) saved with two of its fields changed and the others as they were.
    step = (await officer.get(f"{draft}/e")).text
    fields = form_items(step, f"{draft}/e")
    assert ("person.forenames", "Jean Paul") in fields and ("person.sex", "male") in fields
    changed = {"person.forenames": "Jean-Pierre", "person.sex": "female"}
    posted: dict[str, list[str]] = {"go": ["review"]}
    for k, v in fields:
        posted.setdefault(k, []).append(changed.get(k, v))
    r = await officer.post(f"{draft}/e", data=posted)
    assert r.status_code == 303, _text(r.text)[:2000]

    review = (await officer.get(f"{draft}/review")).text
    assert "Nothing in the certificate has been changed yet." not in review
    assert _changes(review) == [["(e) Forename(s)", "Jean Paul", "Jean-Pierre"], ["(e) Sex", "Male", "Female"]], \
        _changes(review)
    # In the reader's language: the box's name and a coded value in words.
    french = (await officer.get(f"{draft}/review", headers={"Accept-Language": "fr"})).text
    rows = [_text(row) for row in re.findall(r"<tr>(.*?)</tr>", french, re.S)]
    assert "(e) Sexe Masculin Féminin" in rows, rows
    await officer.aclose()
