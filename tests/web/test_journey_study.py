"""A student's study assistant in a real browser: upload notes (a two-page PDF) and watch them
being processed, read the summary whose citations open the source page, review flashcards with
the keyboard (FSRS ratings 1-4), take a quiz and read the explanations, ask a question and get an
answer citing the notes (streamed into the page, or a whole page without a script); then the
pages in Arabic and on a phone."""

from __future__ import annotations

import asyncio
import json
import re
import uuid

from playwright.async_api import Browser, Page, Route, expect

from tests.study.api.docs import FERRY_NEWS, PHOTOSYNTHESIS, VOLCANOES, make_pdf
from tests.web.browser import WebServer, assert_fits, check_page, screenshot
from tests.web.test_journey_visitor import sign_up

NOTES = "biology-notes.pdf"


async def upload_notes(page: Page) -> None:
    await page.get_by_role("link", name="Study", exact=True).first.click()
    await expect(page.get_by_role("heading", name="Study", level=1)).to_be_visible()
    await page.get_by_label("Notes file").set_input_files(
        {
            "name": NOTES,
            "mimeType": "application/pdf",
            "buffer": make_pdf([PHOTOSYNTHESIS, VOLCANOES]),
        }
    )
    await page.get_by_role("button", name="Upload").click()
    await expect(page.get_by_role("heading", name=NOTES)).to_be_visible()
    # Processing runs in the background; the page polls until it is done, then reloads.
    await expect(page.get_by_role("heading", name="Learn from these notes")).to_be_visible(
        timeout=30_000
    )


async def make(page: Page, what: str) -> None:
    await page.get_by_role("button", name=what).click()
    await expect(page.locator("#progress")).to_have_text("Ready", timeout=30_000)


async def test_a_student_uploads_notes_reads_a_summary_reviews_cards_takes_a_quiz_and_asks(
    page: Page,
) -> None:
    await sign_up(page, "Mona Saleh", "mona.saleh@example.com")
    await upload_notes(page)
    await expect(page.get_by_text("2 pages")).to_be_visible()
    await check_page(page, "study-material")

    await make(page, "Make a summary")
    await expect(page.get_by_role("heading", name="Summary")).to_be_visible()
    citations = page.locator("ol.summary a.citation")
    await expect(citations.first).to_have_text(re.compile(rf"{NOTES}, page [12]"))
    href = await citations.first.get_attribute("href")
    assert href is not None and re.search(r"/study/materials/[0-9a-f-]+/file#page=[12]$", href)
    answer = await page.request.get(href.split("#")[0])
    assert answer.headers["content-type"] == "application/pdf"
    assert (await answer.body()).startswith(b"%PDF")
    await check_page(page, "study-summary")

    await page.get_by_role("link", name=NOTES, exact=True).click()
    await make(page, "Make flashcards")
    await page.get_by_role("link", name="Review flashcards").click()
    await expect(page.get_by_role("heading", name="Review flashcards")).to_be_visible()
    due = page.get_by_text(re.compile(r"^\d+ cards? (is|are) due\.$"))
    first_count = int((await due.inner_text()).split()[0])
    front = await page.locator("#card-front").inner_text()
    await page.get_by_text("Show the answer").click()
    await check_page(page, "study-review")
    await page.keyboard.press("3")
    await expect(page.get_by_role("status")).to_have_text("Saved. Here is the next card.")
    if first_count > 1:
        await expect(due).to_have_text(re.compile(rf"^{first_count - 1} cards? (is|are) due\."))
        await expect(page.locator("#card-front")).not_to_have_text(front)
    else:
        await expect(page.get_by_text("No cards are due. Come back later.")).to_be_visible()

    await page.get_by_role("link", name="Study", exact=True).first.click()
    await page.get_by_role("link", name=NOTES, exact=True).click()
    await make(page, "Make a quiz")
    await page.get_by_role("link", name="Take the quiz").click()
    questions = page.locator("fieldset")
    asked = await questions.count()
    assert asked >= 1
    await check_page(page, "study-quiz")
    for index in range(asked):
        await questions.nth(index).get_by_role("radio").first.check()
    await page.get_by_role("button", name="Submit answers").click()
    await expect(page.get_by_role("status")).to_have_text(
        re.compile(rf"You got \d+ of {asked} right\.")
    )
    await expect(page.get_by_text("Why:").first).to_be_visible()
    await check_page(page, "study-quiz-results")

    await page.get_by_role("link", name="Study", exact=True).first.click()
    await page.get_by_role("link", name=NOTES, exact=True).click()
    # With the script, the answer streams into the notes' own page.
    material_url = page.url
    await page.get_by_label("Your question").fill("Which enzyme captures carbon dioxide?")
    await page.get_by_role("button", name="Ask").click()
    answer = page.get_by_role("region", name="From your notes")
    sources = answer.get_by_role("list", name="Sources")
    await expect(sources.get_by_role("link").first).to_have_text(f"{NOTES}, page 1")
    await expect(answer).to_contain_text("Rubisco")
    # The marker in the text links to the page it cites, as the source list does.
    marker = answer.locator(".rich").get_by_role("link", name="[1]")
    await expect(marker).to_have_attribute(
        "href", re.compile(r"/study/materials/[0-9a-f-]+/file#page=1$")
    )
    assert page.url == material_url
    await check_page(page, "study-answer-streamed")
    await sources.get_by_role("link").first.click()
    await expect(page).to_have_url(re.compile(r"/study/materials/[0-9a-f-]+/file#page=1$"))


