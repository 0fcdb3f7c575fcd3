"""Every value of the law the pages show has its words: a value added to an enum in `forms/` without a label
would otherwise show as a code, or fail a page. The labels are literal strings (for translation), so they are
kept in `web/`; these tests tie them to the enums that are the single source."""

from __future__ import annotations

from forms.documents import SeparateChannel
from forms.law import RefusalGround, ReviewOutcome, SubsequentDecision, TransferBackReason
from forms.stages import Alert, ExecutingStage, IssuingStage
from web import labels
from web.page_parts import OPTION_LABELS


def test_every_refusal_ground_has_its_words() -> None:
    assert set(labels.GROUNDS) == {g.value for g in RefusalGround}


def test_every_choice_an_action_offers_has_its_words() -> None:
    for enum in (SubsequentDecision, TransferBackReason, ReviewOutcome, SeparateChannel):
        missing = {v.value for v in enum} - set(OPTION_LABELS)
        assert not missing, (enum.__name__, missing)
    assert set(labels.SENT_SEPARATELY) == {c.value for c in SeparateChannel}


def test_every_stage_and_alert_has_its_words() -> None:
    assert {s.value for s in (*IssuingStage, *ExecutingStage)} <= set(labels.STAGES)
    assert {a.value for a in Alert} <= set(labels.ALERTS)
