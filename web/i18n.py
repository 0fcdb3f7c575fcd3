"""Pages in the user's language: gettext catalogues (Babel), the language each request is served in, and
dates, numbers and plurals by the CLDR rules of that language.

The catalogues are `web/locale/<code>/LC_MESSAGES/messages.po`, extracted from the templates and the page
modules by `make translations` (see README, "Translations"). A language is available when its `.po` file is
there: adding Dutch is adding `web/locale/nl/…/messages.po`, no code. The `.po` files are compiled in memory
the first time a language is used (a few milliseconds), so there is no compiled `.mo` to keep in step with
its source and nothing to run before `make run` or `make test`.

Which language a page is in: the user's choice (the picker on every page, kept in a cookie of this node and,
for a signed-in user, in their row of `users`, so it follows them to another browser at sign-in), else the
browser's Accept-Language, else the node's `PROBATIO_DEFAULT_LANGUAGE`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, date, datetime
from functools import cache
from io import BytesIO
from pathlib import Path
from typing import Any

from babel import Locale
from babel.dates import format_date, format_time
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal
from babel.support import NullTranslations, Translations
from jinja2 import pass_context
from jinja2.runtime import Context

LOCALE_DIR = Path(__file__).parent / "locale"
DOMAIN = "messages"
SOURCE_LANGUAGE = "en"  # the msgids are English: English needs no catalogue
COOKIE_MAX_AGE = 365 * 24 * 3600


def N_(message: str) -> str:
    """Marks a message for extraction where it is defined (a module-level table); it is translated where shown."""
    return message


@cache
def available_languages() -> tuple[str, ...]:
    """English and every language that has a catalogue, in alphabetical order of code (read once per
    process: a new catalogue is offered from the next start)."""
    found = {p.parent.parent.name for p in LOCALE_DIR.glob(f"*/LC_MESSAGES/{DOMAIN}.po")}
    return tuple(sorted(found | {SOURCE_LANGUAGE}))


@cache
def translations(lang: str) -> NullTranslations:
    """The compiled catalogue of `lang`; English (the msgids themselves) has none."""
    source = LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po"
    if lang == SOURCE_LANGUAGE or not source.exists():
        return NullTranslations()
    with source.open("rb") as handle:
        catalog = read_po(handle, locale=lang, domain=DOMAIN)
    compiled = BytesIO()
    write_mo(compiled, catalog, use_fuzzy=False)  # a fuzzy entry is a guess: English is shown until checked
    compiled.seek(0)
    return Translations(compiled, domain=DOMAIN)


@cache
def formatting_locale(lang: str) -> Locale:
    """The CLDR locale for dates and numbers. English pages use European English (day month year, 24-hour
    clock): the users are EU authorities, and CLDR's plain `en` is American."""
    return Locale.parse("en_150" if lang == SOURCE_LANGUAGE else lang)


def language_name(code: str) -> str:
    """A language's name in that language (what a speaker looks for in a picker): Français, Deutsch."""
    name = Locale.parse(code).get_display_name(code) or code
    return name[:1].upper() + name[1:]


# --- choosing the language of a request ---------------------------------------------------------------------

def cookie_name(state: str) -> str:
    # Per node, like the session cookie: two nodes on one host share cookies whatever their ports.
    return f"probatio_lang_{state.lower()}"


_TAG = re.compile(r"^[A-Za-z]{1,8}(?:-[A-Za-z0-9]{1,8})*$|^\*$")


def accept_language(header: str) -> list[str]:
    """The language tags of an Accept-Language header, most wanted first (RFC 9110 §12.5.4)."""
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate(header.split(",")):
        tag, _, params = part.strip().partition(";")
        tag = tag.strip()
        if not tag or not _TAG.match(tag):
            continue
        weight = 1.0
        match = re.search(r"q\s*=\s*([0-9.]+)", params)
        if match:
            try:
                weight = float(match.group(1))
            except ValueError:
                continue
        if weight > 0:
            ranked.append((-weight, position, tag.lower()))
    return [tag for _, _, tag in sorted(ranked)]


def negotiate(wanted: list[str], available: tuple[str, ...]) -> str | None:
    """The first wanted language we have: `fr-BE` is served French, `de-AT` German."""
    for tag in wanted:
        primary = tag.split("-", 1)[0]
        if primary in available:
            return primary
    return None


def choose_language(cookie: str | None, header: str, default: str) -> str:
    available = available_languages()
    if cookie in available:
        return str(cookie)
    return negotiate(accept_language(header), available) or (default if default in available else SOURCE_LANGUAGE)


