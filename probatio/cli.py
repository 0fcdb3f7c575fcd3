"""The `probatio` command: run a node (or the whole stack on one machine), manage its users, and work with
the certificate and breach form as files."""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from probatio.settings import EMBEDDED_PG_PORT, EMBEDDED_TEMPORAL_PORT, EMBEDDED_TEMPORAL_UI_PORT, Settings


def _settings() -> Settings:
    return Settings()


def _logging(settings: Settings | None = None) -> None:
    from probatio.logs import configure

    configure(settings.log_format if settings else os.environ.get("PROBATIO_LOG_FORMAT", "text"))


def cmd_dev(args: argparse.Namespace) -> int:
    from probatio import dev

    _logging()
    peer = args.peer.upper() if args.peer else None
    state = args.state.upper()
    if peer == state:
        print("probatio dev: --peer must be another state than --state", file=sys.stderr)
        return 2
    if args.link == "ecodex" and peer is None:
        peer = "BE" if state != "BE" else "LU"  # e-CODEX links two nodes: give the first a partner
    return dev.run(state, peer, args.port, Path(args.home), pg_port=args.pg_port, temporal_port=args.temporal_port,
                   temporal_ui_port=args.temporal_ui_port or None, link=args.link)


def _foreground(start: Callable[[], subprocess.Popen[bytes]]) -> int:
    """Run one embedded service until Ctrl-C or SIGTERM, then stop it cleanly."""
    from probatio import embedded

    proc = start()
    stop = [False]

    def _on_signal(signum: int, _frame: object) -> None:
        stop[0] = True

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    try:
        while not stop[0] and proc.poll() is None:
            time.sleep(0.3)
    finally:
        embedded.stop([proc])
    return 0 if stop[0] else (proc.returncode or 1)


def cmd_temporal(args: argparse.Namespace) -> int:
    from probatio import embedded

    home = Path(args.home)
    (home / "logs").mkdir(parents=True, exist_ok=True)
    print(f"Temporal dev server on 127.0.0.1:{args.port}; Ctrl-C stops it", flush=True)
    return _foreground(lambda: embedded.start_temporal(home / "temporal", port=args.port, ui_port=args.ui_port,
                                                       log=home / "logs" / "temporal.log"))


def cmd_db(args: argparse.Namespace) -> int:
    from probatio import embedded

    home = Path(args.home)
    (home / "logs").mkdir(parents=True, exist_ok=True)
    print(f"PostgreSQL on 127.0.0.1:{args.port} (user postgres); Ctrl-C stops it", flush=True)
    return _foreground(lambda: embedded.start_postgres(home / "postgres", port=args.port,
                                                       log=home / "logs" / "postgres.log"))


def cmd_migrate(args: argparse.Namespace) -> int:
    from store.db import ensure_database, migrate

    settings = _settings()
    # Migrations create and alter tables: the owner's URL, never the application's.
    url = settings.effective_database_owner_url
    if settings.database_url is None and settings.database_owner_url is None:
        ensure_database(url)
    applied = migrate(url)
    print("applied: " + ", ".join(applied) if applied else "the database is up to date")
    return _ensure_app_role(settings)


def _ensure_app_role(settings: Settings) -> int:
    """With both URLs set and different users, the application's login role is created (or given the
    password of its URL) as a member of probatio_app: so compose and Kubernetes need no SQL by hand."""
    import psycopg
    from psycopg.conninfo import conninfo_to_dict

    from store.db import ensure_app_login

    if not settings.database_url or not settings.database_owner_url:
        return 0
    app, owner = conninfo_to_dict(settings.database_url), conninfo_to_dict(settings.database_owner_url)
    if not app.get("user") or app.get("user") == owner.get("user"):
        print("note: PROBATIO_DATABASE_URL logs in as the owner; give the web app and worker a role of their own "
              "(deploy/README.md, Database roles)", file=sys.stderr)
        return 0
    if not app.get("password"):
        return 0  # a role that signs in otherwise (certificate, IAM): the operator made it
    try:
        ensure_app_login(settings.database_owner_url, str(app["password"]), role=str(app["user"]))
    except psycopg.errors.InsufficientPrivilege as err:
        print(f"note: role {app['user']} not created ({err}); create it once as deploy/README.md says",
              file=sys.stderr)
        return 0
    print(f"role {app['user']}: member of probatio_app (cases; the audit log only to add to)")
    return 0


