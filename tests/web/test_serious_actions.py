"""Issue 14 (3): serious actions look serious. Withdraw, transfer back, ask for the supervision back, end the
supervision and a subsequent decision that revokes have a confirmation step that says what will happen and to
whom (which State the message goes to), marked as destructive (a warning, never a green button); the case page
has exactly one primary (green) button, the step the stage expects; the labels are the law's words ("Send the
maximum custody (Art 16(2))"); `notify_review` offers its three outcomes as radios. Issue 14 (6): the cases
list and the prosecutor's queue say what is due on a case whose decision is due, and by when."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

import httpx
import pytest
from webhelp import csrf_of, form_fields, signed_in

from probatio.harness import LocalNodes, attach_example_judgment
from tests.support import bearer, create_and_approve, fresh_certificate, outgoing_case, wait_for
from web.i18n import translator

pytestmark = pytest.mark.integration

CONFIRM = "Check before you go on"
FOR_GOOD = "This ends or hands over the transfer for good."


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).strip()


def _actions(html: str) -> str:
    """The case page's "What you can do now" section."""
    start = html.index('id="h-actions"')
    return html[start:html.index('id="h-deadlines"', start)]


def _primaries(html: str) -> list[str]:
    """Each element of the actions section whose class makes it a primary (green) button, with what follows
    it up to the end of its tag's text: enough to say which action it is."""
    section = _actions(html)
    return [section[m.start():section.index("<", m.end())] for m in re.finditer(r'class="([^"]*)"', section)
            if "primary" in m.group(1).split()]


def _form(html: str, action: str) -> str:
    start = html.index(f'action="{action}"')
    return html[start:html.index("</form>", start)]


def _button_class(form: str) -> str:
    found = re.search(r'<button type="submit" class="([^"]*)"', form)
    assert found, form
    return found.group(1)


async def _incoming(http: httpx.AsyncClient, nodes: LocalNodes, case_id: str) -> dict[str, Any]:
    r = await http.get(f"{nodes['BE'].url}/api/v1/incoming/{case_id}", headers=bearer(nodes, "BE", "prosecutor"))
    return dict(r.json()) if r.status_code == 200 else {}


async def _confirmation(client: httpx.AsyncClient, case_url: str, action: str, data: dict[str, str],
                        state: str) -> str:
    """Post an action from the case page and return its confirmation page, checked as a destructive one that
    says what happens and to whom; nothing is confirmed."""
    page = (await client.get(case_url)).text
    target = f"{case_url}/actions/{action}"
    form = _form(page, target)
    assert _button_class(form) == "warning", (action, form[-500:])  # marked on the case page already
    r = await client.post(target, data={**form_fields(page, target), **data})
    assert r.status_code == 200 and CONFIRM in r.text, (action, r.status_code, _text(r.text)[:1500])
    said = _text(r.text)
    # What will happen: the action's words and a destructive warning; to whom: the State the message goes to.
    assert f"to {state}" in said and "Once sent, it cannot be taken back." in said, (action, said[:2000])
    assert FOR_GOOD in said, (action, said[:2000])
    assert 'class="alert error confirm-what"' in r.text
    confirm = _form(r.text, target)
    assert _button_class(confirm) == "warning" and 'name="confirmed" value="1"' in confirm
    assert "primary" not in confirm  # no green button on a step that ends the transfer
    return said


