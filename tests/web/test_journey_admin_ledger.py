"""An admin in a real browser: finds a learner and grants them credits, takes some back and
reverses an entry; reads the payment providers' webhook events by state and provider; makes a
course product, changes its price and the courses it sells, and publishes it. Every page is
checked with axe-core in English and Arabic and fits a phone.

The learner and the received webhook events are set up outside the pages (other users, a
provider); the admin acts only through the pages."""

from __future__ import annotations

import json
import uuid

import httpx
from playwright.async_api import Page, expect

from tests.web.browser import WebServer, check_page
from tests.web.test_journey_admin_commerce import ADMIN, PASSWORD, _admin_nav, _in_arabic
from tests.web.test_journey_marketplace import owner_sql
from tests.web.test_journey_tutor import sign_in

EVENT = """
INSERT INTO webhook_events (provider, event_id, event_type, payload, received_at, processed_at,
    attempts, last_error, rejected_reason)
VALUES (:provider, :event_id, :event_type, CAST(:payload AS jsonb), now(),
    CASE WHEN :waiting THEN NULL ELSE now() END, 1, :error, :reason)
"""


async def _learner(base_url: str, name: str) -> str:
    email = f"ledger-{uuid.uuid4().hex[:8]}@example.com"
    async with httpx.AsyncClient(base_url=f"{base_url}/api/v1", timeout=20) as api:
        made = await api.post(
            "/auth/sign-up",
            json={
                "email": email,
                "password": PASSWORD,
                "name": name,
                "role": "student",
                "timezone": "Africa/Cairo",
            },
        )
        assert made.status_code == 201, made.text
    return email


async def _received(server: WebServer, provider: str, kind: str, **state: object) -> str:
    event_id = f"evt_{uuid.uuid4().hex[:12]}"
    await owner_sql(
        server,
        EVENT,
        provider=provider,
        event_id=event_id,
        event_type=kind,
        payload=json.dumps({"id": event_id}),
        waiting=state.get("waiting", False),
        error=state.get("error"),
        reason=state.get("reason"),
    )
    return event_id


async def test_an_admin_grants_takes_back_and_reverses_a_learners_credits(
    page: Page, web_server: WebServer
) -> None:
    tag = uuid.uuid4().hex[:6]
    name = f"Mona Credits {tag}"
    email = await _learner(web_server.base_url, name)
    await sign_in(page, ADMIN)
    await page.get_by_role("link", name="Administration").click()
    await page.get_by_label("Email or name").fill(email)
    await page.get_by_role("button", name="Search").click()
    await page.get_by_role("link", name=f"Credits and ledger of {name}").click()
    await expect(page.get_by_role("heading", name=f"Credits of {name}", level=1)).to_be_visible()
    await expect(page.locator("#balance")).to_have_text("0 credits")
    await expect(page.get_by_text("No entries yet.")).to_be_visible()
    await check_page(page, "admin-credits-empty")

    adjust = page.get_by_role("region", name="Grant or take back credits")
    await adjust.get_by_label("Credits (negative to take back)").fill("15")
    await adjust.get_by_label("Note (kept in the ledger and the audit log)").fill("Welcome gift")
    await adjust.get_by_role("button", name="Post the entry").click()
    await expect(page.get_by_role("status")).to_have_text("The entry is posted to the ledger.")
    await expect(page.locator("#balance")).to_have_text("15 credits")
    await adjust.get_by_label("Credits (negative to take back)").fill("-40")
    await adjust.get_by_label("Note (kept in the ledger and the audit log)").fill("Too many")
    await adjust.get_by_role("button", name="Post the entry").click()
    await expect(page.get_by_text("Not enough credits for this.")).to_be_visible()
    await page.goto(page.url.split("?")[0])
    await adjust.get_by_label("Credits (negative to take back)").fill("-5")
    await adjust.get_by_label("Note (kept in the ledger and the audit log)").fill("Half a gift")
    await adjust.get_by_role("button", name="Post the entry").click()
    await expect(page.locator("#balance")).to_have_text("10 credits")
    ledger = page.get_by_role("list", name="Ledger")
    taken = ledger.get_by_role("article", name="Entry 2: -5")
    await expect(taken).to_contain_text("Half a gift")
    await expect(taken).to_contain_text("by hand")
    await taken.get_by_role("button", name="Reverse entry 2").click()
    await expect(page.get_by_role("status")).to_have_text("The entry is reversed.")
    await expect(page.locator("#balance")).to_have_text("15 credits")
    reversal = ledger.get_by_role("article", name="Entry 3: +5")
    await expect(reversal).to_contain_text("reverses an earlier entry")
    await expect(reversal.get_by_role("button")).to_have_count(0)
    await check_page(page, "admin-credits")
    await _in_arabic(page, "admin-credits")

    await _admin_nav(page, "Audit log")
    await page.get_by_label("Action, e.g. review.hide").fill("credits.manual")
    await page.get_by_label("Who acted (email or ID)").fill(ADMIN)
    await page.get_by_role("button", name="Search").click()
    await expect(page.get_by_role("article").first).to_contain_text('"delta": 5')


