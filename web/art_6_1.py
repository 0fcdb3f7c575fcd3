"""Art 6(1) at approval and box (k): the judgment goes with the certificate, or the prosecutor says how it
is sent separately; box (k) of the stored certificate lists what is attached. Used by the actions (web/cases.py),
the documents API and pages, and corrections."""

from __future__ import annotations

from typing import Any

from psycopg_pool import AsyncConnectionPool

from forms.documents import Art6_1Documents, SeparateChannel
from store import cases
from store import documents as store
from web.errors import ApiError, problems
from workflows.stages import IssuingStage


async def art_6_1_at_approval(pool: AsyncConnectionPool[Any], row: dict[str, Any], body: dict[str, Any]) -> None:
    """`approve` sends the judgment with the certificate, or the body says how it goes separately (422 if
    neither). Checked here only: box (k) is written by the approval itself, with box (l) and the rendered
    certificate in one transaction (activities/node.py `approve_certificate`), so a refused or failed approval
    leaves the certificate as it was. Only in the stage where approval can happen: elsewhere the workflow's
    409 says why."""
    if row["stage"] != IssuingStage.AWAITING_APPROVAL:
        return
    raw = body.get("judgment_sent_separately")
    if raw is not None and raw not in set(SeparateChannel):
        raise ApiError(422, problems(("judgment_sent_separately", "must be one of " + ", ".join(SeparateChannel))))
    rule = Art6_1Documents.of_listed(await store.listed(pool, row["id"]), raw)
    if (reason := rule.refusal()) is not None:
        # Named by the body field that settles it, so the approve form shows the reason beside its choice.
        raise ApiError(422, problems(("judgment_sent_separately", reason)))


async def sync_box_k(pool: AsyncConnectionPool[Any], case_id: str, separately: SeparateChannel | str | None = None
                     ) -> None:
    """Box (k) of the stored certificate follows what is attached (Art 6(1))."""
    row = await cases.get_case(pool, case_id, "outgoing")
    if row is None or row.get("certificate") is None:
        return
    certificate = Art6_1Documents.of_listed(await store.listed(pool, case_id), separately).box_k(row["certificate"])
    await cases.update_certificate(pool, case_id, certificate, row.get("facts") or {})