def _least_privilege(settings: Settings) -> int:
    """0 when the web app and worker log in as a role that cannot touch the audit log beyond adding to it;
    else one line saying why, and 2 (unless PROBATIO_ALLOW_OWNER_CONNECTION says it is meant)."""
    from store.db import app_role_refusal, more_than_the_app_role

    why = more_than_the_app_role(settings.effective_database_url)
    if why is None:
        return 0
    if settings.allow_owner_connection:
        print(f"warning: {why} (PROBATIO_ALLOW_OWNER_CONNECTION): it could alter the audit log", file=sys.stderr)
        return 0
    print(app_role_refusal(why), file=sys.stderr)
    return 2


def cmd_worker(args: argparse.Namespace) -> int:
    from probatio.node import run_worker

    settings = _settings()
    _logging(settings)
    if refused := _least_privilege(settings):
        return refused
    try:
        asyncio.run(run_worker(settings))
    except KeyboardInterrupt:
        pass
    return 0


def cmd_web(args: argparse.Namespace) -> int:
    import uvicorn

    from web.app import create_app

    settings = _settings()
    _logging(settings)
    if refused := _least_privilege(settings):
        return refused
    uvicorn.run(create_app(settings), host=args.host or settings.web_host, port=args.port or settings.web_port,
                log_level="warning", proxy_headers=True, forwarded_allow_ips=settings.trusted_proxies)
    return 0


def _read_password(args: argparse.Namespace) -> str | None:
    """The new user's password: the first line of standard input (--password-stdin), else asked for at the
    terminal; never the command line, where every user of the machine could read it in the process list.
    None (API token only) when left empty at the prompt, or when there is no terminal to ask at."""
    import getpass

    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            raise ValueError("standard input holds no password")
        return password
    if not sys.stdin.isatty():
        return None
    password = getpass.getpass(f"password for {args.name} on the sign-in page (empty: API token only): ")
    if password and getpass.getpass("the same again: ") != password:
        raise ValueError("the two passwords differ")
    return password or None


def _users_db(settings: Settings) -> Any:
    import psycopg

    return psycopg.connect(settings.effective_database_url, autocommit=True)


def _record(conn: Any, action: str, name: str, detail: dict[str, Any]) -> None:
    """Who may do what is audited too: an operator's change of a user is a row in the audit log."""
    from psycopg.types.json import Jsonb

    conn.execute("INSERT INTO audit (user_name, role, action, detail) VALUES (%s, 'operator', %s, %s)",
                 (f"cli:{os.environ.get('USER', 'unknown')}", action, Jsonb({"user": name, **detail})))


def cmd_users_create(args: argparse.Namespace) -> int:
    from store.users import ROLES, UserExists, create_user

    if args.role not in ROLES:
        print(f"role: must be one of {', '.join(ROLES)}", file=sys.stderr)
        return 2
    if args.node_wide and args.role != "auditor":
        print("--node-wide: only an auditor can read across every authority of the node", file=sys.stderr)
        return 2
    try:
        password = _read_password(args)
    except ValueError as err:
        print(f"password: {err}", file=sys.stderr)
        return 2
    settings = _settings()
    authorities = args.authority or [settings.node_authority]
    with _users_db(settings) as conn:
        try:
            token = create_user(conn, args.name, args.role, authorities, password, node_wide=args.node_wide,
                                token_days=args.token_days or settings.token_days)
        except UserExists as err:
            print(f"users create: {err}", file=sys.stderr)
            return 2
        _record(conn, "user_created", args.name, {"role": args.role, "authorities": authorities,
                                                  "node_wide": args.node_wide})
    print(token)
    return 0


