"""Correcting and cleaning up, for the officer: a transfer the prosecutor returned (Art 6(3)) gets a corrected
certificate and is submitted again; a draft or a case never submitted can be deleted. Shared by the JSON API
(`PUT /api/v1/transfers/{id}/certificate`, `DELETE /api/v1/transfers/{id}`) and the pages; every change is
audited. Nothing is stored when a certificate is refused."""

from __future__ import annotations

from typing import Any

from psycopg_pool import AsyncConnectionPool
from temporalio.client import Client
from temporalio.service import RPCError

from store import audit, cases, drafts
from store.users import User
from web.cases import parse_certificate_or_422, refuse_a_second_transfer, visible_case, workflow_id
from web.conversation import BoxChange, certificate_changes
from web.errors import ApiError, problems
from workflows.stages import Side


def _officer_only(user: User, what: str) -> None:
    if user.role != "officer":
        raise ApiError(403, f"{what} is for the officer, not the {user.role}")


async def replace_certificate(pool: AsyncConnectionPool[Any], user: User, case_id: str, data: Any,
                              channel: str = "api") -> dict[str, Any]:
    """The certificate of a transfer in `draft` (never submitted, or returned by the prosecutor) replaced by a
    corrected one: 422 naming each field that breaks a rule, 409 outside `draft`; nothing stored when refused.
    The executing State stays: a transfer to another State is a new transfer."""
    _officer_only(user, "correcting a certificate")
    row = await visible_case(pool, user, Side.ISSUING, case_id)
    if row["stage"] != "draft":
        raise ApiError(409, f"the certificate can be corrected only while the transfer is a draft; it is "
                            f"{row['stage']}")
    if not isinstance(data, dict):
        raise ApiError(422, problems(("certificate", "must be the certificate (a JSON object)")))
    named = data.get("executing_state")
    if named not in (None, "", row["executing_state"]):
        raise ApiError(422, problems(("certificate.executing_state",
                                      f"this transfer goes to {row['executing_state']}; to send to another State, "
                                      f"start a new transfer")))
    cert = parse_certificate_or_422({**data, "issuing_state": row["issuing_state"],
                                     "executing_state": row["executing_state"]})
    async with pool.connection() as conn, conn.transaction():
        # Art 6(5): the corrected box (b) may not name the judgment of another open transfer; checked and
        # written under the judgment's lock, as a new transfer is.
        await refuse_a_second_transfer(conn, row["issuing_state"], cert, excluding=case_id)
        # Still a draft now, under the row's lock: a submission that moved the case on since it was read wins.
        cur = await conn.execute("SELECT stage FROM cases WHERE id = %s FOR UPDATE", (case_id,))
        now = await cur.fetchone()
        if now is None or now["stage"] != "draft":
            raise ApiError(409, "the certificate can be corrected only while the transfer is a draft; it is "
                                f"{now['stage'] if now else 'gone'}")
        # What the prosecutor returned is kept for them to compare (store.cases.correct_certificate).
        await cases.correct_certificate(conn, case_id, cert.model_dump(mode="json"),
                                        cert.facts().model_dump(mode="json"))
    from forms.documents import sent_separately
    from web.art_6_1 import sync_box_k  # box (k) keeps listing what goes with it

    await sync_box_k(pool, case_id, sent_separately(row.get("certificate")))
    async with pool.connection() as conn:
        await audit.record(conn, user_name=user.name, role=user.role, authority=row["authority"], case_id=case_id,
                           action="certificate_corrected", old_stage="draft", detail={"via": channel})
    return {"id": case_id, "stage": row["stage"]}


async def corrected_boxes(pool: AsyncConnectionPool[Any], case_id: str,
                          corrected: dict[str, Any]) -> list[BoxChange]:
    """What a correction changes (Art 6(3), 8(2)), box by box: the case's certificate as it stands against the
    corrected copy the wizard holds, compared as the conversation compares a completion, so that the officer who
    sends it reads what the executing State or the prosecutor will find changed. The caller has read the case."""
    row = await cases.get_case(pool, case_id, "outgoing")
    return certificate_changes((row or {}).get("certificate"), corrected)


async def never_submitted(pool: AsyncConnectionPool[Any], case_id: str) -> bool:
    return not any(e["type"] == "submitted" for e in await cases.timeline(pool, case_id))


async def delete_case(pool: AsyncConnectionPool[Any], client: Client, user: User, case_id: str,
                      channel: str = "api") -> None:
    """A transfer that was never submitted, deleted by its officer: its workflow ends, its rows go; the audit
    log keeps that it existed and who deleted it. A transfer once submitted is part of the record: 409."""
    _officer_only(user, "deleting a transfer")
    row = await visible_case(pool, user, Side.ISSUING, case_id)
    if row["stage"] != "draft" or not await never_submitted(pool, case_id):
        raise ApiError(409, "only a transfer never submitted can be deleted; this one is part of the record")
    try:
        await client.get_workflow_handle(workflow_id(Side.ISSUING, case_id)).terminate(
            reason=f"deleted by its officer {user.name} before it was submitted")
    except RPCError:
        pass  # the workflow was gone already (its history expired): the rows still go
    async with pool.connection() as conn, conn.transaction():
        await conn.execute("DELETE FROM transfer_drafts WHERE case_id = %s", (case_id,))
        await conn.execute("DELETE FROM cases WHERE id = %s AND direction = 'outgoing'", (case_id,))
        await audit.record(conn, user_name=user.name, role=user.role, authority=row["authority"], case_id=case_id,
                           action="transfer_deleted", old_stage="draft", detail={"via": channel})


async def delete_draft(pool: AsyncConnectionPool[Any], user: User, draft_id: str, channel: str = "page") -> None:
    """A draft certificate (not yet a transfer) deleted by an officer of its authority."""
    _officer_only(user, "deleting a draft")
    row = await drafts.get_draft(pool, draft_id)
    if row is None or not user.may_see(row["authority"]):
        raise ApiError(404, "there is no such draft among your authority's drafts")
    if row["case_id"]:
        raise ApiError(409, "this draft is a transfer now: delete the transfer, if it was never submitted")
    async with pool.connection() as conn, conn.transaction():
        await conn.execute("DELETE FROM transfer_drafts WHERE id = %s", (draft_id,))
        await audit.record(conn, user_name=user.name, role=user.role, authority=row["authority"], case_id=None,
                           action="draft_deleted", detail={"draft": draft_id, "via": channel})
