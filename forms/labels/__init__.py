"""Label catalogues of the two forms, one YAML file per language (`forms/labels/<code>.yaml`).

Adding an official language is adding a file: copy `en.yaml`, translate the values, keep the keys,
and say in `meta` how far the wording can be trusted (`confidence`, `source`). `RENDER_LANGUAGES` is
whatever files are here, so the new language is picked up without code. `examples/<code>.yaml` holds
the free text of the example documents in that language (forms/examples.py).
"""

from __future__ import annotations

from datetime import date
from functools import cache
from pathlib import Path
from typing import Literal

import yaml
from babel import Locale
from babel.dates import format_date
from babel.numbers import format_decimal

_DIR = Path(__file__).parent

Section = Literal["annex1", "annex2"]

RENDER_LANGUAGES: tuple[str, ...] = tuple(sorted(p.stem for p in _DIR.glob("*.yaml")))

# CLDR plural categories: a phrase that counts (`days`) gives one wording per category its language uses.
PLURAL_CATEGORIES = frozenset({"zero", "one", "two", "few", "many", "other"})


def _is_plural(value: object) -> bool:
    return isinstance(value, dict) and bool(value) and set(value) <= PLURAL_CATEGORIES


class Catalogue:
    """The labels of one language, looked up by the dotted field path used in the JSON."""

    def __init__(self, lang: str, data: dict[str, dict[str, object]]) -> None:
        self.lang = lang
        self._data = data

    def _section(self, name: str) -> dict[str, object]:
        return self._data.get(name) or {}

    def field(self, section: Section, key: str) -> str:
        """A box, field or phrase of one annex, falling back to the phrases both annexes share."""
        value = self._section(section).get(key, self._section("common").get(key))
        if value is None:
            raise KeyError(f"no label {section}.{key} in the {self.lang} catalogue")
        return str(value)

    def phrase(self, key: str, **values: object) -> str:
        return str(self._section("common")[key]).format(**values)

    @property
    def locale(self) -> Locale:
        # CLDR's plain `en` writes dates the American way; the forms' English is the EU's.
        return Locale.parse("en_150" if self.lang == "en" else self.lang)

    def count(self, key: str, n: int) -> str:
        """A counted phrase (`days`, `hours`, `months`) in the plural form CLDR gives `n` in this language:
        "1 day", "2 days"; Polish "1 dzień", "2 dni", "5 dni"; the number written as the language writes it."""
        forms = self._section("common")[key]
        if not _is_plural(forms):
            return str(forms).format(n=n)
        assert isinstance(forms, dict)
        category = self.locale.plural_form(n)
        wording = forms.get(category, forms["other"])
        return str(wording).format(n=format_decimal(n, locale=self.locale))

    def date(self, value: date) -> str:
        """A date as this language writes it in full ("1 March 2026", "1 mars 2026", "1. März 2026")."""
        return format_date(value, "long", locale=self.locale)

    def enum(self, enum_name: str, value: str) -> str:
        names = self._section("enum").get(enum_name)
        if not isinstance(names, dict) or value not in names:
            raise KeyError(f"no label enum.{enum_name}.{value} in the {self.lang} catalogue")
        return str(names[value])

    def enums(self) -> dict[str, dict[str, str]]:
        """Every coded list's words, by enum name and code (the JSON Schemas name each code with them)."""
        return {str(name): {str(code): str(words) for code, words in values.items()}
                for name, values in self._section("enum").items() if isinstance(values, dict)}

    def country(self, code: str) -> str:
        # Nationalities may be any country; outside the 27 the ISO code itself is unambiguous.
        return str(self._section("country").get(code, code))

    def language(self, code: str) -> str:
        return str(self._section("language").get(code, code))

    def meta(self) -> dict[str, str]:
        """name, confidence (R recollection, U unverified translation) and source of the wording."""
        return {str(k): str(v) for k, v in self._section("meta").items()}

    def keys(self) -> set[str]:
        """Every key, flattened as section.key or enum.Name.value, for completeness tests."""
        flat: set[str] = set()
        for section, entries in self._data.items():
            for key, value in entries.items():
                if _is_plural(value):
                    flat.add(f"{section}.{key}")  # the plural categories differ by language, the key does not
                elif isinstance(value, dict):
                    flat.update(f"{section}.{key}.{sub}" for sub in value)
                else:
                    flat.add(f"{section}.{key}")
        return flat


@cache
def catalogue(lang: str) -> Catalogue:
    if lang not in RENDER_LANGUAGES:
        raise ValueError(
            f"no label catalogue for language {lang!r}; available: {', '.join(RENDER_LANGUAGES)} "
            "(add forms/labels/<code>.yaml to support another)"
        )
    with (_DIR / f"{lang}.yaml").open(encoding="utf-8") as handle:
        data = yaml.safe_load(handle)
    return Catalogue(lang, data)


__all__ = ["PLURAL_CATEGORIES", "RENDER_LANGUAGES", "Catalogue", "Section", "catalogue"]