def cmd_users_list(args: argparse.Namespace) -> int:
    from probatio.console import table
    from store.users import list_users

    settings = _settings()
    with _users_db(settings) as conn:
        users = list_users(conn)
    table(("name", "role", "authorities", "password", "API tokens", "token last used", "created"),
          ((u["name"], u["role"], ", ".join(u["authorities"]), "yes" if u["has_password"] else "no", u["tokens"],
            f"{u['last_used_at']:%Y-%m-%d %H:%M}" if u["last_used_at"] else "never", f"{u['created_at']:%Y-%m-%d}")
           for u in users), title=f"Users of the {settings.state} node")
    return 0


def cmd_users_set_role(args: argparse.Namespace) -> int:
    from store.users import ROLES, NoSuchUser, set_role

    if args.role not in ROLES:
        print(f"role: must be one of {', '.join(ROLES)}", file=sys.stderr)
        return 2
    with _users_db(_settings()) as conn:
        try:
            old = set_role(conn, args.name, args.role)
        except NoSuchUser as err:
            print(f"users set-role: {err}", file=sys.stderr)
            return 2
        _record(conn, "role_changed", args.name, {"from": old, "to": args.role})
    print(f"{args.name}: {old} → {args.role} (every token and session of {args.name} now acts as {args.role})")
    return 0


def cmd_users_revoke(args: argparse.Namespace) -> int:
    from store.users import TOKEN_CACHE_SECONDS, NoSuchUser, revoke

    with _users_db(_settings()) as conn:
        try:
            n = revoke(conn, args.name, args.token)
        except NoSuchUser as err:
            print(f"users revoke: {err}", file=sys.stderr)
            return 2
        _record(conn, "tokens_revoked", args.name, {"tokens": n, "only": args.token})
    what = f"token {args.token}…" if args.token else "every token and page session"
    print(f"{args.name}: {what} revoked ({n} token(s)); a web process honours a token it checked in the last "
          f"{TOKEN_CACHE_SECONDS:.0f} s at most that much longer")
    return 0


def cmd_users_tokens(args: argparse.Namespace) -> int:
    from store.users import NoSuchUser, issue_token, tokens_of

    settings = _settings()
    with _users_db(settings) as conn:
        try:
            if args.new:
                token = issue_token(conn, args.name, args.token_days or settings.token_days)
                _record(conn, "token_issued", args.name, {})
                print(token)
                return 0
            rows = tokens_of(conn, args.name)
        except NoSuchUser as err:
            print(f"users tokens: {err}", file=sys.stderr)
            return 2
    if not rows:
        print(f"{args.name} has no API token")
        return 0

    def day(v: Any) -> str:
        return v.strftime("%Y-%m-%d %H:%M") if v else "never"

    from probatio.console import table

    table(["token (digest)", "created", "last used", "expires"],
          ([r["digest"] + "…", day(r["created_at"]), day(r["last_used_at"]),
            day(r["expires_at"]) + (" (expired)" if r["expired"] else "")] for r in rows))
    return 0


def _node_key(settings: Settings) -> Any:
    from adapters.keys import load_or_create_private_key

    path = settings.effective_signing_key_file
    return load_or_create_private_key(path) if path.exists() else None


def cmd_audit_verify(args: argparse.Namespace) -> int:
    from probatio.console import table
    from store.audit_chain import PROBLEM_COLUMNS, verify

    settings = _settings()
    key = _node_key(settings)
    try:
        report = verify(settings.effective_database_url, state=settings.state,
                        public_key=key.public_key() if key else None)
    except Exception as err:  # the database unreachable or not migrated: one line, never a traceback
        print(f"audit verify: could not read the audit log: {err}", file=sys.stderr)
        return 2
    # One row per check, the verdict last; then, when it is not intact, one row per problem, the first one
    # first: that is where the tampering begins.
    table(("check", "finding"), report.checks(), title=f"Audit log of the {settings.state} node")
    if not report.intact:
        table(PROBLEM_COLUMNS, report.problem_rows(), title="Problems, the first where tampering begins")
    return 0 if report.intact else 1