async def test_an_admin_reads_webhook_events_by_state_and_provider(
    page: Page, web_server: WebServer
) -> None:
    waiting = await _received(
        web_server, "stripe", "charge.refunded", waiting=True, error="the provider did not answer"
    )
    refused = await _received(
        web_server,
        "stripe",
        "payment_intent.succeeded",
        reason="the amount does not match the payment",
    )
    applied = await _received(web_server, "paymob", "TRANSACTION")
    await sign_in(page, ADMIN)
    await page.goto("/admin")
    await _admin_nav(page, "Payment webhooks")
    await expect(page.get_by_role("heading", name="Payment webhooks", level=1)).to_be_visible()
    events = page.get_by_role("article")
    await expect(events.filter(has_text=waiting)).to_contain_text("the provider did not answer")
    await expect(events.filter(has_text=refused)).to_contain_text(
        "the amount does not match the payment"
    )
    await check_page(page, "admin-webhooks")

    await page.get_by_label("State").select_option("rejected")
    await page.get_by_role("button", name="Search").click()
    await expect(events.filter(has_text=refused)).to_contain_text("refused")
    await expect(events.filter(has_text=waiting)).to_have_count(0)
    await expect(events.filter(has_text=applied)).to_have_count(0)
    await page.get_by_label("State").select_option("")
    await page.get_by_label("Provider").select_option("paymob")
    await page.get_by_role("button", name="Search").click()
    await expect(events.filter(has_text=applied)).to_contain_text("applied")
    await expect(events.filter(has_text=refused)).to_have_count(0)
    await _in_arabic(page, "admin-webhooks")


async def test_an_admin_makes_a_product_changes_its_price_and_publishes_it(
    page: Page, web_server: WebServer
) -> None:
    tag = uuid.uuid4().hex[:6]
    product = f"Summer bundle {tag}"
    title = (await (await page.request.get("/api/v1/courses")).json())["items"][0]["title"]
    await sign_in(page, ADMIN)
    await page.goto("/admin")
    await _admin_nav(page, "Course catalogue")
    new = page.get_by_role("form", name="New product")
    await new.get_by_label("Name").fill(product)
    await new.get_by_label("Description").fill("A summer of practice.")
    await new.get_by_label("Picture's web address").fill("https://example.com/summer.png")
    await new.get_by_label("Price").fill("20")
    await new.get_by_label("Currency (three letters)").fill("USD")
    await new.get_by_label(title, exact=True).check()
    await new.get_by_role("button", name="Make the product").click()

    await expect(page.get_by_role("heading", name=f"Product {product}", level=1)).to_be_visible()
    await expect(page.get_by_role("status")).to_have_text(
        "The product is made; publish it to put it on sale."
    )
    await expect(page.get_by_text("not published").first).to_be_visible()
    await check_page(page, "admin-product")
    change = page.get_by_role("form", name="Change the product")
    await expect(change.get_by_label("Price")).to_have_value("20.00")
    await change.get_by_label("Price").fill("17.50")
    await change.get_by_label("Status").select_option("public")
    await change.get_by_role("button", name="Save the product").click()
    await expect(page.get_by_role("status")).to_have_text("The product is saved.")
    await expect(page.locator("dl.facts")).to_contain_text("$17.50")
    on_sale = await page.request.get("/api/v1/products?limit=100")
    sold = next(p for p in (await on_sale.json())["items"] if p["name"] == product)
    assert (sold["price_cents"], sold["status"]) == (1750, "public")
    sold = page.get_by_role("region", name="Courses it sells")
    await expect(sold).to_contain_text(title)
    other = (await (await page.request.get("/api/v1/courses")).json())["items"][1]["title"]
    await sold.get_by_label("Add a course (of the 50 newest)").select_option(label=other)
    await sold.get_by_role("button", name="Add to the product").click()
    await expect(page.get_by_role("status")).to_have_text("The product sells this course too.")
    await sold.get_by_role("button", name=f"Stop selling {title} here").click()
    await expect(page.get_by_role("status")).to_have_text(
        "The product no longer sells this course; buyers keep it."
    )
    await expect(sold.get_by_role("listitem")).to_have_count(1)
    await expect(sold.get_by_role("listitem")).to_contain_text(other)
    await _in_arabic(page, "admin-product")

    await page.get_by_role("link", name="Back to the catalogue").click()
    item = page.get_by_role("article", name=product)
    await expect(item).to_contain_text("$17.50")
    await expect(item).to_contain_text(other)
    await item.get_by_role("button", name=f"Unpublish {product}").click()
    await expect(page.get_by_role("status")).to_have_text("The product is unpublished.")
