"""intake/receive.py `_check_parties`: who may open a new conversation with a certificate. A certificate comes
from its issuing state (Art 6(1)), or is forwarded ex officio within this state by an authority that was not
competent, to an authority this node serves (Art 6(7)). Anything else, however well signed, is refused with the
reason, recorded for the auditor, and opens nothing: no case row, no document, no inbox row, no workflow."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import psycopg
import pytest
from psycopg.rows import dict_row
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from adapters.directory import Authority
from adapters.envelope import Envelope, seal
from adapters.keys import load_or_create_private_key
from forms.documents import outgoing_documents
from forms.examples import example_judgment_pdf
from forms.messages import MessageType
from forms.stages import Side
from probatio.harness import LocalNodes, start_nodes
from tests.support import fresh_certificate, wait_for
from workflows.model import workflow_id

pytestmark = pytest.mark.integration

LU, BE, NL = "LU", "BE", "NL"
# BE-LIEGE: an authority of BE this node serves; BE-ANT: one with a node of its own; BE-NOWHERE: none at all.
SERVED, ELSEWHERE, UNKNOWN = "BE-LIEGE", "BE-ANT", "BE-NOWHERE"


@pytest.fixture(scope="module")
async def parties(temporal_client: Client, pg_server: str, tmp_path_factory: pytest.TempPathFactory
                  ) -> AsyncIterator[LocalNodes]:
    """LU and BE, BE also serving BE-LIEGE; NL a third state every node knows and trusts (its key is in the
    directory; its node is not started: nothing here is sent to it)."""
    local = await start_nodes(temporal_client, pg_server, [LU, BE], tmp_path_factory.mktemp("parties"),
                              db_prefix="parties_", authorities={BE: [SERVED]},
                              peers={NL: "http://127.0.0.1:9"})
    local[BE].node.directory.states[BE].authorities.append(
        Authority(code=ELSEWHERE, name="Parket Antwerpen (a node of its own)", adapter="nodelink",
                  options={"url": "http://127.0.0.1:9/api/v1/inbox"}))
    try:
        yield local
    finally:
        await local.stop()


def certificate_payload(issuing: str, *, forwarded_by: str | None = None,
                        forwarded_to: str | None = None) -> dict[str, Any]:
    """A certificate for BE with its judgment attached, as an honest sender would send it; forwarded within BE
    (Art 6(7)) when `forwarded_to` is given."""
    pdf = example_judgment_pdf()
    payload: dict[str, Any] = {
        "certificate": fresh_certificate(issuing, BE), "language": "fr",
        "documents": outgoing_documents([{"id": f"doc-{uuid.uuid4().hex[:8]}", "kind": "judgment",
                                          "filename": "judgment.pdf", "language": "fr",
                                          "sha256": hashlib.sha256(pdf).hexdigest(), "size": len(pdf),
                                          "content": pdf}]),
    }
    if forwarded_to is not None:
        payload["forwarded"] = {"by_authority": forwarded_by or BE, "to_authority": forwarded_to,
                                "received_at": datetime.now(UTC).isoformat()}
    return payload


async def send(nodes: LocalNodes, http: httpx.AsyncClient, from_state: str, payload: dict[str, Any]
               ) -> tuple[str, str, httpx.Response]:
    """A certificate opening a new conversation with BE, correctly signed by `from_state`'s key."""
    conversation, message_id = f"parties-{uuid.uuid4().hex}", f"parties-msg-{uuid.uuid4().hex}"
    key = load_or_create_private_key(nodes[LU].node.settings.home / "keys" / f"{from_state}.pem")
    envelope = Envelope(message_id=message_id, conversation_id=conversation, type=MessageType.CERTIFICATE,
                        from_state=from_state, to_state=BE, sent_at=datetime.now(UTC), payload=payload)
    sealed = seal(envelope, key)
    r = await http.post(f"{nodes[BE].url}/api/v1/inbox", content=sealed.body, headers=sealed.headers)
    return conversation, message_id, r


def what_be_holds(nodes: LocalNodes, conversation: str, message_id: str) -> dict[str, Any]:
    with psycopg.connect(nodes[BE].owner_url, row_factory=dict_row) as conn:
        return {
            "case": conn.execute("SELECT authority, issuing_state, stage FROM cases WHERE id = %s",
                                 (conversation,)).fetchone(),
            "cases": conn.execute("SELECT count(*) AS n FROM cases").fetchone()["n"],
            "documents": conn.execute("SELECT count(*) AS n FROM documents WHERE case_id = %s",
                                      (conversation,)).fetchone()["n"],
            "inbox": conn.execute("SELECT count(*) AS n FROM inbox WHERE message_id = %s",
                                  (message_id,)).fetchone()["n"],
            "refusal": conn.execute("SELECT status, reason FROM inbox_refusals WHERE message_id = %s",
                                    (message_id,)).fetchone(),
            "audited": conn.execute("SELECT user_name, role, authority, case_id, reason, detail FROM audit"
                                    " WHERE action = 'inbox_rejected' AND detail->>'message_id' = %s",
                                    (message_id,)).fetchall(),
        }


async def has_workflow(nodes: LocalNodes, conversation: str) -> bool:
    try:
        await nodes[BE].node.client.get_workflow_handle(workflow_id(Side.EXECUTING, conversation)).describe()
    except RPCError as err:
        assert err.status == RPCStatusCode.NOT_FOUND, err
        return False
    return True


