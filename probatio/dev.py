"""`probatio dev`: the embedded stack on one machine — PostgreSQL, the Temporal dev server, and for each
node (the state, and with --peer a second one) its worker and web app, linked over HTTP.

With ``--link ecodex`` the two nodes are linked through e-CODEX instead of the node link: each node gets its
own connector-client emulator (the fake of tests/adapters/fake_connector.py, built from the connector
client's source, so this needs a source checkout), and the two emulators relay to each other as the two
gateways would. Each node's worker polls its emulator (the e-CODEX poll schedule), so a whole transfer can
be tried over e-CODEX on one machine. The emulators keep their messages in memory: a restart forgets what
was in flight.

Every child dies with the supervisor (even on kill -9), data stays in `.probatio/`, and a later start
finds no stale lock or pid file in its way.
"""

from __future__ import annotations

import functools
import json
import os
import secrets
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psycopg

from probatio import embedded
from probatio.console import progress
from probatio.harness import write_directory
from probatio.settings import (
    APP_PASSWORD_FILE,
    EMBEDDED_PG_PORT,
    EMBEDDED_TEMPORAL_PORT,
    EMBEDDED_TEMPORAL_UI_PORT,
    embedded_app_database_url,
    embedded_database_url,
)
from store.db import ensure_app_login, ensure_database, migrate
from store.users import create_or_issue, token_is_valid

DEMO_ROLES = ("officer", "prosecutor", "supervisor", "auditor", "admin")
DEMO_PASSWORD = "demo"  # noqa: S105 - dev only: printed on start, never used by `probatio web` in production


@dataclass
class NodeSpec:
    state: str
    port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


# The parties the emulators' gateways use: the state's code plus "-GW" (the P-Mode's party ids in real life).
def gateway_party(state: str) -> str:
    return f"{state}-GW"


