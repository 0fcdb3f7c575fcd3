"""Transfers over e-CODEX: each node talks to its own connector client (a fake built from the client's source,
tests/adapters/fake_connector.py), and the two fakes relay to each other as the gateways would — the set-up of
`probatio dev --link ecodex`. Real Temporal, real PostgreSQL; the poll is the same function the node's
schedule runs (activities/ecodex.py)."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import functools
import hashlib
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from temporalio.client import Client

import activities.ecodex as ecodex_poll
from activities.ecodex import poll_once
from adapters.ecodex import business_content
from adapters.envelope import Envelope, seal
from adapters.keys import generate_key, load_or_create_private_key
from forms.examples import EXAMPLE_JUDGMENT_FILENAME, example_certificate, example_judgment_pdf
from forms.messages import MessageType
from probatio.harness import LocalNodes, start_nodes
from probatio.simulate import TestServer, skip_until
from tests.adapters.fake_connector import FakeConnector
from tests.delivery.test_channels import recognise_at_be
from tests.support import bearer, create_and_approve, outgoing_case, wait_for
from tests.web.webhelp import signed_in

pytestmark = pytest.mark.integration


def ecodex_routes(lu: FakeConnector, be: FakeConnector) -> dict[str, dict[str, Any]]:
    """LU reaches BE through LU's connector client, BE reaches LU through BE's (one shared directory)."""
    return {
        "BE": {"adapter": "ecodex", "options": {"connector_url": lu.url, "to_party_id": be.party_id,
                                                "original_sender": "LU-PG", "final_recipient": "BE-PG"}},
        "LU": {"adapter": "ecodex", "options": {"connector_url": be.url, "to_party_id": lu.party_id,
                                                "original_sender": "BE-PG", "final_recipient": "LU-PG"}},
    }


@pytest.fixture
def connectors() -> Iterator[tuple[FakeConnector, FakeConnector]]:
    with FakeConnector(party_id="LU-GW") as lu, FakeConnector(party_id="BE-GW") as be:
        lu.link(be)
        yield lu, be


@contextlib.asynccontextmanager
async def polling(nodes: LocalNodes, every: float = 0.3) -> AsyncIterator[None]:
    """Both nodes' polls running, as their schedules would run them."""

    async def loop() -> None:
        while True:
            for state in ("LU", "BE"):
                await poll_once(nodes[state].node)
            await asyncio.sleep(every)

    task = asyncio.create_task(loop())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def evidences_of(case: dict[str, Any], message_id: str) -> list[tuple[str, str]]:
    return [(e["type"], e["detail"].get("evidence", "")) for e in case["timeline"]
            if e["detail"].get("message_id") == message_id and e["type"] in ("delivery_evidence", "delivered")]


async def certificate_id(http: httpx.AsyncClient, nodes: LocalNodes, case_id: str) -> str:
    async def sent() -> str | None:
        for e in (await outgoing_case(http, nodes, case_id))["timeline"]:
            if e["type"] == "message_sent" and e["detail"]["type"] == "certificate":
                return str(e["detail"]["message_id"])
        return None

    found = await wait_for(sent, bool)
    assert found, "the certificate was never handed to the adapter"
    return str(found)


async def judgment_travelled(http: httpx.AsyncClient, nodes: LocalNodes, case_id: str) -> None:
    """Art 6(1): the judgment LU attached went with the certificate through both connectors: BE lists it with
    the sha256 of the example judgment and gives those very bytes (issue 12, "the judgment travels")."""
    judgment = example_judgment_pdf()
    digest = hashlib.sha256(judgment).hexdigest()
    lu_docs = await http.get(f"{nodes['LU'].url}/api/v1/transfers/{case_id}/documents",
                             headers=bearer(nodes, "LU", "prosecutor"))
    assert lu_docs.status_code == 200, lu_docs.text
    assert [(d["kind"], d["sha256"]) for d in lu_docs.json()["items"]] == [("judgment", digest)]
    incoming = f"{nodes['BE'].url}/api/v1/incoming/{case_id}/documents"
    prosecutor = bearer(nodes, "BE", "prosecutor")
    r = await http.get(incoming, headers=prosecutor)
    assert r.status_code == 200, r.text
    [doc] = r.json()["items"]
    assert (doc["kind"], doc["sha256"], doc["size"]) == ("judgment", digest, len(judgment)), doc
    assert doc["filename"] == EXAMPLE_JUDGMENT_FILENAME, doc
    r = await http.get(f"{incoming}/{doc['id']}", headers=prosecutor)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/pdf"
    assert r.content == judgment