async def test_without_a_script_asking_posts_and_shows_the_whole_answer(
    browser: Browser, web_server: WebServer
) -> None:
    context = await browser.new_context(
        base_url=web_server.base_url, java_script_enabled=False, locale="en-GB"
    )
    context.set_default_timeout(10_000)
    page = await context.new_page()
    try:
        await sign_up(page, "Nour Adel", f"nour-{uuid.uuid4().hex[:6]}@example.com")
        await upload_notes_without_script(page)
        await page.get_by_label("Your question").fill("Which enzyme captures carbon dioxide?")
        await page.get_by_role("button", name="Ask").click()
        await expect(page.get_by_role("heading", name="Answer", level=1)).to_be_visible()
        answer = page.get_by_role("region", name="From your notes")
        await expect(answer).to_contain_text("Rubisco")
        sources = answer.get_by_role("list", name="Sources")
        await expect(sources.get_by_role("link").first).to_have_text(f"{NOTES}, page 1")
        # axe-core runs as a script, which this browser does not run: a screenshot only.
        await screenshot(page, "study-answer")
    finally:
        await context.close()


async def test_the_streamed_answer_follows_replace_and_reset_events(page: Page) -> None:
    """What the model streams is checked sentence by sentence: the page shows each token, puts
    a ``replace`` in place of what it showed, withdraws it all on ``reset`` and ends with the
    answer drawn by the server. The stream is answered by the browser itself here, so the
    events arrive in exactly this order."""
    await sign_up(page, "Sami Aziz", f"sami-{uuid.uuid4().hex[:6]}@example.com")
    await upload_notes(page)
    seen: list[str] = []
    release = asyncio.Event()

    async def stream(route: Route) -> None:
        seen.append(route.request.headers.get("content-type", ""))
        await release.wait()
        await route.fulfill(
            status=200,
            headers={"content-type": "text/event-stream"},
            body=SCRIPTED_EVENTS,
        )

    await page.route("**/ask/stream", stream)
    await page.get_by_label("Your question").fill("What do plants make?")
    await page.get_by_role("button", name="Ask").click()
    await expect(page.get_by_role("button", name="Ask")).to_be_disabled()
    release.set()
    answer = page.get_by_role("region", name="From your notes")
    await expect(answer.locator(".final")).to_have_text("Plants make sugar.")
    await expect(answer.locator(".streaming")).to_be_hidden()
    await expect(page.get_by_role("button", name="Ask")).to_be_enabled()
    assert seen == ["application/x-www-form-urlencoded;charset=UTF-8"]


async def test_a_streamed_answer_shows_tokens_before_it_is_done(page: Page) -> None:
    await sign_up(page, "Laila Aziz", f"laila-{uuid.uuid4().hex[:6]}@example.com")
    await upload_notes(page)

    async def stream(route: Route) -> None:
        await route.fulfill(
            status=200,
            headers={"content-type": "text/event-stream"},
            body=_sse("token", {"text": "Plants "})
            + _sse("replace", {"text": "Leaves "})
            + _sse("token", {"text": "make sugar."}),
        )

    await page.route("**/ask/stream", stream)
    await page.get_by_label("Your question").fill("What do plants make?")
    await page.get_by_role("button", name="Ask").click()
    # No done event: the page keeps the checked text it was sent, with the replace honoured.
    await expect(page.locator("#answer .streaming")).to_have_text("Leaves make sugar.")


