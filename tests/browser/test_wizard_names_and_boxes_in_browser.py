"""Issue 14 (4) and (5) in Chromium, as an officer fills the certificate, at 1366 and 390 px.

(4) Countries, nationalities and languages are picked by their names in the reader's language: in French, a
second nationality "Maroc" and a language "italien"; box (a) offers by name only the languages the executing
State accepts. Rules are checked when a box is saved, not first on the review page: a measure Belgium does not
supervise (an Art 4(2) measure it never notified) and a probation period shorter than Luxembourg law allows stop
the officer on the box with the GOV.UK error summary on top, focused, in plain words, its link moving the focus
to the field.

(5) The boxes the PDF prints that were added are filled in the browser: the fax, a contact person for the
supervision, an address elsewhere, the residence permit, the contact for a photograph and fingerprints, box (j)
point 6 (probation reports and their language) and an Art 4(2) measure the executing State (the Netherlands)
notified. The review page says the certificate is complete; the certificate as HTML shows each of them in
words, with no internal code such as `(sursis_probatoire)`.

Every page passes axe-core with no violation and does not scroll sideways. Screenshots go to
test-artifacts/browser/wizard-names/."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Browser, Locator, Page, expect

from probatio.harness import LocalNodes
from tests.browser.chromium import WIDTHS, check_page, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.integration]

FOLDER = "wizard-names"
# What must never reach a person's eyes in a message: a JSON path, a pattern, pydantic's wording, a code.
TECHNICAL = re.compile(r"measures\[\d+\]|\w+\.\w+_\w+|\^\[|Field required|should match|Input should|type=|"
                       r"sursis_probatoire|electronic_monitoring|\bLU\b|\bBE\b")
SNAKE = re.compile(r"\b[a-z]+_[a-z_]+\b")


async def _example_draft(page: Page, url: str) -> str:
    """A new draft from the training example; its URL without the step."""
    await page.goto(f"{url}/transfers/new")
    await page.get_by_role("button", name="Start from the training example").click()
    await page.wait_for_url("**/transfers/drafts/*/a")
    return page.url.rsplit("/", 1)[0]


async def _language(page: Page, name: str, button: str) -> None:
    """The language picker in the page's header."""
    await page.locator("#language-picker").select_option(label=name)
    await page.locator(".language-picker").get_by_role("button", name=button).click()
    await page.wait_for_load_state()


async def _shown(select: Locator) -> str:
    """The name a picker shows for its choice."""
    return str(await select.evaluate("s => s.selectedOptions[0] ? s.selectedOptions[0].textContent : ''"))


async def _option_named(select: Locator, starts: str) -> str:
    """The value of the option whose words begin with `starts`: what a person looks for in the list."""
    options = await select.locator("option").evaluate_all("os => os.map(o => [o.value, o.textContent])")
    found = [v for v, text in options if text.startswith(starts)]
    assert found, (starts, options)
    return str(found[0])


async def _summary_leads_to(page: Page, link: re.Pattern[str], field: str, name: str) -> None:
    """The error summary: on top, focused, in plain words; its link moves the focus to the field."""
    summary = page.locator(".error-summary")
    await expect(summary).to_be_focused()
    await expect(summary.get_by_role("heading")).to_have_text("There is a problem")
    text = await summary.inner_text()
    assert not TECHNICAL.search(text), text
    box, target = await summary.bounding_box(), await page.locator(f"#{field}").bounding_box()
    assert box is not None and target is not None and box["y"] < target["y"], (box, target)
    await expect(page.locator(f"#{field}-error")).to_be_visible()
    await check_page(page, FOLDER, name)
    await summary.get_by_role("link", name=link).click()
    await expect(page.locator(f"#{field}")).to_be_focused()


