"""A learner in a real browser: the course catalogue, a course's outline and price, buying
(manual payments in development), the lesson player, marking lessons complete, the progress bar,
continuing where they left off, and a refund within the window; then the same pages in Arabic
and on a phone."""

from __future__ import annotations

import re

from playwright.async_api import Page, expect

from tests.web.browser import assert_fits, check_page
from tests.web.test_journey_visitor import sign_up


async def test_a_learner_buys_a_course_studies_two_lessons_and_gets_a_refund(page: Page) -> None:
    await sign_up(page, "Omar Fathy", "omar.fathy@example.com")
    await page.get_by_role("link", name="Courses").click()
    await expect(page.get_by_role("heading", name="Courses", level=1)).to_be_visible()
    catalogue = page.get_by_role("list", name="Courses")
    await expect(catalogue.get_by_role("link", name="Algebra from scratch")).to_be_visible()
    await check_page(page, "courses")

    await catalogue.get_by_role("link", name="Algebra from scratch").click()
    await expect(page.get_by_role("heading", name="Algebra from scratch")).to_be_visible()
    buying = page.get_by_role("region", name="Get this course")
    await expect(buying).to_contain_text("Math bundle · $49.00")
    lessons = page.get_by_role("region", name="Lessons")
    # Before buying only the preview lesson opens; the private section is not listed.
    await expect(lessons.get_by_role("link", name="What is an equation?")).to_be_visible()
    await expect(lessons.get_by_role("link", name="Balancing both sides")).to_have_count(0)
    await expect(lessons).not_to_contain_text("Exam drills")
    await check_page(page, "course")

    await buying.get_by_role("button", name="Buy Math bundle").click()
    await expect(page.get_by_role("status")).to_have_text("The course is yours. Enjoy learning!")
    await expect(page.get_by_text("0 of 5 lessons complete")).to_be_visible()
    await expect(page.get_by_role("region", name="Get this course")).to_have_count(0)
    await page.get_by_role("link", name="Start the course").click()

    await expect(page.get_by_role("heading", name="What is an equation?")).to_be_visible()
    # The lesson's Markdown: emphasis drawn, its opening "# title" not repeated under the title.
    await expect(page.get_by_text("Demo lesson content for Algebra from scratch.")).to_be_visible()
    await expect(page.locator("article em")).to_have_text("Algebra from scratch")
    await check_page(page, "lesson")
    await page.get_by_role("button", name="Mark complete").click()
    await expect(page.get_by_role("status")).to_have_text("Lesson complete. Here is the next one.")
    await expect(page.get_by_role("heading", name="Balancing both sides")).to_be_visible()
    await expect(page.get_by_role("progressbar")).to_have_attribute("value", "20.0")
    await page.get_by_role("button", name="Mark complete").click()
    await expect(page.get_by_role("heading", name="Word problems")).to_be_visible()

    await page.get_by_role("link", name="Algebra from scratch").click()
    await expect(page.get_by_text("2 of 5 lessons complete")).to_be_visible()
    await expect(page.get_by_role("progressbar")).to_have_attribute("value", "40.0")
    completed = page.get_by_role("region", name="Lessons").get_by_role("listitem")
    await expect(completed.filter(has_text="Complete")).to_have_count(2)
    await page.get_by_role("link", name="Continue where I left off").click()
    await expect(page.get_by_role("heading", name="Word problems")).to_be_visible()

    await page.get_by_role("link", name="Algebra from scratch").click()
    refund = page.get_by_role("region", name="Refund")
    await expect(refund).to_contain_text("You bought Math bundle for $49.00.")
    await expect(refund).to_contain_text(re.compile("money back until"))
    await check_page(page, "course-bought")
    await refund.get_by_role("button", name="Refund my purchase").click()
    await expect(page.get_by_role("status")).to_have_text("Your purchase is refunded.")
    await expect(page.get_by_role("region", name="Get this course")).to_be_visible()
    await expect(page.get_by_role("region", name="Refund")).to_have_count(0)
    await expect(page.get_by_role("progressbar")).to_have_count(0)

    # The lessons close again once access has gone with the refund.
    lessons = page.get_by_role("region", name="Lessons")
    await expect(lessons.get_by_role("link", name="Balancing both sides")).to_have_count(0)
    await expect(lessons.get_by_role("link", name="What is an equation?")).to_be_visible()


async def test_the_course_pages_read_in_arabic_and_fit_a_phone(page: Page) -> None:
    await sign_up(page, "Huda Kamal", "huda@example.com")
    await page.set_viewport_size({"width": 360, "height": 740})
    await page.goto("/courses")
    await page.get_by_role("button", name="العربية").click()
    await expect(page.locator("html")).to_have_attribute("dir", "rtl")
    await expect(page.get_by_role("heading", level=1)).to_have_text("الدورات")
    await assert_fits(page, "/courses")
    await check_page(page, "ar-courses")
    await page.get_by_role("link", name="Mechanics primer").click()
    await assert_fits(page, "course")
    await check_page(page, "ar-course")
    await page.get_by_role("button", name=re.compile("Mechanics primer")).click()
    await page.get_by_role("link", name="Velocity and acceleration").click()
    await expect(page.get_by_role("heading", name="Velocity and acceleration")).to_be_visible()
    await assert_fits(page, "lesson")
    await check_page(page, "ar-lesson")
