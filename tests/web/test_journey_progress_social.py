"""A learner's streak freezes and blocks in a real browser: a freeze refused without enough XP,
then bought with XP and held; a friend request blocked from the friends list (the other person
can no longer ask, in their own browser) and the block lifted."""

from __future__ import annotations

import uuid

from playwright.async_api import Browser, Page, expect

from tests.web.browser import WebServer, assert_fits, check_page
from tests.web.test_journey_progress import complete_lessons
from tests.web.test_journey_tutor import sign_in
from tests.web.test_journey_visitor import PASSWORD, sign_up

OTHER = "sam@demo.example.com"


async def test_a_learner_buys_a_streak_freeze_with_xp(page: Page, web_server: WebServer) -> None:
    email = f"omar-{uuid.uuid4().hex[:6]}@example.com"
    await sign_up(page, "Omar Haddad", email)
    await complete_lessons(web_server.base_url, email, PASSWORD, 1)

    await page.goto("/progress")
    freezes = page.get_by_role("region", name="Streak", exact=True)
    await expect(freezes).to_contain_text("You hold 0 of at most 5.")
    await expect(freezes).to_contain_text("You earn one every 7 days of streak")
    buy = freezes.get_by_role("button", name="Buy a streak freeze for 100 XP")
    await buy.click()
    await expect(freezes.get_by_role("alert")).to_have_text(
        "You do not have enough XP for a streak freeze yet."
    )
    await expect(freezes).to_contain_text("You hold 0 of at most 5.")
    await check_page(page, "progress-freeze-refused")

    # Five more lessons: 120 XP in all, enough for one freeze.
    await complete_lessons(web_server.base_url, email, PASSWORD, 6)
    await page.goto("/progress")
    await buy.click()
    await expect(page.get_by_role("status")).to_have_text("You bought a streak freeze.")
    await expect(freezes).to_contain_text("You hold 1 of at most 5.")
    await expect(freezes.locator("dt", has_text="Streak freezes").locator("+ dd")).to_have_text("1")
    await buy.click()
    await expect(freezes.get_by_role("alert")).to_have_text(
        "You do not have enough XP for a streak freeze yet."
    )
    await check_page(page, "progress-freezes")


async def test_a_learner_blocks_someone_from_the_friends_list_and_lifts_it(
    page: Page, browser: Browser, web_server: WebServer
) -> None:
    email = f"huda-{uuid.uuid4().hex[:6]}@example.com"
    await sign_up(page, "Huda Saleh", email)
    await page.goto("/progress")
    await page.get_by_label("Friend's email").fill(OTHER)
    await page.get_by_role("button", name="Ask to be friends").click()
    friends = page.get_by_role("list", name="Friends")
    sam = friends.get_by_role("listitem").filter(has_text="Sam Student")
    await expect(sam).to_contain_text("request sent")

    await sam.get_by_role("button", name="Block Sam Student").click()
    await expect(page.get_by_role("status")).to_have_text(
        "Blocked. They can no longer ask you to be friends."
    )
    await expect(sam).to_contain_text("blocked by you")
    await expect(sam.get_by_role("button", name="Remove Sam Student")).to_have_count(0)
    await check_page(page, "progress-blocked")

    context = await browser.new_context(base_url=web_server.base_url, locale="en-GB")
    other = await context.new_page()
    try:
        await sign_in(other, OTHER)
        await other.goto("/progress")
        theirs = other.get_by_role("list", name="Friends").get_by_role("listitem")
        await expect(theirs.filter(has_text="Huda Saleh")).to_contain_text("blocked")
        await expect(theirs.filter(has_text="Huda Saleh")).not_to_contain_text("blocked by you")
        await expect(
            theirs.filter(has_text="Huda Saleh").get_by_role("button", name="Unblock Huda Saleh")
        ).to_have_count(0)
        await other.get_by_label("Friend's email").fill(email)
        await other.get_by_role("button", name="Ask to be friends").click()
        await expect(other.get_by_text("You cannot ask this person to be friends.")).to_be_visible()
    finally:
        await context.close()

    await page.reload()
    await sam.get_by_role("button", name="Unblock Sam Student").click()
    await expect(page.get_by_role("status")).to_have_text("The block is lifted.")
    await expect(page.get_by_role("region", name="Friends")).to_contain_text("No friends yet.")

    # Arabic, right to left, and a phone.
    await page.get_by_role("button", name="العربية").click()
    await expect(page.locator("html")).to_have_attribute("dir", "rtl")
    await check_page(page, "ar-progress-freezes")
    await page.set_viewport_size({"width": 360, "height": 740})
    await assert_fits(page, "/progress")
