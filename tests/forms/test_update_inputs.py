"""What a workflow's update takes holds the same limits as the action a person fills in (forms/messages.py): a
workflow computes dates from these numbers and never raises on them, whoever called the update."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from pydantic import BaseModel, ValidationError

from forms.law import RefusalGround
from forms.messages import (
    AcknowledgementFields,
    ConsultFields,
    DelayNoticeFields,
    MaxCustodyActionFields,
    NotifyDelayFields,
    RequestCompletionFields,
)


@pytest.mark.parametrize(("model", "fields", "field"), [
    (RequestCompletionFields, {"due_days": 10**12}, "due_days"),
    (RequestCompletionFields, {"due_days": 0}, "due_days"),
    (ConsultFields, {"ground": next(iter(RefusalGround)), "reply_days": 10**9}, "reply_days"),
    (MaxCustodyActionFields, {"max_custody_days": 10**9}, "max_custody_days"),
    (NotifyDelayFields, {"expected_by": date(9999, 12, 31)}, "expected_by"),
    (AcknowledgementFields, {"received_at": datetime(9999, 12, 31, tzinfo=UTC)}, "received_at"),
    (AcknowledgementFields, {"received_at": datetime(1, 1, 2, tzinfo=UTC)}, "received_at"),
    (DelayNoticeFields, {"expected_by": datetime(2100, 1, 1, tzinfo=UTC)}, "expected_by"),
])
def test_out_of_reach_values_are_refused_with_the_field_named(model: type[BaseModel], fields: dict[str, object],
                                                             field: str) -> None:
    with pytest.raises(ValidationError) as refused:
        model.model_validate(fields)
    assert [e["loc"][0] for e in refused.value.errors()] == [field]


def test_values_within_reach_are_taken() -> None:
    assert RequestCompletionFields(due_days=90).due_days == 90
    assert DelayNoticeFields(expected_by=datetime(2099, 12, 31, tzinfo=UTC)).expected_by.year == 2099
