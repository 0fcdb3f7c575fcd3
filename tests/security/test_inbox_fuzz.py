"""The node-link inbox under malformed, oversized, forged and replayed envelopes (hypothesis): it
answers 4xx and never 5xx, accepts only what a known peer signed, and a replay changes nothing."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.envelope import MAX_ENVELOPE_BYTES, Envelope, seal
from adapters.keys import load_or_create_private_key
from forms.messages import MessageType
from probatio.harness import LocalNodes

pytestmark = pytest.mark.integration



def _sealed(home: Path, **fields: Any) -> Any:
    key = load_or_create_private_key(home / "keys" / "LU.pem")
    envelope = Envelope(**{"message_id": "m-1", "conversation_id": "c-1", "type": MessageType("information"),
                           "from_state": "LU", "to_state": "BE", "sent_at": datetime.now(UTC),
                           "payload": {}, **fields})
    return seal(envelope, key)


json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=20),
                           lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=8), c, max_size=4),
                           max_leaves=12)


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(body=st.one_of(st.binary(max_size=512), json_values.map(lambda v: json.dumps(v).encode())),
       headers=st.dictionaries(st.sampled_from(["probatio-sender", "probatio-signature", "content-type"]),
                               st.text(st.characters(min_codepoint=33, max_codepoint=126), max_size=40),
                               max_size=3))
async def test_malformed_envelopes_are_refused_without_5xx(nodes: LocalNodes, body: bytes,
                                                           headers: dict[str, str]) -> None:
    async with httpx.AsyncClient(timeout=30) as http:
        r = await http.post(f"{nodes['BE'].url}/api/v1/inbox", content=body, headers=headers)
    assert 400 <= r.status_code < 500, (r.status_code, r.text)
    assert r.json()["error"]


async def test_oversized_envelope_is_413(nodes: LocalNodes) -> None:
    async with httpx.AsyncClient(timeout=30) as http:
        r = await http.post(f"{nodes['BE'].url}/api/v1/inbox", content=b"x" * (MAX_ENVELOPE_BYTES + 1))
    assert r.status_code == 413


async def test_forged_and_tampered_envelopes_are_refused(nodes: LocalNodes, tmp_path: Path) -> None:
    home = nodes["LU"].node.settings.home
    sealed = _sealed(home)
    forged = _sealed(tmp_path)  # signed by a key no directory knows, claiming to be LU
    async with httpx.AsyncClient(timeout=30) as http:
        url = f"{nodes['BE'].url}/api/v1/inbox"
        r = await http.post(url, content=forged.body, headers=forged.headers)
        assert r.status_code in (401, 403), r.text
        tampered = sealed.body.replace(b'"c-1"', b'"c-2"')
        r = await http.post(url, content=tampered, headers=sealed.headers)
        assert r.status_code in (401, 403, 422), r.text


async def test_replayed_envelope_is_answered_once(nodes: LocalNodes) -> None:
    home = nodes["LU"].node.settings.home
    sealed = _sealed(home, message_id="replay-1", conversation_id="replay-case")
    async with httpx.AsyncClient(timeout=30) as http:
        url = f"{nodes['BE'].url}/api/v1/inbox"
        answers = [await http.post(url, content=sealed.body, headers=sealed.headers) for _ in range(3)]
    assert len({a.status_code for a in answers}) == 1
    if answers[0].status_code == 200:
        assert answers[1].json() == answers[0].json() == answers[2].json()
    with psycopg.connect(nodes["BE"].node.settings.effective_database_url) as conn:
        n = conn.execute("SELECT count(*) FROM inbox WHERE message_id = 'replay-1'").fetchone()
    assert n is not None and n[0] <= 1
