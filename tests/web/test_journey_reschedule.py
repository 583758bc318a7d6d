"""The rest of the student's tutoring journey in a real browser: move a booking to another time
under the stated policy, and subscribe to the private calendar feed (then turn it off)."""

from __future__ import annotations

import re

from playwright.async_api import Page, expect

from tests.web.browser import check_page
from tests.web.test_journey_visitor import sign_up

GROUP = "Exam prep group"


async def test_a_student_moves_a_booking_and_subscribes_to_the_calendar_feed(
    page: Page,
) -> None:
    await sign_up(page, "Karim Hany", "karim@example.com")
    await page.goto("/tutors")
    await page.get_by_role("link", name="Tara Tutor").click()
    # The last group lesson of the fortnight: seats to spare and clear of the other journeys'
    # bookings, which take the earliest times. Its day is folded away like every later day, so
    # the student opens it first.
    day = page.locator("details").filter(has=page.locator("li.slot").filter(has_text=GROUP)).last
    if not await day.evaluate("details => details.open"):
        await day.locator("summary").click()
    slot = day.locator("li.slot").filter(has_text=GROUP).last
    await slot.get_by_role("button", name=re.compile("^Book")).click()
    await expect(page.get_by_role("status")).to_have_text("Your booking is made.")
    first_time = await page.get_by_role("heading", level=2).first.text_content()

    await expect(
        page.get_by_text(re.compile("move this booking to another open time of the same lesson"))
    ).to_be_visible()
    others = page.get_by_role("list", name="Other times")
    await expect(others.get_by_role("listitem").first).to_be_visible()
    await check_page(page, "booking-reschedule")
    await (
        others.get_by_role("listitem")
        .last.get_by_role("button", name=re.compile("^Move to "))
        .click()
    )
    await expect(page.get_by_role("status")).to_have_text("The booking is moved to the new time.")
    await expect(page.get_by_role("heading", level=2).first).not_to_have_text(first_time or "")
    await expect(page.get_by_text("confirmed", exact=True)).to_be_visible()

    await page.get_by_role("link", name="My bookings").click()
    await page.get_by_role("link", name="Subscribe in your calendar app").click()
    await expect(page.get_by_role("heading", name="Calendar subscription")).to_be_visible()
    await page.get_by_role("button", name="Make a new calendar link").click()
    link = await page.get_by_label("Your private calendar link (shown only now)").input_value()
    assert "/api/v1/calendar/feeds/" in link
    await check_page(page, "calendar-feed")
    feed = await page.request.get(link)
    assert feed.status == 200 and GROUP in await feed.text()

    await page.get_by_role("button", name="Turn the link off").click()
    await expect(page.get_by_role("status")).to_have_text(
        "The calendar link is turned off; calendar apps using it get nothing."
    )
    gone = await page.request.get(link)
    assert gone.status == 404
