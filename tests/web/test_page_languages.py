"""Every page in every language of web/locale, and nothing left in English.

Two checks. The catalogues: every message the templates and page modules mark (extracted here exactly as
`make translations` does) has a translation in each language, with every plural form, and the same
placeholders as its English. The pages: each page route is rendered, signed in with each role of the dev
users, with cases in several stages, in English and in each other language; a French or German page fails
when it shows a word of the English interface (a word of the English messages that appears in no
translation and in none of the case's data): a string nobody marked, or a marked one with no translation.
Last, every page is rendered in a pseudo-translation of all marked messages (vowels accented): a plain
English word left on it is a string nobody marked, whether or not its words occur in other messages.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from datetime import date, timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import httpx
import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po, write_po
from webhelp import csrf_of, signed_in

from forms.examples import example_breach, example_certificate
from forms.labels import catalogue
from forms.states import load_state
from forms.validation import validate_certificate
from probatio.harness import LocalNodes
from tests.support import bearer, fresh_certificate, wait_for
from web import i18n
from web.labels import problem_text
from web.pages_wizard import STEPS

ROOT = Path(__file__).resolve().parents[2]
LANGUAGES = [lang for lang in i18n.available_languages() if lang != "en"]


def extracted() -> Catalog:
    """The messages of the templates and page modules, extracted with the project's babel.cfg."""
    with (ROOT / "babel.cfg").open() as handle:
        method_map, options_map = parse_mapping_cfg(handle)
    found = Catalog()
    keywords = {"_": None, "gettext": None, "ngettext": (1, 2), "pgettext": ((1, "c"), 2),
                "npgettext": ((1, "c"), 2, 3), "N_": None, "_error": (2,), "_warning": (2,), "wording": None}
    for _file, lineno, message, comments, context in extract_from_dir(str(ROOT), method_map, options_map,
                                                                        keywords=keywords):
        found.add(message, None, [(_file, lineno)], auto_comments=comments, context=context)
    return found


