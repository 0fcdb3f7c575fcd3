"""Issue 14 (3), the list of cases: deleting a draft certificate there asks first, on the same confirmation step
as deleting a transfer never submitted from its case page. The list's red Delete leads to a page that says which
draft (its person, its State, its judgment's reference) and that deleting it cannot be undone, with a way back
to the list; only the form of that page, with the session's CSRF token, deletes."""

from __future__ import annotations

import httpx
import pytest
from test_serious_actions import CONFIRM, _button_class, _form, _text
from webhelp import csrf_of, draft_certificate, example_draft, form_fields, signed_in

from probatio.harness import LocalNodes
from store import drafts
from tests.support import bearer

pytestmark = pytest.mark.integration


async def _listed(officer: httpx.AsyncClient, draft_id: str) -> bool:
    return f"/transfers/drafts/{draft_id}/a" in (await officer.get("/cases")).text


async def test_the_lists_delete_asks_first_and_only_the_confirmation_deletes(nodes: LocalNodes) -> None:
    lu = nodes["LU"].url
    officer = await signed_in(lu, "officer")
    draft = await example_draft(officer)
    draft_id = draft.rsplit("/", 1)[-1]
    cert = await draft_certificate(nodes, draft)
    target = f"/transfers/drafts/{draft_id}/delete"

    # The list's Delete is a red button that only asks: a plain GET, no token, nothing deleted by following it.
    listing = (await officer.get("/cases")).text
    button = _form(listing, target)
    assert f'<form method="get" action="{target}">' in listing
    assert _button_class(button) == "warning" and "csrf_token" not in button
    r = await officer.get(target)
    assert r.status_code == 200 and CONFIRM in r.text, _text(r.text)[:1500]
    said = _text(r.text)
    assert "Check before you go on: Delete this draft" in said
    assert "This cannot be undone." in said and "It was never sent, so no one else has seen it" in said
    person = f"{cert['person']['surname']}, {cert['person']['forenames']}"
    assert person in said and "Belgium" in said and cert["judgment"]["reference"] in said, said
    assert draft_id[:8] in said
    # Asked as the case page asks: one red button posting `confirmed` with the token, never a green one, and a
    # way back to the list (there is no case yet to go back to).
    confirm = _form(r.text, target)
    assert _button_class(confirm) == "warning" and 'name="confirmed" value="1"' in confirm
    assert "primary" not in confirm and "Yes: Delete this draft" in confirm
    assert '<a class="button secondary" href="/cases">No, go back to the list of cases</a>' in confirm
    assert await _listed(officer, draft_id)

    # The old way (a POST from the list, unconfirmed) asks too; a confirmation without the token changes nothing.
    r = await officer.post(target, data={"csrf_token": csrf_of(listing)})
    assert r.status_code == 303 and r.headers["location"] == target, r.text
    r = await officer.post(target, data={"confirmed": "1"})
    assert r.status_code == 403
    assert await drafts.get_draft(nodes["LU"].node.pool, draft_id) is not None
    assert await _listed(officer, draft_id)

    # Confirmed from the page: deleted, said on the list, kept in the audit log.
    r = await officer.post(target, data=form_fields((await officer.get(target)).text, target))
    assert r.status_code == 303 and r.headers["location"] == "/cases?done=draft_deleted", r.text
    assert "The draft was deleted." in (await officer.get(r.headers["location"])).text
    assert await drafts.get_draft(nodes["LU"].node.pool, draft_id) is None
    assert not await _listed(officer, draft_id)
    async with httpx.AsyncClient(timeout=60) as http:
        audit = await http.get(f"{lu}/api/v1/audit", params={"action": "draft_deleted"},
                               headers=bearer(nodes, "LU", "auditor"))
    assert "draft_deleted" in audit.text and draft_id in audit.text, audit.text[:500]
    # Gone: its confirmation step is not there to ask again.
    assert (await officer.get(target)).status_code == 404
    await officer.aclose()
