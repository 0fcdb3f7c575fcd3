"""A whole transfer in two languages, in a real browser (Debian's Chromium through Playwright): at LU a French
officer and prosecutor create, submit and approve; at BE a German prosecutor decides. The officer picks French
on the sign-in page, the prosecutor's browser asks for French (Accept-Language), the BE prosecutor picks German
after signing in, finds it again in a fresh browser, and goes back to English. At 1366 and 390 px; every page passes
axe-core with no violation and does not scroll sideways. Screenshots go to test-artifacts/browser/languages/."""

from __future__ import annotations

import asyncio
import re

import pytest
from playwright.async_api import Browser, Page, expect

from probatio.harness import LocalNodes
from tests.browser.chromium import WIDTHS, check_page

pytestmark = [pytest.mark.browser, pytest.mark.integration]


FOLDER = "languages"


async def open_page(browser: Browser, url: str, locale: str, width: int) -> Page:
    """A fresh browser (no cookies) whose Accept-Language is `locale`; axe-core may be injected."""
    context = await browser.new_context(viewport={"width": width, "height": 900}, locale=locale, bypass_csp=True)
    page = await context.new_page()
    page.on("dialog", lambda d: pytest.fail(f"a script ran: dialog {d.message!r}"))
    await page.goto(f"{url}/login")
    return page


async def sign_in(page: Page, name: str, user_label: str, password_label: str, button: str) -> None:
    await page.get_by_label(user_label).fill(name)
    await page.get_by_label(password_label).fill("demo")
    await page.get_by_role("button", name=button, exact=True).click()
    await page.wait_for_load_state()
    assert "/login" not in page.url, await page.content()


async def pick(page: Page, language: str, button: str) -> None:
    """The language picker in the page's header: choose, then the button (named in the page's language)."""
    await page.locator("#language-picker").select_option(label=language)
    await page.locator(".language-picker").get_by_role("button", name=button).click()
    await page.wait_for_load_state()


