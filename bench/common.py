"""What the benchmarks share: the embedded stack, the machine's description, percentiles, results."""

from __future__ import annotations

import os
import platform
import re
import shutil
import statistics
import sys
import tempfile
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # imported when a benchmark runs, not when the CLI is built
    from temporalio.client import Client
    from temporalio.testing import WorkflowEnvironment

RESULTS = Path(__file__).with_name("RESULTS.md")


@dataclass
class Outcome:
    """What one benchmark run found: measurements, the ratio against its baseline, and the target."""

    name: str
    params: str
    lines: list[str]
    ratio: float
    target: str
    met: bool
    notes: list[str] = field(default_factory=list)


@dataclass
class Stack:
    """The embedded PostgreSQL server and Temporal dev server, in a temporary directory."""

    home: Path
    pg_url: str
    pg_port: int
    temporal: WorkflowEnvironment
    temporal_address: str
    temporal_port: int

    @property
    def client(self) -> Client:
        return self.temporal.client


@asynccontextmanager
async def embedded_stack(prefix: str) -> AsyncIterator[Stack]:
    from temporalio.common import SearchAttributeKey
    from temporalio.contrib.pydantic import pydantic_data_converter
    from temporalio.testing import WorkflowEnvironment

    from probatio import embedded

    keys: list[SearchAttributeKey[Any]] = [
        SearchAttributeKey.for_keyword("TransferStage"), SearchAttributeKey.for_keyword("IssuingState"),
            SearchAttributeKey.for_keyword("ExecutingState"), SearchAttributeKey.for_datetime("DecisionDue")]
    home = Path(tempfile.mkdtemp(prefix=f"probatio-bench-{prefix}-"))
    port = embedded.free_port()
    pg = embedded.start_postgres(home / "postgres", port=port, log=home / "postgres.log")
    temporal_port = embedded.free_port()
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(embedded.temporal_binary()), search_attributes=keys,
        data_converter=pydantic_data_converter, ui=False, dev_server_log_level="error", port=temporal_port,
    )
    try:
        yield Stack(home=home, pg_url=f"postgresql://postgres@127.0.0.1:{port}", pg_port=port, temporal=env,
                    temporal_address=f"127.0.0.1:{temporal_port}", temporal_port=temporal_port)
    finally:
        await env.shutdown()
        embedded.stop([pg])
        shutil.rmtree(home, ignore_errors=True)


def percentile(values: Sequence[float], p: float) -> float:
    """The p-th percentile (0-100), nearest-rank; what a p95 on a dashboard means."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = max(1, min(len(ordered), round(p / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def describe_times(label: str, values: Sequence[float]) -> str:
    return (f"{label}: p50 {ms(statistics.median(values))}, p95 {ms(percentile(values, 95))}, "
            f"max {ms(max(values))} ({len(values)} samples)")


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        text = Path("/proc/cpuinfo").read_text()
        found = re.search(r"model name\s*:\s*(.+)", text)
        if found:
            cpu = found.group(1).strip()
    except OSError:
        pass
    try:
        import psutil  # type: ignore[import-untyped]

        memory = f"{psutil.virtual_memory().total / 2**30:.1f} GiB RAM"
        cores = f"{psutil.cpu_count(logical=True)} logical cores ({len(os.sched_getaffinity(0))} usable)"
    except Exception:  # psutil is a dev dependency; the description is still useful without it
        memory, cores = "RAM unknown", f"{os.cpu_count()} cores"
    return (f"{cpu}, {cores}, {memory}; {platform.system()} {platform.release()}; "
            f"Python {sys.version.split()[0]}")


def record(outcome: Outcome, path: Path = RESULTS) -> None:
    """Replace this benchmark's section of RESULTS.md (the others are kept)."""
    begin, end = f"<!-- bench:{outcome.name} -->", f"<!-- /bench:{outcome.name} -->"
    body = [
        begin,
        f"## {outcome.name}",
        "",
        f"Run {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')} — `probatio bench {outcome.name} {outcome.params}`"
        .rstrip() + "",
        "",
        f"Machine: {machine()}",
        "",
        *[f"- {line}" for line in outcome.lines],
        "",
        f"**ratio: {outcome.ratio:.3g}** (target {outcome.target}: {'met' if outcome.met else 'NOT met'})",
    ]
    if outcome.notes:
        body += ["", *outcome.notes]
    body.append(end)
    section = "\n".join(body)
    text = path.read_text(encoding="utf-8") if path.exists() else (
        "# Benchmark results\n\nWritten by `probatio bench NAME`; each section is replaced when that benchmark "
        "runs again. Every ratio is measured against a baseline run on the same machine in the same run.\n")
    if begin in text and end in text:
        head, rest = text.split(begin, 1)
        _, tail = rest.split(end, 1)
        text = head + section + tail
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    path.write_text(text, encoding="utf-8")


# Where a run's CPU goes: every process of the machine's user, grouped by what it is (its command line).
# The first group whose words are all in the command line names it; the benchmark's own process is "driver".
CPU_GROUPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Temporal server", ("temporal", "server", "start-dev")),
    ("workers", ("-m probatio worker",)),
    ("web", ("-m probatio web",)),
    ("PDF rendering", ("multiprocessing.spawn",)),
    ("PostgreSQL", ("postgres",)),
    ("baseline worker", ("bench._worker",)),
)


def _cpu_group(command: str) -> str | None:
    for name, words in CPU_GROUPS:
        if all(word in command for word in words):
            return name
    return None


class CpuMeter:
    """CPU seconds spent by each group of processes between two readings (psutil, a dev dependency; without
    it the meter reads nothing). A process that ends between two readings is not counted: the benchmarks'
    processes live through the whole run."""

    def __init__(self) -> None:
        self.spent: dict[str, float] = {}
        self._last: dict[int, tuple[str, float]] = {}

    def _read(self) -> dict[int, tuple[str, float]]:
        try:
            import psutil
        except ImportError:
            return {}
        me = os.getpid()
        seen: dict[int, tuple[str, float]] = {}
        for proc in psutil.process_iter(["pid", "cmdline"]):
            try:
                group = "driver" if proc.pid == me else _cpu_group(" ".join(proc.info["cmdline"] or []))
                if group is not None:
                    times = proc.cpu_times()
                    seen[proc.pid] = (group, times.user + times.system)
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                continue
        return seen

    def start(self) -> None:
        self._last = self._read()

    def stop(self) -> None:
        """Add what each group spent since `start`."""
        now = self._read()
        for pid, (group, seconds) in now.items():
            before = self._last.get(pid, (group, 0.0))[1]
            self.spent[group] = self.spent.get(group, 0.0) + max(0.0, seconds - before)
        self._last = now

    @property
    def total(self) -> float:
        return sum(self.spent.values())

    def describe(self, label: str, count: int, wall_seconds: float) -> str:
        """CPU per unit by group, largest first, and how much of the machine the run kept busy."""
        total = self.total
        cores = len(os.sched_getaffinity(0))
        parts = ", ".join(f"{group} {1000 * seconds / count:.0f}"
                          for group, seconds in sorted(self.spent.items(), key=lambda kv: -kv[1])
                          if seconds * 1000 / count >= 0.5)
        busy = 100 * total / (cores * wall_seconds) if wall_seconds else 0.0
        return (f"{label}: CPU ms per transfer — {parts}; total {1000 * total / count:.0f} "
                f"({busy:.0f}% of {cores} cores)")