async def test_before_supervision_serious_steps_and_the_expected_button(nodes: LocalNodes) -> None:
    lu, be = nodes["LU"].url, nodes["BE"].url
    async with httpx.AsyncClient(timeout=60) as http:
        # A transfer awaiting approval: the prosecutor's one green button is "approve", not a destructive one.
        r = await http.post(f"{lu}/api/v1/transfers", headers=bearer(nodes, "LU", "officer"),
                            json={"executing_state": "BE", "certificate": fresh_certificate("LU", "BE")})
        assert r.status_code == 201, r.text
        waiting = str(r.json()["id"])
        assert (await attach_example_judgment(http, lu, waiting, bearer(nodes, "LU", "officer"))).status_code == 201
        r = await http.post(f"{lu}/api/v1/transfers/{waiting}/actions/submit", headers=bearer(nodes, "LU", "officer"))
        assert r.status_code == 200, r.text

        case_id = await create_and_approve(http, nodes)
        await wait_for(lambda: _incoming(http, nodes, case_id), lambda c: c.get("stage") == "under_decision")

    lu_p = await signed_in(lu, "prosecutor")
    page = (await lu_p.get(f"/cases/outgoing/{waiting}")).text
    primaries = _primaries(page)
    assert len(primaries) == 1 and "Sign and send to the executing State" in primaries[0], primaries
    # Approving is serious but not destructive: its confirmation's button is the green one.
    target = f"/cases/outgoing/{waiting}/actions/approve"
    r = await lu_p.post(target, data=form_fields(page, target))
    assert r.status_code == 200 and CONFIRM in r.text, _text(r.text)[:1500]
    assert _button_class(_form(r.text, target)) == "primary" and FOR_GOOD not in r.text

    # Sent abroad and under decision there: withdraw is offered, marked, and confirmed as destructive.
    case_url = f"/cases/outgoing/{case_id}"
    page = (await lu_p.get(case_url)).text
    primaries = _primaries(page)
    assert len(primaries) == 1, primaries
    assert "Withdraw" not in primaries[0] and "warning" not in primaries[0], primaries
    said = await _confirmation(lu_p, case_url, "withdraw", {"reason": "The person moved elsewhere."}, "Belgium")
    assert "Withdraw the certificate" in said and "The person moved elsewhere." in said

    # Art 19: the review's three outcomes are a choice of three radios under the question, none chosen for the
    # prosecutor, each in words; not a select, not free text.
    review = f"{case_url}/actions/notify_review"
    form = _form(page, review)
    group = re.search(r"<fieldset[^>]*>\s*<legend>(.*?)</legend>(.*?)</fieldset>", form, re.S)
    assert group and _text(group.group(1)).startswith("Outcome of the review"), form
    radios = re.findall(r'<input type="radio" id="([^"]+)" name="outcome" value="(\w+)"([^>]*)>\s*'
                        r'<label class="inline-label" for="([^"]+)">([^<]*)</label>', group.group(2))
    assert [(value, words) for _, value, _, _, words in radios] == [
        ("annulled", "annulled"), ("amended", "amended"), ("confirmed", "confirmed")], radios
    assert all(rid == target and "checked" not in rest for rid, _, rest, target, _ in radios), radios
    assert radios[0][0] == "notify_review-outcome"  # where the error summary's link lands
    assert "<select" not in form and not re.search(r'<textarea[^>]*name="outcome"', form)
    # None chosen: the form comes back with GOV.UK's error summary linking to the choice, and the error beside it.
    r = await lu_p.post(review, data={**form_fields(page, review), "reasons": "Appeal decided."})
    assert r.status_code == 422, _text(r.text)[:1500]
    summary = re.search(r'<div class="error-summary".*?</div>', r.text, re.S)
    assert summary and 'href="#notify_review-outcome"' in summary.group(0), _text(r.text)[:1500]
    assert "Outcome of the review" in _text(summary.group(0))
    # In words, not the API's ("required for notify_review"): what to do.
    assert "required: choose one" in _text(summary.group(0)) and "notify_review" not in _text(r.text)
    form = _form(r.text, review)
    assert 'id="notify_review-outcome-error"' in form and 'aria-describedby="notify_review-outcome-error"' in form
    assert "Appeal decided." in form and "checked" not in form  # what was typed stays; still nothing chosen
    await lu_p.aclose()

    # The executing State's prosecutor: deciding is the one green button; the law's words for Art 16(2).
    be_p = await signed_in(be, "prosecutor")
    incoming = f"/cases/incoming/{case_id}"
    page = (await be_p.get(incoming)).text
    primaries = _primaries(page)
    assert len(primaries) == 1 and f'{incoming}/decide"' in primaries[0], primaries
    assert "Send the maximum custody (Art 16(2))" in _actions(page)
    assert f'action="{incoming}/actions/give_max_custody"' in page
    assert "Give max custody" not in page and "give_max_custody" not in _text(page)

    # Issue 14 (6): what is due, and by when, on the cases list and in the queue.
    async with httpx.AsyncClient(timeout=60) as http:
        detail = await _incoming(http, nodes, case_id)
    due = next(d["due"] for d in detail["deadlines"] if d["name"] == "decision" and d["status"] == "open")
    when = translator("en").date(datetime.fromisoformat(str(due)))
    queue = (await be_p.get("/queue")).text
    row = next((r for r in re.findall(r"<tr>.*?</tr>", queue, re.S) if case_id[:8] in r), "")
    assert "Decide on recognition" in row and when in _text(row), (when, _text(row))
    listing = (await be_p.get("/cases")).text
    row = next((r for r in re.findall(r"<tr>.*?</tr>", listing, re.S) if case_id[:8] in r), "")
    assert f"Decision on recognition: {when}" in _text(row), (when, _text(row))
    await be_p.aclose()


