"""Sign-in cannot be brute-forced, answers alike for known and unknown names, and every failure is
audited; API tokens expire and can be revoked; a role changes only on purpose (issue 15, item 5). Last,
the retention sweep notices an audit log a superuser altered (item 3)."""

from __future__ import annotations

import asyncio
import os
import statistics
import subprocess
import sys
import time
import uuid

import httpx
import psycopg
import pytest

from probatio.harness import LocalNodes
from store.users import TOKEN_CACHE_SECONDS, create_user
from tests.web.webhelp import csrf_of
from workflows.retention import RetentionInput, RetentionResult

pytestmark = pytest.mark.integration


def owner(nodes: LocalNodes) -> psycopg.Connection[tuple[object, ...]]:
    return psycopg.connect(nodes["LU"].owner_url, autocommit=True)


def forget_failures(nodes: LocalNodes) -> None:
    with owner(nodes) as conn:
        conn.execute("DELETE FROM sign_in_failures")


async def attempt(http: httpx.AsyncClient, name: str, password: str) -> httpx.Response:
    page = await http.get("/login")
    return await http.post("/login", data={"username": name, "password": password,
                                           "csrf_token": csrf_of(page.text)})


async def test_unknown_and_known_names_take_the_same_time(nodes: LocalNodes) -> None:
    known: list[float] = []
    unknown: list[float] = []
    async with httpx.AsyncClient(base_url=nodes["LU"].url, timeout=30) as http:
        for _ in range(4):
            for name, times in (("officer", known), (f"nobody-{uuid.uuid4().hex[:6]}", unknown)):
                forget_failures(nodes)
                page = await http.get("/login")
                start = time.perf_counter()
                r = await http.post("/login", data={"username": name, "password": "wrong",
                                                    "csrf_token": csrf_of(page.text)})
                times.append(time.perf_counter() - start)
                assert r.status_code == 401 and "user name or password is not right" in r.text
    # Both pay one Argon2 verification: an unknown name is no longer answered 50 times faster.
    assert statistics.median(unknown) > statistics.median(known) / 3, (known, unknown)
    forget_failures(nodes)


async def test_guessing_is_slowed_then_locked_and_audited(nodes: LocalNodes) -> None:
    settings = nodes["LU"].node.settings
    forget_failures(nodes)
    async with httpx.AsyncClient(base_url=nodes["LU"].url, timeout=30) as http:
        for _ in range(settings.sign_in_backoff_after):
            assert (await attempt(http, "prosecutor", "guess")).status_code == 401
        # Back-off: the next attempt must wait, and even the right password is not looked at.
        waited = await attempt(http, "prosecutor", "demo")
        assert waited.status_code == 429 and "Try again in" in waited.text
        await asyncio.sleep(1.2)
        assert (await attempt(http, "prosecutor", "guess")).status_code == 401
        assert (await attempt(http, "prosecutor", "demo")).status_code == 429  # now 2 s
        await asyncio.sleep(2.2)
        assert (await attempt(http, "prosecutor", "demo")).status_code == 303

        # After more failures, a lock for minutes (a tighter limit here, to need no long wait).
        forget_failures(nodes)
        old = (settings.sign_in_backoff_after, settings.sign_in_lock_after)
        settings.sign_in_backoff_after, settings.sign_in_lock_after = 100, 5
        try:
            for _ in range(5):
                assert (await attempt(http, "supervisor", "guess")).status_code == 401
            locked = await attempt(http, "supervisor", "demo")
            assert locked.status_code == 429 and "minutes" in locked.text
            # Another address is locked out of this name too; the lock is the name's, not only the address's.
            with owner(nodes) as conn:
                conn.execute("DELETE FROM sign_in_failures WHERE key LIKE 'address:%'")
            assert (await attempt(http, "supervisor", "demo")).status_code == 429
            with owner(nodes) as conn:  # the lock runs out
                conn.execute("UPDATE sign_in_failures SET locked_until = now() - interval '1 second'")
            assert (await attempt(http, "supervisor", "demo")).status_code == 303
        finally:
            settings.sign_in_backoff_after, settings.sign_in_lock_after = old
            forget_failures(nodes)

    with owner(nodes) as conn:
        failed = conn.execute("SELECT user_name, detail FROM audit WHERE action = 'sign_in_failed'"
                              " AND user_name IN ('prosecutor', 'supervisor') ORDER BY seq").fetchall()
    assert len(failed) >= settings.sign_in_backoff_after + 1 + 5
    assert all(d["address"] == "127.0.0.1" for _, d in failed)  # type: ignore[index]
    assert any(d.get("locked") for _, d in failed)  # type: ignore[union-attr]