def po(lang: str) -> Catalog:
    with (i18n.LOCALE_DIR / lang / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        return read_po(handle, locale=lang)


def test_french_and_german_are_there() -> None:
    assert {"fr", "de"} <= set(LANGUAGES)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_marked_message_is_translated(lang: str) -> None:
    source, catalog = extracted(), po(lang)
    missing, empty, fuzzy = [], [], []
    for message in source:
        if not message.id:
            continue
        found = catalog.get(message.id, message.context)
        if found is None:
            missing.append(message.id)
        elif found.fuzzy:
            fuzzy.append(message.id)
        elif not all(found.string) if isinstance(found.string, tuple) else not found.string:
            empty.append(message.id)
    assert not missing, f"{lang}: not in messages.po (run `make translations`): {missing[:20]}"
    assert not empty, f"{lang}: no translation yet: {empty[:20]}"
    assert not fuzzy, f"{lang}: marked fuzzy (check, then drop the mark): {fuzzy[:20]}"
    # Placeholders as in English (babel's own checkers: python-format), plural forms as the language has.
    problems = [(m.id, [str(e) for e in errors]) for m, errors in catalog.check()]
    assert not problems, problems[:10]
    # The findings of forms.validation use {name} placeholders: the same names in the translation.
    braces = re.compile(r"\{(\w+)\}")
    differ = [m.id for m in catalog if isinstance(m.id, str) and m.string
              and set(braces.findall(m.id)) != set(braces.findall(str(m.string)))]
    assert not differ, differ[:10]
    assert catalog.num_plurals >= 2


# --- rendering every page -----------------------------------------------------------------------------------

class _Text(HTMLParser):
    """What a reader meets on a page: text, and the texts of titles, labels for assistive technology and
    placeholders; not scripts, styles, the source of a preview frame or codes set in <code>."""

    SKIP = frozenset({"script", "style", "code", "textarea"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.lang = ""
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "html":
            self.lang = a.get("lang") or ""
        if tag in self.SKIP:
            self._skip += 1
        for name in ("title", "aria-label", "placeholder", "alt"):
            if a.get(name):
                self.parts.append(str(a[name]))

    def handle_endtag(self, tag: str) -> None:
        if tag in self.SKIP and self._skip:
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip and data.strip():
            self.parts.append(data.strip())


def page_text(html: str) -> tuple[str, list[str]]:
    reader = _Text()
    reader.feed(html)
    return reader.lang, reader.parts


def words(text: str) -> set[str]:
    """Words of three letters or more; a run of letters and digits (an id such as 3add9f01) is none."""
    return {w.lower() for w in re.findall(r"[^\W_]+", text) if w.isalpha() and len(w) >= 3}


def english_interface_words(lang: str, data: set[str]) -> set[str]:
    """Words of the English messages that are not also words of `lang`'s translations or forms labels,
    nor of the data shown: seeing one of them on a `lang` page means English interface text."""
    english: set[str] = set()
    for message in extracted():
        for text in (message.id if isinstance(message.id, tuple) else (message.id,)):
            english |= words(re.sub(r"%\(\w+\)s|<[^>]+>", " ", text))
    local: set[str] = set()
    for message in po(lang):
        for text in (message.string if isinstance(message.string, tuple) else (message.string,)):
            local |= words(text or "")
    local |= words(" ".join(_strings(catalogue(lang)._data)))
    for state in ("LU", "BE"):  # the national measures and decisions, named in this language by the State
        profile = load_state(state)
        local |= words(" ".join(n.name.get(lang, "") for n in (*profile.measures, *profile.decisions)))
    return english - local - data


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)


async def _api(http: httpx.AsyncClient, method: str, url: str, headers: dict[str, str],
               json: Any = None) -> dict[str, Any]:
    r = await http.request(method, url, headers=headers, json=json)
    assert r.status_code in (200, 201), r.text
    data: dict[str, Any] = r.json()
    return data


async def _cases_in_stages(nodes: LocalNodes) -> dict[str, str]:
    """Transfers in the stages whose case pages differ: a draft, awaiting approval, under decision at BE,
    completion requested, supervised, and refused (closed)."""
    lu, be = nodes["LU"].url, nodes["BE"].url
    found: dict[str, str] = {}
    async with httpx.AsyncClient(timeout=60) as http:
        async def new(submit: bool = True, approve: bool = True) -> str:
            # Each of its own judgment: one executing state at a time for a judgment (Art 6(5)).
            made = await _api(http, "POST", f"{lu}/api/v1/transfers", bearer(nodes, "LU", "officer"),
                              {"executing_state": "BE", "certificate": fresh_certificate("LU", "BE")})
            if submit:
                await _api(http, "POST", f"{lu}/api/v1/transfers/{made['id']}/actions/submit",
                           bearer(nodes, "LU", "officer"))
            if approve:
                # Art 6(1): the judgment goes by post here, so that approve needs no upload.
                await _api(http, "POST", f"{lu}/api/v1/transfers/{made['id']}/actions/approve",
                           bearer(nodes, "LU", "prosecutor"), {"judgment_sent_separately": "post"})
            return str(made["id"])

        async def at_be(case_id: str, stage: str) -> None:
            async def fetch() -> str:
                r = await http.get(f"{be}/api/v1/incoming/{case_id}", headers=bearer(nodes, "BE", "prosecutor"))
                return str(r.json().get("stage")) if r.status_code == 200 else ""
            assert await wait_for(fetch, lambda s: s == stage, 60) == stage

        async def at_lu(case_id: str, stage: str) -> None:
            async def fetch() -> str:
                r = await http.get(f"{lu}/api/v1/transfers/{case_id}", headers=bearer(nodes, "LU", "officer"))
                return str(r.json().get("stage"))
            assert await wait_for(fetch, lambda s: s == stage, 60) == stage

        found["draft"] = await new(submit=False, approve=False)
        found["awaiting_approval"] = await new(approve=False)
        found["under_decision"] = await new()
        found["completion"] = await new()
        found["supervising"] = await new()
        found["refused"] = await new()
        for case_id in (found["under_decision"], found["completion"], found["supervising"], found["refused"]):
            await at_be(case_id, "under_decision")
        prosecutor = bearer(nodes, "BE", "prosecutor")
        await _api(http, "POST", f"{be}/api/v1/incoming/{found['completion']}/actions/request_completion",
                   prosecutor, {"missing": "Adresse manquante au cadre e)", "due_days": 10})
        await _api(http, "POST", f"{be}/api/v1/incoming/{found['supervising']}/actions/decide", prosecutor,
                   {"outcome": "recognised"})
        await _api(http, "POST", f"{be}/api/v1/incoming/{found['refused']}/actions/decide", prosecutor,
                   {"outcome": "refused", "grounds": ["e"], "reasons": "statute-barred"})
        await at_be(found["supervising"], "recognised")
        await _api(http, "POST", f"{be}/api/v1/incoming/{found['supervising']}/actions/start_supervision",
                   bearer(nodes, "BE", "officer"))
        await at_be(found["supervising"], "supervising")
        # Art 17: a breach report, so that both case pages show it in the conversation (Annex II form).
        await _api(http, "POST", f"{be}/api/v1/incoming/{found['supervising']}/actions/report_breach",
                   bearer(nodes, "BE", "officer"),
                   {"breach": example_breach("LU", "BE").model_dump(mode="json", exclude_none=True)})
        await at_lu(found["supervising"], "transferred")
        await at_lu(found["completion"], "completion_requested")
        await at_lu(found["refused"], "closed")
    return found


# (node, role, path) of every page route; {x} is a case id of the stages above, {draft} a draft's id.
def page_routes(cases: dict[str, str], draft: str, correction: str, blank: str) -> list[tuple[str, str, str]]:
    out: list[tuple[str, str, str]] = [("LU", "", "/login")]
    for role in ("officer", "prosecutor", "supervisor", "auditor", "admin"):
        out += [("LU", role, "/dashboard"), ("LU", role, "/cases"), ("BE", role, "/dashboard")]
    out += [("LU", "auditor", "/audit"), ("LU", "auditor", "/audit/person"), ("LU", "admin", "/audit"),
            ("LU", "prosecutor", "/queue"), ("BE", "prosecutor", "/queue"), ("LU", "officer", "/transfers/new")]
    for step in STEPS:
        out += [("LU", "officer", f"/transfers/drafts/{draft}/{step.key}?check=1"),
                ("LU", "officer", f"/transfers/drafts/{correction}/{step.key}"),
                ("LU", "officer", f"/transfers/drafts/{blank}/{step.key}?check=1")]  # a message beside each field
    out += [("LU", "officer", f"/transfers/drafts/{draft}/review"),
            ("LU", "officer", f"/transfers/drafts/{correction}/review"),
            ("LU", "officer", f"/transfers/drafts/{blank}/review")]
    for stage, case_id in cases.items():
        for role in ("officer", "prosecutor"):
            out.append(("LU", role, f"/cases/outgoing/{case_id}"))
            if stage not in ("draft", "awaiting_approval"):
                out.append(("BE", role, f"/cases/incoming/{case_id}"))
    out += [("BE", "prosecutor", f"/cases/incoming/{cases['under_decision']}/decide"),
            ("BE", "officer", f"/cases/incoming/{cases['supervising']}/breach"),
            ("BE", "officer", f"/cases/incoming/{cases['under_decision']}/breach"),  # 409: not supervised yet
            ("LU", "officer", f"/cases/outgoing/{cases['draft']}/documents"),
            ("BE", "prosecutor", f"/cases/incoming/{cases['supervising']}/documents"),
            ("LU", "prosecutor", "/queue"),  # the breach report's task
            ("LU", "officer", "/audit"),  # 403
            ("LU", "officer", "/cases/sideways/x")]  # 404
    out += [route for route in why_routes_of(cases) if route not in out]
    return out


def why_routes_of(cases: dict[str, str]) -> list[tuple[str, str, str]]:
    """428: a case outside the reader's own work asks why it is opened (web/why.py) before showing it: any
    case to an auditor, a draft to the prosecutor (nothing to do on it yet, never acted on it)."""
    return [("LU", "auditor", f"/cases/outgoing/{cases['supervising']}"),
            ("BE", "auditor", f"/cases/incoming/{cases['supervising']}"),
            ("LU", "prosecutor", f"/cases/outgoing/{cases['draft']}")]


async def _posted_pages(clients: dict[tuple[str, str], httpx.AsyncClient], cases: dict[str, str],
                        headers: dict[str, str]) -> list[tuple[str, httpx.Response]]:
    """The pages that answer a form: the confirmation step of a serious action (approve; a refusal, which
    ends the transfer), a decision and an action refused with their messages beside the fields (422), and
    the search for data about a person with its messages. None of them changes a case: nothing is confirmed,
    and what is refused is refused before anything is done."""
    from webhelp import form_fields

    out: list[tuple[str, httpx.Response]] = []
    lu_prosecutor, be_prosecutor = clients[("LU", "prosecutor")], clients[("BE", "prosecutor")]
    case_url = f"/cases/outgoing/{cases['awaiting_approval']}"
    page = await lu_prosecutor.get(case_url, headers=headers)
    r = await lu_prosecutor.post(f"{case_url}/actions/approve", headers=headers,
                                 data={"csrf_token": csrf_of(page.text), "judgment_sent_separately": "post"})
    assert r.status_code == 200 and 'name="confirmed"' in r.text, r.text[:1000]
    out.append((f"LU prosecutor POST {case_url}/actions/approve (confirmation)", r))

    decide_url = f"/cases/incoming/{cases['under_decision']}/decide"
    fields = form_fields((await be_prosecutor.get(decide_url, headers=headers)).text, decide_url)
    r = await be_prosecutor.post(decide_url, headers=headers,
                                 data={**fields, "outcome": "refused", "grounds": "e", "reasons": "statute-barred"})
    assert r.status_code == 200 and 'name="confirmed"' in r.text, r.text[:1000]
    out.append((f"BE prosecutor POST {decide_url} refused (confirmation)", r))
    r = await be_prosecutor.post(decide_url, headers=headers, data={**fields, "outcome": "adapted"})
    assert r.status_code == 422, r.text[:1000]  # an adaptation that changes no measure
    out.append((f"BE prosecutor POST {decide_url} adapted, nothing changed (422)", r))

    case_url = f"/cases/incoming/{cases['under_decision']}"
    page = await be_prosecutor.get(case_url, headers=headers)
    r = await be_prosecutor.post(f"{case_url}/actions/request_completion", headers=headers,
                                 data={"csrf_token": csrf_of(page.text), "due_days": "ten", "missing": ""})
    assert r.status_code == 422 and "due_days" in r.text, r.text[:1000]
    out.append((f"BE prosecutor POST {case_url}/actions/request_completion (422, the case page again)", r))

    auditor = clients[("LU", "auditor")]
    page = await auditor.get("/audit/person", headers=headers)
    r = await auditor.post("/audit/person", headers=headers, data={"csrf_token": csrf_of(page.text)})
    assert r.status_code == 422, r.text[:1000]
    out.append(("LU auditor POST /audit/person (422)", r))
    # Its result is a download, the export's own data under its own keys: no page, nothing to translate.
    person = example_certificate("LU", "BE").person
    fields = form_fields(page.text, "/audit/person")
    fields["surname"] = person.surname
    born = person.date_of_birth
    assert born is not None
    if "date_of_birth-day" in fields:  # asked as the wizard asks a date
        fields.update({"date_of_birth-day": str(born.day), "date_of_birth-month": str(born.month),
                       "date_of_birth-year": str(born.year)})
    else:
        fields["date_of_birth"] = born.isoformat()
    r = await auditor.post("/audit/person", headers=headers, data=fields)
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/json"), r.text[:1000]
    assert "attachment" in r.headers["content-disposition"] and r.json()["cases"]
    return out


async def _draft(http: httpx.AsyncClient, start: str = "example") -> str:
    page = await http.get("/transfers/new")
    r = await http.post("/transfers/new", data={"start": start, "csrf_token": csrf_of(page.text)})
    assert r.status_code == 303, r.text
    return str(r.headers["location"]).split("/")[3]


# --- a pseudo-translation: every marked message rewritten with accented vowels --------------------------------
# Shown in it, a page whose words are all marked has no plain-ASCII word left but data, codes and the forms'
# own labels; a plain English word is text nobody marked. Its code is a language Babel knows and we do not ship.
PSEUDO = "eo"
_ACCENTS = str.maketrans("aeiouyAEIOUY", "áéíóúýÁÉÍÓÚÝ")
_KEEP = re.compile(r"(%\(\w+\)s|\{\w+\}|<[^>]+>|&\w+;)")  # placeholders, markup and entities stay as they are


def pseudo(text: str) -> str:
    return "".join(p if i % 2 else p.translate(_ACCENTS) for i, p in enumerate(_KEEP.split(text)))


def install_pseudo(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    target = tmp_path / "locale"
    shutil.copytree(i18n.LOCALE_DIR, target)
    catalog = Catalog(locale=PSEUDO)
    for message in extracted():
        if message.id:
            ids = message.id if isinstance(message.id, tuple) else (message.id,)
            shown = tuple(pseudo(x) for x in ids)
            catalog.add(message.id, shown if isinstance(message.id, tuple) else shown[0], flags=message.flags)
    (target / PSEUDO / "LC_MESSAGES").mkdir(parents=True)
    with (target / PSEUDO / "LC_MESSAGES" / "messages.po").open("wb") as handle:
        write_po(handle, catalog)
    monkeypatch.setattr(i18n, "LOCALE_DIR", target)
    _forget_catalogues()


def _forget_catalogues() -> None:
    for cached in (i18n.available_languages, i18n.translations, i18n.translator):
        cached.cache_clear()


def plain_words(text: str, allowed: set[str]) -> list[str]:
    """Plain-ASCII words of three letters or more that are not codes (all capitals) nor allowed."""
    return [w for w in re.findall(r"[^\W_]+", text)  # whole runs: a hex id such as 8e92cef4 is no word
            if w.isalpha() and len(w) >= 3 and w.isascii() and not w.isupper() and w.lower() not in allowed]


def pseudo_allowed(data: set[str]) -> set[str]:
    """Words a pseudo page may show unmarked: the data, the forms' own English labels (the pseudo-language has
    no forms catalogue), the States' names of their measures, dates, country and language names."""
    allowed = set(data) | words(" ".join(_strings(catalogue("en")._data)))
    for state in ("LU", "BE"):
        profile = load_state(state)
        allowed |= words(" ".join(" ".join(n.name.values()) for n in (*profile.measures, *profile.decisions)))
    locale = i18n.formatting_locale(PSEUDO)
    # The pickers name countries and languages as CLDR does in the page's language (web/pages_wizard.py).
    allowed |= words(" ".join((*locale.territories.values(), *locale.languages.values())))
    for table in (locale.months, locale.days):
        for width in table.values():
            for names in width.values():
                allowed |= words(" ".join(names.values()))
    return allowed | {"english", "deutsch", "esperanto", "nodelink", "probatio", "demo"}


async def test_every_page_in_every_language(nodes: LocalNodes, monkeypatch: pytest.MonkeyPatch,
                                            tmp_path: Path) -> None:
    install_pseudo(monkeypatch, tmp_path)
    cases = await _cases_in_stages(nodes)
    clients: dict[tuple[str, str], httpx.AsyncClient] = {}
    for state in ("LU", "BE"):
        for role in ("officer", "prosecutor", "supervisor", "auditor", "admin"):
            clients[(state, role)] = await signed_in(nodes[state].url, role)
        clients[(state, "")] = httpx.AsyncClient(base_url=nodes[state].url, timeout=30)
    officer = clients[("LU", "officer")]
    draft = await _draft(officer)
    blank = await _draft(officer, "blank")
    case_page = await officer.get(f"/cases/outgoing/{cases['completion']}")
    r = await officer.post(f"/cases/outgoing/{cases['completion']}/correct",
                           data={"csrf_token": csrf_of(case_page.text)})
    assert r.status_code == 303, r.text
    correction = str(r.headers["location"]).split("/")[3]

    # A breach report previewed: the preview and its messages are part of the breach page too.
    be_officer = clients[("BE", "officer")]
    breach_url = f"/cases/incoming/{cases['supervising']}/breach"

    # What the cases hold is data, shown as typed, in whatever language it was written.
    data = words(" ".join(_strings(example_certificate("LU", "BE").model_dump(mode="json"))))
    data |= words("officer prosecutor supervisor auditor admin demo Maison de justice d'Arlon Place Schalbert "
                  "Assistante Bruxelles absent Adresse manquante au cadre statute-barred")
    data |= words(" ".join(_strings(example_breach("LU", "BE").model_dump(mode="json"))))
    # The seal's signer, as its certificate names it (the dev nodes' own self-signed seal).
    data |= words("Common Name probatio seal LU self-signed not qualified Organization node Country")

    routes = page_routes(cases, draft, correction, blank)
    why_routes = set(why_routes_of(cases))
    allowed = pseudo_allowed(data)

    def english_in(lang: str, part: str, vocabulary: set[str]) -> list[str]:
        return plain_words(part, allowed) if lang == PSEUDO else sorted(words(part) & vocabulary)

    try:
        seen_en: dict[str, str] = {}
        english_on: dict[str, list[str]] = {}  # every language's findings, then one report of them all
        for lang in ["en", *LANGUAGES, PSEUDO]:
            vocabulary = english_interface_words(lang, data) if lang not in ("en", PSEUDO) else set()
            failures: list[str] = []
            for state, role, path in routes:
                r = await clients[(state, role)].get(path, headers={"Accept-Language": f"{lang};q=1, en;q=0.1"})
                assert r.status_code < 500, (lang, path, r.text[:500])
                if (state, role, path) in why_routes:
                    assert r.status_code == 428 and 'name="reason"' in r.text, (lang, path, r.text[:500])
                shown_lang, parts = page_text(r.text)
                assert shown_lang == lang, (path, shown_lang)
                if lang == "en":
                    seen_en[path] = r.text
                    continue
                for part in parts:
                    english = english_in(lang, part, vocabulary)
                    if english:
                        failures.append(f"{state} {role or '-'} {path}: {part!r} ({', '.join(english)})")
            # Previewing the breach report in this language (POST, then the page with the preview).
            form_page = await be_officer.get(breach_url, headers={"Accept-Language": lang})
            fields = _breach_form(form_page.text, breach_url)
            r = await be_officer.post(breach_url, data=fields, headers={"Accept-Language": lang})
            assert r.status_code == 200, r.text[:1000]
            assert 'class="breach-preview"' in r.text
            if lang != "en":
                for part in page_text(r.text)[1]:
                    english = english_in(lang, part, vocabulary)
                    if english:
                        failures.append(f"BE officer {breach_url} (preview): {part!r} ({', '.join(english)})")
            for label, r in await _posted_pages(clients, cases, {"Accept-Language": f"{lang};q=1, en;q=0.1"}):
                shown_lang, parts = page_text(r.text)
                assert shown_lang == lang, (label, shown_lang)
                if lang == "en":
                    seen_en[label] = r.text
                    continue
                for part in parts:
                    english = english_in(lang, part, vocabulary)
                    if english:
                        failures.append(f"{label}: {part!r} ({', '.join(english)})")
            if failures:
                english_on[lang] = list(dict.fromkeys(failures))
        assert not english_on, "\n".join(f"English on {lang} pages:\n" + "\n".join(found)
                                          for lang, found in english_on.items())
        assert len(seen_en) > 40
    finally:
        for http in clients.values():
            await http.aclose()
        monkeypatch.undo()
        _forget_catalogues()


def _breach_form(html: str, action: str) -> dict[str, str]:
    from webhelp import form_fields

    fields = form_fields(html, action)
    fields.update({"supervising_authority.name": "Maison de justice d'Arlon",
                   "supervising_authority.phone": "+32 63 00 00 00", "contact.phone": "+32 63 00 00 01",
                   "supervising_authority.address.street": "Place Schalbert 1",
                   "supervising_authority.address.city": "Arlon", "contact.address.street": "Place Schalbert 1",
                   "contact.address.city": "Arlon", "signature.post": "Assistante de justice"})
    fields["rows[0].ticked"] = "true"
    fields["rows[0].occurred_on"] = (date.today() - timedelta(days=2)).isoformat()
    fields["rows[0].place"] = "Bruxelles"
    fields["rows[0].description"] = "absent"
    fields["go"] = "preview"
    return fields


async def test_the_choice_is_remembered(nodes: LocalNodes) -> None:
    """The picker sets this node's cookie and the signed-in user's profile; the profile follows the user to a
    new browser; without a choice Accept-Language decides; plurals and dates follow the language."""
    lu = nodes["LU"].url
    async with httpx.AsyncClient(base_url=lu, timeout=30) as anonymous:
        page = await anonymous.get("/login", headers={"Accept-Language": "de-AT,de;q=0.9,en;q=0.5"})
        assert '<html lang="de">' in page.text and "Anmelden" in page.text
        page = await anonymous.get("/login", headers={"Accept-Language": "pt-PT"})
        assert '<html lang="en">' in page.text  # no Portuguese pages: the node's default
        r = await anonymous.post("/language", data={"lang": "xx", "next": "/login"})
        assert r.status_code == 422
        r = await anonymous.post("/language", data={"lang": "de", "next": "//evil.example/"})
        assert r.status_code == 303 and r.headers["location"] == "/"  # no open redirect
        page = await anonymous.get("/login", headers={"Accept-Language": "fr"})  # the choice beats the browser
        assert '<html lang="de">' in page.text
    auditor = await signed_in(lu, "auditor")
    try:
        page = await auditor.get("/audit")
        r = await auditor.post("/language", data={"lang": "fr", "next": "/audit?user=x",
                                                   "csrf_token": csrf_of(page.text)})
        assert r.status_code == 303 and r.headers["location"] == "/audit?user=x"
        page = await auditor.get("/audit", headers={"Accept-Language": "de"})  # the choice beats the browser
        assert '<html lang="fr">' in page.text and "Journal d'audit" in page.text
        # A form without the session's token changes no profile.
        assert (await auditor.post("/language", data={"lang": "de", "next": "/"})).status_code == 403
    finally:
        await auditor.aclose()
    elsewhere = await signed_in(lu, "auditor")  # another browser: no cookie yet
    try:
        page = await elsewhere.get("/audit", headers={"Accept-Language": "de"})
        assert '<html lang="fr">' in page.text
    finally:
        await elsewhere.aclose()


def test_plurals_dates_and_numbers_follow_the_language() -> None:
    """CLDR rules through Babel: no "1 days", French counts 0 and 1 as one, dates and numbers as written there."""
    en, fr, de = i18n.translator("en"), i18n.translator("fr"), i18n.translator("de")
    assert en.ngettext("%(num)s day", "%(num)s days", 1) == "1 day"
    assert en.ngettext("%(num)s day", "%(num)s days", 2) == "2 days"
    assert fr.ngettext("%(num)s day", "%(num)s days", 0) == "0 jour"
    assert fr.ngettext("%(num)s day", "%(num)s days", 2) == "2 jours"
    assert de.ngettext("%(num)s day", "%(num)s days", 1) == "1 Tag"
    assert de.ngettext("%(num)s day", "%(num)s days", 1500) == "1.500 Tage"
    when = "2026-03-01T14:05:00+00:00"
    assert en.date(when) == "1 Mar 2026" and fr.date(when) == "1 mars 2026" and de.date(when) == "01.03.2026"
    assert fr.time(when) == "1 mars 2026, 14:05 UTC"
    assert fr.number(1234567) == "1\u202f234\u202f567" and de.number(1234567) == "1.234.567"
    assert i18n.choose_language(None, "fr-BE,fr;q=0.9,en;q=0.8", "en") == "fr"
    assert i18n.choose_language(None, "nl-BE, de;q=0.5", "en") == "de"
    assert i18n.choose_language("de", "fr", "en") == "de"  # the user's choice beats the browser
    assert i18n.choose_language(None, "", "fr") == "fr"  # the node's default
    assert i18n.choose_language("xx", "pt", "en") == "en"


def test_the_boxes_own_checks_read_in_the_page_language() -> None:
    """A state code, a language or control characters refused by the certificate's boxes (forms/common.py):
    the page says so in French or German, the API in English."""
    cert = example_certificate("LU", "BE").model_dump(mode="json")
    cert["executing_state"], cert["language"] = "XX", "lb"
    cert["person"]["forenames"] = "Jean\x01Paul"
    found = {p.path: p for p in validate_certificate(cert)}
    assert found["language"].message.startswith("not an official EU language")
    fr, de = i18n.translator("fr"), i18n.translator("de")
    assert problem_text(found["executing_state"], fr).startswith("n'est pas le code d'un État membre de l'UE (un de AT")
    assert problem_text(found["language"], de).startswith("ist keine Amtssprache der EU")
    assert problem_text(found["person.forenames"], fr) == "contient des caractères de contrôle"
