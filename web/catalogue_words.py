"""Babel extraction of the catalogue's words (forms/messages.py): every message's label, every action's label
and summary, and every action field's title, so that `make translations` puts them in web/locale and the
pages show them in the reader's language. The catalogue keeps its words once, as class attributes rather
than calls, which Babel's Python extractor cannot see; babel.cfg names this function for that file."""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping
from typing import Any


def catalogue_words() -> Iterator[tuple[str, str]]:
    """(where, words): the wording of the catalogue as people read it."""
    from forms.messages import ACTIONS, MESSAGES

    for kind, message in MESSAGES.items():
        yield f"message {kind}: label", message.label
    for side, actions in ACTIONS.items():
        for name, action in actions.items():
            yield f"{side} action {name}: label", action.label
            yield f"{side} action {name}: summary", action.summary
            for field, info in action.model_fields.items():
                if info.title:
                    yield f"{side} action {name}: field {field}", info.title


def extract(fileobj: Any, keywords: Collection[str], comment_tags: Collection[str],
            options: Mapping[str, Any]) -> Iterator[tuple[int, str | None, str, list[str]]]:
    """Babel's extraction method interface; the file itself is imported, not parsed."""
    seen: set[str] = set()
    for where, words in catalogue_words():
        if words and words not in seen:
            seen.add(words)
            yield 0, None, words, [where]
