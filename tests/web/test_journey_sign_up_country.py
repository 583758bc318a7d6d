"""The country on the sign-up form in a real browser: the accounts domain decides from it the age
below which a guardian must consent (the test server sets 16 for Egypt, 13 elsewhere), so a
14-year-old in Egypt is sent to ask a guardian and one elsewhere is not; a country that is not
on the list is refused; the names are in the viewer's language."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from playwright.async_api import Browser, Page, expect

from tests.web.browser import WebServer, check_page
from tests.web.conftest import CONSENT_AGE_EG
from tests.web.test_journey_visitor import PASSWORD

AGE = 14
assert 13 <= AGE < CONSENT_AGE_EG


async def _fill_sign_up(page: Page, name: str, email: str) -> None:
    fourteen = datetime.now(UTC).date() - timedelta(days=365 * AGE + 30)
    await page.goto("/sign-up")
    await page.get_by_label("Your name").fill(name)
    await page.get_by_label("Email").fill(email)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_label("Date of birth").fill(fourteen.isoformat())


async def test_the_country_chosen_on_sign_up_sets_the_consent_age(
    page: Page, browser: Browser, web_server: WebServer
) -> None:
    tag = uuid.uuid4().hex[:6]
    await _fill_sign_up(page, "Yara Mansour", f"yara-{tag}@example.com")
    country = page.get_by_label("Country")
    await expect(country).to_have_value("")
    await check_page(page, "sign-up-country")

    # A value not on the list (a tampered form) is refused on the form, the rest kept.
    await country.evaluate(
        "s => { s.add(new Option('Atlantis', 'atlantis')); s.value = 'atlantis'; }"
    )
    await page.get_by_role("button", name="Create account").click()
    await expect(page.get_by_text("Choose a country from the list.")).to_be_visible()
    await expect(page.get_by_label("Your name")).to_have_value("Yara Mansour")
    await expect(country).to_have_attribute("aria-invalid", "true")

    # Egypt: at 14 a guardian has to consent first.
    await page.get_by_label("Password").fill(PASSWORD)
    await country.select_option(label="Egypt")
    await page.get_by_role("button", name="Create account").click()
    await expect(page.get_by_role("heading", name="Your guardian's consent")).to_be_visible()

    # Elsewhere the default age applies: a 14-year-old in Sweden needs no one.
    context = await browser.new_context(base_url=web_server.base_url, locale="en-GB")
    other = await context.new_page()
    try:
        await _fill_sign_up(other, "Elin Berg", f"elin-{tag}@example.com")
        await other.get_by_label("Country").select_option(label="Sweden")
        await other.get_by_role("button", name="Create account").click()
        await expect(other.get_by_role("status")).to_have_text(
            "We sent you an email: open its link to confirm your address."
        )
        await expect(other).to_have_url(f"{web_server.base_url}/home?notice=verify_sent")
    finally:
        await context.close()


async def test_the_country_names_are_in_the_viewers_language(page: Page) -> None:
    await page.goto("/sign-up")
    await page.get_by_role("button", name="العربية").click()
    await expect(page.locator("html")).to_have_attribute("dir", "rtl")
    country = page.locator("#country")
    await expect(country.locator("option[value=EG]")).to_have_text("مصر")
    await country.select_option("EG")
    await check_page(page, "ar-sign-up-country")
