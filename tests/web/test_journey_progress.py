"""A learner's progress in a real browser: streak, daily goal (set on the page), the study timer,
XP, achievements, suggestions with their reasons, the weekly and monthly boards of everyone or of
friends with my rank, leaving the boards and coming back, and friends asked by e-mail and
accepted in the other person's browser."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from playwright.async_api import Browser, Page, expect

from studyhall.accounts.demo import DEMO_PASSWORD
from tests.web.browser import WebServer, assert_fits, check_page
from tests.web.test_journey_tutor import sign_in
from tests.web.test_journey_visitor import PASSWORD, sign_up

ADMIN = "admin@demo.example.com"
FRIEND = "noor@demo.example.com"


async def _bearer(api: httpx.AsyncClient, email: str, password: str) -> dict[str, str]:
    signed_in = await api.post("/auth/sign-in", json={"email": email, "password": password})
    assert signed_in.status_code == 200, signed_in.text
    return {"Authorization": f"Bearer {signed_in.json()['access_token']}"}


async def complete_a_lesson(base_url: str, email: str, password: str = DEMO_PASSWORD) -> None:
    """Setting up another learner's history through the API (the course pages are their own
    journey): an admin grants a demo course and the learner completes its first lesson, which
    earns lesson XP and the "First lesson" achievement."""
    await complete_lessons(base_url, email, password, 1)


async def complete_lessons(base_url: str, email: str, password: str, count: int) -> None:
    """The learner completes the first ``count`` lessons of the demo courses, granted by an
    admin, in catalogue order (20 XP each the first time a lesson is completed)."""
    async with httpx.AsyncClient(base_url=f"{base_url}/api/v1", timeout=20) as api:
        admin = await _bearer(api, ADMIN, DEMO_PASSWORD)
        learner = await _bearer(api, email, password)
        me = (await api.get("/me", headers=learner)).json()
        courses: list[dict[str, Any]] = (await api.get("/courses")).json()["items"]
        lessons: list[str] = []
        for course in (c["id"] for c in courses):
            granted = await api.post(
                f"/courses/{course}/grants", json={"user_id": me["id"]}, headers=admin
            )
            assert granted.status_code in (200, 201), granted.text
            outline = (await api.get(f"/courses/{course}", headers=learner)).json()
            lessons += [
                lesson["id"] for section in outline["sections"] for lesson in section["lessons"]
            ]
            if len(lessons) >= count:
                break
        assert len(lessons) >= count, f"the demo has only {len(lessons)} lessons"
        for lesson in lessons[:count]:
            done = await api.put(f"/lessons/{lesson}/completion", headers=learner)
            assert done.status_code == 200, done.text


async def test_a_learner_sets_a_goal_sees_xp_and_boards_and_makes_a_friend(
    page: Page, browser: Browser, web_server: WebServer
) -> None:
    email = f"lina-{uuid.uuid4().hex[:6]}@example.com"
    await sign_up(page, "Lina Farouk", email)
    await complete_a_lesson(web_server.base_url, email, PASSWORD)
    await complete_a_lesson(web_server.base_url, FRIEND)

    await page.get_by_role("link", name="My progress").click()
    await expect(page.get_by_role("heading", name="My progress", level=1)).to_be_visible()
    xp = page.get_by_role("region", name="Experience points")
    await expect(xp).to_contain_text("Total XP")
    await expect(xp.locator("dd").first).to_have_text("20")
    achievements = page.get_by_role("list", name="Achievements")
    await expect(
        achievements.get_by_role("listitem").filter(has_text="First lesson")
    ).to_contain_text("unlocked")
    await expect(achievements.get_by_role("listitem").filter(has_text="One week")).to_contain_text(
        "locked"
    )
    await expect(page.get_by_role("region", name="Streak")).to_contain_text("Days in a row")
    await check_page(page, "progress")

    # The daily goal: refused out of range, then saved.
    await page.get_by_label("Minutes with the study timer").check()
    await page.get_by_label("Minutes a day").fill("900")
    await page.get_by_role("button", name="Save my goal").click()
    await expect(page.get_by_text("Choose between 1 and 600 minutes.")).to_be_visible()
    await page.get_by_label("Minutes a day").fill("25")
    await page.get_by_role("button", name="Save my goal").click()
    await expect(page.get_by_role("status")).to_have_text("Your daily goal is saved.")
    await expect(page.get_by_role("region", name="Daily goal", exact=True)).to_contain_text(
        "0 of 25 minutes today"
    )

    # The study timer: started, shown running, stopped.
    timer = page.get_by_role("region", name="Study timer")
    await timer.get_by_role("button", name="Start the timer").click()
    await expect(page.get_by_role("status")).to_have_text(
        "The study timer is running. Keep this page open while you study."
    )
    await expect(timer).to_contain_text("Running since")
    await timer.get_by_role("button", name="Stop the timer").click()
    await expect(page.get_by_role("status")).to_have_text(
        "The study timer is stopped; your minutes are counted."
    )
    await expect(timer.get_by_role("button", name="Start the timer")).to_be_visible()
    await expect(timer).not_to_contain_text("Running since")

    # Suggestions: computed on demand, each with its reason, or none.
    await page.get_by_role("button", name="Look again").click()
    await expect(page.get_by_role("status")).to_have_text("Your suggestions are up to date.")
    suggestions = page.get_by_role("region", name="What to study next")
    await expect(suggestions).to_contain_text("Why:")

    # The boards: both learners earned 20 XP this week and month; ties go by user id.
    board = page.get_by_role("region", name="This week's leaderboard")
    await expect(board.get_by_role("row").filter(has_text="Lina Farouk")).to_contain_text("20")
    await expect(board.get_by_role("row").filter(has_text="Noor Student")).to_contain_text("20")
    await expect(board).to_contain_text("Your rank:")
    await page.get_by_role("link", name="Monthly").click()
    monthly = page.get_by_role("region", name="This month's leaderboard")
    await expect(monthly).to_contain_text("Your rank:")
    await expect(monthly.get_by_role("row").filter(has_text="Lina Farouk")).to_be_visible()

    # The friends board: no friends yet, so only me.
    await page.get_by_role("link", name="My friends").click()
    among_friends = page.get_by_role("region", name="This month's leaderboard")
    await expect(among_friends.get_by_role("row").filter(has_text="Lina Farouk")).to_be_visible()
    await expect(among_friends).not_to_contain_text("Noor Student")
    await expect(among_friends).to_contain_text("Your rank: 1 with 20 XP")

    # A board that does not exist is a page saying so, not an error.
    refused = await page.goto("/progress?board=yearly")
    assert refused is not None and refused.status == 400
    await expect(page.get_by_text("This address is incomplete or damaged")).to_be_visible()
    await page.goto("/progress")

    # Friends: an unknown address is refused; Noor is asked and accepts in her own browser.
    await page.get_by_label("Friend's email").fill("nobody@example.com")
    await page.get_by_role("button", name="Ask to be friends").click()
    await expect(page.get_by_text("No one with this email uses Studyhall.")).to_be_visible()
    await page.get_by_label("Friend's email").fill(FRIEND)
    await page.get_by_role("button", name="Ask to be friends").click()
    await expect(page.get_by_role("status")).to_have_text("Your friend request is sent.")
    friends = page.get_by_role("list", name="Friends")
    await expect(friends.get_by_role("listitem")).to_contain_text("Noor Student")
    await expect(friends.get_by_role("listitem")).to_contain_text("request sent")

    # Lina leaves the boards: Noor no longer sees her there.
    shown = page.get_by_label("Show me on leaderboards")
    await expect(shown).to_be_checked()
    await shown.uncheck()
    await page.get_by_role("button", name="Save", exact=True).click()
    await expect(page.get_by_role("status")).to_have_text("You no longer appear on leaderboards.")
    await expect(shown).not_to_be_checked()

    context = await browser.new_context(base_url=web_server.base_url, locale="en-GB")
    noor = await context.new_page()
    try:
        await sign_in(noor, FRIEND)
        await noor.goto("/progress")
        noor_board = noor.get_by_role("region", name="This week's leaderboard")
        await expect(noor_board.get_by_role("row").filter(has_text="Noor Student")).to_be_visible()
        await expect(noor_board).not_to_contain_text("Lina Farouk")
        asked = noor.get_by_role("list", name="Friends").get_by_role("listitem")
        await expect(asked.filter(has_text="Lina Farouk")).to_contain_text("asks to be your friend")
        await noor.get_by_role("button", name="Accept Lina Farouk").click()
        await expect(noor.get_by_role("status")).to_have_text("You are friends now.")
        await expect(asked.filter(has_text="Lina Farouk")).to_contain_text("friend")
    finally:
        await context.close()
    await page.reload()
    await expect(friends.get_by_role("listitem").filter(has_text="Noor Student")).to_contain_text(
        "friend"
    )
    await expect(friends).not_to_contain_text("request sent")

    # Back on the boards, Lina's friends board holds both friends.
    await shown.check()
    await page.get_by_role("button", name="Save", exact=True).click()
    await expect(page.get_by_role("status")).to_have_text("You appear on leaderboards.")
    await page.get_by_role("link", name="My friends").click()
    friends_board = page.get_by_role("region", name="This week's leaderboard")
    await expect(friends_board.get_by_role("row").filter(has_text="Noor Student")).to_be_visible()
    await expect(friends_board.get_by_role("row").filter(has_text="Lina Farouk")).to_be_visible()
    await expect(page.get_by_role("link", name="My friends")).to_have_attribute(
        "aria-current", "page"
    )
    await check_page(page, "progress-friends")

    # Arabic, right to left, and a phone.
    await page.get_by_role("button", name="العربية").click()
    await expect(page.locator("html")).to_have_attribute("dir", "rtl")
    await check_page(page, "ar-progress")
    await page.set_viewport_size({"width": 360, "height": 740})
    await assert_fits(page, "/progress")
    await check_page(page, "phone-ar-progress")
