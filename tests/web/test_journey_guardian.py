"""A minor and their guardian in real browsers: the minor, limited until a guardian consents,
asks for consent (and asks again) on their own page; the guardian consents from the e-mailed
link, signs up with that address and sees the ward's bookings and progress; nobody else does."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta

from playwright.async_api import Browser, Page, expect

from tests.web.browser import WebServer, assert_fits, check_page, links_in
from tests.web.test_journey_progress import complete_a_lesson
from tests.web.test_journey_visitor import PASSWORD, sign_up


async def _minor_signs_up(page: Page, email: str) -> None:
    """Through the web form, with a date of birth ten years ago: the account is a minor's."""
    ten_years_ago = datetime.now(UTC).date() - timedelta(days=365 * 10 + 3)
    await page.goto("/sign-up")
    await page.get_by_label("Your name").fill("Omar Young")
    await page.get_by_label("Email").fill(email)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_label("Date of birth").fill(ten_years_ago.isoformat())
    await page.get_by_role("button", name="Create account").click()


async def test_a_minor_asks_a_guardian_who_consents_and_follows_the_ward(
    page: Page, browser: Browser, web_server: WebServer
) -> None:
    tag = uuid.uuid4().hex[:6]
    minor, guardian = f"omar-{tag}@example.com", f"mona-{tag}@example.com"
    await _minor_signs_up(page, minor)
    # Signing up as a minor asks for a guardian at once, as the API's consent state says.
    await expect(page.get_by_role("heading", name="Your guardian's consent")).to_be_visible()
    await expect(page.get_by_role("status")).to_contain_text("a parent or guardian has to consent")

    # Limited as the API limits them: other pages point to the guardian request.
    await page.goto("/progress")
    await expect(page.get_by_role("heading", name="A guardian's consent is needed")).to_be_visible()
    await page.get_by_role("link", name="Ask your guardian").click()
    await expect(page.get_by_role("heading", name="Your guardian's consent")).to_be_visible()
    await check_page(page, "guardian-request")
    await page.get_by_label("Your guardian's email").fill(minor)
    await page.get_by_role("button", name="Ask my guardian").click()
    await expect(
        page.get_by_text("Your guardian's email must differ from your own.")
    ).to_be_visible()
    await page.get_by_label("Your guardian's email").fill(guardian)
    await page.get_by_role("button", name="Ask my guardian").click()
    await expect(page.get_by_role("status")).to_have_text(
        "We emailed your guardian a link to consent."
    )
    await expect(page.get_by_text(f"We are waiting for {guardian}")).to_be_visible()
    await page.get_by_role("button", name="Send the email again").click()
    await expect(page.get_by_role("status")).to_be_visible()
    mail = await web_server.wait_for_mail(guardian, "asks for your consent")
    # Asking again replaced the first link: the newest mail carries the live one.
    [link] = [url for url in links_in(mail) if "/guardian-consent?" in url]

    # The guardian consents in their own browser, then signs up with the consented address.
    context = await browser.new_context(
        base_url=web_server.base_url, locale="en-GB", timezone_id="Africa/Cairo"
    )
    mona = await context.new_page()
    try:
        await mona.goto(link)
        await mona.get_by_role("button", name="I consent").click()
        await expect(mona.get_by_role("status")).to_contain_text("Your consent is recorded.")
        ward_link = mona.get_by_role("link", name="See their bookings and progress")
        ward_url = await ward_link.get_attribute("href")
        assert ward_url is not None and re.fullmatch(r"/guardian/wards/[0-9a-f-]{36}", ward_url)

        # Now the minor uses Studyhall: books a lesson and earns XP.
        await _book_first_slot(page)
        await complete_a_lesson(web_server.base_url, minor, PASSWORD)

        await sign_up(mona, "Mona Young", guardian)
        # Home links a guardian to their wards, and the list links to the ward's page.
        await mona.goto("/home")
        await mona.get_by_role("link", name="Your wards").click()
        await expect(mona.get_by_role("heading", name="Your wards")).to_be_visible()
        await check_page(mona, "guardian-wards")
        await mona.get_by_role("link", name="Omar Young").click()
        await expect(mona).to_have_url(re.compile(re.escape(ward_url) + "$"))
        await expect(
            mona.get_by_role("heading", name="Omar Young's bookings and progress")
        ).to_be_visible()
        bookings = mona.get_by_role("list", name="Bookings")
        await expect(bookings.get_by_role("listitem")).to_contain_text("with Tara Tutor")
        await expect(mona.get_by_role("region", name="Experience points")).to_contain_text("20")
        await expect(
            mona.get_by_role("list", name="Achievements")
            .get_by_role("listitem")
            .filter(has_text="First lesson")
        ).to_contain_text("unlocked")
        await check_page(mona, "guardian-ward")
        await mona.get_by_role("button", name="العربية").click()
        await expect(mona.locator("html")).to_have_attribute("dir", "rtl")
        await check_page(mona, "ar-guardian-ward")
        await mona.set_viewport_size({"width": 360, "height": 740})
        await assert_fits(mona, ward_url)
    finally:
        await context.close()

    # The ward (or anyone who is not the consented guardian) finds nothing there.
    response = await page.goto(ward_url)
    assert response is not None and response.status == 404
    await expect(page.get_by_text("There is nothing here.")).to_be_visible()
    await page.goto("/guardian-request")
    await expect(
        page.get_by_text("Your guardian has consented. You can use Studyhall.")
    ).to_be_visible()
    await page.get_by_role("button", name="العربية").click()
    await check_page(page, "ar-guardian-request")


async def _book_first_slot(page: Page) -> None:
    await page.goto("/tutors")
    await page.get_by_role("list", name="Tutors").get_by_role("link", name="Tara Tutor").click()
    slot = page.locator("li.slot").filter(has_text="Algebra 1:1").first
    await slot.get_by_role("button", name=re.compile("^Book")).click()
    await expect(page.get_by_role("status")).to_have_text("Your booking is made.")
