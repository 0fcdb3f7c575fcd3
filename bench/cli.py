"""`probatio bench NAME`: one benchmark; its last line is `ratio: X` against a baseline of the same run."""

from __future__ import annotations

import argparse
import asyncio
import importlib
from collections.abc import Callable, Coroutine
from typing import Any

from rich_argparse import RawDescriptionRichHelpFormatter

from bench.common import Outcome, record
from probatio.console import Steps, progress

# name -> module in bench/ with `add_arguments(parser)`, `progress_total(args)` (the steps its run reports: the
# transfers, samples, supervisions or CPU seconds its arguments ask for) and `async run(args, steps) -> Outcome`.
BENCHMARKS = {
    "lifecycle": "bench.lifecycle",
    "dashboard": "bench.dashboard",
    "render": "bench.render",
    "open-supervisions": "bench.open_supervisions",
}


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser("bench", help="a benchmark; its last line is a ratio against a baseline",
                                   description=__doc__)
    names = parser.add_subparsers(dest="benchmark", required=True)
    for name, module_name in BENCHMARKS.items():
        module = importlib.import_module(module_name)
        sub = names.add_parser(name, help=(module.__doc__ or "").strip().splitlines()[0],
                               description=module.__doc__, formatter_class=RawDescriptionRichHelpFormatter)
        module.add_arguments(sub)
        sub.add_argument("--no-record", action="store_true", help="do not write bench/RESULTS.md")
        sub.set_defaults(func=_command(name, module.run, module.progress_total))


Run = Callable[[argparse.Namespace, Steps], Coroutine[Any, Any, Outcome]]


def _command(name: str, run: Run, progress_total: Callable[[argparse.Namespace], float]) -> Callable[[Any], int]:
    def command(args: argparse.Namespace) -> int:
        # A benchmark runs for minutes with nothing to say until its result: the bar shows how far it is, out
        # of a total its arguments fix before it starts (on standard error, so the printed result is as before).
        with progress(f"bench {name}: starting", total=progress_total(args)) as steps:
            outcome = asyncio.run(run(args, steps))
        for line in outcome.lines:
            print(line)
        for note in outcome.notes:
            print(note)
        print(f"target {outcome.target}: {'met' if outcome.met else 'NOT met'}")
        if not args.no_record:
            record(outcome)
        print(f"ratio: {outcome.ratio:.3g}", flush=True)
        return 0

    return command