@dataclass
class DevStack:
    home: Path
    nodes: list[NodeSpec]
    link: str = "nodelink"
    emulators: dict[str, Any] = field(default_factory=dict)
    pg_port: int = EMBEDDED_PG_PORT
    temporal_port: int = EMBEDDED_TEMPORAL_PORT
    temporal_ui_port: int | None = EMBEDDED_TEMPORAL_UI_PORT
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)
    node_procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    @property
    def logs(self) -> Path:
        return self.home / "logs"

    def database_url(self, state: str) -> str:
        """The owner's URL: migrations and the demo users. The nodes themselves get `app_database_url`."""
        return embedded_database_url(state, self.pg_port)

    def app_database_url(self, state: str) -> str:
        return embedded_app_database_url(state, self.home, self.pg_port)

    def app_password(self) -> str:
        """Generated on the first start, kept (0600) in the home so restarts and `probatio web` find it."""
        path = self.home / APP_PASSWORD_FILE
        if not path.exists():
            self.home.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_urlsafe(24) + "\n", encoding="utf-8")
            path.chmod(0o600)
        return path.read_text(encoding="utf-8").strip()

    def start_services(self) -> None:
        self.logs.mkdir(parents=True, exist_ok=True)
        say(f"PostgreSQL 16 (embedded) on 127.0.0.1:{self.pg_port}, data in {self.home / 'postgres'}")
        self.procs.append(embedded.start_postgres(self.home / "postgres", port=self.pg_port,
                                                  log=self.logs / "postgres.log"))
        say(f"Temporal dev server on 127.0.0.1:{self.temporal_port}, data in {self.home / 'temporal'}")
        self.procs.append(embedded.start_temporal(self.home / "temporal", port=self.temporal_port,
                                                  ui_port=self.temporal_ui_port, log=self.logs / "temporal.log"))

    def prepare_nodes(self) -> dict[str, Any]:
        """Databases, migrations, signing keys, the shared directory, demo users and their tokens."""
        password = self.app_password()
        for spec in self.nodes:
            url = self.database_url(spec.state)
            ensure_database(url)
            migrate(url)
            ensure_app_login(url, password)
        self.write_directory()
        return self.write_credentials()

    def key_file(self, state: str) -> Path:
        return self.home / "keys" / f"{state}.pem"

    def write_directory(self) -> Path:
        return write_directory(self.home, {spec.state: spec.url for spec in self.nodes}, self.routes())

    def start_emulators(self) -> None:
        """For --link ecodex: one connector-client emulator per node, linked as two gateways."""
        if self.link != "ecodex":
            return
        try:
            from tests.adapters.fake_connector import FakeConnector
        except ImportError as err:  # an installed wheel has no tests/
            raise embedded.EmbeddedError("--link ecodex needs a source checkout (tests/adapters/fake_connector.py)"
                                         ) from err
        for spec in self.nodes:
            self.emulators[spec.state] = FakeConnector(party_id=gateway_party(spec.state)).start()
        first, second = (self.emulators[spec.state] for spec in self.nodes)
        first.link(second)
        for state, emulator in self.emulators.items():
            say(f"{state} e-CODEX connector-client emulator on {emulator.url} (gateway party {emulator.party_id})")

    def routes(self) -> dict[str, dict[str, Any]] | None:
        """With e-CODEX, a state is reached through the *other* node's connector client (one shared directory):
        the entry of each state names the emulator of the node that sends to it."""
        if self.link != "ecodex":
            return None
        routes: dict[str, dict[str, Any]] = {}
        for spec in self.nodes:
            sender = next(n for n in self.nodes if n.state != spec.state)
            routes[spec.state] = {"adapter": "ecodex", "options": {
                "connector_url": self.emulators[sender.state].url, "to_party_id": gateway_party(spec.state),
                "original_sender": f"{sender.state}-authority", "final_recipient": f"{spec.state}-authority"}}
        return routes

    def check_connector_timeouts(self) -> None:
        """The connectors' hourly evidence time-out check (relay 12 h, delivery 24 h, retrieval 36 h)."""
        from datetime import UTC, datetime

        for emulator in self.emulators.values():
            for backend_id, evidence in emulator.check_timeouts(datetime.now(UTC)):
                say(f"e-CODEX emulator {emulator.party_id}: {evidence} for {backend_id} (connector time-out)")

    def write_credentials(self) -> dict[str, Any]:
        path = self.home / "dev-credentials.json"
        old: dict[str, Any] = json.loads(path.read_text()) if path.exists() else {}
        creds: dict[str, Any] = {}
        for spec in self.nodes:
            tokens: dict[str, str] = {}
            with psycopg.connect(self.database_url(spec.state), autocommit=True) as conn:
                for role in DEMO_ROLES:
                    previous = old.get(spec.state, {}).get("tokens", {}).get(role)
                    if previous and token_is_valid(conn, previous):
                        tokens[role] = previous
                    else:
                        tokens[role] = create_or_issue(conn, role, role, [spec.state], DEMO_PASSWORD)
            creds[spec.state] = {"url": spec.url, "tokens": tokens}
        path.write_text(json.dumps(creds, indent=2) + "\n", encoding="utf-8")
        path.chmod(0o600)
        return creds

    def node_env(self, spec: NodeSpec) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PROBATIO_")}
        env.update({
            "PROBATIO_STATE": spec.state,
            "PROBATIO_HOME": str(self.home),
            "PROBATIO_DATABASE_URL": self.app_database_url(spec.state),
            "PROBATIO_TEMPORAL_ADDRESS": f"127.0.0.1:{self.temporal_port}",
            "PROBATIO_WEB_PORT": str(spec.port),
            "PROBATIO_SIGNING_KEY_FILE": str(self.key_file(spec.state)),
            "PROBATIO_DIRECTORY_FILE": str(self.home / "directory.yaml"),
            "PROBATIO_PUBLIC_URL": spec.url,
        })
        if self.link == "ecodex":
            env["PROBATIO_ECODEX_POLL_SECONDS"] = "5"  # snappier than production's 30 s
        for name in ("PROBATIO_DUTY_WORKING_DAYS", "PROBATIO_LOG_FORMAT", "PROBATIO_ECODEX_POLL_SECONDS"):
            if name in os.environ:
                env[name] = os.environ[name]
        return env

    def start_node(self, spec: NodeSpec, what: str) -> subprocess.Popen[bytes]:
        proc = embedded.spawn([sys.executable, "-m", "probatio", what], env=self.node_env(spec),
                              log=self.logs / f"{spec.state.lower()}-{what}.log")
        self.node_procs[f"{spec.state}:{what}"] = proc
        return proc

    def start_nodes(self, processes: tuple[str, ...] = ("worker", "web")) -> None:
        """Each node's processes (a worker and a web app), then wait until every web app started is healthy."""
        self.logs.mkdir(parents=True, exist_ok=True)
        for spec in self.nodes:
            for what in processes:
                self.start_node(spec, what)
        for spec in self.nodes if "web" in processes else ():
            web = self.node_procs[f"{spec.state}:web"]
            embedded.wait_until(functools.partial(healthy, spec.url), timeout=120, what=f"the {spec.state} web app",
                                proc=web, log=self.logs / f"{spec.state.lower()}-web.log")

    def watch(self, stop: list[bool]) -> None:
        """Restart a node process that died; stop when asked."""
        restarts: dict[str, int] = {}
        last_check = time.monotonic()
        while not stop[0]:
            time.sleep(0.5)
            if self.emulators and time.monotonic() - last_check > 3600:
                last_check = time.monotonic()
                self.check_connector_timeouts()
            for key, proc in list(self.node_procs.items()):
                if proc.poll() is None or stop[0]:
                    continue
                state, what = key.split(":")
                restarts[key] = restarts.get(key, 0) + 1
                if restarts[key] > 5:
                    say(f"{key} keeps dying (see {self.logs}); stopping")
                    stop[0] = True
                    break
                say(f"{key} exited with {proc.returncode}; restarting (see {self.logs})")
                spec = next(n for n in self.nodes if n.state == state)
                self.start_node(spec, what)
            for proc in self.procs:
                if proc.poll() is not None and not stop[0]:
                    say(f"an embedded service exited with {proc.returncode} (see {self.logs}); stopping")
                    stop[0] = True

    def shutdown(self) -> None:
        embedded.stop(list(self.node_procs.values()))
        embedded.stop(self.procs)
        for emulator in self.emulators.values():
            emulator.stop()


