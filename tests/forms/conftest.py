"""Fixtures for the forms tests: the example documents as JSON-ish dicts, and a fixed today."""

from __future__ import annotations

import argparse
import copy
from collections.abc import Callable
from datetime import date
from typing import Any

import pytest

from forms.cli import register
from forms.examples import example_breach, example_certificate

# After every date in the examples, so "not in the future" holds; fixed so tests never age.
TODAY = date(2026, 6, 1)


@pytest.fixture
def today() -> date:
    return TODAY


@pytest.fixture(scope="session")
def _certificate_json() -> dict[str, Any]:
    return example_certificate().model_dump(mode="json", exclude_none=True)


@pytest.fixture
def cert_data(_certificate_json: dict[str, Any]) -> dict[str, Any]:
    """A fresh copy of the example certificate (LU -> BE) for each test to break."""
    return copy.deepcopy(_certificate_json)


@pytest.fixture
def breach_data() -> dict[str, Any]:
    return example_breach().model_dump(mode="json", exclude_none=True)


@pytest.fixture
def cli() -> Callable[..., int]:
    """Run `probatio <argv>` in-process through forms.cli.register, as the main CLI will."""

    def run(*argv: str) -> int:
        parser = argparse.ArgumentParser(prog="probatio")
        register(parser.add_subparsers(dest="command", required=True))
        try:
            args = parser.parse_args(list(argv))
        except SystemExit as exc:
            return int(exc.code or 0)
        code: int = args.func(args)
        return code

    return run
