"""Art 6(5): a judgment goes to one executing state at a time. A second open transfer of the same judgment is
refused when it is created and when a draft's certificate is corrected to name it; the court's name and the
reference compare as people write them (spacing, and case in any script: "Gießen" is "GIESSEN")."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from probatio.harness import LocalNodes
from tests.support import bearer, fresh_certificate

pytestmark = pytest.mark.integration


def _same_judgment_as(cert: dict[str, Any], court: str) -> dict[str, Any]:
    other = fresh_certificate("LU", "BE")
    return {**other, "judgment": {**other["judgment"], "court": court,
                                  "reference": cert["judgment"]["reference"].upper(),
                                  "delivered_on": cert["judgment"]["delivered_on"]}}


async def test_a_second_open_transfer_of_one_judgment_is_refused_also_by_correction(nodes: LocalNodes) -> None:
    officer = bearer(nodes, "LU", "officer")
    first = fresh_certificate("LU", "BE")
    tag = uuid.uuid4().hex[:6]
    first["judgment"]["court"] = f"Amtsgericht Gießen {tag}"
    async with httpx.AsyncClient(base_url=nodes["LU"].url, timeout=30) as http:
        r = await http.post("/api/v1/transfers", json={"executing_state": "BE", "certificate": first}, headers=officer)
        assert r.status_code == 201, r.text
        first_id = r.json()["id"]

        # The same judgment, its court written in capitals with other spacing: refused, naming the open case.
        again = _same_judgment_as(first, f"AMTSGERICHT  GIESSEN {tag.upper()}")
        r = await http.post("/api/v1/transfers", json={"executing_state": "BE", "certificate": again}, headers=officer)
        assert r.status_code == 422, r.text
        assert r.json()["error"] == "judgment_already_transferred" and first_id in r.json()["errors"][0]["reason"]

        # A transfer of another judgment, whose draft is then corrected to name the first one: refused too, and
        # its certificate stays as it was.
        r = await http.post("/api/v1/transfers", json={"executing_state": "BE",
                                                       "certificate": fresh_certificate("LU", "BE")}, headers=officer)
        assert r.status_code == 201, r.text
        second_id = r.json()["id"]
        r = await http.put(f"/api/v1/transfers/{second_id}/certificate", json={"certificate": again}, headers=officer)
        assert r.status_code == 422, r.text
        assert r.json()["error"] == "judgment_already_transferred", r.text
        kept = (await http.get(f"/api/v1/transfers/{second_id}/certificate", headers=officer)).json()
        assert "GIESSEN" not in str(kept) and "Gießen" not in str(kept)

        # Correcting the first transfer's own certificate is no second transfer.
        r = await http.put(f"/api/v1/transfers/{first_id}/certificate", json={"certificate": first}, headers=officer)
        assert r.status_code == 200, r.text
