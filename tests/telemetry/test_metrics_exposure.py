"""The node's counts by stage and its traffic are the operator's: the web port's `/metrics` answers on this
host only; from anywhere else (a browser on the internet, through a proxy that names the client) there is
nothing there. A cluster scrapes the metrics port (PROBATIO_METRICS_PORT), which is not exposed."""

from __future__ import annotations

import httpx
import pytest

from probatio.settings import Settings
from web.app import create_app


@pytest.mark.parametrize(("client", "status"), [("127.0.0.1", 200), ("::1", 200), ("203.0.113.9", 404),
                                                ("10.1.2.3", 404)])
async def test_metrics_answer_on_this_host_only(client: str, status: int) -> None:
    app = create_app(Settings(state="LU"))
    transport = httpx.ASGITransport(app=app, client=(client, 40123))
    async with httpx.AsyncClient(transport=transport, base_url="http://probatio.test") as http:
        r = await http.get("/metrics")
    assert r.status_code == status
    assert ("probatio_" in r.text) == (status == 200)
