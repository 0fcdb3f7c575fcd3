"""Nodes in one process: each with its own database, task queue, worker and web app on a loopback port,
linked by the node-link adapter over real HTTP. Used by `probatio simulate` and the integration tests."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psycopg
import uvicorn
import yaml
from psycopg.conninfo import make_conninfo
from temporalio.client import Client
from temporalio.worker import Worker

from adapters.directory import Directory
from adapters.keys import load_or_create_private_key, public_key_to_text
from adapters.seal import NodeSeal
from probatio.embedded import free_port
from probatio.node import Node
from probatio.settings import Settings, database_name
from store.db import ensure_app_login, ensure_database, migrate, open_pool
from store.users import create_user

ROLES = ("officer", "prosecutor", "supervisor", "auditor", "admin")


@dataclass
class LocalNode:
    state: str
    node: Node
    url: str
    tokens: dict[str, str]
    server: uvicorn.Server
    # The owner's URL (migrations, maintenance, tests that play the superuser); the node uses the app's.
    owner_url: str = ""
    tasks: list[asyncio.Task[Any]] = field(default_factory=list)
    worker: Worker | None = None


@dataclass
class LocalNodes:
    nodes: dict[str, LocalNode]

    def __getitem__(self, state: str) -> LocalNode:
        return self.nodes[state]

    async def stop(self) -> None:
        for n in self.nodes.values():
            n.server.should_exit = True
            if n.worker is not None:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(n.worker.shutdown(), timeout=10)
            for t in n.tasks:
                with contextlib.suppress(BaseException):
                    await asyncio.wait_for(t, timeout=10)
            await n.node.close()


# One password per process for the application's login role: nodes started one after another on the same
# server (a test session) share the role, and a pool opened earlier must still be able to connect.
_APP_PASSWORD = secrets.token_urlsafe(24)


def app_database(owner_url: str) -> str:
    """The URL the node's web app and worker use: the least-privileged login role, as in production."""
    return ensure_app_login(owner_url, _APP_PASSWORD)


