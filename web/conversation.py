"""The conversation of a case: every message that crossed between the two authorities, both ways, in order
and in full — what the other authority said, so that the person who must act on it can read it.

Each message is read against its model in the catalogue (forms/messages.py): its label, article and
one-line summary, its structured fields, its free text (reasons, questions, answers, what is missing),
for an adaptation or a modification the original and the changed measures side by side, for a completed
certificate what changed box by box, and for a breach report whether its Annex II form can be shown.
The same list is the API detail's `conversation` and the case page's panel."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from psycopg_pool import AsyncConnectionPool
from pydantic import BaseModel, Field, ValidationError

from forms.annex2 import BreachReport
from forms.messages import MESSAGES, CompletionRequest, MessageType
from store.messages import conversation_messages
from workflows.deadlines import COMPLETION, DUTY_PREFIX, completion_due

# Messages whose `measures` change the certificate's measures (Art 9 adaptation, Art 16(1) modification).
_CHANGES_MEASURES = {MessageType.DECISION, MessageType.SUBSEQUENT_DECISION}
# Messages that carry a whole certificate: a completion is compared box by box with the one before it.
_CARRIES_CERTIFICATE = {MessageType.CERTIFICATE, MessageType.COMPLETION}
_MEASURE_KEYS = ("description", "duration_days", "hours")
# Art 8(2): the deadline each side's workflow keeps for the latest completion request (the executing side's
# period set, the issuing side's duty to answer), named as workflows/incoming.py and outgoing.py name it.
_COMPLETION_DEADLINES = frozenset({COMPLETION, f"{DUTY_PREFIX}complete"})


class MeasureSideBySide(BaseModel):
    """One measure as the certificate has it and as the decision changed it (Art 9, 16(1))."""

    number: int = Field(description="the measure's number in box (j), from 1")
    category: str | None = Field(default=None, description="its Art 4(1) category")
    original: dict[str, Any] = Field(description="description, duration_days, hours as certified")
    changed: dict[str, Any] = Field(description="the same keys as changed (only those that changed)")


class BoxChange(BaseModel):
    """One box of a completed certificate that differs from the certificate before it (Art 8(2))."""

    box: str = Field(description="the field's path in the certificate, e.g. person.surname")
    before: Any = None
    after: Any = None


class ConversationEntry(BaseModel):
    """One message of the conversation between the issuing and the executing authority."""

    message_id: str
    way: str = Field(description="sent (by this node) or received (from the other State)")
    state: str = Field(description="the other State: the addressee of a sent message, the sender of a received one")
    at: str
    type: str = Field(description="the message type (CONTRACT §3)")
    label: str = Field(description="the catalogue's name for it")
    article: str
    summary: str
    fields: dict[str, Any] = Field(default_factory=dict, description="its structured part: codes, numbers, dates")
    texts: dict[str, Any] = Field(default_factory=dict,
                                  description="its free text: reasons, question, answer, what is missing")
    measures: list[MeasureSideBySide] = Field(default_factory=list)
    certificate_changes: list[BoxChange] = Field(default_factory=list)
    due: str | None = Field(default=None, description="for a request that gives days to answer within (a "
                                                      "completion request, Art 8(2)): by when, ISO 8601")
    breach_form: bool = Field(default=False, description="a breach report whose Annex II form can be shown")
    breach: BreachReport | None = Field(default=None, description="a breach report's Annex II form, box by box "
                                                                  "(Art 17), as it was sent")


def _flatten(value: Any, path: str = "") -> dict[str, Any]:
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, inner in value.items():
            if not str(key).startswith("_"):
                out.update(_flatten(inner, f"{path}.{key}" if path else str(key)))
        return out
    if isinstance(value, list) and value and any(isinstance(v, (dict, list)) for v in value):
        out = {}
        for i, inner in enumerate(value):
            out.update(_flatten(inner, f"{path}[{i}]"))
        return out
    return {path: value}


def certificate_changes(before: dict[str, Any] | None, after: dict[str, Any] | None) -> list[BoxChange]:
    """What a completion changed, box by box (empty boxes on both sides are no change)."""
    if not isinstance(before, dict) or not isinstance(after, dict):
        return []
    old, new = _flatten(before), _flatten(after)
    changes = []
    for box in sorted(set(old) | set(new)):
        a, b = old.get(box), new.get(box)
        if a != b and not (a in (None, "", []) and b in (None, "", [])):
            changes.append(BoxChange(box=box, before=a, after=b))
    return changes


def measures_side_by_side(certificate: dict[str, Any] | None, changes: Any) -> list[MeasureSideBySide]:
    """The original measure of box (j) beside each change the decision made to it."""
    measures = (certificate or {}).get("measures") or []
    out = []
    for change in changes if isinstance(changes, list) else []:
        if not isinstance(change, dict) or not isinstance(change.get("measure"), int):
            continue
        index = change["measure"]
        original = measures[index] if 0 <= index < len(measures) and isinstance(measures[index], dict) else {}
        out.append(MeasureSideBySide(
            number=index + 1, category=original.get("category"),
            original={k: original.get(k) for k in _MEASURE_KEYS if original.get(k) is not None},
            changed={k: change[k] for k in _MEASURE_KEYS if change.get(k) is not None}))
    return out


def read_entry(row: dict[str, Any], original_certificate: dict[str, Any] | None,
               previous_certificate: dict[str, Any] | None) -> ConversationEntry:
    """One stored message as a person reads it; a payload the catalogue cannot read shows its label only
    (sent before payloads were kept, or a message type this node does not know)."""
    kind = str(row["type"])
    payload = row.get("payload") if isinstance(row.get("payload"), dict) else None
    model = MESSAGES.get(MessageType(kind)) if kind in MessageType._value2member_map_ else None
    at = row["at"].isoformat() if hasattr(row["at"], "isoformat") else str(row["at"])
    entry = ConversationEntry(message_id=str(row["message_id"]), way=str(row["way"]), state=str(row["state"]),
                              at=at, type=kind, label=model.label if model else kind.replace("_", " "),
                              article=model.article if model else "", summary=model.label if model else kind)
    if model is None or payload is None:
        return entry
    try:
        message = model.model_validate(payload)
    except ValidationError:
        return entry
    entry.summary = message.summary()
    entry.fields = message.signal_body()
    entry.texts = {name: payload[name] for name in sorted(model.text_fields)
                   if isinstance(payload.get(name), str) and payload[name].strip()}
    if model.kind in _CHANGES_MEASURES:
        entry.measures = measures_side_by_side(original_certificate, payload.get("measures"))
    if isinstance(message, CompletionRequest) and isinstance(row["at"], datetime):
        entry.due = completion_due(row["at"], message.due_days).isoformat()
    if model.kind == MessageType.COMPLETION:
        entry.certificate_changes = certificate_changes(previous_certificate, payload.get("certificate"))
    if model.kind == MessageType.BREACH_REPORT:
        entry.breach_form = isinstance(payload.get("breach"), dict)
        with contextlib.suppress(ValidationError):  # a form this node cannot read shows as its label only
            entry.breach = BreachReport.model_validate(payload.get("breach"))
    return entry


async def conversation(pool: AsyncConnectionPool[Any], case_id: str, certificate: dict[str, Any] | None,
                       deadlines: Sequence[dict[str, Any]] = ()) -> list[ConversationEntry]:
    """Every message of the case, both ways, in order. `certificate` is the case's certificate now: the
    original measures an adaptation is compared with are the first certificate's, when it is still held.
    `deadlines`, the case's (CONTRACT §2): the latest completion request is due when its deadline says, so that
    the conversation and the deadlines table give one date."""
    rows = await conversation_messages(pool, case_id)
    certified = [r["payload"]["certificate"] for r in rows if r["type"] in _CARRIES_CERTIFICATE
                 and isinstance(r.get("payload"), dict) and isinstance(r["payload"].get("certificate"), dict)]
    original = certified[-1] if certified else certificate
    entries = []
    previous: dict[str, Any] | None = None
    for row in rows:
        entries.append(read_entry(row, original or certificate, previous))
        payload = row.get("payload")
        if row["type"] in _CARRIES_CERTIFICATE and isinstance(payload, dict) \
                and isinstance(payload.get("certificate"), dict):
            previous = payload["certificate"]
    kept = next((d.get("due") for d in deadlines if d.get("name") in _COMPLETION_DEADLINES and d.get("due")), None)
    latest = next((e for e in reversed(entries) if e.type == MessageType.COMPLETION_REQUEST and e.due), None)
    if kept and latest is not None:
        latest.due = str(kept)
    return entries


async def breach_of(pool: AsyncConnectionPool[Any], case_id: str, message_id: str) -> dict[str, Any] | None:
    """The Annex II form a breach report of this case carried, if it did."""
    rows = await conversation_messages(pool, case_id)
    found = next((r for r in rows if r["message_id"] == message_id and r["type"] == MessageType.BREACH_REPORT), None)
    payload = (found or {}).get("payload")
    breach = payload.get("breach") if isinstance(payload, dict) else None
    return breach if isinstance(breach, dict) else None