async def test_names_by_name_in_french_and_rules_checked_when_a_box_is_saved(
        browser: Browser, nodes: LocalNodes) -> None:
    lu = nodes["LU"].url
    for width in WIDTHS:
        officer = await sign_in(browser, lu, "officer", width, for_axe=True)
        draft = await _example_draft(officer, lu)

        # In French: the nationality and the languages are picked by their French names.
        await _language(officer, "Français", "Change")
        await expect(officer.locator("html")).to_have_attribute("lang", "fr")
        await officer.goto(f"{draft}/e")
        first = officer.locator("#f-person-nationality")
        await expect(first).to_have_value("LU")
        assert await _shown(first) == "Luxembourg"
        await officer.locator("#f-person-nationality-2").select_option(label="Maroc")
        spoken = officer.locator("#f-person-languages-understood")
        assert await _shown(spoken) == "français"
        assert await _shown(officer.locator("#f-person-languages-understood-2")) == "allemand"
        await officer.locator("#f-person-languages-understood-3").select_option(label="italien")
        await officer.get_by_role("button", name="Enregistrer et vérifier ce cadre").click()
        await officer.wait_for_load_state()
        await expect(officer.locator(".error-summary")).to_have_count(0)
        await officer.goto(f"{draft}/e")  # as saved, seen again
        assert await _shown(officer.locator("#f-person-nationality-2")) == "Maroc"
        await expect(officer.locator("#f-person-nationality-2")).to_have_value("MA")
        assert await _shown(officer.locator("#f-person-languages-understood-3")) == "italien"
        await expect(officer.locator("#f-person-nationality-3")).to_have_value("")  # one more, empty, to add
        await check_page(officer, FOLDER, f"{width}-01-fr-box-e-maroc-italien")

        # Box (a): the certificate's language is one Belgium accepts (Art 21), offered by name, not by code.
        await officer.goto(f"{draft}/a")
        box_a = officer.locator("#f-language")
        options = await box_a.locator("option").evaluate_all(
            "os => os.filter(o => o.value).map(o => [o.value, o.textContent])")
        assert sorted(v for v, _ in options) == ["de", "en", "fr", "nl"], options
        assert {t for _, t in options} == {"allemand", "anglais", "français", "néerlandais"}, options
        assert await _shown(officer.locator("#f-executing-state")) == "BE — Belgique"
        await check_page(officer, FOLDER, f"{width}-02-fr-box-a")
        await _language(officer, "English", "Changer")
        await expect(officer.locator("html")).to_have_attribute("lang", "en")

        # Box (j): measure 2 becomes electronic monitoring, outside Art 4(1), certified as "other": Belgium
        # notified no such measure. Refused on "Save and continue", the officer staying on box (j).
        await officer.goto(f"{draft}/j")
        national = officer.locator("#f-measures-1-national-measure")
        monitoring = await _option_named(national, "electronic monitoring")
        assert "outside Art 4(1)" in await national.locator(f"option[value={monitoring}]").inner_text()
        await national.select_option(monitoring)
        category = officer.locator("#f-measures-1-category")
        await category.select_option("other")
        assert "[BE: does NOT supervise]" in await _shown(category)
        await officer.get_by_role("button", name="Save and continue").click()
        await officer.wait_for_load_state()
        await expect(officer.locator("h1")).to_contain_text("(j)")
        await _summary_leads_to(officer, re.compile(r"^Measure 2: .*Belgium notified no measure under Art 4\(2\)"),
                                "f-measures-1-category", f"{width}-03-box-j-not-supervised")
        await expect(officer.locator("#f-measures-1-category-error")).to_contain_text("Belgium")
        # Put back as it was: now saved, and on to box (k).
        await national.select_option("report_to_probation_officer")
        await category.select_option("e")
        await officer.get_by_role("button", name="Save and continue").click()
        await officer.wait_for_url("**/k")
        await expect(officer.locator("h1")).to_contain_text("(k)")

        # Box (i): a probation period of 2 months, shorter than Luxembourg law allows for the decision.
        await officer.goto(f"{draft}/i")
        period = "f-judgment-nature-probation-period-days"
        await officer.locator(f"#{period}").fill("0")
        await officer.locator(f"#{period}-months").fill("2")
        await officer.locator(f"#{period}-days").fill("0")
        await officer.get_by_role("button", name="Save and continue").click()
        await officer.wait_for_load_state()
        await expect(officer.locator("h1")).to_contain_text("(i)")
        await _summary_leads_to(officer, re.compile("shorter than Luxembourg law allows"), period,
                                f"{width}-04-box-i-shorter-than-the-law")
        await expect(officer.locator(f"#{period}-months")).to_have_value("2")  # as typed
        await officer.locator(f"#{period}").fill("4")
        await officer.locator(f"#{period}-months").fill("0")
        await officer.get_by_role("button", name="Save and continue").click()
        await officer.wait_for_url("**/j")
        await expect(officer.locator(".error-summary")).to_have_count(0)
        await officer.context.close()


