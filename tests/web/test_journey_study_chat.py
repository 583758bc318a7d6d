"""Asking about notes as a conversation, in a real browser: a question asked on the notes' page
starts a conversation about them, listed on that page; the conversation opens with its question,
answer and sources, and a follow-up streams into it and stays there, answered from the same
notes; without a script the follow-up posts and the conversation comes back; nobody else can
open it. Then Arabic and a phone."""

from __future__ import annotations

import re
import uuid

from playwright.async_api import Browser, Page, expect

from tests.web.browser import WebServer, assert_fits, check_page, screenshot
from tests.web.test_journey_study import NOTES, upload_notes
from tests.web.test_journey_tutor import sign_in
from tests.web.test_journey_visitor import PASSWORD, sign_up

FIRST = "Which enzyme captures carbon dioxide?"
FOLLOW_UP = "What causes explosive eruptions?"
NO_SCRIPT = "What is a caldera?"


async def test_a_student_goes_on_with_an_earlier_conversation_about_the_notes(
    page: Page, browser: Browser, web_server: WebServer
) -> None:
    email = f"salma-{uuid.uuid4().hex[:6]}@example.com"
    await sign_up(page, "Salma Fathy", email)
    await upload_notes(page)
    material_url = page.url
    earlier = page.get_by_role("region", name="Earlier conversations about these notes")
    await expect(earlier).to_contain_text("Questions you ask here are kept as conversations")

    await page.get_by_label("Your question").fill(FIRST)
    await page.get_by_role("button", name="Ask").click()
    answer = page.get_by_role("region", name="From your notes")
    await expect(answer).to_contain_text("Rubisco")
    await expect(answer.get_by_role("link", name="Go on with this conversation")).to_be_visible()

    await page.reload()
    listed = earlier.get_by_role("listitem")
    await expect(listed).to_have_count(1)
    await expect(listed).to_contain_text("last active")
    await check_page(page, "study-material-conversations")
    await earlier.get_by_role("link", name=FIRST).click()

    # The conversation: the question, the answer with its sources, and the way back.
    await expect(page.get_by_role("heading", name=FIRST, level=1)).to_be_visible()
    conversation = page.get_by_role("list", name="Conversation")
    # Each question and each answer is one item of the list (an answer's sources are a list of
    # their own inside it).
    turns = conversation.locator(":scope > li")
    await expect(turns).to_have_count(2)
    await expect(turns.first).to_contain_text("You asked")
    await expect(turns.nth(1)).to_contain_text("Rubisco")
    sources = conversation.get_by_role("list", name="Sources")
    await expect(sources.get_by_role("link").first).to_have_text(f"{NOTES}, page 1")
    await expect(page.get_by_role("link", name=NOTES, exact=True)).to_have_attribute(
        "href", re.compile(r"^/study/materials/[0-9a-f-]+$")
    )
    conversation_url = page.url
    await check_page(page, "study-conversation")

    # A follow-up streams in, answered from the same notes, and stays in the conversation.
    await page.get_by_label("Your question").fill(FOLLOW_UP)
    await page.get_by_role("button", name="Ask").click()
    new_answer = page.get_by_role("region", name="New answer")
    await expect(new_answer).to_contain_text("Andesite")
    await expect(new_answer.get_by_role("link", name=f"{NOTES}, page 2").first).to_be_visible()
    assert page.url == conversation_url
    await page.reload()
    await expect(turns).to_have_count(4)
    await expect(turns.nth(2)).to_contain_text(FOLLOW_UP)
    await expect(turns.nth(3)).to_contain_text("Andesite")

    # Without a script the follow-up posts, and the conversation comes back with its answer.
    plain = await browser.new_context(
        base_url=web_server.base_url, java_script_enabled=False, locale="en-GB"
    )
    plain.set_default_timeout(10_000)
    no_script = await plain.new_page()
    try:
        await sign_in(no_script, email, PASSWORD)
        await no_script.goto(conversation_url)
        await no_script.get_by_label("Your question").fill(NO_SCRIPT)
        await no_script.get_by_role("button", name="Ask").click()
        await expect(no_script).to_have_url(re.compile(r"/study/chats/[0-9a-f-]+#latest$"))
        items = no_script.get_by_role("list", name="Conversation").locator(":scope > li")
        await expect(items).to_have_count(6)
        await expect(items.nth(5)).to_contain_text("caldera")
        await screenshot(no_script, "study-conversation-no-script")
    finally:
        await plain.close()

    # Somebody else's conversation is not there for them.
    other = await browser.new_context(base_url=web_server.base_url, locale="en-GB")
    stranger = await other.new_page()
    try:
        await sign_up(stranger, "Karim Nabil", f"karim-{uuid.uuid4().hex[:6]}@example.com")
        await expect(stranger.get_by_role("heading", name="Welcome")).to_be_visible()
        refused = await stranger.goto(conversation_url)
        assert refused is not None and refused.status == 404
    finally:
        await other.close()

    await page.goto(material_url)
    await page.get_by_role("button", name="العربية").click()
    await expect(page.locator("html")).to_have_attribute("dir", "rtl")
    await check_page(page, "ar-study-material-conversations")
    await page.goto(conversation_url)
    await check_page(page, "ar-study-conversation")
    await page.set_viewport_size({"width": 360, "height": 740})
    await assert_fits(page, "/study/chats/…")
