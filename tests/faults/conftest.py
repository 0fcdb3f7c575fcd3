"""The fault-injection tests take minutes (a killed activity waits out its 2-minute timeout, PostgreSQL
stays down 30 s): they run with `make proof` (PROBATIO_PROOF=1), not in `make test`."""

from __future__ import annotations

import os

import pytest


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.environ.get("PROBATIO_PROOF") == "1":
        return
    skip = pytest.mark.skip(reason="fault injection runs with `make proof` (PROBATIO_PROOF=1)")
    for item in items:
        if "tests/faults/" in str(item.fspath):
            item.add_marker(skip)
