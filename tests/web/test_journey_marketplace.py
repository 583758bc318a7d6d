"""The marketplace in a real browser: a student books Tara, sees the meeting link, reviews the
lesson once it is over, edits the review until it freezes; Tara replies from her reviews page;
the review shows on her public page. Then, on a server set up with local fakes of Google and
Stripe: a tutor connects Google Calendar through the consent page and the API's callback,
chooses a calendar, disconnects; so does a student from their calendar page, where the feed's
subscribe link is made too; Tara reads her payout statement and starts Stripe onboarding."""

from __future__ import annotations

import re
import threading
import uuid
from collections.abc import Iterator
from http.server import ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlparse

import pytest
from playwright.async_api import Browser, Page, Route, expect
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from studyhall.accounts.service import new_key
from studyhall.db.engine import sqlalchemy_url
from tests.billing.fakes import FakeApi
from tests.billing.fakes import serve as serve_fake_api
from tests.pg import PgServer
from tests.scheduling.fake_google_oauth import FakeGoogleAuth, _handler
from tests.web.browser import WebServer, assert_fits, check_page, serve
from tests.web.test_journey_tutor import TUTOR, sign_in
from tests.web.test_journey_visitor import sign_up

ENDED = """
UPDATE bookings SET start_at = now() - interval '3 hours', end_at = now() - interval '2 hours',
    blocked_range = tstzrange(now() - interval '3 hours', now() - interval '2 hours'),
    status = 'completed'
WHERE id = :id
"""
JITSI = 'a[href^="https://meet.jit.si/"]'
FROZEN = "UPDATE reviews SET editable_until = now() - interval '1 minute' WHERE booking_id = :id"


async def owner_sql(server: WebServer, sql: str, **params: Any) -> None:
    """Time moved along in the server's database: the lesson is over, the edit window closed."""
    engine = create_async_engine(sqlalchemy_url(server.owner_url))
    try:
        async with engine.begin() as connection:
            await connection.execute(text(sql), params)
    finally:
        await engine.dispose()


async def new_context_page(browser: Browser, server: WebServer) -> Page:
    context = await browser.new_context(
        base_url=server.base_url, locale="en-GB", timezone_id="Africa/Cairo"
    )
    context.set_default_timeout(10_000)
    return await context.new_page()


async def test_a_student_reviews_a_lesson_and_the_tutor_replies(
    page: Page, browser: Browser, web_server: WebServer
) -> None:
    await sign_up(page, "Fadi Mansour", "fadi@example.com")
    await page.goto("/tutors")
    await page.get_by_role("list", name="Tutors").get_by_role("link", name="Tara Tutor").click()
    about = page.get_by_role("region", name="About")
    await expect(about).to_contain_text(re.compile(r"\d\.\d of 5, reviews: 3"))
    await expect(page.get_by_role("list", name="Reviews")).to_contain_text(
        "Tara made derivatives finally click."
    )
    algebra = page.locator("li.slot").filter(has_text="Algebra 1:1")
    await algebra.first.get_by_role("button", name=re.compile("^Book")).click()
    await expect(page.get_by_role("status")).to_have_text("Your booking is made.")
    # A confirmed booking shows where to meet: a fresh Jitsi room by default.
    await expect(page.locator(JITSI)).to_be_visible()
    booking_id = page.url.split("/bookings/")[1].split("?")[0]

    await owner_sql(web_server, ENDED, id=booking_id)
    await page.reload()
    review = page.get_by_role("region", name="Review")
    await expect(page.locator(JITSI)).to_have_count(0)
    await review.get_by_label("4 of 5 stars").check()
    await review.get_by_label("Your words (optional)").fill("Clear steps, good examples.")
    await review.get_by_role("button", name="Send review").click()
    await expect(page.get_by_role("status")).to_have_text("Your review is saved.")
    await expect(review).to_contain_text("Clear steps, good examples.")
    await check_page(page, "booking-review")
    await review.get_by_label("5 of 5 stars").check()
    await review.get_by_role("button", name="Save review").click()
    await expect(review.get_by_text("5 of 5 stars", exact=True).first).to_be_visible()

    await owner_sql(web_server, FROZEN, id=booking_id)
    await page.reload()
    await expect(review).to_contain_text("This review can no longer be changed.")
    await expect(review.get_by_role("button", name="Save review")).to_have_count(0)

    tara = await new_context_page(browser, web_server)
    await sign_in(tara, TUTOR)
    await tara.goto("/teach")
    teaching = tara.get_by_role("navigation", name="Teaching")
    await teaching.get_by_role("link", name="Reviews").click()
    mine = tara.get_by_role("list", name="Reviews of you")
    fadi = mine.get_by_role("listitem").filter(has_text="Clear steps, good examples.")
    await fadi.get_by_label("Reply to Fadi (once, shown publicly)").fill("Thanks, Fadi!")
    await fadi.get_by_role("button", name="Send reply").click()
    await expect(tara.get_by_role("status")).to_have_text("Your reply is published.")
    await expect(fadi).to_contain_text("You replied:")
    await expect(fadi.get_by_role("button", name="Send reply")).to_have_count(0)
    await check_page(tara, "teach-reviews")
    await tara.context.close()

    await page.goto(page.url.split("/bookings/")[0] + "/tutors")
    await page.get_by_role("list", name="Tutors").get_by_role("link", name="Tara Tutor").click()
    await expect(page.get_by_role("region", name="About")).to_contain_text("reviews: 4")
    newest = page.get_by_role("list", name="Reviews").get_by_role("listitem").first
    await expect(newest).to_contain_text("Fadi")
    await expect(newest).to_contain_text("Thanks, Fadi!")
    await check_page(page, "tutor-reviews")