def _sse(event: str, data: dict[str, str]) -> str:
    return f"event: {event}\r\ndata: {json.dumps(data)}\r\n\r\n"


SCRIPTED_EVENTS = (
    _sse("token", {"text": "Plants make "})
    + ": ping\r\n\r\n"
    + _sse("replace", {"text": "Leaves make "})
    + _sse("reset", {"reason": "the model stopped"})
    + _sse("token", {"text": "Plants make sugar."})
    + _sse("done", {"id": "x", "html": '<div class="rich"><p>Plants <b>make</b> sugar.</p></div>'})
)


async def upload_notes_without_script(page: Page) -> None:
    """Without a script the page does not poll; reloading shows the notes once processed."""
    await page.goto("/study")
    await page.get_by_label("Notes file").set_input_files(
        {
            "name": NOTES,
            "mimeType": "application/pdf",
            "buffer": make_pdf([PHOTOSYNTHESIS, VOLCANOES]),
        }
    )
    await page.get_by_role("button", name="Upload").click()
    await expect(page.get_by_role("heading", name=NOTES)).to_be_visible()
    for _ in range(30):
        if await page.get_by_role("heading", name="Learn from these notes").count():
            return
        await asyncio.sleep(1)
        await page.reload()
    raise AssertionError("the notes were not processed within 30 s")


async def test_the_study_pages_read_in_arabic_and_fit_a_phone(page: Page) -> None:
    await sign_up(page, "Yara Nabil", "yara.nabil@example.com")
    await upload_notes(page)
    await page.set_viewport_size({"width": 360, "height": 740})
    await page.get_by_role("button", name="العربية").click()
    await expect(page.locator("html")).to_have_attribute("dir", "rtl")
    await assert_fits(page, "material")
    await check_page(page, "ar-study-material")
    await page.goto("/study")
    await expect(page.get_by_role("heading", level=1)).to_have_text("الدراسة")
    await assert_fits(page, "/study")
    await check_page(page, "ar-study")
    await page.goto("/study/review")
    await check_page(page, "ar-study-review")


NO_FAIR_QUESTION = re.compile(r"^No fair multiple-choice question could be made from these notes")


async def test_a_quiz_with_no_fair_question_is_refused_kindly_and_points_to_the_flashcards(
    page: Page,
) -> None:
    await sign_up(page, "Omar Haddad", "omar.haddad.fair-quiz@example.com")
    await page.get_by_role("link", name="Study", exact=True).first.click()
    await page.get_by_label("Notes file").set_input_files(
        {"name": "ferry.md", "mimeType": "text/markdown", "buffer": FERRY_NEWS.encode()}
    )
    await page.get_by_role("button", name="Upload").click()
    await expect(page.get_by_role("heading", name="Learn from these notes")).to_be_visible(
        timeout=30_000
    )
    await page.get_by_role("button", name="Make a quiz").click()
    # The job fails while the page polls; it reloads into the refusal, which is no error.
    await expect(page.get_by_text(NO_FAIR_QUESTION)).to_be_visible(timeout=30_000)
    await expect(page.locator("p.error")).to_have_count(0)
    await check_page(page, "study-quiz-refused")
    await page.get_by_role("button", name="Make their flashcards").click()
    await expect(page.locator("#progress")).to_have_text("Ready", timeout=30_000)
    await expect(page.get_by_role("link", name="Review flashcards")).to_be_visible()

    # Once the notes have a deck, a refused quiz links to it instead of making another.
    await page.get_by_role("link", name="ferry.md", exact=True).click()
    await page.get_by_role("button", name="Make a quiz").click()
    await expect(page.get_by_text(NO_FAIR_QUESTION)).to_be_visible(timeout=30_000)
    deck = page.url
    await page.get_by_role("button", name="العربية").click()
    refusal_ar = re.compile("^تعذّر إعداد سؤال اختيار من متعدد منصف")
    await expect(page.get_by_text(refusal_ar)).to_be_visible()
    await page.get_by_role("link", name="راجع بطاقاتها التعليمية").click()
    await expect(page.get_by_role("link", name="راجع البطاقات التعليمية")).to_be_visible()
    assert page.url != deck