def fresh_database(server_url: str, name: str) -> str:
    """A new, migrated database on the given server (dropped first if it exists)."""
    url = make_conninfo(server_url, dbname=name)
    with psycopg.connect(make_conninfo(server_url, dbname="postgres"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    ensure_database(url)
    migrate(url)
    return url


def write_directory(home: Path, urls: dict[str, str], routes: dict[str, dict[str, Any]] | None = None,
                    authorities: dict[str, list[str]] | None = None,
                    other_nodes: dict[str, dict[str, str]] | None = None) -> Path:
    """Keys for each node and the directory that links them, as `probatio dev` writes them. `routes` replaces
    how a state is reached (adapter and options), e.g. BE over e-CODEX instead of the node link; `authorities`
    adds further competent authorities of a state served by the same node, `other_nodes` authorities served
    by a node of their own at the URL given (Art 6(7) forwarding). A state's nodes share its signing key."""
    home.mkdir(parents=True, exist_ok=True)
    directory: dict[str, Any] = {"states": {}}
    for s, url in urls.items():
        key = load_or_create_private_key(home / "keys" / f"{s}.pem")
        # Each node's seal (created here where absent, self-signed) is the others' trust anchor for it.
        seal = NodeSeal.from_files(s, home / "keys" / f"{s}-seal.key", home / "keys" / f"{s}-seal.crt")
        directory["states"][s] = {
            "public_key": public_key_to_text(key.public_key()),
            "seal_trust_anchors": [seal.certificate_pem],
            "authorities": [{"code": s, "name": f"probatio node {s}", "adapter": "nodelink",
                             "options": {"url": f"{url}/api/v1/inbox", "timeout_seconds": 30}}],
        }
        if routes and s in routes:
            directory["states"][s]["authorities"][0].update(routes[s])
        for code in (authorities or {}).get(s, []):
            directory["states"][s]["authorities"].append(
                {**directory["states"][s]["authorities"][0], "code": code, "name": f"{code} (served by node {s})"})
        for code, other_url in (other_nodes or {}).get(s, {}).items():
            directory["states"][s]["authorities"].append(
                {"code": code, "name": f"{code} (a node of its own)", "adapter": "nodelink",
                 "options": {"url": f"{other_url}/api/v1/inbox", "timeout_seconds": 30}})
    path = home / "directory.yaml"
    path.write_text("# Written by probatio: the local nodes and their keys.\n" + yaml.safe_dump(directory),
                    encoding="utf-8")
    return path


async def start_nodes(client: Client, server_url: str, states: list[str], home: Path, *,
                      db_prefix: str = "", settings_overrides: dict[str, Any] | None = None,
                      routes: dict[str, dict[str, Any]] | None = None,
                      ports: dict[str, int] | None = None,
                      authorities: dict[str, list[str]] | None = None,
                      other_nodes: dict[str, list[str]] | None = None,
                      peers: dict[str, str] | None = None) -> LocalNodes:
    """Start one node per state against `client`'s Temporal server and the PostgreSQL at `server_url`.
    `authorities`: further authorities a node serves; each gets its own users (tokens `ROLE@AUTHORITY`).
    `other_nodes`: further authorities of a state with a node of their own (`{BE: [BE-ANT]}`), found in the
    result under the authority's code; each works in a Temporal namespace of its own, as separate nodes do.
    `peers`: further states in the directory (keys made in `home`), reached at the given URL and not started
    here (a fake peer of a benchmark or a test)."""
    extra = {code: s for s, codes in (other_nodes or {}).items() for code in codes}
    ports = {s: (ports or {}).get(s) or free_port() for s in [*states, *extra]}
    urls = {s: f"http://127.0.0.1:{ports[s]}" for s in states} | (peers or {})
    directory_file = write_directory(home, urls, routes, authorities,
                                     {s: {code: f"http://127.0.0.1:{ports[code]}" for code in codes}
                                      for s, codes in (other_nodes or {}).items()})

    from web.app import create_app

    nodes: dict[str, LocalNode] = {}
    for name in [*states, *extra]:
        s = extra.get(name, name)
        owner_url = fresh_database(server_url, db_prefix + database_name(name))
        url = app_database(owner_url)
        own: dict[str, Any] = {"authority": name, "temporal_namespace": name.lower()} if name in extra else {}
        # Each group of nodes on the shared test server has task queues of its own (by its databases' prefix):
        # a workflow left running by an earlier group is never taken up by a later group's workers.
        queues: dict[str, Any] = {"task_queue_prefix": f"probatio-{db_prefix.rstrip('_')}"} if db_prefix else {}
        settings = Settings(state=s, home=home, database_url=url, database_owner_url=owner_url,
                            web_port=ports[name], signing_key_file=home / "keys" / f"{s}.pem",
                            directory_file=directory_file, **own, **queues, **(settings_overrides or {}))
        tokens = {}
        with psycopg.connect(url, autocommit=True) as conn:
            for role in ROLES:
                tokens[role] = create_user(conn, role, role, [settings.node_authority], "demo")
                for code in (authorities or {}).get(name, []):
                    tokens[f"{role}@{code}"] = create_user(conn, f"{role}@{code}", role, [code], "demo")
        pool = open_pool(url)
        await pool.open(wait=True)
        node_client = (Client(client.service_client, namespace=settings.temporal_namespace,
                              data_converter=client.data_converter) if name in extra else client)
        node = Node(settings=settings, pool=pool, client=node_client, directory=Directory.load(directory_file))
        # A long keep-alive: otherwise a client reusing a connection the server just closed sees a ReadError.
        config = uvicorn.Config(create_app(node=node), host="127.0.0.1", port=ports[name], log_level="warning",
                                lifespan="on", timeout_keep_alive=75)
        server = uvicorn.Server(config)
        local = LocalNode(state=s, node=node, url=f"http://127.0.0.1:{ports[name]}", tokens=tokens, server=server,
                          owner_url=owner_url)
        local.tasks.append(asyncio.create_task(server.serve()))
        local.worker = node.worker()
        local.tasks.append(asyncio.create_task(local.worker.run()))
        nodes[name] = local
    for local in nodes.values():
        for _ in range(200):
            if local.server.started:
                break
            await asyncio.sleep(0.05)
        else:
            raise RuntimeError(f"the {local.state} web app did not start")
    return LocalNodes(nodes)


async def attach_example_judgment(http: httpx.AsyncClient, url: str, case_id: str,
                                  headers: dict[str, str]) -> httpx.Response:
    """Attach the project's example judgment (Art 6(1)) to a transfer through the API, as an officer would:
    what every simulated and tested transfer carries before its first step."""
    from forms.examples import EXAMPLE_JUDGMENT_FILENAME, EXAMPLE_JUDGMENT_LANGUAGE, example_judgment_pdf

    return await http.post(f"{url}/api/v1/transfers/{case_id}/documents", headers=headers,
                           data={"kind": "judgment", "language": EXAMPLE_JUDGMENT_LANGUAGE},
                           files={"file": (EXAMPLE_JUDGMENT_FILENAME, example_judgment_pdf(), "application/pdf")})