async def test_a_burst_of_parallel_guesses_is_counted_one_by_one(nodes: LocalNodes) -> None:
    """Twenty wrong passwords sent at once for one name: each is judged after the one before was counted, so
    no more get their password looked at than one by one would; the others wait (429), and that is audited."""
    settings = nodes["LU"].node.settings
    forget_failures(nodes)
    # Each guess from a browser of its own (the sign-in form's token goes with its own cookie).
    clients = [httpx.AsyncClient(base_url=nodes["LU"].url, timeout=60) for _ in range(20)]
    try:
        pages = [await http.get("/login") for http in clients]
        answers = await asyncio.gather(*(
            http.post("/login", data={"username": "officer", "password": f"guess-{i}",
                                      "csrf_token": csrf_of(page.text)})
            for i, (http, page) in enumerate(zip(clients, pages, strict=True))))
    finally:
        for http in clients:
            await http.aclose()
    looked_at = [r for r in answers if r.status_code == 401]
    assert 1 <= len(looked_at) <= settings.sign_in_backoff_after + 1, [r.status_code for r in answers]
    assert {r.status_code for r in answers} <= {401, 429}
    with owner(nodes) as conn:
        refused = conn.execute("SELECT count(*) FROM audit WHERE action = 'sign_in_refused'"
                               " AND user_name = 'officer'").fetchone()
    assert refused is not None and refused[0] >= 20 - len(looked_at)
    forget_failures(nodes)


def probatio(nodes: LocalNodes, *args: str) -> subprocess.CompletedProcess[str]:
    s = nodes["LU"].node.settings
    env = {**os.environ, "PROBATIO_DATABASE_URL": str(s.database_url), "PROBATIO_STATE": "LU",
           "PROBATIO_HOME": str(s.home)}
    return subprocess.run([sys.executable, "-m", "probatio", *args], capture_output=True, text=True, timeout=120,
                          env=env)


async def test_tokens_expire_are_listed_and_revoked(nodes: LocalNodes) -> None:
    name = f"clerk-{uuid.uuid4().hex[:6]}"
    made = probatio(nodes, "users", "create", name, "--role", "officer", "--token-days", "30")
    assert made.returncode == 0, made.stderr
    token = made.stdout.strip()
    listed = probatio(nodes, "users", "tokens", name)
    assert listed.returncode == 0 and "expires" in listed.stdout and token not in listed.stdout

    again = probatio(nodes, "users", "create", name, "--role", "admin")
    assert again.returncode == 2 and "exists" in again.stderr and "set-role" in again.stderr
    async with httpx.AsyncClient(base_url=nodes["LU"].url, timeout=30) as http:
        auth = {"Authorization": f"Bearer {token}"}
        assert (await http.get("/api/v1/transfers", headers=auth)).status_code == 200
        # `users create` on the existing name changed nothing: still an officer, who may not read the log.
        assert (await http.get("/api/v1/audit", headers=auth)).status_code == 403
        changed = probatio(nodes, "users", "set-role", name, "auditor")
        assert changed.returncode == 0 and "officer → auditor" in changed.stdout
        await asyncio.sleep(TOKEN_CACHE_SECONDS + 0.5)
        assert (await http.get("/api/v1/audit", headers=auth)).status_code == 200

        revoked = probatio(nodes, "users", "revoke", name)
        assert revoked.returncode == 0 and "1 token" in revoked.stdout
        await asyncio.sleep(TOKEN_CACHE_SECONDS + 0.5)  # what `users revoke` says: at most this long
        assert (await http.get("/api/v1/transfers", headers=auth)).status_code == 401

        # An expired token is refused.
        with owner(nodes) as conn:
            fresh = create_user(conn, f"temp-{uuid.uuid4().hex[:6]}", "officer", ["LU"], token_days=1)
            conn.execute("UPDATE api_tokens SET expires_at = now() - interval '1 second'"
                         " WHERE user_id = (SELECT max(id) FROM users)")
        r = await http.get("/api/v1/transfers", headers={"Authorization": f"Bearer {fresh}"})
        assert r.status_code == 401
    with owner(nodes) as conn:
        actions = [r[0] for r in conn.execute("SELECT action FROM audit WHERE detail->>'user' = %s ORDER BY seq",
                                              (name,))]
    assert actions == ["user_created", "role_changed", "tokens_revoked"]


async def test_the_retention_sweep_notices_an_altered_audit_log(nodes: LocalNodes) -> None:
    client = nodes["LU"].node.client
    task_queue = nodes["LU"].node.settings.task_queue
    result = await client.execute_workflow("RetentionSweep", RetentionInput(retention_days=365),
                                           id=f"retention-{uuid.uuid4()}", task_queue=task_queue,
                                           result_type=RetentionResult)
    assert result.audit_intact is True
    with owner(nodes) as conn, conn.transaction():
        conn.execute("SET LOCAL session_replication_role = replica")
        conn.execute("UPDATE audit SET user_name = 'someone else' WHERE seq = 3")
    result = await client.execute_workflow("RetentionSweep", RetentionInput(retention_days=365),
                                           id=f"retention-{uuid.uuid4()}", task_queue=task_queue,
                                           result_type=RetentionResult)
    assert result.audit_intact is False
    with owner(nodes) as conn:
        row = conn.execute("SELECT detail FROM audit WHERE action = 'audit_chain_broken'").fetchone()
    assert row is not None and "seq 3" in str(row[0])
