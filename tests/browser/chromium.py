"""What the browser tests share: Debian's Chromium driven by Playwright, signing in as a demo user, and the
checks every page passes (no sideways scrolling, no axe-core violation), with screenshots for a human eye
in test-artifacts/browser/<folder>/. The `browser` fixture is in conftest.py."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, Page

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]
AXE = ROOT / "test-tools" / "node_modules" / "axe-core" / "axe.min.js"  # `make axe-core`
WIDTHS = (1366, 390)
MISSING_CHROMIUM = "Chromium is not installed (make test installs it: apt-get install chromium)"


def chromium_installed() -> bool:
    return Path(CHROMIUM).exists()


def artifacts(folder: str = "") -> Path:
    """The folder a test's screenshots go to (made if absent)."""
    path = ROOT / "test-artifacts" / "browser" / folder
    path.mkdir(parents=True, exist_ok=True)
    return path


async def sign_in(browser: Browser, url: str, name: str, width: int = 1360, *, for_axe: bool = False) -> Page:
    """A fresh browser signed in as the demo user `name`. Any dialog fails the test: it would mean that script
    we did not write ran (markup typed into a field). `for_axe`: the page lets the test inject axe-core (the
    pages themselves allow no inline script)."""
    context = await browser.new_context(viewport={"width": width, "height": 900}, bypass_csp=for_axe)
    page = await context.new_page()
    page.on("dialog", lambda d: pytest.fail(f"a script ran: dialog {d.message!r}"))
    await page.goto(f"{url}/login")
    await page.get_by_label("User name").fill(name)
    await page.get_by_label("Password").fill("demo")
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_load_state()
    assert "/login" not in page.url, await page.content()
    return page


async def shot(page: Page, folder: str, name: str) -> None:
    await page.screenshot(path=str(artifacts(folder) / f"{name}.png"), full_page=True)


async def axe_violations(page: Page) -> list[dict[str, Any]]:
    """axe-core's violations on the page as it is now (the test is skipped where axe-core is not installed)."""
    if not AXE.exists():
        pytest.skip("axe-core is not installed (make axe-core)")
    await page.add_script_tag(path=str(AXE))
    violations: list[dict[str, Any]] = await page.evaluate(
        "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
        ".map(v => ({id: v.id, help: v.help, nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))}))")
    return violations


async def check_page(page: Page, folder: str, name: str) -> None:
    """Screenshot, no sideways scrolling, and axe-core's verdict: no violation."""
    await shot(page, folder, name)
    overflow = await page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 1, f"{name}: the page scrolls sideways by {overflow} px"
    violations = await axe_violations(page)
    assert violations == [], f"{name}: {violations}"