async def test_a_transfer_lu_to_be_over_two_connectors(
    temporal_client: Client, pg_server: str, tmp_path: Path, connectors: tuple[FakeConnector, FakeConnector]
) -> None:
    lu, be = connectors
    nodes = await start_nodes(temporal_client, pg_server, ["LU", "BE"], tmp_path, db_prefix="ecodex_both_",
                              routes=ecodex_routes(lu, be))
    try:
        async with httpx.AsyncClient(timeout=30) as http, polling(nodes):
            case_id = await create_and_approve(http, nodes)
            message_id = await certificate_id(http, nodes, case_id)

            async def at_be() -> int:
                r = await http.get(f"{nodes['BE'].url}/api/v1/incoming/{case_id}",
                                   headers=bearer(nodes, "BE", "prosecutor"))
                return r.status_code

            assert await wait_for(at_be, lambda status: status == 200) == 200, "BE's poll never took it in"
            await judgment_travelled(http, nodes, case_id)
            await recognise_at_be(http, nodes, case_id)  # the decision comes back over e-CODEX too

            case = functools.partial(outgoing_case, http, nodes, case_id)
            done = await wait_for(case, lambda c: ("delivery_evidence", "retrieved") in evidences_of(c, message_id))
            assert evidences_of(done, message_id) == [("delivery_evidence", "submitted"),
                ("delivery_evidence", "relayed"), ("delivered", "delivered"), ("delivery_evidence", "retrieved")]
            stages = {d["name"]: d["status"] for d in done["deadlines"] if d["name"].endswith(message_id)}
            assert stages == {f"delivery:{s}:{message_id}": "met" for s in ("relay", "delivery", "retrieval")}
            assert done["stage"] == "transferred"
            assert "delivery_unconfirmed" not in done["alerts"]

            # The officer sees the three evidences on the case page; BE's prosecutor sees the token's verdict.
            officer = await signed_in(nodes["LU"].url, "officer")
            page = (await officer.get(f"/cases/outgoing/{case_id}")).text
            await officer.aclose()
            for word in ("relayed", "delivered", "retrieved"):
                assert f"evidence: {word}" in page
            prosecutor = await signed_in(nodes["BE"].url, "prosecutor")
            be_page = (await prosecutor.get(f"/cases/incoming/{case_id}")).text
            await prosecutor.aclose()
            assert "e-CODEX signature check" in be_page and "trust-warning" not in be_page
    finally:
        await nodes.stop()

    # What crossed the gateways: the certificate one way, BE's answers the other, each confirmed.
    [certificate] = [m for m in lu.outgoing() if m["backendMessageId"] == message_id]
    assert [e["confirmationType"] for e in certificate["evidences"]] == [
        "SUBMISSION_ACCEPTANCE", "RELAY_REMMD_ACCEPTANCE", "DELIVERY", "RETRIEVAL"]
    # The judgment crossed the gateway with the certificate, also as an attachment a person at BE can open.
    attached = {f["fileName"]: base64.b64decode(f["fileContent"]) for f in certificate["files"]["files"]
                if f["fileType"] == "BUSINESS_ATTACHMENT"}
    assert attached.get(EXAMPLE_JUDGMENT_FILENAME) == example_judgment_pdf()
    assert be.refused_triggers == [] and lu.refused_triggers == []


def _client_message(envelope: Envelope, key: Any, *, action: str = "ForwardJudgmentAndCertificate") -> dict[str, Any]:
    import base64

    return {"action": action, "conversationId": envelope.conversation_id, "service": "FD2008-947-JHA",
            "fromPartyId": "LU-GW", "toPartyId": "BE-GW",
            "files": {"files": [{"fileName": "probatio-envelope.xml", "fileType": "BUSINESS_CONTENT",
                                 "fileContent": base64.b64encode(business_content(seal(envelope, key))).decode()}]}}


def _certificate(case_id: str) -> Envelope:
    return Envelope(message_id=f"msg-{case_id}", conversation_id=case_id, type=MessageType.CERTIFICATE,
                    from_state="LU", to_state="BE", sent_at=datetime.now(UTC),
                    payload={"certificate": example_certificate("LU", "BE").model_dump(mode="json")})


