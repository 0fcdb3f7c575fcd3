"""Constants shared by the adapter tests (importable as ``tests.adapters.common``)."""

from __future__ import annotations

from datetime import UTC, datetime

NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
"""The receiving node's clock in every test: a Monday morning."""