def cmd_audit_prune(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    from store.audit_chain import prune

    settings = _settings()
    key = _node_key(settings)
    if key is None:
        print(f"audit prune: the node's signing key {settings.effective_signing_key_file} is needed to sign "
              "the checkpoint", file=sys.stderr)
        return 2
    before = datetime.fromisoformat(args.before).replace(tzinfo=UTC) if args.before else None
    try:
        done = prune(settings.effective_database_owner_url, state=settings.state, key=key, before=before)
    except Exception as err:  # not the owner, or the database unreachable
        print(f"audit prune: {type(err).__name__}: {err}".strip(), file=sys.stderr)
        return 1
    if done.refused:
        print(done.refused)
        return 1
    print(f"pruned {done.rows_deleted} rows through seq {done.last_seq}; the signed checkpoint keeps the rest "
          "verifiable" if done.rows_deleted else "nothing to prune: no row is older than the retention period")
    return 0


def cmd_healthcheck(args: argparse.Namespace) -> int:
    """Exit 0 when this process's dependencies answer (used by the Kubernetes exec probe of the worker)."""
    from probatio.node import connect_temporal

    async def check() -> None:
        client = await connect_temporal(_settings(), attempts=1)
        await client.service_client.check_health()

    try:
        asyncio.run(check())
    except Exception as err:
        print(f"unhealthy: {err}", file=sys.stderr)
        return 1
    print("ok")
    return 0


def build_parser() -> argparse.ArgumentParser:
    from probatio import __version__
    from probatio.console import ArgumentParser

    parser = ArgumentParser(prog="probatio", description=__doc__,
                            epilog="Settings come from PROBATIO_* environment variables (see README, Settings). "
                                   "`probatio COMMAND --help` explains each command.")
    parser.add_argument("--version", action="version", version=f"probatio {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("dev", help="try it on one machine: PostgreSQL, Temporal, worker and web app for one or "
                                   "two linked nodes",
                       description="Start the whole stack on this machine, with nothing to install: an embedded "
                                   "PostgreSQL and Temporal dev server, then a worker and a web app per node. "
                                   "Data stays in --home; Ctrl-C stops everything.")
    p.add_argument("--state", default="LU", help="the member state of the first node (default LU)")
    p.add_argument("--peer", default=None, help="a second node for another state, on port+1, linked to the first")
    p.add_argument("--link", choices=("nodelink", "ecodex"), default="nodelink",
                   help="how the two nodes reach each other: the signed node link, or e-CODEX through two "
                        "connector-client emulators (needs a source checkout; the peer defaults to BE)")
    p.add_argument("--port", type=int, default=8000, help="web port of the first node (default 8000)")
    p.add_argument("--home", default=".probatio", help="where data, logs, keys and demo tokens are kept")
    p.add_argument("--pg-port", type=int, default=EMBEDDED_PG_PORT, help="port of the embedded PostgreSQL")
    p.add_argument("--temporal-port", type=int, default=EMBEDDED_TEMPORAL_PORT, help="port of Temporal's frontend")
    p.add_argument("--temporal-ui-port", type=int, default=EMBEDDED_TEMPORAL_UI_PORT,
                   help="port of the Temporal UI (0: no UI)")
    p.set_defaults(func=cmd_dev)

    p = sub.add_parser("temporal", help="only the embedded Temporal dev server, in the foreground")
    p.add_argument("--port", type=int, default=EMBEDDED_TEMPORAL_PORT, help="port of Temporal's frontend")
    p.add_argument("--ui-port", type=int, default=None, help="port of the Temporal UI (default: none)")
    p.add_argument("--home", default=".probatio", help="where its data and log are kept")
    p.set_defaults(func=cmd_temporal)

    p = sub.add_parser("db", help="only the embedded PostgreSQL, in the foreground")
    p.add_argument("--port", type=int, default=EMBEDDED_PG_PORT, help="port to listen on")
    p.add_argument("--home", default=".probatio", help="where its data and log are kept")
    p.set_defaults(func=cmd_db)

    sub.add_parser("migrate", help="bring the database up to date (safe to run again)",
                   description="Apply the database migrations not yet applied to PROBATIO_DATABASE_URL."
                   ).set_defaults(func=cmd_migrate)
    sub.add_parser("worker", help="run this node's Temporal worker (production)",
                   description="Run the workflows and activities of this node; connects to "
                               "PROBATIO_TEMPORAL_ADDRESS and PROBATIO_DATABASE_URL.").set_defaults(func=cmd_worker)
    p = sub.add_parser("web", help="run this node's web app and API (production)")
    p.add_argument("--host", default=None, help="address to listen on (default PROBATIO_WEB_HOST)")
    p.add_argument("--port", type=int, default=None, help="port to listen on (default PROBATIO_WEB_PORT)")
    p.set_defaults(func=cmd_web)

    users = sub.add_parser("users", help="create and list the people who use this node").add_subparsers(
        dest="users_command", required=True, metavar="ACTION")
    # No abbreviations here: `--password SECRET` must be refused, not read as --password-stdin.
    p = users.add_parser("create", help="create a user and print a new API token (an existing name: exit 2)",
                         allow_abbrev=False,
                         description="Create a user and print a new API token; a role is changed only with "
                                     "`users set-role`. A password (for the sign-in page) is asked for at the "
                                     "terminal or read from standard input, never from the command line.")
    p.add_argument("name", help="the user's sign-in name")
    p.add_argument("--role", required=True, help="officer, prosecutor, supervisor, auditor or admin")
    p.add_argument("--authority", action="append", help="authority code (repeatable); default: the node's")
    p.add_argument("--password-stdin", action="store_true",
                   help="read the password from the first line of standard input (else it is asked for at "
                        "the terminal, not shown; left empty, the user signs in with the API token only)")
    p.add_argument("--node-wide", action="store_true",
                   help="an auditor who reads the audit log and person data of every authority of the node")
    p.add_argument("--token-days", type=int, default=None, help="the token's lifetime (PROBATIO_TOKEN_DAYS)")
    p.set_defaults(func=cmd_users_create)
    p = users.add_parser("list", help="show every user: role, authorities, password, API tokens")
    p.set_defaults(func=cmd_users_list)
    p = users.add_parser("set-role", help="change a user's role (every token and session of theirs)")
    p.add_argument("name")
    p.add_argument("role")
    p.set_defaults(func=cmd_users_set_role)
    p = users.add_parser("revoke", help="revoke a user's API tokens and end their page sessions")
    p.add_argument("name")
    p.add_argument("--token", default=None, help="only the token whose digest starts so (see `users tokens`)")
    p.set_defaults(func=cmd_users_revoke)
    p = users.add_parser("tokens", help="list a user's API tokens (digest, created, last used, expiry)")
    p.add_argument("name")
    p.add_argument("--new", action="store_true", help="issue a fresh token and print it")
    p.add_argument("--token-days", type=int, default=None)
    p.set_defaults(func=cmd_users_tokens)

    audit = sub.add_parser("audit", help="the audit log's hash chain").add_subparsers(dest="audit_command",
                                                                                      required=True)
    p = audit.add_parser("verify", help="exit 0 when the audit log is intact; 1 naming the first altered row")
    p.set_defaults(func=cmd_audit_verify)
    p = audit.add_parser("prune", help="delete rows older than five years behind a signed checkpoint (owner URL)")
    p.add_argument("--before", default=None, help="YYYY-MM-DD; default: five years ago")
    p.set_defaults(func=cmd_audit_prune)

    p = sub.add_parser("healthcheck", help="exit 0 when Temporal answers (the worker's liveness probe)")
    p.add_argument("what", nargs="?", default="worker", help="the process to check (worker)")
    p.set_defaults(func=cmd_healthcheck)

    _more_commands(sub)
    return parser


def _more_commands(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Commands that live beside the forms, the scenarios and the benchmarks they run."""
    from bench.cli import register as register_bench
    from forms.cli import register as register_forms
    from probatio.simulate import register as register_simulate

    register_forms(sub)
    register_simulate(sub)
    register_bench(sub)


def main(argv: Sequence[str] | None = None) -> None:
    parser = build_parser()
    args = parser.parse_args(argv)
    sys.exit(args.func(args))


if __name__ == "__main__":
    main()
