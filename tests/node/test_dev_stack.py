"""`probatio dev` as a newcomer runs it: both nodes healthy; SIGTERM stops every child; a start after
kill -9 works and keeps the data. Runs the real command in a subprocess on free ports."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from probatio.embedded import free_port, free_port_pair, port_open

pytestmark = pytest.mark.integration


def start(home: Path, ports: dict[str, int]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "probatio", "dev", "--state", "LU", "--peer", "BE", "--port", str(ports["web"]),
         "--pg-port", str(ports["pg"]), "--temporal-port", str(ports["temporal"]), "--temporal-ui-port", "0",
         "--home", str(home)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
    )


def wait_healthy(url: str, proc: subprocess.Popen[bytes], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, (proc.stdout.read() if proc.stdout else b"").decode()
        try:
            if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise AssertionError(f"{url} not healthy within {timeout} s")


def all_closed(ports: dict[str, int], timeout: float = 30) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not any(port_open("127.0.0.1", p) for p in (ports["web"], ports["web"] + 1, ports["pg"], ports["temporal"])):
            return True
        time.sleep(0.3)
    return False


def test_dev_stack_survives_kill_and_keeps_data(tmp_path: Path) -> None:
    home = tmp_path / "home"
    ports = {"pg": free_port(), "temporal": free_port()}
    ports["web"] = free_port_pair(avoid=ports.values())
    proc = start(home, ports)
    try:
        lu, be = f"http://127.0.0.1:{ports['web']}", f"http://127.0.0.1:{ports['web'] + 1}"
        wait_healthy(lu, proc)
        wait_healthy(be, proc)
        creds = json.loads((home / "dev-credentials.json").read_text())
        assert set(creds) == {"LU", "BE"} and set(creds["LU"]["tokens"]) >= {"officer", "prosecutor", "auditor"}
        officer = {"Authorization": f"Bearer {creds['LU']['tokens']['officer']}"}
        from forms.examples import example_certificate

        r = httpx.post(f"{lu}/api/v1/transfers", headers=officer, timeout=30,
                       json={"executing_state": "BE", "certificate": example_certificate().model_dump(mode="json")})
        assert r.status_code == 201, r.text
        case_id = r.json()["id"]

        # kill -9 the supervisor: every child dies with it, nothing keeps a port or a lock.
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
        assert all_closed(ports), "a child of the killed supervisor kept running"

        proc = start(home, ports)
        wait_healthy(lu, proc)
        creds_after = json.loads((home / "dev-credentials.json").read_text())
        assert creds_after == creds  # the tokens in the file still work: nobody has to look them up again
        r = httpx.get(f"{lu}/api/v1/transfers/{case_id}", headers=officer, timeout=30)
        assert r.status_code == 200 and r.json()["stage"] == "draft"

        # SIGTERM stops everything cleanly.
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(60) == 0
        assert all_closed(ports)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