async def test_the_boxes_the_pdf_prints_are_filled_and_printed_in_words(browser: Browser, nodes: LocalNodes) -> None:
    lu = nodes["LU"].url
    for width in WIDTHS:
        officer = await sign_in(browser, lu, "officer", width, for_axe=True)
        draft = await _example_draft(officer, lu)

        # Box (a): the Netherlands, which notified an Art 4(2) measure, in a language it accepts.
        await officer.locator("#f-executing-state").select_option(label="NL — Netherlands")
        await officer.get_by_role("button", name="Save and check this box").click()
        await officer.wait_for_load_state()
        await officer.locator("#f-language").select_option(label="English")
        await officer.get_by_role("button", name="Save and continue").click()
        await officer.wait_for_url("**/b")

        # Box (d): the fax and the contact person for the supervision.
        await officer.goto(f"{draft}/d")
        await officer.get_by_label("Fax (country code, area code, number)").fill("+352 47 11 11")
        await officer.locator("#f-contact-authority-contact-persons-0-name").fill("Anne Weber")
        await officer.locator("#f-contact-authority-contact-persons-0-post").fill("Probation officer")
        await officer.locator("#f-contact-authority-contact-persons-0-phone").fill("+352 47 22 22")
        await officer.locator("#f-contact-authority-contact-persons-0-email").fill("anne.weber@example.lu")
        await officer.locator("#f-contact-authority-contact-persons-0-languages-3").select_option(label="English")
        await check_page(officer, FOLDER, f"{width}-10-box-d-filled")
        await officer.get_by_role("button", name="Save and continue").click()
        await officer.wait_for_url("**/e")

        # Box (e): an address elsewhere, the residence permit, the contact for a photograph and fingerprints.
        await officer.locator("#f-person-addresses-elsewhere-street").fill("Via Roma 3")
        await officer.locator("#f-person-addresses-elsewhere-city").fill("Torino")
        await officer.locator("#f-person-addresses-elsewhere-country").select_option(label="Italy")
        await officer.locator("#f-person-residence-permit-kind").select_option(label="Residence permit")
        await officer.locator("#f-person-residence-permit-number").fill("NL-RP-778")
        await officer.get_by_label("Contact details of the person to be contacted for a photograph and fingerprints"
                                   ).fill("Police grand-ducale, service identification")
        await check_page(officer, FOLDER, f"{width}-11-box-e-filled")
        await officer.get_by_role("button", name="Save and continue").click()
        await officer.wait_for_url("**/f")

        # Box (j): point 6, the probation reports and their language; measure 1 relies on the Dutch
        # notification of electronic monitoring (Art 4(2)), picked by its words.
        await officer.goto(f"{draft}/j")
        await officer.get_by_label("Probation reports or other supporting reports are available").check()
        await officer.locator("#f-supervision-report-languages").select_option(label="French")
        national = officer.locator("#f-measures-0-national-measure")
        await national.select_option(await _option_named(national, "electronic monitoring"))
        await officer.locator("#f-measures-0-category").select_option("other")
        notified = officer.locator("#f-measures-0-notified-measure")
        await notified.select_option(label="electronic monitoring (elektronisch toezicht)")
        await officer.locator("#f-measures-0-description").fill("Wear an electronic tag for the first 6 months.")
        await officer.get_by_role("button", name="Save and continue").click()
        await officer.wait_for_url("**/k")

        # The review page: nothing left to correct.
        await officer.get_by_role("link", name="Check and start the transfer").click()
        await officer.wait_for_url("**/review")
        await expect(officer.get_by_text("The certificate is complete")).to_be_visible()
        await expect(officer.locator("li.error")).to_have_count(0)
        await check_page(officer, FOLDER, f"{width}-12-review-complete")
        await officer.get_by_role("button", name="Start the transfer only").click()
        await officer.wait_for_url("**/cases/outgoing/*")
        case_path = officer.url.split("?")[0].split(lu, 1)[1]

        # The certificate as HTML, opened from the case page: every box in words, no internal code.
        link = officer.get_by_role("link", name="Certificate (HTML, new window)")
        async with officer.context.expect_page() as opened:
            await link.click()
        certificate = await opened.value
        await certificate.wait_for_load_state()
        assert certificate.url.endswith(f"{case_path}/certificate.html"), certificate.url
        body = certificate.locator("body")
        for words in ("+352 47 11 11", "Anne Weber", "Probation officer", "anne.weber@example.lu", "Via Roma 3",
                      "Torino", "Italy", "Residence permit", "NL-RP-778", "Police grand-ducale, service identification",
                      "Probation reports or other supporting reports are available", "French",
                      "Measure notified by the executing State under Article 4(2)",
                      "electronic monitoring (elektronisch toezicht)", "probationary suspended sentence"):
            await expect(body).to_contain_text(words)
        text = await body.inner_text()
        assert "(sursis_probatoire)" not in text and "electronic_monitoring" not in text, text
        assert not SNAKE.search(text), SNAKE.findall(text)[:5]
        # The Annex as printed (forms/templates) is read on a screen too: no sideways scroll on a phone, and
        # axe-core finds nothing (its form is the page's main landmark).
        await check_page(certificate, FOLDER, f"{width}-13-certificate-html")
        await officer.context.close()