async def test_under_supervision_serious_steps_say_what_and_to_whom(nodes: LocalNodes) -> None:
    be = nodes["BE"].url
    async with httpx.AsyncClient(timeout=60) as http:
        case_id = await create_and_approve(http, nodes)
        await wait_for(lambda: _incoming(http, nodes, case_id), lambda c: c.get("stage") == "under_decision")
        r = await http.post(f"{be}/api/v1/incoming/{case_id}/actions/decide", json={"outcome": "recognised"},
                            headers=bearer(nodes, "BE", "prosecutor"))
        assert r.status_code == 200, r.text
        incoming = f"/cases/incoming/{case_id}"
        be_o = await signed_in(be, "officer")
        # Recognised: starting the supervision is the officer's one green button.
        page = (await be_o.get(incoming)).text
        primaries = _primaries(page)
        assert len(primaries) == 1 and "Start" in primaries[0], primaries
        r = await http.post(f"{be}/api/v1/incoming/{case_id}/actions/start_supervision",
                            headers=bearer(nodes, "BE", "officer"))
        assert r.status_code == 200 and r.json()["stage"] == "supervising", r.text
        await wait_for(lambda: outgoing_case(http, nodes, case_id), lambda c: c.get("stage") == "transferred")
        # Supervising, nothing asked: no step is expected, so nothing is green (reporting a breach is not).
        assert _primaries((await be_o.get(incoming)).text) == []
        # Luxembourg asks for information: answering it is the one green button.
        r = await http.post(f"{nodes['LU'].url}/api/v1/transfers/{case_id}/actions/request_information",
                            json={"question": "Has the community service begun?"},
                            headers=bearer(nodes, "LU", "prosecutor"))
        assert r.status_code == 200, r.text
        await wait_for(lambda: _incoming(http, nodes, case_id), lambda c: any(
            d["name"] == "duty:answer_information" and d["status"] == "open" for d in c.get("deadlines", [])))
        primaries = _primaries((await be_o.get(incoming)).text)
        assert len(primaries) == 1 and "Give the information asked for" in primaries[0], primaries

    # Art 16(1)(d): the officer ends the supervision; Luxembourg is told.
    said = await _confirmation(be_o, incoming, "end_supervision", {}, "Luxembourg")
    assert "End the supervision" in said
    await be_o.aclose()

    be_p = await signed_in(be, "prosecutor")
    # Art 20: the supervision given back, and why.
    said = await _confirmation(be_p, incoming, "transfer_back", {"reason": "absconded"}, "Luxembourg")
    assert "Transfer the supervision back" in said and "the person absconded" in said
    # Art 16(1): a subsequent decision that revokes the suspension.
    said = await _confirmation(be_p, incoming, "decide_subsequent",
                               {"decision": "revoke", "reasons": "Repeated breaches."}, "Luxembourg")
    assert "revoke the suspension" in said and "Repeated breaches." in said
    await be_p.aclose()

    lu_p = await signed_in(nodes["LU"].url, "prosecutor")
    outgoing = f"/cases/outgoing/{case_id}"
    # Art 20(2): Luxembourg asks for the supervision back; Art 14(3), 17(4): or revokes itself.
    said = await _confirmation(lu_p, outgoing, "request_transfer_back", {"reason": "New proceedings here."},
                               "Belgium")
    assert "Ask for the supervision back" in said and "New proceedings here." in said
    said = await _confirmation(lu_p, outgoing, "decide_subsequent", {"decision": "revoke"}, "Belgium")
    assert "revoke the suspension" in said
    # Nothing was confirmed: the case is still supervised in Belgium.
    async with httpx.AsyncClient(timeout=60) as http:
        assert (await _incoming(http, nodes, case_id)).get("stage") == "supervising"
    page = (await lu_p.get(outgoing)).text
    assert csrf_of(page)
    await lu_p.aclose()
