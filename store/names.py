"""How a search compares names: without accents and without case, so "MULLER-GONCALVES" finds
"Müller-Gonçalves". Done in Python, not with PostgreSQL's unaccent (an extension a server may lack)."""

from __future__ import annotations

import unicodedata
from typing import Any

# Letters Unicode does not decompose into a base letter and an accent, spelt as a keyboard without them would.
_NOT_DECOMPOSED = str.maketrans({"ø": "o", "Ø": "O", "đ": "d", "Đ": "D", "ł": "l", "Ł": "L", "ß": "ss",
                                 "æ": "ae", "Æ": "AE", "œ": "oe", "Œ": "OE", "þ": "th", "Þ": "TH", "ı": "i"})


def folded(text: Any) -> str:
    """Text as a search compares it: no accents, no case."""
    decomposed = unicodedata.normalize("NFKD", str(text or "").translate(_NOT_DECOMPOSED))
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def same_name(stored: Any, searched: str) -> bool:
    """Whether a stored name is the searched one, accents, case and surrounding spaces aside."""
    return " ".join(folded(stored).split()) == " ".join(folded(searched).split())
