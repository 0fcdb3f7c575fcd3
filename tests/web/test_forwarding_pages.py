"""Art 6(7), 18(1): after the executing side forwards a case, the issuing side's officer reads on the case
page which authority of the executing state now holds it, and the prosecutor of the authority that forwarded
it can no longer see it. The prosecutor forwards by picking the competent authority by its name from the
node's directory, never by typing a code; the code is what the action receives."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from temporalio.client import Client

from probatio.harness import LocalNodes, start_nodes
from tests.support import bearer, create_and_approve, outgoing_case, wait_for
from tests.web.webhelp import csrf_of, form_fields, signed_in


@pytest.fixture(scope="module")
async def nodes_with_liege(temporal_client: Client, pg_server: str,
                           tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[LocalNodes]:
    home: Path = tmp_path_factory.mktemp("forwarding")
    local = await start_nodes(temporal_client, pg_server, ["LU", "BE"], home, db_prefix="fwdpages_",
                              authorities={"BE": ["BE-LIEGE"]})
    try:
        yield local
    finally:
        await local.stop()


async def test_the_issuing_side_reads_who_holds_a_forwarded_case(nodes_with_liege: LocalNodes) -> None:
    nodes = nodes_with_liege
    async with httpx.AsyncClient(timeout=60) as http:
        case_id = await create_and_approve(http, nodes)
        incoming = f"{nodes['BE'].url}/api/v1/incoming/{case_id}"
        await wait_for(lambda: http.get(incoming, headers=bearer(nodes, "BE", "prosecutor")),
                       lambda r: r.status_code == 200 and r.json()["stage"] == "under_decision")
        r = await http.post(f"{incoming}/actions/forward", json={"authority": "BE-LIEGE"},
                            headers=bearer(nodes, "BE", "prosecutor"))
        assert r.status_code == 200, r.text
        view = await wait_for(lambda: outgoing_case(http, nodes, case_id),
                              lambda v: v.get("executing_authority") == "BE-LIEGE")
        assert view["stage"] == "under_decision"
        r = await http.get(incoming, headers=bearer(nodes, "BE", "prosecutor"))
        assert r.status_code == 403, "the authority that forwarded the case no longer sees it"

    officer = await signed_in(nodes["LU"].url, "officer")
    try:
        page = (await officer.get(f"/cases/outgoing/{case_id}")).text
    finally:
        await officer.aclose()
    holder = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", page))
    assert "The case is held in Belgium by BE-LIEGE (served by node BE) (BE-LIEGE)" in holder, holder[:3000]


def _form(html: str, action: str) -> str:
    start = html.index(f'action="{action}"')
    return html[start:html.index("</form>", start)]


async def test_forward_picks_the_competent_authority_by_name(nodes_with_liege: LocalNodes) -> None:
    nodes = nodes_with_liege
    async with httpx.AsyncClient(timeout=60) as http:
        case_id = await create_and_approve(http, nodes)
        incoming = f"{nodes['BE'].url}/api/v1/incoming/{case_id}"
        await wait_for(lambda: http.get(incoming, headers=bearer(nodes, "BE", "prosecutor")),
                       lambda r: r.status_code == 200 and r.json()["stage"] == "under_decision")

        prosecutor = await signed_in(nodes["BE"].url, "prosecutor")
        case_url = f"/cases/incoming/{case_id}"
        action = f"{case_url}/actions/forward"
        page = (await prosecutor.get(case_url)).text
        form = _form(page, action)
        # A choice by name, the code its value; not the authority that holds the case; no code to type.
        picker = re.search(r'<select id="forward-authority" name="authority"[^>]*>(.*?)</select>', form, re.S)
        assert picker, form
        options = re.findall(r'<option value="([^"]*)"[^>]*>([^<]*)</option>', picker.group(1))
        assert options[1:] == [("BE-LIEGE", "BE-LIEGE (served by node BE)")], options
        assert ">Competent authority <" in form and "Competent authority (code)" not in form
        assert 'type="text"' not in form and "<textarea" not in form

        # A code the directory does not know (a crafted post) is refused beside the field; nothing moves.
        r = await prosecutor.post(action, data={"csrf_token": csrf_of(page), "authority": "BE-NOWHERE",
                                                "confirmed": "1"})
        assert r.status_code == 422, r.text[:500]
        beside = re.search(r'<p class="field-error" id="forward-authority-error">(.*?)</p>', r.text, re.S)
        assert beside and "BE-NOWHERE" in beside.group(1), r.text[:3000]
        # ... and before the confirmation step too: nobody confirms a forward the directory would refuse.
        r = await prosecutor.post(action, data={"csrf_token": csrf_of(page), "authority": "BE-NOWHERE"})
        assert r.status_code == 422 and "Check before you go on" not in r.text, r.text[:500]

        # Picked by name: the confirmation says which authority by its name; the action receives the code.
        fields = form_fields(page, action)
        assert fields["authority"] == "", "nothing is chosen for the prosecutor"
        r = await prosecutor.post(action, data={**fields, "authority": "BE-LIEGE"})
        assert r.status_code == 200 and "Check before you go on" in r.text, r.text[:500]
        said = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", r.text))
        assert "Competent authority BE-LIEGE (served by node BE)" in said, said[:3000]
        r = await prosecutor.post(action, data={**form_fields(r.text, action), "confirmed": "1"})
        assert r.status_code == 303, r.text[:2000]
        await prosecutor.aclose()
        view = await wait_for(lambda: outgoing_case(http, nodes, case_id),
                              lambda v: v.get("executing_authority") == "BE-LIEGE")
        assert view["executing_authority"] == "BE-LIEGE"
