"""An admin in a real browser: find a user, suspend them (their session ends at once) and lift
the suspension; verify a new tutor from the queue of tutors waiting, who then shows in the
directory. Anyone else is refused: a visitor is sent to sign in, a student gets 403 both for the
page and for an action."""

from __future__ import annotations

from playwright.async_api import Browser, Page, expect

from tests.web.browser import WebServer, assert_fits, check_page
from tests.web.test_journey_tutor import sign_in
from tests.web.test_journey_visitor import PASSWORD, sign_up

ADMIN = "admin@demo.example.com"


async def test_an_admin_suspends_restores_and_verifies(
    page: Page, browser: Browser, web_server: WebServer
) -> None:
    student = await browser.new_context(base_url=web_server.base_url, locale="en-GB")
    learner = await student.new_page()
    await sign_up(learner, "Omar Learner", "omar.learner@example.com")
    await expect(learner.get_by_role("heading", name="Welcome, Omar Learner")).to_be_visible()
    await learner.goto("/admin")
    await expect(learner.get_by_text("not available to your kind of account")).to_be_visible()
    # With the student's own valid CSRF token: the refusal is the role check's.
    token = await learner.locator("input[name=csrf_token]").first.get_attribute("value")
    assert token
    refused = await learner.request.post(
        "/admin/users/00000000-0000-0000-0000-000000000000/restore",
        form={"csrf_token": token},
    )
    assert refused.status == 403
    assert "not available to your kind of account" in await refused.text()

    await page.goto("/admin")
    await expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    await page.get_by_label("Email").fill(ADMIN)
    await page.get_by_label("Password").fill("studyhall demo password")
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("heading", name="Users")).to_be_visible()
    await check_page(page, "admin-users")

    await page.get_by_label("Email or name").fill("omar.learner@")
    await page.get_by_role("button", name="Search").click()
    omar = page.get_by_role("article", name="Omar Learner")
    await expect(omar).to_have_count(1)
    await omar.get_by_label("Reason for suspending Omar Learner").fill("spam messages")
    await omar.get_by_role("button", name="Suspend").click()
    await expect(page.get_by_role("status")).to_have_text(
        "The user is suspended; their sessions have ended."
    )
    await expect(omar.get_by_text("suspended", exact=True)).to_be_visible()
    await expect(page.get_by_label("Email or name")).to_have_value("omar.learner@")
    await learner.goto("/home")
    await expect(learner.get_by_role("heading", name="Sign in")).to_be_visible()
    await omar.get_by_role("button", name="Lift the suspension").click()
    await expect(page.get_by_role("status")).to_have_text("The suspension is lifted.")
    await learner.get_by_label("Email").fill("omar.learner@example.com")
    await learner.get_by_label("Password").fill(PASSWORD)
    await learner.get_by_role("button", name="Sign in").click()
    await expect(learner.get_by_role("heading", name="Welcome, Omar Learner")).to_be_visible()
    await student.close()

    tutor_context = await browser.new_context(base_url=web_server.base_url, locale="en-GB")
    tutor = await tutor_context.new_page()
    await tutor.goto("/sign-up")
    await tutor.get_by_label("Your name").fill("Hala Newtutor")
    await tutor.get_by_label("Email").fill("hala@example.com")
    await tutor.get_by_label("Password").fill(PASSWORD)
    await tutor.get_by_label("teach (tutor)").check()
    await tutor.get_by_role("button", name="Create account").click()
    await expect(tutor.get_by_role("heading", name="Welcome, Hala Newtutor")).to_be_visible()
    await tutor_context.close()

    await page.goto("/admin?role=tutor")
    hala = page.get_by_role("article", name="Hala Newtutor")
    await expect(hala.get_by_text("waiting for review")).to_be_visible()
    await hala.get_by_role("button", name="Verify tutor").click()
    await expect(page.get_by_role("status")).to_have_text("The tutor is verified and listed.")
    await expect(hala.get_by_text("verified", exact=True)).to_be_visible()
    await expect(page.get_by_label("Account type")).to_have_value("tutor")

    await page.get_by_role("button", name="العربية").click()
    await expect(page.locator("html")).to_have_attribute("dir", "rtl")
    await check_page(page, "ar-admin-users")
    await page.set_viewport_size({"width": 360, "height": 740})
    await assert_fits(page, "/admin")
    await check_page(page, "phone-ar-admin-users")


async def test_an_admin_sends_a_broadcast_that_students_receive(
    page: Page, browser: Browser, web_server: WebServer
) -> None:
    await sign_in(page, ADMIN)
    await page.get_by_role("link", name="Administration").click()
    await page.get_by_role("link", name="Broadcasts").click()
    await expect(page.get_by_role("heading", name="Broadcasts", exact=True)).to_be_visible()
    await check_page(page, "admin-broadcasts")
    await page.get_by_label("Title").fill("Library closed on Friday")
    await page.get_by_label("Message").fill("The study rooms reopen on Saturday morning.")
    await page.get_by_label("Send to").select_option("student")
    await page.get_by_role("button", name="Send the broadcast").click()
    await expect(page.get_by_role("status")).to_have_text(
        "The broadcast is on its way; its progress shows below."
    )
    sent = page.get_by_role("listitem").filter(has_text="Library closed on Friday")
    await expect(sent).to_have_count(1)
    await expect(sent).to_contain_text("Students")
    # The batches run on the job queue after the request commits.
    for _ in range(40):
        if await sent.get_by_text("finished").count():
            break
        await page.wait_for_timeout(500)
        await page.reload()
    await expect(sent.get_by_text("finished")).to_be_visible()
    await page.get_by_role("button", name="العربية").click()
    await check_page(page, "ar-admin-broadcasts")

    student = await browser.new_context(base_url=web_server.base_url, locale="en-GB")
    sam = await student.new_page()
    await sign_in(sam, "sam@demo.example.com")
    await sam.goto("/notifications")
    await expect(sam.get_by_text("Library closed on Friday")).to_be_visible()
    await student.close()
