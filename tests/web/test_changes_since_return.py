"""Art 6(3): a transfer the prosecutor returned comes back corrected; the prosecutor who approves it again reads
what the officer changed since they returned it, box by box, the value they returned and the corrected one —
on the case page and in the API's case detail — and no longer once they approved it."""

from __future__ import annotations

import re
from typing import Any

import httpx
import psycopg
import pytest
from test_correction_review import _changes, _returned_transfer
from webhelp import signed_in

from probatio.harness import LocalNodes
from tests.support import bearer, wait_for

pytestmark = pytest.mark.integration

HEADING = "What the officer changed since you returned it"


def _stored(nodes: LocalNodes, case_id: str) -> tuple[Any, Any]:
    """The case's certificate and the certificate kept as the prosecutor returned it (migration 0039)."""
    with psycopg.connect(nodes["LU"].owner_url, autocommit=True) as conn:
        row = conn.execute("SELECT certificate, certificate_before_correction FROM cases WHERE id = %s",
                           (case_id,)).fetchone()
    assert row is not None
    return row[0], row[1]


async def test_the_prosecutor_reads_what_the_officer_changed_since_the_return(nodes: LocalNodes) -> None:
    lu, officer, prosecutor = nodes["LU"].url, bearer(nodes, "LU", "officer"), bearer(nodes, "LU", "prosecutor")
    async with httpx.AsyncClient(timeout=60) as http:
        case_id = await _returned_transfer(nodes, http)

        async def detail() -> dict[str, Any]:
            return dict((await http.get(f"{lu}/api/v1/transfers/{case_id}", headers=prosecutor)).json())

        returned = await detail()
        assert returned["certificate_changes_since_return"] == []
        row = _stored(nodes, case_id)
        assert row[1] is None  # nothing kept before a correction
        cert = dict(row[0])
        assert cert["person"]["forenames"] == "Jean Paul"

        # Corrected twice before it is submitted again: what the prosecutor saw is the certificate returned.
        first = {**cert, "person": {**cert["person"], "forenames": "Jean-Pierre"}}
        r = await http.put(f"{lu}/api/v1/transfers/{case_id}/certificate", headers=officer, json={"certificate": first})
        assert r.status_code == 200, r.text
        second = {**first, "person": {**first["person"], "forenames": "Jean-Pierre Marie"}}
        r = await http.put(f"{lu}/api/v1/transfers/{case_id}/certificate", headers=officer,
                           json={"certificate": second})
        assert r.status_code == 200, r.text
        # Not shown while the officer is still correcting it (their review page shows the changes then).
        assert (await detail())["certificate_changes_since_return"] == []
        assert _stored(nodes, case_id)[1] == cert
        r = await http.post(f"{lu}/api/v1/transfers/{case_id}/actions/submit", headers=officer)
        assert r.status_code == 200, r.text
        waiting = await wait_for(detail, lambda c: c.get("stage") == "awaiting_approval")
        assert waiting["certificate_changes_since_return"] == [
            {"box": "person.forenames", "before": "Jean Paul", "after": "Jean-Pierre Marie"}]

        page = await signed_in(lu, "prosecutor")
        html = (await page.get(f"/cases/outgoing/{case_id}")).text
        assert HEADING in html
        section = html[html.index('id="changes-since-return"'):]
        section = section[:section.index("</table>") + len("</table>")]
        assert _changes(section) == [["(e) Forename(s)", "Jean Paul", "Jean-Pierre Marie"]], _changes(section)
        # Only the box that changed: not the surname, the sex, nor any box saved as it was.
        assert "Surname" not in section and "(e) Sex" not in section

        r = await http.post(f"{lu}/api/v1/transfers/{case_id}/actions/approve", headers=prosecutor)
        assert r.status_code == 200, r.text
        sent = await wait_for(detail, lambda c: c.get("stage") != "awaiting_approval")
        assert sent["certificate_changes_since_return"] == []
        html = (await page.get(f"/cases/outgoing/{case_id}")).text
        assert HEADING not in html and not re.search(r'id="changes-since-return"', html)
        assert _stored(nodes, case_id)[1] is None  # cleared once approved
        await page.aclose()