# --- a server with Google and Stripe (local fakes) -------------------------------------------


class ConsentingGoogle(ThreadingHTTPServer):
    """The fake's endpoints plus Google's consent page, where the user always says "Allow"."""


def _consenting_handler(fake: FakeGoogleAuth) -> type[Any]:
    base = _handler(fake)

    class Handler(base):  # type: ignore[misc, valid-type]
        def do_GET(self) -> None:
            url = urlparse(self.path)
            if url.path != "/o/oauth2/v2/auth":
                self._answer(404, {"error": "not found"})
                return
            query = {k: v[0] for k, v in parse_qs(url.query).items()}
            code = fake.consent(query["code_challenge"], query["redirect_uri"], query["client_id"])
            back = f"{query['redirect_uri']}?{urlencode({'code': code, 'state': query['state']})}"
            self.send_response(302)
            self.send_header("Location", back)
            self.send_header("Content-Length", "0")
            self.end_headers()

    return Handler


@pytest.fixture(scope="module")
def google() -> Iterator[FakeGoogleAuth]:
    fake = FakeGoogleAuth()
    fake.busy["primary"] = []
    fake.busy["work@group.calendar.google.com"] = []
    server = ConsentingGoogle(("127.0.0.1", 0), _consenting_handler(fake))
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield fake
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def stripe() -> Iterator[FakeApi]:
    with serve_fake_api("stripe") as api:
        yield api


@pytest.fixture(scope="module")
def connected_server(
    pg_server: PgServer,
    tmp_path_factory: pytest.TempPathFactory,
    google: FakeGoogleAuth,
    stripe: FakeApi,
) -> Iterator[WebServer]:
    def more_env(base_url: str) -> dict[str, str]:
        return {
            "STUDYHALL_ENCRYPTION_KEYS": f"k1:{new_key()}",
            "STUDYHALL_GOOGLE_OAUTH_CLIENT_ID": google.client_id,
            "STUDYHALL_GOOGLE_OAUTH_CLIENT_SECRET": google.client_secret,
            "STUDYHALL_GOOGLE_OAUTH_REDIRECT_URL": f"{base_url}/api/v1/calendar/google/callback",
            # Each person lands on their own page: a tutor on /teach/google-calendar.
            "STUDYHALL_GOOGLE_OAUTH_DONE_URL": "/calendar/google/done?notice=google_connected",
            "STUDYHALL_GOOGLE_OAUTH_AUTH_URL": f"{google.url}/o/oauth2/v2/auth",
            "STUDYHALL_GOOGLE_OAUTH_TOKEN_URL": f"{google.url}/token",
            "STUDYHALL_GOOGLE_OAUTH_REVOKE_URL": f"{google.url}/revoke",
            "STUDYHALL_GOOGLE_CALENDAR_BASE_URL": f"{google.url}/calendar/v3",
            "STUDYHALL_BILLING_STRIPE_API_KEY": "sk_test_local",
            "STUDYHALL_BILLING_STRIPE_API_BASE": stripe.url,
            "STUDYHALL_BILLING_STRIPE_CONNECT_REFRESH_URL": f"{base_url}/teach/payouts",
            "STUDYHALL_BILLING_STRIPE_CONNECT_RETURN_URL": f"{base_url}/teach/payouts",
            # Students pay on Stripe's hosted Checkout page.
            "STUDYHALL_BILLING_DEFAULT_PROVIDER": "stripe",
            "STUDYHALL_BILLING_STRIPE_CHECKOUT": "checkout_session",
            "STUDYHALL_BILLING_STRIPE_SUCCESS_URL": f"{base_url}/bookings",
            "STUDYHALL_BILLING_STRIPE_CANCEL_URL": f"{base_url}/bookings",
        }

    yield from serve(pg_server, tmp_path_factory.mktemp("web-connected"), more_env)


