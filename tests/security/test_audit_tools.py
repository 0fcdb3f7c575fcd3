"""pip-audit (known vulnerabilities in installed packages) and bandit (security lint of our code): clean,
or each finding explained in tests/security/FINDINGS.md."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
OUR_CODE = ["probatio", "forms", "workflows", "activities", "adapters", "store", "web", "bench"]
FINDINGS = Path(__file__).with_name("FINDINGS.md")


def _tool(name: str) -> str:
    found = Path(sys.executable).parent / name
    return str(found) if found.exists() else (shutil.which(name) or pytest.skip(f"{name} is not installed"))


def _explained() -> str:
    return FINDINGS.read_text(encoding="utf-8")


def test_bandit_finds_nothing_unexplained() -> None:
    out = subprocess.run([_tool("bandit"), "-q", "-r", *OUR_CODE, "-f", "json", "-c", "pyproject.toml"],
                         cwd=ROOT, capture_output=True, text=True, timeout=300)
    report = json.loads(out.stdout or "{}")
    unexplained = [f"{r['test_id']} {r['filename']}:{r['line_number']} {r['issue_text']}"
                   for r in report.get("results", []) if r["test_id"] not in _explained()]
    assert not unexplained, "explain these in tests/security/FINDINGS.md or fix them:\n" + "\n".join(unexplained)


def _vulnerability_service_reachable() -> bool:
    try:
        socket.create_connection(("pypi.org", 443), timeout=5).close()
        return True
    except OSError:
        return False


def test_pip_audit_finds_no_unexplained_vulnerability() -> None:
    if not _vulnerability_service_reachable():
        pytest.skip("pip-audit needs the PyPI vulnerability service (pypi.org:443), which this machine cannot reach")
    out = subprocess.run([_tool("pip-audit"), "--format", "json", "--progress-spinner", "off", "--skip-editable"],
                         cwd=ROOT, capture_output=True, text=True, timeout=600)
    if out.returncode not in (0, 1):
        pytest.skip(f"pip-audit could not run: {out.stderr.strip()[-300:]}")
    report = json.loads(out.stdout)
    found = [f"{d['name']} {d['version']}: {v['id']}" for d in report.get("dependencies", [])
             for v in d.get("vulns", []) if v["id"] not in _explained()]
    assert not found, "upgrade or explain in tests/security/FINDINGS.md:\n" + "\n".join(found)
