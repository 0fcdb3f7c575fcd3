"""Connections and migrations (psycopg 3, async pool)."""

from __future__ import annotations

import hashlib
import time
import weakref
from importlib import resources
from typing import Any

import psycopg
from psycopg import AsyncConnection, sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

# Serialises concurrent `probatio migrate` runs (two web pods starting at once).
_MIGRATION_LOCK_ID = 947_2008

Row = dict[str, Any]


def migrations() -> list[tuple[str, str]]:
    """(version, SQL) in order, from the SQL files shipped in store/migrations."""
    folder = resources.files("store") / "migrations"
    files = sorted((p for p in folder.iterdir() if p.name.endswith(".sql")), key=lambda p: p.name)
    return [(p.name.removesuffix(".sql"), p.read_text(encoding="utf-8")) for p in files]


def ensure_database(url: str) -> bool:
    """Create the database named in `url` if it does not exist yet (the embedded stack's first start)."""
    params = conninfo_to_dict(url)
    name = str(params.get("dbname") or "postgres")
    admin = make_conninfo(url, dbname="postgres")
    with psycopg.connect(admin, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if exists:
            return False
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return True


def migrate(url: str) -> list[str]:
    """Apply pending migrations, each in its own transaction; idempotent. Returns the versions applied."""
    applied: list[str] = []
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (_MIGRATION_LOCK_ID,))
        try:
            conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                " version text PRIMARY KEY, checksum text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())"
            )
            done = {r[0]: r[1] for r in conn.execute("SELECT version, checksum FROM schema_migrations")}
            for version, text in migrations():
                checksum = hashlib.sha256(text.encode()).hexdigest()
                if version in done:
                    if done[version] != checksum:
                        raise RuntimeError(f"migration {version} was changed after it was applied; add a new one")
                    continue
                with conn.transaction():
                    conn.execute(text)  # type: ignore[arg-type]  # trusted SQL shipped with the package
                    conn.execute(
                        "INSERT INTO schema_migrations (version, checksum) VALUES (%s, %s)", (version, checksum)
                    )
                applied.append(version)
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (_MIGRATION_LOCK_ID,))
    return applied


# The login role the embedded stack (`probatio dev`, the tests) gives the web app and the worker: a member
# of probatio_app (store/migrations/0012), owning nothing. In production the operator creates their own.
APP_LOGIN_ROLE = "probatio_node"


def ensure_app_login(owner_url: str, password: str, role: str = APP_LOGIN_ROLE) -> str:
    """Create (or give a new password to) the application's login role; returns the URL it connects with.
    The role is a member of probatio_app and nothing else: no superuser, no owner of anything."""
    with psycopg.connect(owner_url, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone()
        verb = sql.SQL("ALTER") if exists else sql.SQL("CREATE")
        conn.execute(sql.SQL("{} ROLE {} LOGIN PASSWORD {} NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION"
                             " NOBYPASSRLS INHERIT").format(verb, sql.Identifier(role), sql.Literal(password)))
        conn.execute(sql.SQL("GRANT probatio_app TO {}").format(sql.Identifier(role)))
    return make_conninfo(owner_url, user=role, password=password)


# A connection given back less than this long ago is handed out again without a test query.
FRESH_SECONDS = 1.0
_given_back_at: weakref.WeakKeyDictionary[AsyncConnection[Any], float] = weakref.WeakKeyDictionary()


async def _note_given_back(conn: AsyncConnection[Any]) -> None:
    _given_back_at[conn] = time.monotonic()


async def _check_unless_fresh(conn: AsyncConnection[Any]) -> None:
    """Survive a PostgreSQL restart: a connection that sat idle is tested (and replaced if broken) before
    it is handed out. One that was in use a moment ago is not: on a busy worker the test query was a
    round trip per checkout (bench `lifecycle`), and a connection that broke within that second fails
    its statement, which the activity retries and the pool then discards."""
    if time.monotonic() - _given_back_at.get(conn, float("-inf")) >= FRESH_SECONDS:
        await AsyncConnectionPool.check_connection(conn)


# Who the connection logs in as, whether a superuser, and whether the owner of the tables (or a member of it).
_ROLE_SQL = ("SELECT current_user, r.rolsuper, COALESCE(pg_has_role(current_user, t.tableowner, 'USAGE'), false)"
             " FROM pg_roles r LEFT JOIN pg_tables t ON t.tablename = 'audit' AND t.schemaname = current_schema()"
             " WHERE r.rolname = current_user")


def _too_much(row: Any) -> str | None:
    if row is None:
        return None
    user, superuser, owner = row
    if superuser:
        return f"the database URL logs in as {user}, a superuser"
    if owner:
        return f"the database URL logs in as {user}, the owner of the tables"
    return None


def more_than_the_app_role(url: str) -> str | None:
    """Why the role `url` logs in as may do more than the application's role should (issue 15: it could switch
    the audit log's guards off: a superuser, or the owner of the tables), or None. None too while the database
    cannot be reached: the node asks again once it can (`more_than_the_app_role_in`)."""
    try:
        with psycopg.connect(url, autocommit=True, connect_timeout=10) as conn:
            return _too_much(conn.execute(_ROLE_SQL).fetchone())
    except psycopg.OperationalError:
        return None


def app_role_refusal(why: str) -> str:
    """What `probatio web` and `worker` say when they will not start as that role: why, and the fix."""
    return (f"error: {why}; give the web app and the worker the application's role (PROBATIO_DATABASE_URL) and "
            "keep the owner's for migrate (PROBATIO_DATABASE_OWNER_URL): deploy/README.md, Database roles")


async def more_than_the_app_role_in(pool: AsyncConnectionPool[Any]) -> str | None:
    """The same question, asked through the node's pool once it is open."""
    async with pool.connection() as conn:
        cur = await conn.execute(_ROLE_SQL)
        row = await cur.fetchone()
    return _too_much(tuple(row.values()) if isinstance(row, dict) else row)


def open_pool(url: str, *, min_size: int = 1, max_size: int = 10) -> AsyncConnectionPool[Any]:
    """An async pool; call `await pool.open()` (or use `async with`). Rows come back as dicts."""
    return AsyncConnectionPool(
        url,
        min_size=min_size,
        max_size=max_size,
        open=False,
        kwargs={"row_factory": dict_row, "autocommit": True},
        check=_check_unless_fresh,
        reset=_note_given_back,
    )
