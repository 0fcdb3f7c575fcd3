"""The `probatio` command (CONTRACT §1)."""

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
    url = settings.effective_database_url
    if settings.database_url is None:
        ensure_database(url)
    applied = migrate(url)
    print("applied: " + ", ".join(applied) if applied else "the database is up to date")
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    from probatio.node import run_worker

    settings = _settings()
    _logging(settings)
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
    uvicorn.run(create_app(settings), host=args.host or settings.web_host, port=args.port or settings.web_port,
                log_level="warning", proxy_headers=True)
    return 0


def cmd_users_create(args: argparse.Namespace) -> int:
    import psycopg

    from store.users import ROLES, create_user

    if args.role not in ROLES:
        print(f"role: must be one of {', '.join(ROLES)}", file=sys.stderr)
        return 2
    settings = _settings()
    authorities = args.authority or [settings.node_authority]
    with psycopg.connect(settings.effective_database_url, autocommit=True) as conn:
        token = create_user(conn, args.name, args.role, authorities, args.password)
    print(token)
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
    parser = argparse.ArgumentParser(prog="probatio", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("dev", help="the embedded stack: PostgreSQL, Temporal, worker and web for one or two nodes")
    p.add_argument("--state", default="LU")
    p.add_argument("--peer", default=None, help="a second node for another state, on port+1")
    p.add_argument("--link", choices=("nodelink", "ecodex"), default="nodelink",
                   help="how the two nodes reach each other: the signed node link, or e-CODEX through two "
                        "connector-client emulators (needs a source checkout; the peer defaults to BE)")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--home", default=".probatio")
    p.add_argument("--pg-port", type=int, default=EMBEDDED_PG_PORT)
    p.add_argument("--temporal-port", type=int, default=EMBEDDED_TEMPORAL_PORT)
    p.add_argument("--temporal-ui-port", type=int, default=EMBEDDED_TEMPORAL_UI_PORT, help="0: no Temporal UI")
    p.set_defaults(func=cmd_dev)

    p = sub.add_parser("temporal", help="only the embedded Temporal dev server, in the foreground")
    p.add_argument("--port", type=int, default=EMBEDDED_TEMPORAL_PORT)
    p.add_argument("--ui-port", type=int, default=None)
    p.add_argument("--home", default=".probatio")
    p.set_defaults(func=cmd_temporal)

    p = sub.add_parser("db", help="only the embedded PostgreSQL, in the foreground")
    p.add_argument("--port", type=int, default=EMBEDDED_PG_PORT)
    p.add_argument("--home", default=".probatio")
    p.set_defaults(func=cmd_db)

    sub.add_parser("migrate", help="apply database migrations (idempotent)").set_defaults(func=cmd_migrate)
    sub.add_parser("worker", help="the Temporal worker of this node").set_defaults(func=cmd_worker)
    p = sub.add_parser("web", help="the web app and API of this node")
    p.add_argument("--host", default=None)
    p.add_argument("--port", type=int, default=None)
    p.set_defaults(func=cmd_web)

    users = sub.add_parser("users", help="manage users").add_subparsers(dest="users_command", required=True)
    p = users.add_parser("create", help="create a user and print an API token")
    p.add_argument("name")
    p.add_argument("--role", required=True)
    p.add_argument("--authority", action="append", help="authority code (repeatable); default: the node's")
    p.add_argument("--password", default=None, help="password for the sign-in page (optional)")
    p.set_defaults(func=cmd_users_create)

    p = sub.add_parser("healthcheck", help="exit 0 when Temporal answers (worker probe)")
    p.add_argument("what", nargs="?", default="worker")
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