@pytest.mark.parametrize("width", WIDTHS)
async def test_a_french_and_a_german_user_work_through_a_transfer(browser: Browser, nodes: LocalNodes,
                                                                  width: int) -> None:
    lu, be = nodes["LU"].url, nodes["BE"].url

    # LU officer: an English browser; French chosen on the sign-in page, and kept after signing in.
    officer = await open_page(browser, lu, "en-GB", width)
    await expect(officer.locator("html")).to_have_attribute("lang", "en")
    await pick(officer, "Français", "Change")
    await expect(officer.locator("html")).to_have_attribute("lang", "fr")
    await sign_in(officer, "officer", "Nom d'utilisateur", "Mot de passe", "Se connecter")
    await expect(officer.locator("html")).to_have_attribute("lang", "fr")
    await officer.get_by_role("link", name="Lancer un transfert").first.click()
    await officer.get_by_role("button", name="Partir de l'exemple de formation").click()
    await officer.wait_for_url("**/transfers/drafts/*/a")
    await expect(officer.get_by_role("heading", level=1)).to_contain_text("État d'exécution et langue")
    await officer.get_by_role("link", name="Vérifier et lancer le transfert").click()
    await expect(officer.get_by_text("Le certificat est complet")).to_be_visible()
    await check_page(officer, FOLDER, f"{width}-01-fr-review")
    await officer.get_by_role("button", name="Lancer le transfert et le soumettre pour approbation").click()
    await officer.wait_for_url("**/cases/outgoing/*")
    case_id = officer.url.split("?")[0].rsplit("/", 1)[-1]
    await expect(officer.get_by_role("status")).to_contain_text("En attente d'approbation")
    await expect(officer.get_by_role("heading", level=1)).to_contain_text("Transfert sortant vers Belgique")
    await check_page(officer, FOLDER, f"{width}-02-fr-submitted")

    # LU prosecutor: a French browser (Accept-Language), no choice made.
    prosecutor = await open_page(browser, lu, "fr-BE", width)
    await expect(prosecutor.locator("html")).to_have_attribute("lang", "fr")
    await sign_in(prosecutor, "prosecutor", "Nom d'utilisateur", "Mot de passe", "Se connecter")
    await expect(prosecutor.get_by_role("heading", level=1)).to_contain_text("En attente du procureur")
    await expect(prosecutor.get_by_role("cell", name="Approuver et signer le certificat (art. 6, par. 3)")
                 ).to_be_visible()
    await prosecutor.get_by_role("link", name=case_id[:8]).click()
    await prosecutor.get_by_role("button", name="Signer et envoyer à l'État d'exécution (art. 6, par. 3)",
                                 exact=True).click()
    await prosecutor.get_by_role("button", name="Oui : Signer et envoyer à l'État d'exécution").click()
    await expect(prosecutor.get_by_role("status")).to_contain_text("Envoyé")
    await check_page(prosecutor, FOLDER, f"{width}-03-fr-approved")

    # BE prosecutor: an English browser; German chosen after signing in, remembered in the profile.
    be_prosecutor = await open_page(browser, be, "en-GB", width)
    await sign_in(be_prosecutor, "prosecutor", "User name", "Password", "Sign in")
    await pick(be_prosecutor, "Deutsch", "Change")
    await expect(be_prosecutor.locator("html")).to_have_attribute("lang", "de")
    await expect(be_prosecutor.get_by_role("heading", level=1)).to_contain_text("Wartet auf die Staatsanwaltschaft")
    for _ in range(100):
        if await be_prosecutor.get_by_role("link", name=case_id[:8]).count():
            break
        await asyncio.sleep(0.3)
        await be_prosecutor.reload()
    await be_prosecutor.get_by_role("link", name=case_id[:8]).click()
    await be_prosecutor.wait_for_url("**/decide")
    await expect(be_prosecutor.get_by_role("heading", level=1)).to_contain_text(
        "Entscheidung über die Anerkennung — Übertragung aus Luxemburg")
    # The 60-day clock as German writes it: a date like 28.01.2027 and the days counted in German.
    deadline = be_prosecutor.locator("table.data").first
    await expect(deadline).to_contain_text("Entscheidung über die Anerkennung")
    await expect(deadline).to_contain_text(re.compile(r"\d{2}\.\d{2}\.\d{4}"))
    await expect(deadline).to_contain_text(re.compile(r"\b(59|60) Tage\b"))
    await expect(be_prosecutor.get_by_text("zuerst den Ausstellungsstaat konsultieren (Art. 11 Abs. 3)").first
                 ).to_be_visible()
    await check_page(be_prosecutor, FOLDER, f"{width}-04-de-decision-page")
    await be_prosecutor.get_by_label("Das Urteil anerkennen und die Überwachung übernehmen").check()
    await be_prosecutor.get_by_role("button", name="Entscheidung erfassen").click()
    await be_prosecutor.get_by_role("button", name="Ja: Über die Anerkennung entscheiden").click()
    await expect(be_prosecutor.get_by_role("status")).to_contain_text("Anerkannt")
    await expect(be_prosecutor.locator("ol.timeline")).to_contain_text("anerkannt")
    await check_page(be_prosecutor, FOLDER, f"{width}-05-de-recognised")

    # The choice follows the BE prosecutor to another browser, whatever that browser asks for.
    elsewhere = await open_page(browser, be, "fr-FR", width)
    await sign_in(elsewhere, "prosecutor", "Nom d'utilisateur", "Mot de passe", "Se connecter")
    await expect(elsewhere.locator("html")).to_have_attribute("lang", "de")
    # And back to English, in German words; kept in the profile too.
    await pick(elsewhere, "English", "Wechseln")
    await expect(elsewhere.locator("html")).to_have_attribute("lang", "en")
    await expect(elsewhere.locator("#language-picker")).to_have_value("en")

    # Back at LU, in French: the decision crossed the link and the case reads as transferred.
    for _ in range(100):
        await officer.goto(f"{lu}/cases/outgoing/{case_id}")
        if await officer.locator(".tag.stage-transferred").count():
            break
        await asyncio.sleep(0.3)
    await expect(officer.locator(".tag.stage-transferred").first).to_have_text("Transféré")
    await expect(officer.locator("ol.timeline")).to_contain_text("approuvé")
    await check_page(officer, FOLDER, f"{width}-06-fr-transferred")