def for_another_executing_state() -> dict[str, Any]:
    payload = certificate_payload(LU)
    payload["certificate"] = fresh_certificate(LU, NL)
    return payload


REFUSED: list[tuple[str, str, dict[str, Any], int, str]] = [
    # A certificate for another executing state is not this node's to take in.
    ("for NL, sent to BE", LU, for_another_executing_state(), 422,
     "the certificate names NL as executing state, not BE"),
    # (a) Art 6(1): the certificate comes from its issuing state; a third state cannot send LU's.
    ("issued by LU, sent by NL", NL, certificate_payload(LU), 422,
     "the certificate names LU as issuing state, and it comes from NL"),
    ("issued by NL, sent by LU", LU, certificate_payload(NL), 422,
     "the certificate names NL as issuing state, and it comes from LU"),
    # (b) Art 6(7): only an authority of BE forwards a certificate within BE...
    ("forwarded by LU", LU, certificate_payload(LU, forwarded_by="LU", forwarded_to=BE), 403,
     "only an authority of BE forwards a certificate within BE (Art 6(7)); this one comes from LU"),
    ("forwarded by NL", NL, certificate_payload(LU, forwarded_to=SERVED), 403,
     "only an authority of BE forwards a certificate within BE (Art 6(7)); this one comes from NL"),
    # ... and only to an authority this node serves.
    ("forwarded to an authority with a node of its own", BE, certificate_payload(LU, forwarded_to=ELSEWHERE), 422,
     f"the certificate is forwarded to {ELSEWHERE}, which this node does not serve"),
    ("forwarded to an authority nobody knows", BE, certificate_payload(LU, forwarded_to=UNKNOWN), 422,
     f"the certificate is forwarded to {UNKNOWN}, which this node does not serve"),
]


async def test_a_certificate_from_the_wrong_party_opens_nothing_and_is_audited(parties: LocalNodes) -> None:
    nodes = parties
    async with httpx.AsyncClient(timeout=60) as http:
        for name, sender, payload, status, reason in REFUSED:
            cases_before = what_be_holds(nodes, "-", "-")["cases"]
            conversation, message_id, r = await send(nodes, http, sender, payload)
            assert r.status_code == status, (name, r.status_code, r.text)
            assert r.json()["detail"] == reason, name
            held = what_be_holds(nodes, conversation, message_id)
            # Nothing opened: no case, no judgment kept, nothing in the inbox, no workflow.
            assert held["case"] is None and held["cases"] == cases_before, name
            assert held["documents"] == 0 and held["inbox"] == 0, name
            assert not await has_workflow(nodes, conversation), name
            # Recorded for the auditor as every refusal of the intake is, under the node's own authority ...
            [row] = held["audited"]
            assert (row["user_name"], row["role"], row["authority"], row["case_id"]) == (
                f"peer:{sender}", "peer", BE, None), name
            assert row["reason"] == reason, name
            assert row["detail"]["status"] == status and row["detail"]["type"] == "certificate", name
            assert row["detail"]["conversation_id"] == conversation, name
            assert "payload" not in row["detail"] and "certificate" not in row["detail"], name
            # ... and final: the same message id gets the same answer, even carrying something else.
            assert (held["refusal"]["status"], held["refusal"]["reason"]) == (status, reason), name


async def test_the_same_id_sent_again_keeps_its_refusal(parties: LocalNodes) -> None:
    nodes = parties
    async with httpx.AsyncClient(timeout=60) as http:
        conversation, message_id, first = await send(nodes, http, NL, certificate_payload(LU))
        assert first.status_code == 422, first.text
        key = load_or_create_private_key(nodes[LU].node.settings.home / "keys" / f"{NL}.pem")
        again = Envelope(message_id=message_id, conversation_id=conversation, type=MessageType.CERTIFICATE,
                         from_state=NL, to_state=BE, sent_at=datetime.now(UTC), payload=certificate_payload(NL))
        sealed = seal(again, key)
        r = await http.post(f"{nodes[BE].url}/api/v1/inbox", content=sealed.body, headers=sealed.headers)
        assert (r.status_code, r.json()["detail"]) == (422, first.json()["detail"])
        held = what_be_holds(nodes, conversation, message_id)
        assert held["case"] is None and not await has_workflow(nodes, conversation)
        assert len(held["audited"]) == 1, "recorded the first time"


async def test_the_checks_refuse_only_what_they_name(parties: LocalNodes) -> None:
    """The same envelopes, from the right party, open a case: a certificate from its issuing state, and one
    forwarded within BE to an authority this node serves (held by that authority, issued by LU)."""
    nodes = parties
    async with httpx.AsyncClient(timeout=60) as http:
        for sender, payload, authority in ((LU, certificate_payload(LU), BE),
                                           (BE, certificate_payload(LU, forwarded_to=SERVED), SERVED),
                                           (BE, certificate_payload(LU, forwarded_to=BE), BE)):
            conversation, message_id, r = await send(nodes, http, sender, payload)
            assert r.status_code == 200, (sender, r.text)
            held = what_be_holds(nodes, conversation, message_id)
            assert held["case"] is not None, sender
            assert (held["case"]["authority"], held["case"]["issuing_state"]) == (authority, LU), sender
            assert held["documents"] == 1 and held["inbox"] == 1 and held["audited"] == [], sender
            await wait_for(lambda c=conversation: has_workflow(nodes, c), bool)
