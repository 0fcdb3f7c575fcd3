"""`probatio dev --link ecodex` as README shows it: the two nodes linked through two connector-client
emulators; a transfer LU → BE reaches `transferred`, with relay, delivery and retrieval evidences on LU's
case. Runs the real command in a subprocess on free ports; the nodes' own poll schedules do the polling."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from forms.examples import (
    EXAMPLE_JUDGMENT_FILENAME,
    EXAMPLE_JUDGMENT_LANGUAGE,
    example_certificate,
    example_judgment_pdf,
)
from probatio.embedded import free_port, free_port_pair
from tests.node.test_dev_stack import all_closed, wait_healthy

pytestmark = pytest.mark.integration


def until(fetch: Any, done: Any, timeout: float = 120) -> Any:
    deadline = time.monotonic() + timeout
    value = fetch()
    while not done(value) and time.monotonic() < deadline:
        time.sleep(1)
        value = fetch()
    return value


def test_a_transfer_over_ecodex_with_probatio_dev(tmp_path: Path) -> None:
    home = tmp_path / "home"
    ports = {"pg": free_port(), "temporal": free_port()}
    ports["web"] = free_port_pair(avoid=ports.values())
    proc = subprocess.Popen(
        [sys.executable, "-m", "probatio", "dev", "--link", "ecodex", "--port", str(ports["web"]),
         "--pg-port", str(ports["pg"]), "--temporal-port", str(ports["temporal"]), "--temporal-ui-port", "0",
         "--home", str(home)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
    )
    try:
        lu, be = f"http://127.0.0.1:{ports['web']}", f"http://127.0.0.1:{ports['web'] + 1}"
        wait_healthy(lu, proc)
        wait_healthy(be, proc)
        tokens = {s: v["tokens"] for s, v in json.loads((home / "dev-credentials.json").read_text()).items()}

        def auth(state: str, role: str) -> dict[str, str]:
            return {"Authorization": f"Bearer {tokens[state][role]}"}

        http = httpx.Client(timeout=30)
        certificate = example_certificate("LU", "BE").model_dump(mode="json")
        r = http.post(f"{lu}/api/v1/transfers", headers=auth("LU", "officer"),
                      json={"executing_state": "BE", "certificate": certificate})
        assert r.status_code == 201, r.text
        case_id = r.json()["id"]
        r = http.post(f"{lu}/api/v1/transfers/{case_id}/documents", headers=auth("LU", "officer"),
                      data={"kind": "judgment", "language": EXAMPLE_JUDGMENT_LANGUAGE},
                      files={"file": (EXAMPLE_JUDGMENT_FILENAME, example_judgment_pdf(), "application/pdf")})
        assert r.status_code == 201, r.text  # Art 6(1): the judgment travels with the certificate
        for role, action in (("officer", "submit"), ("prosecutor", "approve")):
            r = http.post(f"{lu}/api/v1/transfers/{case_id}/actions/{action}", headers=auth("LU", role))
            assert r.status_code == 200, r.text

        def at_be() -> dict[str, Any]:
            r = http.get(f"{be}/api/v1/incoming/{case_id}", headers=auth("BE", "prosecutor"))
            return r.json() if r.status_code == 200 else {}

        assert until(at_be, lambda c: c.get("stage") == "under_decision").get("stage") == "under_decision"
        r = http.post(f"{be}/api/v1/incoming/{case_id}/actions/decide", json={"outcome": "recognised"},
                      headers=auth("BE", "prosecutor"))
        assert r.status_code == 200, r.text

        def at_lu() -> dict[str, Any]:
            return dict(http.get(f"{lu}/api/v1/transfers/{case_id}", headers=auth("LU", "officer")).json())

        def evidences(case: dict[str, Any]) -> list[str]:
            return [e["detail"].get("evidence", "") for e in case["timeline"]
                    if e["type"] in ("delivery_evidence", "delivered") and e["detail"].get("type") == "certificate"]

        case = until(at_lu, lambda c: c["stage"] == "transferred" and "retrieved" in evidences(c))
        assert case["stage"] == "transferred"
        assert evidences(case) == ["submitted", "relayed", "delivered", "retrieved"]
        http.close()

        proc.send_signal(signal.SIGTERM)
        assert proc.wait(60) == 0
        assert all_closed(ports)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
