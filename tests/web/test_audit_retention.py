"""The audit log cannot be changed; retention erases personal data but keeps the audit and the
statistics; the export of everything about one person; dashboard exports; OIDC configuration."""

from __future__ import annotations

import asyncio
import io
import json
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import psycopg
import pytest
from webhelp import csrf_of, signed_in

from activities.retention import ensure_schedule
from forms.stages import Side
from probatio.harness import LocalNodes
from probatio.settings import Settings
from store import retention
from tests.support import bearer, fresh_certificate
from web.auth import oidc_client
from workflows.model import workflow_id
from workflows.retention import RetentionInput, RetentionResult, schedule_id

pytestmark = pytest.mark.integration


def db(nodes: LocalNodes, state: str = "LU") -> str:
    return nodes[state].node.settings.effective_database_url


async def new_case(nodes: LocalNodes, surname: str = "Muller") -> str:
    cert = fresh_certificate("LU", "BE")
    cert["person"]["surname"] = surname
    async with httpx.AsyncClient(base_url=nodes["LU"].url, timeout=30) as http:
        r = await http.post("/api/v1/transfers", headers=bearer(nodes, "LU", "officer"),
                            json={"executing_state": "BE", "certificate": cert})
        assert r.status_code == 201, r.text
        return str(r.json()["id"])


def test_audit_log_is_append_only(nodes: LocalNodes) -> None:
    # Even the owner (who migrates) is stopped by the triggers; the app's own role has no right at all.
    with psycopg.connect(nodes["LU"].owner_url, autocommit=True) as conn:
        conn.execute("INSERT INTO audit (user_name, role, action) VALUES ('t', 'auditor', 'probe')")
        for statement in ("UPDATE audit SET reason = 'changed'", "DELETE FROM audit", "TRUNCATE audit"):
            with pytest.raises(psycopg.errors.RaiseException, match="append-only"):
                conn.execute(statement)
        # The application's role has no right to change it at all, trigger or not.
        conn.execute("SET ROLE probatio_app")
        try:
            conn.execute("SELECT count(*) FROM audit")
            for statement in ("UPDATE audit SET reason = 'changed'", "DELETE FROM audit"):
                with pytest.raises(psycopg.errors.InsufficientPrivilege):
                    conn.execute(statement)
        finally:
            conn.execute("RESET ROLE")


async def test_retention_erases_personal_data_and_keeps_statistics(nodes: LocalNodes) -> None:
    surname = f"Erasable-{uuid.uuid4().hex[:6]}"
    case_id = await new_case(nodes, surname)
    pool = nodes["LU"].node.pool
    found = await retention.data_about_person(pool, surname=surname.upper(), forenames=None, within=["LU"],
                                              date_of_birth=datetime(1990, 6, 2).date())
    assert [c["id"] for c in found["cases"]] == [case_id]
    # Let the workflow's first projection land, then stop the workflow: nothing may overwrite the closing below.
    with psycopg.connect(db(nodes), autocommit=True) as conn:
        for _ in range(100):
            if conn.execute("SELECT revision FROM cases WHERE id = %s", (case_id,)).fetchone() != (0,):
                break
            await asyncio.sleep(0.1)
    await nodes["LU"].node.client.get_workflow_handle(workflow_id(Side.ISSUING, case_id)).terminate("retention test")
    with psycopg.connect(db(nodes), autocommit=True) as conn:
        conn.execute("UPDATE cases SET closed_at = now() - interval '400 days', stage = 'closed' WHERE id = %s",
                     (case_id,))
        audit_before = conn.execute("SELECT count(*) FROM audit WHERE case_id = %s", (case_id,)).fetchone()

    # The sweep runs as the worker runs it: a workflow on the node's task queue.
    client = nodes["LU"].node.client
    result = await client.execute_workflow(
        "RetentionSweep", RetentionInput(retention_days=365), id=f"retention-test-{uuid.uuid4()}",
        task_queue=nodes["LU"].node.settings.task_queue, result_type=RetentionResult)
    assert result.erased >= 1
    assert result.audit_intact is True  # the sweep checks the audit log's hash chain too

    with psycopg.connect(db(nodes), autocommit=True) as conn:
        row = conn.execute("SELECT certificate, anonymous_facts, erased_at FROM cases WHERE id = %s",
                           (case_id,)).fetchone()
        assert row is not None and row[0] is None and row[2] is not None
        assert row[1] == {"sex": "male", "age_group": "25-34", "judgment_type": "suspended_sentence"}
        audit_after = conn.execute("SELECT count(*) FROM audit WHERE case_id = %s", (case_id,)).fetchone()
        assert audit_before and audit_after and audit_after[0] == audit_before[0] + 1  # kept, plus the erasure
    found = await retention.data_about_person(pool, surname=surname, forenames=None, within=["LU"],
                                              date_of_birth=datetime(1990, 6, 2).date())
    assert found["cases"] == []
    async with httpx.AsyncClient(base_url=nodes["LU"].url, timeout=30) as http:
        stats = (await http.get("/api/v1/dashboard", headers=bearer(nodes, "LU", "supervisor"))).json()
    people = stats["statistics"]["by_sex_and_age"]
    assert any(r["sex"] == "male" and r["age_group"] == "25-34" and r["total"] >= 1 for r in people)