def request_language(request: Any) -> str:
    """The language of this request's page (see the module's docstring for the order)."""
    settings = request.app.state.node.settings
    return choose_language(request.cookies.get(cookie_name(settings.state)),
                           request.headers.get("accept-language", ""), settings.default_language)


# --- what pages and templates call ------------------------------------------------------------------------

class Translator:
    """One language's messages, dates and numbers: what page code uses to write a message for the user."""

    def __init__(self, lang: str) -> None:
        self.lang = lang
        self._catalogue = translations(lang)
        self.locale = formatting_locale(lang)

    def gettext(self, message: str, **values: Any) -> str:
        text = self._catalogue.gettext(message)
        return text % values if values else text

    def ngettext(self, singular: str, plural: str, n: int, **values: Any) -> str:
        return self._catalogue.ngettext(singular, plural, n) % {"num": self.number(n), **values}

    def date(self, value: Any) -> str:
        day = _as_date(value)
        return "" if day is None else format_date(day, "medium", locale=self.locale)

    def time(self, value: Any) -> str:
        when = _as_datetime(value)
        if when is None:
            return "" if value is None else str(value)
        # The locale's own way of joining a date and a time ("{1}, {0}", "{1} um {0}"); times are UTC.
        joined = str(self.locale.datetime_formats["medium"]).replace("{1}", self.date(when))
        return joined.replace("{0}", format_time(when, "short", tzinfo=UTC, locale=self.locale)) + " UTC"

    def number(self, value: Any) -> str:
        return format_decimal(value, locale=self.locale) if isinstance(value, (int, float)) else str(value)


@cache
def translator(lang: str) -> Translator:
    return Translator(lang if lang in available_languages() else SOURCE_LANGUAGE)


def for_request(request: Any) -> Translator:
    return translator(request_language(request))


def _as_datetime(value: Any) -> datetime | None:
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return None


def _as_date(value: Any) -> date | None:
    if isinstance(value, datetime):
        return value.astimezone(UTC).date() if value.tzinfo else value.date()
    if isinstance(value, date):
        return value
    when = _as_datetime(value)
    if when is not None:
        return when.astimezone(UTC).date()
    if isinstance(value, str):
        try:
            return date.fromisoformat(value[:10])
        except ValueError:
            return None
    return None


def _of(context: Context) -> Translator:
    return translator(str(context.get("lang") or SOURCE_LANGUAGE))


@pass_context
def _gettext(context: Context, message: str) -> str:
    return _of(context)._catalogue.gettext(message)


@pass_context
def _ngettext(context: Context, singular: str, plural: str, n: int) -> str:
    return _of(context)._catalogue.ngettext(singular, plural, n)


@pass_context
def _pgettext(context: Context, where: str, message: str) -> str:
    return str(_of(context)._catalogue.pgettext(where, message))


@pass_context
def _npgettext(context: Context, where: str, singular: str, plural: str, n: int) -> str:
    return str(_of(context)._catalogue.npgettext(where, singular, plural, n))


def _formatter(name: str) -> Callable[..., str]:
    @pass_context
    def call(context: Context, value: Any) -> str:
        result: str = getattr(_of(context), name)(value)
        return result

    return call


def install(env: Any) -> None:
    """Teach a Jinja2 environment (with the i18n extension) to speak the language in the context's `lang`:
    `_()`, `ngettext()`, `{% trans %}` and the `fmt_date`, `fmt_time`, `num` helpers follow it."""
    env.install_gettext_callables(_gettext, _ngettext, newstyle=True, pgettext=_pgettext, npgettext=_npgettext)
    env.globals.update(fmt_date=_formatter("date"), fmt_time=_formatter("time"), num=_formatter("number"),
                       language_name=language_name)


class Message(str):
    """A message for a person, kept with its msgid so that a page can show it in the reader's language.

    As a `str` it is the English text: the JSON API, logs and existing callers see what they saw before;
    an error page calls `in_language`. Values that are Messages themselves are translated too."""

    msgid: str
    values: dict[str, Any]

    def __new__(cls, msgid: str, **values: Any) -> Message:
        made = super().__new__(cls, msgid % values if values else msgid)
        made.msgid = msgid
        made.values = values
        return made

    @classmethod
    def said_as(cls, text: str, msgid: str, values: dict[str, Any]) -> Message:
        """A message whose English text is given as it was said (e.g. with codes where a page puts words)."""
        made = str.__new__(cls, text)
        made.msgid = msgid
        made.values = values
        return made

    def in_language(self, t: Translator) -> str:
        values = {k: v.in_language(t) if isinstance(v, Message) else v for k, v in self.values.items()}
        return t.gettext(self.msgid, **values)


__all__ = ["N_", "Message", "Translator", "available_languages", "choose_language", "for_request", "install",
           "request_language", "translator"]
