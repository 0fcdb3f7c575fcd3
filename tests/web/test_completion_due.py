"""Art 8(2): a request to complete the certificate gives days to answer within; the conversation panel says the
date the answer is due, on both States' case pages and in each page's language, the same date as the deadlines
table (the workflow's deadline), and the API's conversation carries it."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from html import unescape

import httpx
import pytest
from webhelp import signed_in

from probatio.harness import LocalNodes
from tests.transfer_driver import Transfer
from web.conversation import read_entry
from web.i18n import translator

# The deadline each side keeps for the answer: the executing State's period set, the issuing State's duty.
DEADLINE = {"LU": "duty:complete", "BE": "completion"}
# Should the read be outside the reader's own work, the reason it asks for (web/why.py).
WHY = {"X-Probatio-Reason": "checking the date a completion is due"}


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html))).strip()


def _cells(page: str, message_id: str) -> list[str]:
    """What each field of one message of the conversation panel shows, as text."""
    found = re.search(rf'<li class="message \w+" id="message-{message_id}">(.*?)</li>', page, re.S)
    assert found, page[page.index('id="h-conversation"'):][:3000]
    return [_text(c) for c in re.findall(r"<dd>(.*?)</dd>", found.group(1), re.S)]


def test_a_completion_request_is_due_its_days_after_it_was_made() -> None:
    at = datetime(2026, 3, 5, 23, 30, tzinfo=UTC)
    row = {"message_id": "m1", "way": "received", "state": "BE", "at": at, "type": "completion_request",
           "payload": {"due_days": 10, "missing": "Box (e): the postcode."}}
    entry = read_entry(row, None, None)
    assert entry.due == (at + timedelta(days=10)).isoformat()
    # Any other message gives no date to answer by.
    assert read_entry({**row, "type": "consultation_reply", "payload": {"text": "Yes."}}, None, None).due is None


@pytest.mark.integration
async def test_the_conversation_says_by_when_the_completion_is_due(nodes: LocalNodes) -> None:
    async with httpx.AsyncClient(timeout=60) as http:
        t = await Transfer(nodes, http).start()
        await t.be_does("request_completion", {"missing": "Box (e): the postcode.", "due_days": 10},
                        arrives="completion_request")
        for state, direction in (("LU", "outgoing"), ("BE", "incoming")):
            detail = await t.wait(state, lambda c, s=state: any(d["name"] == DEADLINE[s] for d in c["deadlines"]))
            due = next(d["due"] for d in detail["deadlines"] if d["name"] == DEADLINE[state])
            asked = next(m for m in detail["conversation"] if m["type"] == "completion_request")
            # The API: the deadline's date, which is the request's time plus its days.
            assert asked["due"] and datetime.fromisoformat(asked["due"]).date() == datetime.fromisoformat(due).date()
            assert (datetime.fromisoformat(asked["at"]) + timedelta(days=10)).date() == \
                datetime.fromisoformat(due).date(), (asked["at"], due)
            reader = await signed_in(nodes[state].url, "prosecutor")
            for lang, days in (("en", "10 days"), ("fr", "10 jours")):
                page = (await reader.get(f"/cases/{direction}/{t.id}", headers={"Accept-Language": lang, **WHY})).text
                when = translator(lang).date(datetime.fromisoformat(due))  # "15 Mar 2026", "15 mars 2026"
                cells = _cells(page, asked["message_id"])
                assert any(days in c and when in c and c.index(days) < c.index(when) for c in cells), \
                    (state, lang, cells)
                # The deadlines table gives the same date.
                table = page[page.index('id="h-deadlines"'):page.index("</table>", page.index('id="h-deadlines"'))]
                assert when in _text(table), (state, lang, _text(table))
            await reader.aclose()
