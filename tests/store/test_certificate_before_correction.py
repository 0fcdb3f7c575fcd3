"""Migration 0039: the certificate as the prosecutor returned it (Art 6(3)) is kept by the first correction after
a return, kept while the corrected transfer goes back for approval, and cleared by the projection when the
transfer is approved or returned again."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from probatio.harness import fresh_database
from store import cases
from store.db import open_pool


@pytest.fixture
def db_url(pg_server: str) -> str:
    return fresh_database(pg_server, "before_correction_tests")


def _cert(forenames: str) -> dict[str, Any]:
    return {"person": {"surname": "Muller", "forenames": forenames}}


async def test_the_certificate_returned_is_kept_until_the_prosecutor_decides_again(db_url: str) -> None:
    pool = open_pool(db_url)
    await pool.open()
    revision = 0

    async def move(old: str, new: str, event: str) -> None:
        nonlocal revision
        revision += 1
        await cases.apply_projection(
            pool, case_id="c1", revision=revision, stage=new, outcome=None, decision_due=None, deadlines=[],
            alerts=[], alerts_seen=[], closed_at=None,
            events=[{"key": f"c1:{revision}", "at": datetime.now(UTC), "type": event, "actor": "someone",
                     "role": "officer", "old_stage": old, "new_stage": new}])

    async def correct(forenames: str) -> None:
        async with pool.connection() as conn, conn.transaction():
            await cases.correct_certificate(conn, "c1", _cert(forenames), {})

    async def kept() -> Any:
        row = await cases.get_case(pool, "c1")
        assert row is not None
        return row["certificate_before_correction"]

    try:
        async with pool.connection() as conn:
            await cases.insert_case(conn, case_id="c1", direction="outgoing", authority="LU", issuing_state="LU",
                                    executing_state="BE", stage="draft", certificate=_cert("A"), facts={},
                                    created_by="o")
        # A draft never returned: no prosecutor has seen it, nothing is kept.
        await correct("B")
        assert await kept() is None
        await move("draft", "awaiting_approval", "submitted")
        await move("awaiting_approval", "draft", "returned_to_officer")
        assert await kept() is None
        # Corrected twice before it goes back: what the prosecutor returned is B, not the first correction.
        await correct("C")
        await correct("D")
        assert await kept() == _cert("B")
        await move("draft", "draft", "alert_raised")  # the projection rewritten while still a draft
        await move("draft", "awaiting_approval", "submitted")
        assert await kept() == _cert("B")
        # Returned again: the prosecutor has now seen D; the next correction keeps D.
        await move("awaiting_approval", "draft", "returned_to_officer")
        assert await kept() is None
        await correct("E")
        assert await kept() == _cert("D")
        await move("draft", "awaiting_approval", "submitted")
        # Approved and sent: nothing left to compare.
        await move("awaiting_approval", "sent", "approved")
        assert await kept() is None
        row = await cases.get_case(pool, "c1")
        assert row is not None and row["certificate"] == _cert("E")
    finally:
        await pool.close()
