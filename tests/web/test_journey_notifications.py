"""The bell in a real browser: its unread count arrives live over the event stream, signed in
with the session cookie alone; the inbox lists what arrived and marks it read. The settings
page: which notifications arrive by which channel, the unsubscribe link of an e-mail, quiet
hours."""

from __future__ import annotations

import re
import uuid

from playwright.async_api import Page, expect

from tests.web.browser import WebServer, assert_fits, check_page, links_in
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


async def test_a_student_chooses_notifications_unsubscribes_by_email_and_sets_quiet_hours(
    page: Page, web_server: WebServer
) -> None:
    address = f"salma-{uuid.uuid4().hex[:6]}@example.com"
    await sign_up(page, "Salma Reda", address)
    await page.get_by_role("link", name="Notification settings").click()
    await expect(page.get_by_role("heading", name="Notification settings", level=1)).to_be_visible()
    # Account emails always arrive by email: their box cannot be unticked.
    locked = page.get_by_label("Password reset by Email")
    await expect(locked).to_be_checked()
    await expect(locked).to_be_disabled()
    await check_page(page, "notification-settings")

    news = page.get_by_label("News from Studyhall by Email")
    reminders_by_text = page.get_by_label("Lesson reminders by Text message")
    await expect(news).to_be_checked()
    await expect(reminders_by_text).not_to_be_checked()
    await news.uncheck()
    await reminders_by_text.check()
    await page.get_by_role("button", name="Save choices").click()
    await expect(page.get_by_role("status")).to_have_text("Your notification choices are saved.")
    await expect(news).not_to_be_checked()
    await expect(reminders_by_text).to_be_checked()
    await expect(page.get_by_label("Lesson reminders by Email")).to_be_checked()

    # A booking's e-mail carries an unsubscribe link; its page unsubscribes with one button.
    await page.goto("/tutors")
    await page.get_by_role("link", name="Kenji Tutor").click()
    await page.locator("li.slot").first.get_by_role("button", name=re.compile("^Book")).click()
    await expect(page.get_by_role("status")).to_have_text("Your booking is made.")
    mail = await web_server.wait_for_mail(address, "Booking confirmed")
    [link] = [url for url in links_in(mail) if "/unsubscribe?" in url]
    await page.goto(link)
    await expect(page.get_by_text("Stop “Booking confirmed” emails?")).to_be_visible()
    await check_page(page, "unsubscribe")
    await page.get_by_role("button", name="Unsubscribe").click()
    await expect(page.get_by_role("status")).to_have_text(
        "You will no longer get “Booking confirmed” emails."
    )
    await page.get_by_role("link", name="Notification settings").click()
    await expect(page.get_by_label("Booking confirmed by Email")).not_to_be_checked()
    await expect(page.get_by_label("Booking confirmed by In the app")).to_be_checked()

    # Quiet hours: both ends in the student's own zone, different from each other.
    zone_note = page.get_by_text("in your time zone (Africa/Cairo)")
    await expect(zone_note).to_be_visible()
    await page.get_by_label("Quiet from").fill("22:00")
    await page.get_by_label("Quiet until").fill("22:00")
    await page.get_by_role("button", name="Save quiet hours").click()
    await expect(page.get_by_role("alert")).to_have_text(
        "Quiet hours must start and end at different times."
    )
    await page.get_by_label("Quiet until").fill("07:30")
    await page.get_by_role("button", name="Save quiet hours").click()
    await expect(page.get_by_role("status")).to_have_text("Your quiet hours are saved.")
    await expect(page.get_by_text("Quiet from 22:00 to 07:30.")).to_be_visible()
    await expect(page.get_by_label("Quiet until")).to_have_value("07:30")
    await page.get_by_role("button", name="العربية").click()
    await expect(page.locator("html")).to_have_attribute("dir", "rtl")
    await check_page(page, "ar-notification-settings")
    await page.set_viewport_size({"width": 360, "height": 740})
    await assert_fits(page, "/notifications/settings")
    await page.get_by_role("button", name="English").click()
    await page.get_by_role("button", name="Turn quiet hours off").click()
    await expect(page.get_by_role("status")).to_have_text("Quiet hours are off.")
    await expect(page.get_by_label("Quiet from")).to_have_value("")
