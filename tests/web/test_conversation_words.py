"""Issue 14 (1): every message of the conversation reads in words on the receiving State's case page, in
English and in French: the law's codes (a subsequent decision, a review's outcome, why the supervision goes
back), language codes, dates and a forwarded certificate's structure as a person reads them, never as the code
or the Python structure the API carries. The API detail keeps its raw values for other systems and carries the
same messages the page shows."""

from __future__ import annotations

import asyncio
import re
from html import unescape

import httpx
import pytest
from webhelp import signed_in

from forms.examples import example_breach
from probatio.harness import LocalNodes
from tests.support import fresh_certificate
from tests.transfer_driver import Transfer
from web.conversation import read_entry
from web.i18n import translator
from web.labels import detail_value

pytestmark = pytest.mark.integration

# What a page must never show in a message's fields: a code of the law's lists, a language or State code, an
# ISO date or time, a Python structure. In French, neither the codes whose English words are the code itself.
CODES = {"modify", "revoke", "execute_custody", "lapse", "residence_lost", "issuing_request", "post", "email",
         "ecodex", "true", "false", "True", "False", "None", "fr", "de", "en", "nl", "LU", "BE"}
ENGLISH = {"annulled", "amended", "confirmed", "absconded", "recognised", "adapted", "refused", "completed"}
RAW = re.compile(r"\{'|\[\{|\b[a-z]+_[a-z_]+\b|\d{4}-\d{2}-\d{2}")

# A closed case is read outside one's own work: the reason goes into the audit log (web/why.py).
WHY = {"X-Probatio-Reason": "checking that the conversation reads in words"}

# The field whose code a message kind is read by, and the words that code reads in on the receiving page:
# (English, French).
CODE_FIELD = {"decision": "outcome", "subsequent_decision": "decision", "judgment_review": "outcome",
              "transfer_back": "reason", "supervision_ended": "outcome", "certificate": "language"}
WORDS: dict[tuple[str, str], list[tuple[str, str]]] = {
    ("certificate", "fr"): [("French", "français")],
    ("completion_request", ""): [("10 days", "10 jours")],
    ("consultation", ""): [("judgment given in absentia", "jugement rendu par défaut")],
    ("delay_notice", ""): [("5 Jul 2027", "5 juil. 2027")],
    ("max_custody_info", ""): [("2 months and 29 days (90 days)", "2 mois et 29 jours (90 jours)")],
    ("decision", "adapted"): [("adapted", "adaptée"), ("(i) obligation to carry out community service",
                                                      "(i) obligation d'effectuer un travail d'intérêt général"),
                              ("100 hours", "100 heures")],
    ("decision", "recognised"): [("recognised", "reconnu")],
    ("subsequent_decision", "modify"): [("modify the measures", "modifier les mesures")],
    ("subsequent_decision", "execute_custody"): [("execute the custodial sentence", "exécuter la peine")],
    ("judgment_review", "annulled"): [("annulled", "annulé")],
    ("transfer_back", "residence_lost"): [("lawful and ordinary residence in the executing State", "résidence")],
    ("supervision_ended", "completed"): [("completed", "accomplie")],
}


