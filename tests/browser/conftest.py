"""The browser tests' Chromium: one per test module, skipped where Debian's chromium is not installed."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Browser, async_playwright

from tests.browser.chromium import ARGS, CHROMIUM, MISSING_CHROMIUM, chromium_installed


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    if not chromium_installed():
        pytest.skip(MISSING_CHROMIUM)
    async with async_playwright() as pw:
        chromium = await pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            yield chromium
        finally:
            await chromium.close()
