"""A student in a real browser: find a tutor, see open slots in their own zone, book and pay
(manual payments in development), see the booking, take the .ics, cancel under the policy."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

from playwright.async_api import Page, expect

from tests.web.browser import WebServer, check_page, links_in
from tests.web.test_journey_visitor import sign_up


async def test_a_student_finds_a_tutor_books_a_slot_downloads_the_ics_and_cancels(
    page: Page, web_server: WebServer
) -> None:
    await sign_up(page, "Salma Adel", "salma@example.com")
    await expect(page.get_by_role("heading", name="Welcome, Salma Adel")).to_be_visible()

    await page.get_by_role("link", name="Find a tutor").click()
    await expect(page.get_by_role("heading", name="Find a tutor")).to_be_visible()
    await page.get_by_label("Subject").fill("physics")
    await page.get_by_role("button", name="Search").click()
    tutors = page.get_by_role("list", name="Tutors")
    await expect(tutors.get_by_role("listitem")).to_have_count(1)
    await expect(tutors).to_contain_text("$45.00 per hour")
    await check_page(page, "tutors")

    await tutors.get_by_role("link", name="Tara Tutor").click()
    await expect(page.get_by_role("heading", name="Tara Tutor", level=1)).to_be_visible()
    await expect(page.get_by_text("Times are in your time zone, Africa/Cairo.")).to_be_visible()
    # Tara teaches from 09:00 in New York: 16:00 in Cairo (4 PM in English). Today's first slot
    # may already be past when the test runs, so the check looks at every listed day.
    algebra = page.locator("li.slot").filter(has_text="Algebra 1:1")
    await expect(algebra.filter(has_text=re.compile(r"4:00\s?PM")).first).to_be_attached()
    first_slot = algebra.first
    await check_page(page, "tutor-profile")

    await first_slot.get_by_role("button", name=re.compile("^Book")).click()
    await expect(page.get_by_role("status")).to_have_text("Your booking is made.")
    await expect(page.get_by_role("heading", name="Algebra 1:1")).to_be_visible()
    await expect(page.get_by_text("confirmed", exact=True)).to_be_visible()
    await expect(page.get_by_text("$250.00")).to_be_visible()
    await expect(
        page.get_by_text(re.compile("Cancel at least 24 hours before the start"))
    ).to_be_visible()
    await check_page(page, "booking")

    async with page.expect_download() as download:
        await page.get_by_role("link", name="Add to my calendar (.ics)").click()
    saved = await (await download.value).path()
    calendar = await asyncio.to_thread(Path(saved).read_text)
    assert "BEGIN:VCALENDAR" in calendar and "Algebra 1:1" in calendar

    # The confirmation e-mail's link opens this booking's page.
    confirmation = await web_server.wait_for_mail("salma@example.com", "Booking confirmed")
    [link] = [url for url in links_in(confirmation) if "/bookings/" in url]
    await page.goto(link)
    await expect(page.get_by_role("heading", name="Algebra 1:1")).to_be_visible()

    await page.get_by_role("link", name="My bookings").click()
    upcoming = page.get_by_role("region", name="Upcoming")
    await expect(upcoming.get_by_role("link", name="Algebra 1:1")).to_be_visible()
    await expect(upcoming).to_contain_text("with Tara Tutor")
    totals = page.get_by_role("region", name="My totals")
    await expect(totals.locator("dd").nth(0)).to_have_text("1")
    await expect(totals.locator("dd").nth(1)).to_have_text("$250.00")
    await check_page(page, "bookings")

    await upcoming.get_by_role("link", name="Algebra 1:1").click()
    await page.get_by_label("Reason (optional)").fill("Exams moved")
    await page.get_by_role("button", name="Cancel the booking").click()
    await expect(page.get_by_role("status")).to_have_text("The booking is canceled.")
    await expect(page.get_by_text("canceled", exact=True)).to_be_visible()
    await expect(page.get_by_role("button", name="Cancel the booking")).to_have_count(0)

    await page.get_by_role("link", name="My bookings").click()
    await expect(page.get_by_text("Nothing booked yet.")).to_be_visible()
    # A canceled booking is no longer a session (what was spent falls once the refund settles).
    await expect(totals.locator("dd").nth(0)).to_have_text("0")
    await expect(page.get_by_role("region", name="Earlier and canceled")).to_contain_text(
        "Algebra 1:1"
    )