async def _full_transfer(t: Transfer) -> None:
    """Completion, consultation, delay, maximum custody, adaptation, supervision, breach, information, a
    modification, a transfer back asked for and declined, then given for the loss of residence."""
    await t.start()
    await t.be_does("request_completion", {"missing": "Box (e): the postcode.", "due_days": 10},
                    arrives="completion_request")
    # Another court's name in box (b) (the person stays the one the breach report names).
    await t.lu_does("complete", {"certificate": fresh_certificate("LU", "BE")}, arrives="completion")
    await t.be_does("consult", {"ground": "h", "question": "Was the person present at the trial?"},
                    arrives="consultation")
    await t.lu_does("reply", {"text": "Present and defended."}, arrives="consultation_reply")
    await t.be_does("notify_delay", {"reasons": "An expert opinion.", "expected_by": "2027-07-05"},
                    arrives="delay_notice")
    await t.be_does("give_max_custody", {"max_custody_days": 90}, arrives="max_custody_info")
    await t.be_does("decide", {"outcome": "adapted", "measures": [{"measure": 4, "hours": 100}],
                               "reasons": "At most 100 hours here (Art 9(1))."}, arrives="decision")
    await t.lu_does("confirm_no_withdrawal", arrives="no_withdrawal")
    await t.supervise()
    await t.be_does("report_breach", {"breach": example_breach("LU", "BE").model_dump(mode="json", exclude_none=True)},
                    arrives="breach_report")
    await t.lu_does("request_information", {"question": "When exactly?"}, arrives="information_request")
    await t.be_does("answer_information", {"text": "On 3 May, twice."}, arrives="information")
    await t.be_does("decide_subsequent", {"decision": "modify", "reasons": "Shorter course.",
                                          "measures": [{"measure": 1, "description": "Report twice a month."}]},
                    arrives="subsequent_decision")
    await t.lu_does("request_transfer_back", {"reason": "New proceedings here."}, arrives="transfer_back_request")
    await t.be_does("answer_transfer_back", {"agree": False, "reasons": "The supervision goes well."},
                    arrives="transfer_back_declined")
    await t.be_does("transfer_back", {"reason": "residence_lost"}, arrives="transfer_back")


async def _reviewed(t: Transfer) -> None:
    """The certificate asks for the maximum custody; the judgment is annulled on review (Art 19)."""
    await t.start(ask_max_custody=True)
    await t.lu_does("notify_review", {"outcome": "annulled", "reasons": "Quashed on appeal."},
                    arrives="judgment_review")


async def _custody(t: Transfer) -> None:
    """Recognised, supervised, then the custodial sentence is to be executed (Art 14(1)(c))."""
    await t.start()
    await t.be_does("decide", {"outcome": "recognised"}, arrives="decision")
    await t.supervise()
    await t.be_does("decide_subsequent", {"decision": "execute_custody", "reasons": "Repeated breaches."},
                    arrives="subsequent_decision")


async def _pardoned(t: Transfer) -> None:
    """Under decision at BE, the person is pardoned in Luxembourg (Art 19(1))."""
    await t.start()
    await t.lu_does("notify_amnesty", {"reasons": "Pardoned by the Grand Duke on 1 March."},
                    arrives="amnesty_pardon")


async def _withdrawn(t: Transfer) -> None:
    """Under decision at BE, Luxembourg withdraws the certificate (Art 9(4))."""
    await t.start()
    await t.lu_does("withdraw", {"reason": "The person came back to Luxembourg."}, arrives="withdrawal")


async def _ended(t: Transfer) -> None:
    """Recognised, supervised, and ended: the measures were complied with (Art 16(1)(d))."""
    await t.start()
    await t.be_does("decide", {"outcome": "recognised"}, arrives="decision")
    await t.supervise()
    await t.be_does("end_supervision", arrives="supervision_ended")


def _received(page: str) -> dict[str, str]:
    """The received messages of the conversation panel, by message id: the text of their fields (the free
    texts, which are the people's own words, left out)."""
    panel = page[page.index('aria-labelledby="h-conversation"'):]
    panel = panel[:panel.index("</section>")]
    out = {}
    for found in re.finditer(r'<li class="message received" id="message-([^"]+)">(.*?)</li>', panel, re.DOTALL):
        body = re.sub(r"<blockquote.*?</blockquote>", "", found.group(2), flags=re.DOTALL)
        out[found.group(1)] = body
    return out


def _cells(html: str) -> list[str]:
    """What each <dd> and table cell of a message shows, as text."""
    return [re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", c))).strip()
            for c in re.findall(r"<(?:dd|td)[^>]*>(.*?)</(?:dd|td)>", html, re.DOTALL)]


