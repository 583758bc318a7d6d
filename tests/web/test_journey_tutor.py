"""A tutor in a real browser: edit the profile, create and edit an offering, set weekly hours in
their own zone (the page names the coming clock change), block days off, approve a student's
request, see earnings. The demo tutor Tara (New York) teaches; a student books in a second
context through the UI."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from playwright.async_api import Browser, Page, expect

from studyhall.accounts.demo import DEMO_PASSWORD
from tests.web.browser import WebServer, assert_fits, check_page
from tests.web.test_journey_visitor import sign_up

TUTOR = "tara@demo.example.com"
INTRO = "Free intro chat"


async def sign_in(page: Page, email: str, password: str = DEMO_PASSWORD) -> None:
    await page.goto("/sign-in")
    await page.get_by_label("Email").fill(email)
    await page.get_by_label("Password").fill(password)
    await page.get_by_role("button", name="Sign in").click()


async def test_a_tutor_edits_the_profile_and_offerings_sets_hours_and_time_off(
    page: Page,
) -> None:
    await sign_in(page, TUTOR)
    await page.get_by_role("link", name="Teaching").click()
    await expect(page.get_by_role("heading", name="Teaching", level=1)).to_be_visible()
    await expect(page.get_by_text("Verified: students can find and book you.")).to_be_visible()
    await page.get_by_label("About you").fill("Maths and physics, patiently, from New York.")
    await page.get_by_label(re.compile("^Currency")).fill("dollars")
    await page.get_by_role("button", name="Save profile").click()
    await expect(page.get_by_text("Check this.")).to_be_visible()
    await expect(page.get_by_label("About you")).to_have_value(
        "Maths and physics, patiently, from New York."
    )
    await page.get_by_label(re.compile("^Currency")).fill("USD")
    await page.get_by_role("button", name="Save profile").click()
    await expect(page.get_by_role("status")).to_have_text("Your profile is saved.")
    await expect(page.get_by_label("About you")).to_have_value(
        "Maths and physics, patiently, from New York."
    )
    await check_page(page, "teach-profile")

    await page.get_by_role("link", name="Offerings").click()
    await page.get_by_label("Title").fill(INTRO)
    await page.get_by_label("Description").fill("Twenty minutes to meet and plan your studies.")
    await page.get_by_label("Length in minutes").fill("20")
    await page.get_by_label("Price", exact=True).fill("0")
    await page.get_by_label("I approve each booking myself").check()
    await page.get_by_role("button", name="Create offering").click()
    # Lessons come in quarter hours: the form comes back with what was typed.
    await expect(page.get_by_text("The length must be a multiple of 15 minutes.")).to_be_visible()
    await expect(page.get_by_label("Title")).to_have_value(INTRO)
    await page.get_by_label("Length in minutes").fill("15")
    await page.get_by_role("button", name="Create offering").click()
    await expect(page.get_by_role("status")).to_have_text("The offering is saved.")
    yours = page.get_by_role("list", name="Your offerings")
    await expect(yours.get_by_role("listitem")).to_have_count(3)
    await yours.get_by_role("link", name=INTRO).click()
    await expect(page.get_by_label("Length in minutes")).to_have_value("15")
    await page.get_by_label("Length in minutes").fill("30")
    await page.get_by_role("button", name="Save offering").click()
    await expect(page.get_by_role("status")).to_have_text("The offering is saved.")
    await expect(yours.get_by_role("listitem").filter(has_text=INTRO)).to_contain_text("30 minutes")
    await expect(yours.get_by_role("listitem").filter(has_text=INTRO)).to_contain_text(
        "You approve each booking."
    )
    await check_page(page, "teach-offerings")

    await page.get_by_role("link", name="Availability").click()
    # New York moves its clocks on the second Sunday of March; hours stay put on Tara's clock.
    note = page.locator("#zone-note")
    await expect(note).to_contain_text("Your hours are in your time zone, America/New_York.")
    await expect(note).to_contain_text("March 14, 2027 (UTC\u221205:00 to UTC\u221204:00)")
    hours = page.get_by_role("list", name="Weekly hours")
    await expect(hours.get_by_role("listitem")).to_have_count(1)
    await expect(hours).to_contain_text(re.compile(r"Mon, Tue, Wed, Thu, Fri: 9:00\sAM"))

    await page.get_by_role("button", name="Add these hours").click()
    await expect(page.get_by_text("Choose at least one day.")).to_be_visible()
    await page.get_by_label("Sat").check()
    await page.get_by_label("From").fill("10:00")
    await page.get_by_label("Until").fill("12:00")
    await page.get_by_role("button", name="Add these hours").click()
    await expect(page.get_by_role("status")).to_have_text("Your weekly hours are added.")
    saturday = hours.get_by_role("listitem").filter(has_text="Sat:")
    await expect(saturday).to_contain_text(re.compile(r"10:00\sAM \u2013 12:00\sPM"))

    first_day = (datetime.now(UTC) + timedelta(days=60)).date()
    await page.get_by_label("First day off").fill(first_day.isoformat())
    await page.get_by_label("Last day off").fill((first_day + timedelta(days=2)).isoformat())
    await page.locator("#off-reason").fill("Conference")
    await page.get_by_role("button", name="Block these days").click()
    await expect(page.get_by_role("status")).to_have_text(
        "Your time off is saved; no one can book it."
    )
    off = page.get_by_role("list", name="Time off")
    await expect(off).to_contain_text("Conference")
    await check_page(page, "teach-availability")

    # The Saturday hours go again (the other journeys book Tara's weekday slots).
    await saturday.get_by_role("button", name=re.compile("^Remove Sat")).click()
    await expect(page.get_by_role("status")).to_have_text("Those hours are removed.")
    await expect(hours.get_by_role("listitem")).to_have_count(1)
    await off.get_by_role("button", name=re.compile("^Remove the time off")).click()
    await expect(page.get_by_text("No time off planned.")).to_be_visible()

    # Booking settings: the API's bounds hold, and what was typed comes back with the refusal.
    weekly_cap = page.get_by_label("Most bookings in a week")
    await weekly_cap.fill("0")
    await page.get_by_role("button", name="Save booking settings").click()
    await expect(page.locator("#max_bookings_per_week-error")).to_have_text("Check this.")
    await expect(weekly_cap).to_have_value("0")
    await weekly_cap.fill("500")
    await page.get_by_role("button", name="Save booking settings").click()
    await expect(page.get_by_role("status")).to_have_text("Your booking settings are saved.")
    await expect(weekly_cap).to_have_value("500")
    # Empty again: no cap, as before (the other journeys book Tara).
    await weekly_cap.fill("")
    await page.get_by_role("button", name="Save booking settings").click()
    await expect(page.get_by_role("status")).to_have_text("Your booking settings are saved.")
    await expect(weekly_cap).to_have_value("")


async def test_a_tutor_approves_a_students_request_and_sees_earnings(
    page: Page, browser: Browser, web_server: WebServer
) -> None:
    await sign_in(page, TUTOR)
    await page.goto("/teach/offerings")
    if not await page.get_by_role("link", name=INTRO).count():
        await page.get_by_label("Title").fill(INTRO)
        await page.get_by_label("Description").fill("Twenty minutes to meet and plan.")
        await page.get_by_label("Length in minutes").fill("30")
        await page.get_by_label("Price", exact=True).fill("0")
        await page.get_by_label("I approve each booking myself").check()
        await page.get_by_role("button", name="Create offering").click()
        await expect(page.get_by_role("status")).to_have_text("The offering is saved.")

    # A student, in a browser of their own, asks for the free intro.
    student_context = await browser.new_context(
        base_url=web_server.base_url, locale="en-GB", timezone_id="Africa/Cairo"
    )
    student = await student_context.new_page()
    await sign_up(student, "Hana Ali", "hana@example.com")
    await student.goto("/tutors")
    await student.get_by_role("link", name="Tara Tutor").click()
    intro = student.locator("li.slot").filter(has_text=INTRO).first
    # The new offering's slots are laid out by a job a moment after it is saved.
    for _ in range(40):
        if await intro.count():
            break
        await student.wait_for_timeout(500)
        await student.reload()
    await intro.get_by_role("button", name=re.compile("^Book")).click()
    await expect(student.get_by_role("status")).to_have_text("Your booking is made.")
    await expect(student.get_by_text("waiting for the tutor", exact=True)).to_be_visible()
    booking_url = student.url
    await student_context.close()

    await page.get_by_role("link", name="Requests").click()
    waiting = page.get_by_role("list", name="Bookings to approve")
    request = waiting.get_by_role("listitem").filter(has_text="with Hana Ali")
    await expect(request).to_contain_text(INTRO)
    await expect(request).to_contain_text("Decide before")
    await check_page(page, "teach-requests")
    await request.get_by_role("button", name="Approve").click()
    await expect(page.get_by_role("status")).to_have_text(
        "The booking is approved; the student is told."
    )
    await expect(page.get_by_text("No booking is waiting for you.")).to_be_visible()
    mail = await web_server.wait_for_mail("hana@example.com", "Booking confirmed")
    assert mail is not None
    await page.goto(booking_url)
    await expect(page.get_by_text("confirmed", exact=True)).to_be_visible()

    await page.get_by_role("link", name="Teaching").click()
    await page.get_by_role("link", name="Earnings").click()
    await expect(page.get_by_role("heading", name="Earnings", level=1)).to_be_visible()
    # The demo's past, reviewed sessions are this tutor's completed lessons.
    lessons = page.get_by_role("region", name="Completed lessons")
    await expect(lessons.get_by_role("cell").first).to_be_visible()
    await expect(page.get_by_role("region", name="So far")).to_contain_text("Lessons given")
    await check_page(page, "teach-earnings")


async def test_the_tutor_pages_read_in_arabic_fit_a_phone_and_refuse_students(
    page: Page,
) -> None:
    await sign_in(page, TUTOR)
    await page.set_viewport_size({"width": 360, "height": 740})
    for path in (
        "/teach",
        "/teach/offerings",
        "/teach/availability",
        "/teach/requests",
        "/teach/earnings",
    ):
        await page.goto(path)
        await assert_fits(page, path)
    await page.goto("/teach/availability")
    await check_page(page, "phone-teach-availability")
    await page.get_by_role("button", name="العربية").click()
    await expect(page.locator("html")).to_have_attribute("dir", "rtl")
    await expect(page.get_by_role("heading", level=1)).to_have_text("التوفّر")
    await check_page(page, "ar-teach-availability")
    await page.goto("/teach")
    await check_page(page, "ar-teach-profile")

    await page.context.clear_cookies()
    await sign_up(page, "Rami Said", "rami@example.com")
    await page.goto("/teach")
    await expect(
        page.get_by_text("This page is not available to your kind of account.")
    ).to_be_visible()