async def test_a_batch_goes_on_past_bad_and_failing_messages(
    temporal_client: Client, pg_server: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with FakeConnector(party_id="BE-GW") as be:
        routes = {"LU": {"adapter": "ecodex", "options": {"connector_url": be.url, "to_party_id": "LU-GW",
                                                          "original_sender": "BE-PG", "final_recipient": "LU-PG"}}}
        nodes = await start_nodes(temporal_client, pg_server, ["LU", "BE"], tmp_path, db_prefix="ecodex_batch_",
                                  routes=routes)
        try:
            lu_key = load_or_create_private_key(tmp_path / "keys" / "LU.pem")
            queued = {
                "good": be.queue_incoming(_client_message(_certificate("case-good"), lu_key)),
                "unknown": be.queue_incoming(_client_message(_certificate("case-x"), lu_key, action="OrderPizza")),
                "forged": be.queue_incoming(_client_message(_certificate("case-forged"), generate_key())),
                "crash": be.queue_incoming(_client_message(_certificate("case-crash"), lu_key)),
                "red": be.queue_incoming(_client_message(_certificate("case-red"), lu_key),
                                         token=("FAIL", "NOT_SUCCESSFUL")),
            }
            ebms = {name: m["ebmsMessageId"] for name, m in queued.items()}
            be.messages, waiting = [], be.messages  # first an empty poll: the client answers an empty 200
            empty = await poll_once(nodes["BE"].node)
            assert (empty.received, empty.refused, empty.evidences, empty.errors) == (0, 0, 0, [])
            be.messages = waiting
            original_intake = ecodex_poll._intake

            async def crashing(node: Any, row: dict[str, Any]) -> Any:
                if row["ebms_message_id"] == ebms["crash"]:
                    raise RuntimeError("database went away")
                return await original_intake(node, row)

            monkeypatch.setattr(ecodex_poll, "_intake", crashing)
            result = await poll_once(nodes["BE"].node)
            assert (result.received, result.refused) == (2, 2)
            assert any("database went away" in e for e in result.errors)

            answers = {ref: [t for r, t in be.triggered if r == ref] for ref in ebms.values()}
            assert answers == {
                ebms["good"]: ["DELIVERY", "RETRIEVAL"],
                ebms["unknown"]: ["DELIVERY", "NON_RETRIEVAL"],
                ebms["forged"]: ["DELIVERY", "NON_RETRIEVAL"],
                ebms["crash"]: ["DELIVERY"],  # it reached us; taken up or refused later
                ebms["red"]: ["DELIVERY", "RETRIEVAL"],  # a red token warns, it does not refuse
            }
            async with nodes["BE"].node.pool.connection() as conn:
                cur = await conn.execute("SELECT reason, detail FROM audit WHERE action = 'ecodex_refused'"
                                         " ORDER BY id")
                refusals = {r["detail"]["ebms_message_id"]: r["reason"] for r in await cur.fetchall()}
                cur = await conn.execute("SELECT detail FROM audit WHERE action = 'ecodex_intake_failed'")
                failures = [r["detail"]["ebms_message_id"] for r in await cur.fetchall()]
            assert failures == [ebms["crash"]]
            assert set(refusals) == {ebms["unknown"], ebms["forged"]}
            assert "OrderPizza" in refusals[ebms["unknown"]]
            assert "signature" in refusals[ebms["forged"]]

            # The failing one is tried again next round and taken in once the fault is gone.
            monkeypatch.setattr(ecodex_poll, "_intake", original_intake)
            again = await poll_once(nodes["BE"].node)
            assert (again.received, again.refused) == (1, 0)
            assert [t for r, t in be.triggered if r == ebms["crash"]] == ["DELIVERY", "RETRIEVAL"]

            async with httpx.AsyncClient(timeout=30) as http:
                for case_id in ("case-good", "case-crash", "case-red"):
                    r = await http.get(f"{nodes['BE'].url}/api/v1/incoming/{case_id}",
                                       headers=bearer(nodes, "BE", "prosecutor"))
                    assert r.status_code == 200, r.text
                for case_id in ("case-x", "case-forged"):
                    r = await http.get(f"{nodes['BE'].url}/api/v1/incoming/{case_id}",
                                       headers=bearer(nodes, "BE", "prosecutor"))
                    assert r.status_code == 404
            prosecutor = await signed_in(nodes["BE"].url, "prosecutor")
            red_page = (await prosecutor.get("/cases/incoming/case-red")).text
            good_page = (await prosecutor.get("/cases/incoming/case-good")).text
            await prosecutor.aclose()
            assert "trust-warning" in red_page and "NOT_SUCCESSFUL" in red_page
            assert "trust-warning" not in good_page
        finally:
            await nodes.stop()


async def test_a_connector_outage_delays_the_certificate_and_loses_nothing(
    temporal_client: Client, pg_server: str, tmp_path: Path, connectors: tuple[FakeConnector, FakeConnector]
) -> None:
    lu, be = connectors
    lu.connector_down = True
    nodes = await start_nodes(temporal_client, pg_server, ["LU", "BE"], tmp_path, db_prefix="ecodex_outage_",
                              routes=ecodex_routes(lu, be))
    try:
        async with httpx.AsyncClient(timeout=30) as http, polling(nodes):
            case_id = await create_and_approve(http, nodes)

            async def failed_submissions() -> int:
                await asyncio.sleep(0)
                return sum(m["messageStatus"] == "FAILED" for m in lu.outgoing())

            assert await wait_for(failed_submissions, lambda n: n >= 1) >= 1
            lu.connector_down = False  # the connector is back: the activity's next retry goes out anew
            message_id = await certificate_id(http, nodes, case_id)

            async def at_be() -> int:
                r = await http.get(f"{nodes['BE'].url}/api/v1/incoming/{case_id}",
                                   headers=bearer(nodes, "BE", "prosecutor"))
                return r.status_code

            assert await wait_for(at_be, lambda status: status == 200, timeout=60) == 200
            case = functools.partial(outgoing_case, http, nodes, case_id)
            done = await wait_for(case, lambda c: ("delivered", "delivered") in evidences_of(c, message_id))
            assert ("delivered", "delivered") in evidences_of(done, message_id)
            assert "delivery_failed" not in done["alerts"]
        ids = [m["backendMessageId"] for m in lu.outgoing()]
        assert ids[0] == message_id and all(i.startswith(message_id + "~") for i in ids[1:])
        assert [m["messageStatus"] for m in lu.outgoing()][:-1] == ["FAILED"] * (len(ids) - 1)
        assert len(be.received()) == 1  # one message reached BE, however many attempts it took
    finally:
        await nodes.stop()


async def test_each_stage_has_its_own_evidence_deadline(
    pg_server: str, tmp_path: Path, connectors: tuple[FakeConnector, FakeConnector]
) -> None:
    """Relayed but never delivered: after 24 h the delivery stage is the one that is missed."""
    lu, be = connectors
    server = await TestServer.start(tmp_path / "test-server")
    nodes = await start_nodes(server.client, pg_server, ["LU", "BE"], tmp_path, db_prefix="ecodex_stages_",
                              routes=ecodex_routes(lu, be))
    try:
        async with httpx.AsyncClient(timeout=60) as http:
            case_id = await create_and_approve(http, nodes)
            message_id = await certificate_id(http, nodes, case_id)
            await poll_once(nodes["LU"].node)  # the relay acceptance (ACCEPTED is only found by asking)
            case = functools.partial(outgoing_case, http, nodes, case_id)

            def stages(c: dict[str, Any]) -> dict[str, str]:
                return {d["name"].split(":")[1]: d["status"] for d in c["deadlines"] if d["name"].endswith(message_id)}

            relayed = await wait_for(case, lambda c: stages(c).get("relay") == "met")
            assert stages(relayed) == {"relay": "met", "delivery": "open", "retrieval": "open"}

            await skip_until(server, await server.now() + timedelta(hours=23))
            await asyncio.sleep(1)  # a second for a wrongly early alert to reach the projection
            assert "delivery_unconfirmed" not in (await case())["alerts"]
            await skip_until(server, await server.now() + timedelta(hours=2))
            late = await wait_for(case, lambda c: "delivery_unconfirmed" in c["alerts"])
            assert stages(late) == {"relay": "met", "delivery": "missed", "retrieval": "open"}

            # The connector gives up too, and says so: NON_DELIVERY fails the message, naming the stage.
            assert lu.check_timeouts(datetime.now(UTC) + timedelta(hours=25)) == [(message_id, "NON_DELIVERY")]
            await poll_once(nodes["LU"].node)
            failed = await wait_for(case, lambda c: any(e["type"] == "delivery_failed" for e in c["timeline"]))
            [event] = [e for e in failed["timeline"] if e["type"] == "delivery_failed"]
            assert (event["detail"]["stage"], event["detail"]["evidence"]) == ("delivery", "rejected")
            settled = await wait_for(case, lambda c: "delivery_failed" in c["alerts"])
            assert settled["alerts"] == ["delivery_failed"]  # no longer unconfirmed: the connector said no
            assert stages(settled) == {"relay": "met", "delivery": "cancelled", "retrieval": "cancelled"}
    finally:
        await nodes.stop()
        server.close()