async def test_every_message_reads_in_words_on_the_receiving_page(nodes: LocalNodes) -> None:
    async with httpx.AsyncClient(timeout=60) as http:
        transfers = [Transfer(nodes, http) for _ in range(6)]
        await asyncio.gather(_full_transfer(transfers[0]), _reviewed(transfers[1]), _custody(transfers[2]),
                             _ended(transfers[3]))
        await asyncio.gather(_pardoned(transfers[4]), _withdrawn(transfers[5]))
        readers = {"LU": await signed_in(nodes["LU"].url, "prosecutor"),
                   "BE": await signed_in(nodes["BE"].url, "prosecutor")}
        kinds_seen: set[str] = set()
        checked: set[tuple[str, str]] = set()
        for t in transfers:
            for state, direction, api, who in (("LU", "outgoing", t.lu, t.lu_p), ("BE", "incoming", t.be, t.be_p)):
                r = await http.get(api, headers={**who, **WHY})
                assert r.status_code == 200, (state, t.id, r.status_code, r.text[:500])
                said = r.json()["conversation"]
                received = {m["message_id"]: m for m in said if m["way"] == "received"}
                for lang, column in (("en", 0), ("fr", 1)):
                    page = await readers[state].get(f"/cases/{direction}/{t.id}",
                                                    headers={"Accept-Language": f"{lang};q=1, en;q=0.1", **WHY})
                    assert page.status_code == 200 and f'<html lang="{lang}">' in page.text, (state, lang)
                    shown = _received(page.text)
                    # The API and the page carry the same messages, in the same order.
                    assert list(shown) == list(received), (state, t.id, list(shown), list(received))
                    for message_id, html in shown.items():
                        m = received[message_id]
                        kinds_seen.add(m["type"])
                        cells = _cells(html)
                        for cell in cells:
                            assert cell not in CODES and not RAW.search(cell), (state, lang, m["type"], cell)
                            assert lang == "en" or cell not in ENGLISH, (state, lang, m["type"], cell)
                        code = str(m["fields"].get(CODE_FIELD.get(m["type"], ""), ""))
                        text = " ".join(cells)
                        for words in WORDS.get((m["type"], code), []):
                            assert words[column] in text, (state, lang, m["type"], words[column], text)
                            checked.add((m["type"], code))
                # The API keeps the codes for other systems.
                for m in received.values():
                    if m["type"] == "subsequent_decision":
                        assert m["fields"]["decision"] in ("modify", "execute_custody")
                    if m["type"] == "transfer_back":
                        assert m["fields"]["reason"] == "residence_lost"
                    if m["type"] == "judgment_review":
                        assert m["fields"]["outcome"] == "annulled"
                    if m["type"] == "certificate":
                        assert re.fullmatch(r"[a-z]{2}", m["fields"]["language"])
        for reader in readers.values():
            await reader.aclose()
    assert checked == set(WORDS), set(WORDS) - checked
    every = {kind for kind, _ in WORDS} | {"completion", "consultation_reply", "no_withdrawal", "supervision_started",
                                           "breach_report", "information_request", "information",
                                           "transfer_back_request", "transfer_back_declined", "amnesty_pardon",
                                           "withdrawal"}
    assert every <= kinds_seen, every - kinds_seen


def test_a_forwarded_certificate_and_its_codes_read_as_sentences() -> None:
    """Art 6(7): a certificate forwarded within the executing State (two nodes of one State, which the test
    nodes are not) carries `forwarded`: on the page a sentence with its date, in the API its structure."""
    payload = {"certificate": fresh_certificate("LU", "BE"), "language": "de", "max_custody_requested": False,
               "judgment_sent_separately": "post",
               "forwarded": {"by_authority": "BE-ANVERS", "to_authority": "BE-LIEGE",
                             "received_at": "2026-03-01T10:00:00+00:00"}}
    entry = read_entry({"message_id": "m1", "way": "received", "state": "LU", "at": "2026-03-02T09:00:00+00:00",
                        "type": "certificate", "payload": payload}, None, None)
    assert entry.fields["forwarded"]["by_authority"] == "BE-ANVERS" and entry.fields["language"] == "de"
    for lang, expected in (("en", ["German", "by post", "BE-ANVERS", "BE-LIEGE", "1 Mar 2026"]),
                           ("fr", ["allemand", "par la poste", "BE-ANVERS", "BE-LIEGE", "1 mars 2026"])):
        t = translator(lang)
        shown = " ".join(detail_value(k, v, t) for k, v in entry.fields.items() if v is not None)
        for words in expected:
            assert words in shown, (lang, words, shown)
        assert "{" not in shown and "2026-03-01" not in shown and "by_authority" not in shown, shown