async def test_the_worker_schedules_retention(nodes: LocalNodes) -> None:
    client = nodes["LU"].node.client
    await ensure_schedule(client, "LU", "probatio-LU", 30, 24)
    await ensure_schedule(client, "LU", "probatio-LU", 60, 12)  # idempotent: updates, does not fail
    described = await client.get_schedule_handle(schedule_id("LU")).describe()
    assert described.schedule.spec.intervals[0].every == timedelta(hours=12)
    await client.get_schedule_handle(schedule_id("LU")).delete()


async def test_person_data_export_is_audited(nodes: LocalNodes) -> None:
    surname = f"Access-{uuid.uuid4().hex[:6]}"
    case_id = await new_case(nodes, surname)
    async with httpx.AsyncClient(base_url=nodes["LU"].url, timeout=30) as http:
        body = {"surname": surname, "date_of_birth": "1990-06-02"}
        r = await http.post("/api/v1/person-data", json=body, headers=bearer(nodes, "LU", "officer"))
        assert r.status_code == 403
        r = await http.post("/api/v1/person-data", json={"surname": surname, "date_of_birth": "2 June"},
                            headers=bearer(nodes, "LU", "auditor"))
        assert r.status_code == 422 and r.json()["errors"][0]["path"] == "date_of_birth"
        r = await http.post("/api/v1/person-data", json=body, headers=bearer(nodes, "LU", "auditor"))
        assert r.status_code == 200
        data = r.json()
        assert [c["id"] for c in data["cases"]] == [case_id]
        assert data["cases"][0]["certificate"]["person"]["surname"] == surname
        assert {"timeline", "notes", "documents", "drafts"} <= set(data)
        r = await http.get("/api/v1/audit", params={"action": "person_data_export"},
                           headers=bearer(nodes, "LU", "auditor"))
        entry = r.json()["items"][0]
        assert entry["user_name"] == "auditor" and entry["detail"]["cases"] == [case_id]
        assert surname not in json.dumps(entry)  # the audit says what was exported, not whom was searched
    auditor = await signed_in(nodes["LU"].url, "auditor")
    page = await auditor.get("/audit/person")
    r = await auditor.post("/audit/person", data={"csrf_token": csrf_of(page.text), "surname": "",
                                                   "date_of_birth": "x"})
    assert r.status_code == 422 and "the surname is required" in r.text and "YYYY-MM-DD" in r.text
    r = await auditor.post("/audit/person", data={"csrf_token": csrf_of(page.text), "surname": surname,
                                                   "date_of_birth": "1990-06-02"})
    assert r.status_code == 200 and r.headers["content-disposition"].startswith("attachment")
    assert r.json()["cases"][0]["id"] == case_id
    await auditor.aclose()