async def test_a_tutor_connects_google_calendar_chooses_one_and_disconnects(
    browser: Browser, connected_server: WebServer, google: FakeGoogleAuth
) -> None:
    page = await new_context_page(browser, connected_server)
    await sign_in(page, TUTOR)
    await page.goto("/teach")
    nav = page.get_by_role("navigation", name="Teaching")
    await nav.get_by_role("link", name="Google Calendar").click()
    await expect(page.get_by_text("Not connected", exact=True)).to_be_visible()
    await check_page(page, "teach-google-disconnected")
    # Google's consent page (the fake says "Allow"), then the API's callback, then back here.
    await page.get_by_role("link", name="Connect Google Calendar").click()
    await expect(page.get_by_role("status")).to_have_text("Google Calendar is connected.")
    await expect(page).to_have_url(re.compile(r"/teach/google-calendar\?notice=google_connected$"))
    await expect(page.get_by_label("Calendar ID")).to_have_value("primary")

    await page.get_by_label("Calendar ID").fill("nobody@example.com")
    await page.get_by_role("button", name="Use this calendar").click()
    await expect(
        page.get_by_text("Google cannot read that calendar with this connection.")
    ).to_be_visible()
    await page.go_back()
    await page.get_by_label("Calendar ID").fill("work@group.calendar.google.com")
    await page.get_by_role("button", name="Use this calendar").click()
    await expect(page.get_by_role("status")).to_contain_text("Bookings now go to this calendar")
    await expect(page.get_by_label("Calendar ID")).to_have_value("work@group.calendar.google.com")
    await check_page(page, "teach-google-connected")

    await page.get_by_role("button", name="Disconnect Google Calendar").click()
    await expect(page.get_by_role("status")).to_have_text(
        "Google Calendar is disconnected and its access revoked."
    )
    await expect(page.get_by_role("link", name="Connect Google Calendar")).to_be_visible()
    assert google.revoked
    await page.context.close()


async def test_a_student_connects_google_calendar_on_the_calendar_page(
    browser: Browser, connected_server: WebServer, google: FakeGoogleAuth
) -> None:
    page = await new_context_page(browser, connected_server)
    await sign_up(page, "Rana Adel", f"rana-{uuid.uuid4().hex[:6]}@example.com")
    await page.goto("/bookings")
    await page.get_by_role("link", name="Subscribe in your calendar app").click()
    await expect(page.get_by_role("heading", name="Calendar subscription")).to_be_visible()
    connection = page.get_by_role("region", name="Google Calendar")
    await expect(connection.get_by_text("Not connected", exact=True)).to_be_visible()
    await check_page(page, "calendar-google-disconnected")

    # Google's consent page (the fake says "Allow"), the API's callback, then the done page,
    # which sends a student back to their calendar page.
    revoked_before = len(google.revoked)
    await connection.get_by_role("link", name="Connect Google Calendar").click()
    await expect(page.get_by_role("status")).to_have_text("Google Calendar is connected.")
    await expect(page).to_have_url(re.compile(r"/calendar\?notice=google_connected$"))
    await expect(connection.get_by_label("Calendar ID")).to_have_value("primary")

    await connection.get_by_label("Calendar ID").fill("nobody@example.com")
    await connection.get_by_role("button", name="Use this calendar").click()
    await expect(
        page.get_by_text("Google cannot read that calendar with this connection.")
    ).to_be_visible()
    await page.go_back()
    await connection.get_by_label("Calendar ID").fill("work@group.calendar.google.com")
    await connection.get_by_role("button", name="Use this calendar").click()
    await expect(page.get_by_role("status")).to_have_text("Your bookings now go to this calendar.")
    await expect(connection).to_contain_text("work@group.calendar.google.com")
    await check_page(page, "calendar-google-connected")

    # The feed's private link, beside it, opens in a calendar app.
    await page.get_by_role("button", name="Make a new calendar link").click()
    feed = await page.get_by_label("Your private calendar link (shown only now)").input_value()
    assert feed.startswith(f"{connected_server.base_url}/")
    webcal = page.get_by_role("link", name="Open in my calendar app")
    await expect(webcal).to_have_attribute("href", re.compile(r"^webcal://"))
    await expect(page.get_by_role("region", name="Google Calendar")).to_contain_text("Connected")

    await page.goto("/calendar")
    await connection.get_by_role("button", name="Disconnect Google Calendar").click()
    await expect(page.get_by_role("status")).to_have_text(
        "Google Calendar is disconnected and its access revoked."
    )
    await expect(connection.get_by_role("link", name="Connect Google Calendar")).to_be_visible()
    assert len(google.revoked) > revoked_before

    await page.get_by_role("button", name="العربية").click()
    await expect(page.locator("html")).to_have_attribute("dir", "rtl")
    await check_page(page, "ar-calendar")
    await page.set_viewport_size({"width": 360, "height": 740})
    await assert_fits(page, "/calendar")
    await page.context.close()


