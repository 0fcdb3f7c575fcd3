"""The production commands an operator types: migrate, users create and list, healthcheck, --version, help,
and the progress bar of `bench`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest
from psycopg.conninfo import make_conninfo

from store.users import password_matches


def probatio(*args: str, env: dict[str, str], stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "probatio", *args], capture_output=True, text=True, timeout=120,
                          env={**os.environ, **env}, input=stdin)


def test_migrate_then_create_users(pg_server: str) -> None:
    url = make_conninfo(pg_server, dbname="cli_tests")
    with psycopg.connect(make_conninfo(pg_server, dbname="postgres"), autocommit=True) as conn:
        conn.execute('DROP DATABASE IF EXISTS "cli_tests"')
        conn.execute('CREATE DATABASE "cli_tests"')
    env = {"PROBATIO_DATABASE_URL": url, "PROBATIO_STATE": "LU"}

    first = probatio("migrate", env=env)
    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith("applied: 0001_cases")
    again = probatio("migrate", env=env)
    assert again.returncode == 0 and "up to date" in again.stdout

    made = probatio("users", "create", "alice", "--role", "prosecutor", "--authority", "LU-PG", env=env)
    assert made.returncode == 0, made.stderr
    token = made.stdout.strip()
    assert token.startswith("prb_") and len(token) > 30
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT role, authorities FROM users WHERE name = 'alice'").fetchone()
        stored = conn.execute("SELECT token_hash FROM api_tokens").fetchall()
    assert row == ("prosecutor", ["LU-PG"])
    assert token not in {r[0] for r in stored}  # only its digest is kept

    wrong = probatio("users", "create", "bob", "--role", "judge", env=env)
    assert wrong.returncode == 2
    assert "role: must be one of" in wrong.stderr
    assert "Traceback" not in wrong.stderr

    # A password never travels on the command line (the process list shows it to everyone): stdin or a prompt.
    secret = "correct horse battery staple"
    argv = probatio("users", "create", "carol", "--role", "officer", "--password", secret, env=env)
    assert argv.returncode == 2 and "unrecognized arguments: --password" in argv.stderr
    made = probatio("users", "create", "carol", "--role", "officer", "--password-stdin", env=env,
                    stdin=secret + "\n")
    assert made.returncode == 0, made.stderr
    assert secret not in made.stdout + made.stderr
    with psycopg.connect(url) as conn:
        stored_hash = conn.execute("SELECT password_hash FROM users WHERE name = 'carol'").fetchone()
    assert stored_hash is not None and password_matches(stored_hash[0], secret)
    empty = probatio("users", "create", "dave", "--role", "officer", "--password-stdin", env=env, stdin="\n")
    assert empty.returncode == 2 and empty.stderr.startswith("password: ")

    listed = probatio("users", "list", env={**env, "COLUMNS": "160"})
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    header = next(line for line in lines if "authorities" in line)
    assert all(word in header for word in ("name", "role", "password", "API tokens"))
    alice = next(line for line in lines if "alice" in line)
    carol = next(line for line in lines if "carol" in line)
    assert "prosecutor" in alice and "LU-PG" in alice and " no " in alice
    assert " yes " in carol
    assert not any("dave" in line for line in lines)


def test_version_and_help_for_people() -> None:
    from probatio import __version__

    version = probatio("--version", env={})
    assert version.returncode == 0 and version.stdout.strip() == f"probatio {__version__}"
    for command in ([], ["dev"], ["users", "create"], ["simulate"], ["certificate", "validate"], ["bench"]):
        shown = probatio(*command, "--help", env={"COLUMNS": "120"})
        assert shown.returncode == 0, shown.stderr
        assert "CONTRACT" not in shown.stdout and "Usage:" in shown.stdout


def test_worker_healthcheck_says_unhealthy_in_one_line() -> None:
    result = probatio("healthcheck", "worker", env={"PROBATIO_TEMPORAL_ADDRESS": "127.0.0.1:1"})
    assert result.returncode == 1
    assert result.stderr.startswith("unhealthy:") and "Traceback" not in result.stderr


def test_the_password_is_asked_for_at_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    import argparse
    import getpass
    import io

    from probatio.cli import _read_password

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    answers: list[str] = []
    monkeypatch.setattr(sys, "stdin", Terminal())
    monkeypatch.setattr(getpass, "getpass", lambda prompt: answers.pop(0))
    args = argparse.Namespace(name="erin", password_stdin=False)
    answers[:] = ["s3cret-enough", "s3cret-enough"]
    assert _read_password(args) == "s3cret-enough"
    answers[:] = ["s3cret-enough", "typo"]
    with pytest.raises(ValueError, match="differ"):
        _read_password(args)
    answers[:] = [""]
    assert _read_password(args) is None  # API token only


def test_the_web_believes_forwarded_headers_only_from_the_trusted_proxies(monkeypatch: pytest.MonkeyPatch) -> None:
    """Behind an ingress, the per-address sign-in limit must count the client the ingress names, not the
    ingress: `probatio web` hands uvicorn the proxies PROBATIO_TRUSTED_PROXIES names (only this host by default)."""
    import argparse

    import uvicorn

    from probatio import cli

    seen: dict[str, object] = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **kwargs: seen.update(kwargs))
    monkeypatch.setattr(cli, "_logging", lambda settings=None: None)
    cli.cmd_web(argparse.Namespace(host=None, port=None))
    assert seen["proxy_headers"] is True and seen["forwarded_allow_ips"] == "127.0.0.1"
    monkeypatch.setenv("PROBATIO_TRUSTED_PROXIES", "10.0.0.0/8")
    cli.cmd_web(argparse.Namespace(host=None, port=None))
    assert seen["forwarded_allow_ips"] == "10.0.0.0/8"


@pytest.mark.parametrize(("argv", "total"), [
    (["lifecycle", "-n", "10", "--warmup", "1"], 1 + 2 * (1 + 10)),  # the stack, each transfer and baseline pair
    (["dashboard", "--cases", "120000", "--samples", "50", "--national"], 1 + 3 + 1 + 1 + 8 * 50),
    (["open-supervisions", "-n", "30", "--breakdown"], 1 + 2 * 30 + 1 + 1 + 3),  # each opened, then settled
    (["render", "--seconds", "3"], 3.0),  # CPU seconds each side
])
def test_each_bench_knows_its_total_from_its_arguments(argv: list[str], total: float) -> None:
    import importlib

    from bench.cli import BENCHMARKS
    from probatio.cli import build_parser

    args = build_parser().parse_args(["bench", *argv])
    assert importlib.import_module(BENCHMARKS[argv[0]]).progress_total(args) == total


def test_bench_fills_a_progress_bar_and_prints_its_result_as_before(monkeypatch: pytest.MonkeyPatch,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    """A real (tiny) run of `bench render`: a bar with its total, not a spinner, filled to that total on
    standard error; on standard output the same lines as without a terminal, the ratio last."""
    from collections.abc import Iterator
    from contextlib import contextmanager

    import bench.cli
    from probatio.cli import build_parser
    from probatio.console import Steps

    totals: list[float | None] = []
    real_progress = bench.cli.progress

    @contextmanager
    def progress(description: str, total: float | None = None) -> Iterator[Steps]:
        totals.append(total)
        with real_progress(description, total) as steps:
            yield steps

    moved: list[float] = []
    real_advance = Steps.advance

    def advance(self: Steps, next_step: str | None = None, *, by: float = 1) -> None:
        moved.append(by)
        real_advance(self, next_step, by=by)

    monkeypatch.setattr(bench.cli, "progress", progress)
    monkeypatch.setattr(Steps, "advance", advance)
    monkeypatch.setenv("TTY_COMPATIBLE", "1")  # standard error counts as a terminal: rich draws the bar
    args = build_parser().parse_args(["bench", "render", "--seconds", "0.05", "--no-record"])
    assert args.func(args) == 0
    out, err = capsys.readouterr()
    assert totals == [0.05] and sum(moved) == pytest.approx(0.05)
    assert "━" in err and "render:" in err  # the bar's line, with what the benchmark is doing
    lines = out.splitlines()
    assert lines[0].startswith("baseline: ReportLab canvas") and lines[1].startswith("probatio: Annex I certificate")
    assert lines[-2].startswith("target ≥ 0.5 per page: ") and lines[-1].startswith("ratio: ")
    assert "━" not in out


def _count_progress(monkeypatch: pytest.MonkeyPatch, module: object, events: list[str] | None = None
                    ) -> tuple[list[float | None], list[float]]:
    """The totals of the bars `module` opens and each advance of any bar (also noted in `events`), counted on
    the way to rich; standard error taken for a terminal (as the bench test above does), so rich draws them."""
    from collections.abc import Iterator
    from contextlib import contextmanager

    from probatio import console
    from probatio.console import Steps

    totals: list[float | None] = []
    moved: list[float] = []
    real_progress, real_advance = console.progress, Steps.advance

    @contextmanager
    def progress(description: str, total: float | None = None) -> Iterator[Steps]:
        totals.append(total)
        with real_progress(description, total) as steps:
            yield steps

    def advance(self: Steps, next_step: str | None = None, *, by: float = 1) -> None:
        moved.append(by)
        if events is not None:
            events.append("advance")
        real_advance(self, next_step, by=by)

    monkeypatch.setattr(module, "progress", progress)
    monkeypatch.setattr(Steps, "advance", advance)
    monkeypatch.setenv("TTY_COMPATIBLE", "1")
    monkeypatch.setenv("COLUMNS", "200")  # room for the whole description beside the bar
    return totals, moved


def _simulation_without_nodes(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """`probatio simulate` as it runs, its Simulation.run included, with what needs Temporal and PostgreSQL
    (the test server, the two nodes, their answers) left out; returns the steps the simulation told of."""
    from typing import Any

    from probatio import simulate
    from probatio.simulate import Simulation, Step

    class Infrastructure:
        async def close(self) -> None:
            pass

    async def open_infrastructure(pg_url: str | None = None) -> Infrastructure:
        return Infrastructure()

    async def enter(self: Simulation) -> Simulation:
        return self

    async def nothing(self: Simulation, *args: object) -> None:
        return None

    async def act(self: Simulation, step: Step) -> tuple[int, Any]:
        return (409, {"detail": "refused"}) if step.expect == "refused" else (200, {"stage": "ok"})

    told: list[str] = []
    monkeypatch.setattr(simulate, "open_infrastructure", open_infrastructure)
    monkeypatch.setattr(Simulation, "__aenter__", enter)
    monkeypatch.setattr(Simulation, "__aexit__", nothing)
    for name in ("create_transfer", "advance_to", "settle", "collect"):
        monkeypatch.setattr(Simulation, name, nothing)
    monkeypatch.setattr(Simulation, "act", act)
    monkeypatch.setattr(Simulation, "check", lambda self: told.append("check"))
    return told


def test_simulate_fills_a_bar_of_its_steps(monkeypatch: pytest.MonkeyPatch,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    """`probatio simulate FILE` at a terminal: a bar of a known total (starting the nodes, each step of the
    scenario, the final check), each advanced once, naming the step; the result on standard output."""
    from probatio import console
    from probatio.cli import build_parser
    from probatio.simulate import load_scenario

    scenario = Path(__file__).parents[1] / "scenarios" / "01-recognised-and-completed.yaml"
    steps = len(load_scenario(scenario).steps)
    assert steps >= 5
    told = _simulation_without_nodes(monkeypatch)
    totals, moved = _count_progress(monkeypatch, console)
    args = build_parser().parse_args(["simulate", str(scenario)])
    assert args.func(args) == 0
    out, err = capsys.readouterr()
    assert totals == [steps + 2] and moved == [1] * (steps + 2)
    assert told == ["check"]
    assert "━" in err and f"{scenario.name}: day 1128: checking the expectations" in err
    assert "PASS: every expectation holds" in out and "━" not in out


def test_simulate_draws_nothing_without_a_terminal(monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    from probatio.cli import build_parser

    scenario = Path(__file__).parents[1] / "scenarios" / "01-recognised-and-completed.yaml"
    _simulation_without_nodes(monkeypatch)
    for name in ("TTY_COMPATIBLE", "FORCE_COLOR", "TTY_INTERACTIVE"):
        monkeypatch.delenv(name, raising=False)
    args = build_parser().parse_args(["simulate", str(scenario)])
    assert args.func(args) == 0
    out, err = capsys.readouterr()
    assert err == "" and out.startswith("scenario: ")


def test_dev_start_up_advances_once_per_step(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    """`probatio dev` at a terminal: a bar of three steps (PostgreSQL and Temporal, the databases and demo
    users, the nodes' processes), each advanced once after its work; the stack itself is left out here
    (tests/node/test_dev_stack.py starts it)."""
    import signal

    from probatio import dev

    events: list[str] = []

    def doing(name: str, answer: object = None) -> object:
        def step(self: dev.DevStack, *args: object, **kwargs: object) -> object:
            events.append(name)
            return answer
        return step

    for name in ("start_services", "start_emulators", "start_nodes", "watch", "shutdown"):
        monkeypatch.setattr(dev.DevStack, name, doing(name))
    monkeypatch.setattr(dev.DevStack, "prepare_nodes", doing("prepare_nodes", {"LU": {}, "BE": {}}))
    monkeypatch.setattr(signal, "signal", lambda signum, handler: None)  # pytest keeps its own Ctrl-C
    totals, moved = _count_progress(monkeypatch, dev, events)
    assert dev.run("LU", "BE", 18765, tmp_path) == 0
    out, err = capsys.readouterr()
    assert totals == [3] and sum(moved) == 3
    assert events == ["start_services", "start_emulators", "advance", "prepare_nodes", "advance", "start_nodes",
                      "advance", "watch", "shutdown"]
    assert "━" in err and "workers and web apps" in err
    assert "probatio dev: LU node: http://127.0.0.1:18765" in out and "━" not in out
