"""Account settings in a real browser: change the name and time zone (times then follow the new
zone), choose the language; a zone that does not exist is refused and nothing changes."""

from __future__ import annotations

from playwright.async_api import Page, expect

from tests.web.browser import assert_fits, check_page
from tests.web.test_journey_visitor import sign_up


async def test_a_user_changes_name_time_zone_and_language(page: Page) -> None:
    await sign_up(page, "Mona Kamal", "mona@example.com")
    await expect(page.get_by_role("heading", name="Welcome, Mona Kamal")).to_be_visible()
    await page.get_by_role("link", name="Account settings").click()
    await expect(page.get_by_label("Time zone")).to_have_value("Africa/Cairo")
    await check_page(page, "account")

    await page.get_by_label("Time zone").fill("Mars/Olympus")
    await page.get_by_label("Your name").fill("Mona K.")
    await page.get_by_role("button", name="Save settings").click()
    await expect(
        page.get_by_text("Choose a time zone such as Africa/Cairo or Europe/London.")
    ).to_be_visible()
    await expect(page.get_by_label("Your name")).to_have_value("Mona K.")
    await page.get_by_role("link", name="My Studyhall").click()
    await expect(page.get_by_role("heading", name="Welcome, Mona Kamal")).to_be_visible()

    await page.get_by_role("link", name="Account settings").click()
    await page.get_by_label("Your name").fill("Mona K.")
    await page.get_by_label("Time zone").fill("Asia/Tokyo")
    await page.get_by_label("Language").select_option("ar")
    await page.get_by_role("button", name="Save settings").click()
    await expect(page.locator("html")).to_have_attribute("dir", "rtl")
    await expect(page.get_by_role("status")).to_have_text("حُفظت إعداداتك.")
    await expect(page.get_by_label("المنطقة الزمنية")).to_have_value("Asia/Tokyo")
    await check_page(page, "ar-account")

    await page.goto("/tutors")
    await page.get_by_role("link", name="Tara Tutor").click()
    await expect(page.get_by_text("الأوقات بتوقيتك المحلي، Asia/Tokyo.")).to_be_visible()
    await page.goto("/home")
    await expect(page.get_by_role("heading", name="مرحبًا، Mona K.")).to_be_visible()

    await page.set_viewport_size({"width": 360, "height": 740})
    await page.goto("/account")
    await assert_fits(page, "/account")
    await check_page(page, "phone-ar-account")
