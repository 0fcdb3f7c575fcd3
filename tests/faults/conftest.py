"""Most fault-injection tests take minutes (a killed activity waits out its timeout, PostgreSQL stays
down 30 s): those are marked `proof` and run with `make proof` (PROBATIO_PROOF=1). A peer down for a
(time-skipped) day takes seconds and runs in `make test` too."""

from __future__ import annotations

import os

import pytest


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.environ.get("PROBATIO_PROOF") == "1":
        return
    skip = pytest.mark.skip(reason="a slow fault: runs with `make proof` (PROBATIO_PROOF=1)")
    for item in items:
        if item.get_closest_marker("proof"):
            item.add_marker(skip)