async def test_a_tutor_reads_a_payout_statement_and_starts_stripe_onboarding(
    browser: Browser, connected_server: WebServer
) -> None:
    page = await new_context_page(browser, connected_server)
    await sign_in(page, TUTOR)
    await page.goto("/teach")
    teaching = page.get_by_role("navigation", name="Teaching")
    await teaching.get_by_role("link", name="Payouts").click()
    await expect(page.get_by_role("heading", name="Payouts", level=1)).to_be_visible()
    statements = page.get_by_role("region", name="Statements and transfers")
    await expect(statements.get_by_role("row")).to_have_count(2)  # the demo's statement
    await check_page(page, "teach-payouts")
    await statements.get_by_role("link").first.click()
    await expect(page.get_by_role("heading", name="Payout statement")).to_be_visible()
    await expect(page.get_by_role("region", name="Entries").get_by_role("row")).to_have_count(4)
    await check_page(page, "teach-payout-statement")

    await page.go_back()
    onboarding: list[str] = []

    async def stripe_page(route: Route) -> None:
        onboarding.append(route.request.url)
        await route.fulfill(body="<title>Stripe</title><h1>Stripe onboarding</h1>")

    await page.route("https://connect.stripe.test/**", stripe_page)
    await page.get_by_role("button", name="Set up payouts with Stripe").click()
    await check_page(page, "teach-payout-onboarding")
    await page.get_by_role("link", name="Continue to Stripe").click()
    await expect(page.get_by_role("heading", name="Stripe onboarding")).to_be_visible()
    assert onboarding and "/setup/" in onboarding[0]
    await page.goto("/teach/payouts")
    await expect(page.get_by_role("button", name="Continue Stripe onboarding")).to_be_visible()

    await page.set_viewport_size({"width": 360, "height": 740})
    for path in ("/teach/payouts", "/teach/reviews", "/teach/google-calendar"):
        await page.goto(path)
        await assert_fits(page, path)
    await page.get_by_role("button", name="العربية").click()
    await expect(page.locator("html")).to_have_attribute("dir", "rtl")
    await expect(page.get_by_role("heading", level=1)).to_have_text("تقويم Google")
    await check_page(page, "ar-teach-google-calendar")
    await page.goto("/teach/payouts")
    await expect(page.get_by_role("heading", level=1)).to_have_text("المدفوعات")
    await check_page(page, "ar-teach-payouts")
    await page.goto("/teach/reviews")
    await check_page(page, "ar-teach-reviews")
    await page.context.close()


async def test_a_student_books_and_continues_to_the_hosted_payment_page(
    browser: Browser, connected_server: WebServer
) -> None:
    """The booking form's answer leads to another site; a form may only lead to this one
    (``form-action 'self'`` covers redirects too), so the page offers a link there."""
    page = await new_context_page(browser, connected_server)
    refused: list[str] = []
    page.on("console", lambda message: refused.append(message.text))
    checkout: list[str] = []

    async def stripe_page(route: Route) -> None:
        checkout.append(route.request.url)
        await route.fulfill(body="<title>Stripe</title><h1>Stripe Checkout</h1>")

    await page.route("https://checkout.stripe.test/**", stripe_page)
    await sign_up(page, "Hadi Fawzy", f"hadi-{uuid.uuid4().hex[:6]}@example.com")
    await page.goto("/tutors")
    await page.get_by_role("list", name="Tutors").get_by_role("link", name="Tara Tutor").click()
    slot = page.locator("li.slot").filter(has_text="Algebra 1:1").first
    await slot.get_by_role("button", name=re.compile("^Book")).click()
    await expect(page.get_by_role("heading", name="Continue to payment")).to_be_visible()
    await expect(page.get_by_role("link", name="See the booking")).to_be_visible()
    await check_page(page, "payment-continue")
    assert not [text for text in refused if "Content Security Policy" in text], refused
    await page.get_by_role("link", name="Continue to payment").click()
    await expect(page.get_by_role("heading", name="Stripe Checkout")).to_be_visible()
    assert checkout and "/c/pay/" in checkout[0]
    await page.goto(f"{connected_server.base_url}/bookings")
    await expect(page.get_by_role("region", name="Upcoming")).to_contain_text("Tara Tutor")
    await page.context.close()
