"""The bell in a real browser: its unread count arrives live over the event stream, signed in
with the session cookie alone; the inbox lists what arrived and marks it read."""

from __future__ import annotations

import re

from playwright.async_api import Page, expect

from tests.web.browser import check_page
from tests.web.test_journey_visitor import sign_up


async def test_the_bell_counts_new_notifications_live_and_the_inbox_lists_them(
    page: Page,
) -> None:
    await sign_up(page, "Yara Nabil", "yara@example.com")
    bell = page.get_by_role("link", name=re.compile("^Notifications"))
    count = page.locator("#unread-count")
    await expect(bell).to_be_visible()
    await expect(count).to_be_hidden()

    # In a second tab of the same browser, book a slot: the first tab's bell hears about it.
    other = await page.context.new_page()
    await other.goto("/tutors")
    await other.get_by_role("link", name="Kenji Tutor").click()
    await other.locator("li.slot").first.get_by_role("button", name=re.compile("^Book")).click()
    await expect(other.get_by_role("status")).to_have_text("Your booking is made.")
    await other.close()

    await expect(count).to_have_text(re.compile("^[1-9]"), timeout=20_000)
    await expect(count).to_have_attribute("aria-label", re.compile(r"^[1-9]\d* unread$"))

    await bell.click()
    await expect(page.get_by_role("heading", name="Notifications", level=1)).to_be_visible()
    inbox = page.get_by_role("list", name="Notifications")
    await expect(inbox.get_by_role("link", name=re.compile("^Booking confirmed"))).to_be_visible()
    await check_page(page, "notifications")
    await page.get_by_role("button", name="Mark all as read").click()
    await expect(page.get_by_text("new", exact=True)).to_have_count(0)
    await expect(count).to_be_hidden()

    # The stream is the signed-in user's only: without the cookie it is refused.
    await page.context.clear_cookies()
    response = await page.request.get("/notifications/stream", max_redirects=0)
    assert response.status == 303
    assert response.headers["location"].startswith("/sign-in")