async def test_dashboard_exports(nodes: LocalNodes) -> None:
    from openpyxl import load_workbook

    await new_case(nodes)
    supervisor = await signed_in(nodes["LU"].url, "supervisor")
    page = await supervisor.get("/dashboard")
    assert page.status_code == 200 and page.text.count("<svg") == 4
    r = await supervisor.get("/dashboard/export.json")
    tables = r.json()
    assert set(tables) >= {"by_stage", "by_state", "by_month", "by_sex_and_age", "decisions_due_soon", "overdue"}
    month = datetime.now(UTC).strftime("%Y-%m")
    assert any(row["month"] == month and row["total"] >= 1 for row in tables["by_month"])
    r = await supervisor.get("/dashboard/export.csv")
    assert r.headers["content-type"].startswith("text/csv") and r.text.startswith("case,direction,partner_state")
    # One table as a spreadsheet opens it: named columns, one row per group (issue 14).
    r = await supervisor.get("/dashboard/export.csv", params={"table": "by_month"})
    lines = r.text.splitlines()
    assert lines[0].split(",")[:2] == ["direction", "month"] or "month" in lines[0].split(","), lines[:2]
    assert any(month in line for line in lines[1:])
    assert (await supervisor.get("/dashboard/export.csv", params={"table": "people"})).status_code == 422
    # A period that ends before it starts is refused with a message, not shown as empty charts.
    r = await supervisor.get("/dashboard", params={"since": "2026-05-01", "until": "2026-04-01"})
    assert r.status_code == 422 and "the end of the period must come after its start" in r.text
    r = await supervisor.get("/dashboard/export.xlsx")
    book = load_workbook(io.BytesIO(r.content))
    assert "by_sex_and_age" in book.sheetnames
    assert [c.value for c in book["by_sex_and_age"][1]] == ["direction", "sex", "age_group", "total"]
    # A period without cases says so in its tables rather than showing bare headers.
    r = await supervisor.get("/dashboard", params={"since": "2001-01-01", "until": "2001-02-01"})
    assert r.status_code == 200 and r.text.count("No cases started in this period.") == 3
    assert "No cases started in this period." not in page.text
    r = await supervisor.get("/dashboard", params={"since": "last week"})
    assert r.status_code == 422 and "since" in r.text and "Traceback" not in r.text
    r = await supervisor.get("/dashboard/export.doc")
    assert r.status_code == 404
    await supervisor.aclose()
    # Every export is on record: who took which table, in which format, over which period.
    async with httpx.AsyncClient(base_url=nodes["LU"].url, timeout=30) as http:
        r = await http.get("/api/v1/audit", params={"action": "statistics_exported", "user": "supervisor"},
                           headers=bearer(nodes, "LU", "auditor"))
    assert r.status_code == 200, r.text
    exported = [(e["detail"]["format"], e["detail"]["table"]) for e in r.json()["items"]]
    assert {("json", "all tables"), ("csv", "cases"), ("csv", "by_month"), ("xlsx", "all tables")} <= set(exported)
    assert ("csv", "people") not in exported and "doc" not in {f for f, _ in exported}  # refused: nothing left


def test_oidc_is_off_by_default_and_configured_from_settings() -> None:
    assert oidc_client(Settings(state="LU")) is None
    settings = Settings(state="LU", oidc_issuer="https://idp.example.lu/realms/justice/",
                        oidc_client_id="probatio-lu", oidc_client_secret="s3cret")
    client = oidc_client(settings)
    assert client is not None
    assert client.client_id == "probatio-lu"
    assert client._server_metadata_url == "https://idp.example.lu/realms/justice/.well-known/openid-configuration"
    assert client.client_kwargs["scope"] == "openid profile email"
    assert client.client_kwargs["code_challenge_method"] == "S256"


async def test_oidc_routes_absent_when_off(nodes: LocalNodes) -> None:
    async with httpx.AsyncClient(base_url=nodes["LU"].url) as http:
        r = await http.get("/login/oidc")
        assert r.status_code == 404 and "not configured" in r.text
        assert "/login/oidc" not in (await http.get("/login")).text