def healthy(url: str) -> bool:
    try:
        return httpx.get(f"{url}/healthz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def say(text: str) -> None:
    print(f"probatio dev: {text}", flush=True)


def run(state: str, peer: str | None, port: int, home: Path, *, pg_port: int = EMBEDDED_PG_PORT,
        temporal_port: int = EMBEDDED_TEMPORAL_PORT, temporal_ui_port: int | None = EMBEDDED_TEMPORAL_UI_PORT,
        link: str = "nodelink") -> int:
    nodes = [NodeSpec(state, port)] + ([NodeSpec(peer, port + 1)] if peer else [])
    stack = DevStack(home=home.resolve(), nodes=nodes, pg_port=pg_port, temporal_port=temporal_port,
                     temporal_ui_port=temporal_ui_port, link=link)
    stop = [False]

    def _on_signal(signum: int, _frame: object) -> None:
        stop[0] = True

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    try:
        with progress("starting PostgreSQL and Temporal", total=3) as steps:
            stack.start_services()
            stack.start_emulators()
            steps.advance("databases, migrations, keys and demo users")
            creds = stack.prepare_nodes()
            steps.advance("workers and web apps (waiting until each answers)")
            stack.start_nodes()
            steps.advance()
        print()
        for spec in nodes:
            say(f"{spec.state} node: {spec.url}  (API {spec.url}/docs)")
        if link == "ecodex":
            say("the nodes are linked through e-CODEX (two connector-client emulators relaying as gateways)")
        if stack.temporal_ui_port:
            say(f"Temporal UI: http://127.0.0.1:{stack.temporal_ui_port}")
        say(f"sign in as officer, prosecutor, supervisor, auditor or admin with password '{DEMO_PASSWORD}'")
        say(f"API tokens: {home / 'dev-credentials.json'}  ({', '.join(creds)})")
        say("Ctrl-C stops everything; data is kept in " + str(home))
        stack.watch(stop)
    except embedded.EmbeddedError as err:
        say(str(err))
        return 1
    finally:
        say("stopping")
        stack.shutdown()
    return 0
