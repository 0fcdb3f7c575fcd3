"""Counted phrases and dates of the forms' label catalogues follow CLDR (Babel): no "1 days", no "1 dni",
and a date as each language writes it."""

from __future__ import annotations

from datetime import date

import pytest
from babel import Locale

from forms.labels import RENDER_LANGUAGES, catalogue


@pytest.mark.parametrize("lang", RENDER_LANGUAGES)
def test_every_plural_form_a_whole_number_takes_is_written(lang: str) -> None:
    labels = catalogue(lang)
    needed = {Locale.parse(lang).plural_form(n) for n in range(0, 1001)} | {"other"}
    for key in ("days", "hours", "months"):
        forms = labels._section("common")[key]
        assert isinstance(forms, dict) and needed <= set(forms), (lang, key, needed - set(forms))
        assert all("{n}" in text for text in forms.values()), (lang, key)


@pytest.mark.parametrize(("lang", "n", "expected"), [
    ("en", 1, "1 day"), ("en", 2, "2 days"),
    ("fr", 1, "1 jour"), ("fr", 0, "0 jour"), ("fr", 2, "2 jours"),
    ("de", 1, "1 Tag"), ("de", 1096, "1.096 Tage"),
    ("pl", 1, "1 dzień"), ("pl", 2, "2 dni"), ("pl", 5, "5 dni"), ("pl", 22, "22 dni"),
    ("ro", 1, "1 zi"), ("ro", 2, "2 zile"), ("ro", 20, "20 de zile"),
])
def test_days_are_counted_as_the_language_counts(lang: str, n: int, expected: str) -> None:
    assert catalogue(lang).count("days", n) == expected


def test_hours_and_months_in_polish() -> None:
    labels = catalogue("pl")
    assert [labels.count("hours", n) for n in (1, 3, 120)] == ["1 godzina", "3 godziny", "120 godzin"]
    assert [labels.count("months", n) for n in (1, 4, 12)] == ["1 miesiąc", "4 miesiące", "12 miesięcy"]


@pytest.mark.parametrize(("lang", "expected"), [
    ("en", "14 March 2025"), ("fr", "14 mars 2025"), ("de", "14. März 2025"), ("pl", "14 marca 2025"),
    ("es", "14 de marzo de 2025"),
])
def test_dates_as_the_language_writes_them(lang: str, expected: str) -> None:
    assert catalogue(lang).date(date(2025, 3, 14)) == expected
