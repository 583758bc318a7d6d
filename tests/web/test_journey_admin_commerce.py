"""An admin in a real browser runs the shop: finds a learner's payment and refunds part of it;
keeps credit packs and plans; publishes and unpublishes a product of the catalogue; hides a
review and shows it again; marks a tutor's payout statement paid; and finds each of these in the
audit log. Every page is checked with axe-core in English and Arabic and fits a phone.

The learner, their payment and the product are set up through the API (other users); the admin
acts only through the pages."""

from __future__ import annotations

import re
import uuid
from typing import Any

import httpx
from playwright.async_api import Page, expect

from studyhall.accounts.demo import DEMO_PASSWORD
from tests.web.browser import WebServer, assert_fits, check_page
from tests.web.test_journey_tutor import sign_in

ADMIN = "admin@demo.example.com"
PASSWORD = "correct horse battery staple"


async def _bearer(api: httpx.AsyncClient, email: str, password: str) -> dict[str, str]:
    signed_in = await api.post("/auth/sign-in", json={"email": email, "password": password})
    assert signed_in.status_code == 200, signed_in.text
    return {"Authorization": f"Bearer {signed_in.json()['access_token']}"}


async def _learner_buys_a_pack(base_url: str, email: str) -> dict[str, Any]:
    """A learner of their own buys the demo's cheapest USD pack (the manual provider settles at
    once outside production; settling a waiting one is covered over HTTP)."""
    async with httpx.AsyncClient(base_url=f"{base_url}/api/v1", timeout=20) as api:
        made = await api.post(
            "/auth/sign-up",
            json={
                "email": email,
                "password": PASSWORD,
                "name": "Layla Buyer",
                "role": "student",
                "timezone": "Africa/Cairo",
            },
        )
        assert made.status_code == 201, made.text
        learner = {"Authorization": f"Bearer {made.json()['access_token']}"}
        packs = (await api.get("/billing/credit-packs")).json()["items"]
        pack = next(p for p in packs if p["currency"] == "USD")
        bought = await api.post(f"/billing/credit-packs/{pack['id']}/purchase", headers=learner)
        assert bought.status_code == 201, bought.text
        payment: dict[str, Any] = bought.json()["payment"]
        assert (payment["status"], payment["provider"]) == ("succeeded", "manual")
        return payment


async def _private_product(base_url: str, name: str) -> None:
    async with httpx.AsyncClient(base_url=f"{base_url}/api/v1", timeout=20) as api:
        admin = await _bearer(api, ADMIN, DEMO_PASSWORD)
        course = (await api.get("/courses")).json()["items"][0]["id"]
        made = await api.post(
            "/products",
            json={
                "name": name,
                "description": "Everything for the spring exams.",
                "image_url": "https://example.com/spring.png",
                "price_cents": 4500,
                "currency": "USD",
                "course_ids": [course],
            },
            headers=admin,
        )
        assert made.status_code == 201, made.text


async def _in_arabic(page: Page, name: str) -> None:
    await page.get_by_role("button", name="العربية").click()
    await expect(page.locator("html")).to_have_attribute("dir", "rtl")
    await check_page(page, f"ar-{name}")
    await page.set_viewport_size({"width": 360, "height": 740})
    await assert_fits(page, name)
    await check_page(page, f"phone-ar-{name}")
    await page.get_by_role("button", name="English").click()
    await page.set_viewport_size({"width": 1280, "height": 800})


async def _admin_nav(page: Page, name: str) -> None:
    nav = page.get_by_role("navigation", name="Administration pages")
    await nav.get_by_role("link", name=name).click()


async def test_an_admin_refunds_part_of_a_payment_and_finds_it_in_the_audit_log(
    page: Page, web_server: WebServer
) -> None:
    email = f"layla-{uuid.uuid4().hex[:8]}@example.com"
    payment = await _learner_buys_a_pack(web_server.base_url, email)

    await sign_in(page, ADMIN)
    await page.get_by_role("link", name="Administration").click()
    await _admin_nav(page, "Payments")
    await expect(page.get_by_role("heading", name="Payments", level=1)).to_be_visible()
    await page.get_by_label("Payer's email or name, or a payment ID").fill(email)
    await page.get_by_label("Status").select_option("succeeded")
    await page.get_by_role("button", name="Search").click()
    found = page.get_by_role("article")
    await expect(found).to_have_count(1)
    await expect(found).to_contain_text("Layla Buyer")
    await expect(found).to_contain_text("paid")
    await check_page(page, "admin-payments")
    await found.get_by_role("link").click()

    await expect(page.get_by_role("heading", name=re.compile("^Payment of"))).to_be_visible()
    refund = page.get_by_role("region", name="Refund")
    await expect(refund).to_contain_text("Up to $5.00 can still be refunded.")
    await refund.get_by_label("Amount in USD").fill("7")
    await refund.get_by_role("button", name="Refund").click()
    await expect(page.get_by_text("That is more than can still be refunded")).to_be_visible()
    await page.go_back()
    await page.reload()
    await refund.get_by_label("Amount in USD").fill("2.50")
    await refund.get_by_role("button", name="Refund").click()
    await expect(page.get_by_role("status")).to_have_text(
        "The refund is made; a provider's refund completes shortly."
    )
    await expect(page.get_by_role("listitem").filter(has_text="$2.50")).to_contain_text("refunded")
    await expect(refund).to_contain_text("Up to $2.50 can still be refunded.")
    await check_page(page, "admin-payment")
    await _in_arabic(page, "admin-payment")

    await _admin_nav(page, "Audit log")
    await page.get_by_label("Subject type, e.g. review").fill("payment")
    await page.get_by_label("Subject ID").fill(payment["id"])
    await page.get_by_role("button", name="Search").click()
    entries = page.get_by_role("article")
    await expect(entries.filter(has_text="payment.succeed")).to_have_count(1)
    await page.get_by_label("Subject type, e.g. review").fill("refund")
    await page.get_by_label("Subject ID").fill("")
    await page.get_by_label("Action, e.g. review.hide").fill("refund.request")
    await page.get_by_label("Who acted (email or ID)").fill(ADMIN)
    await page.get_by_role("button", name="Search").click()
    await expect(entries.first).to_contain_text("refund.request")
    await expect(entries.first).to_contain_text('"amount_cents": 250')
    await check_page(page, "admin-audit-log")
    await _in_arabic(page, "admin-audit-log")


async def test_an_admin_keeps_packs_plans_and_the_catalogue(
    page: Page, web_server: WebServer
) -> None:
    tag = uuid.uuid4().hex[:6]
    product = f"Spring exam bundle {tag}"
    await _private_product(web_server.base_url, product)
    await sign_in(page, ADMIN)
    await page.goto("/admin")
    await _admin_nav(page, "Packs and plans")
    await expect(page.get_by_role("heading", name="Packs and plans", level=1)).to_be_visible()
    await check_page(page, "admin-prices")

    new_pack = page.get_by_role("form", name="New credit pack")
    await new_pack.get_by_label("Name").fill(f"Exam week {tag}")
    await new_pack.get_by_label("Credits").fill("30")
    await new_pack.get_by_label("Price").fill("3.50")
    await new_pack.get_by_label("Currency (three letters)").fill("USD")
    await new_pack.get_by_role("button", name="Create the pack").click()
    await expect(page.get_by_role("status")).to_have_text("The credit pack is on sale.")
    pack = page.get_by_role("article", name=f"Exam week {tag}")
    await expect(pack).to_contain_text("30 credits for $3.50")
    await expect(pack).to_contain_text("on sale")
    await pack.get_by_label(f"New name for Exam week {tag}").fill(f"Revision week {tag}")
    await pack.get_by_role("button", name="Rename").click()
    await expect(page.get_by_role("status")).to_have_text("Saved.")
    pack = page.get_by_role("article", name=f"Revision week {tag}")
    await pack.get_by_role("button", name="Take off sale").click()
    await expect(pack).to_contain_text("off sale")
    on_sale = await page.request.get("/api/v1/billing/credit-packs?limit=100")
    assert f"Revision week {tag}" not in await on_sale.text()

    new_plan = page.get_by_role("form", name="New plan")
    await new_plan.get_by_label("Key (lower-case letters, digits, - and _)").fill(f"club-{tag}")
    await new_plan.get_by_label("Name").fill(f"Study club {tag}")
    await new_plan.get_by_label("Billing cycle").select_option("yearly")
    await new_plan.get_by_label("Price").fill("99")
    await new_plan.get_by_label("Currency (three letters)").fill("USD")
    await new_plan.get_by_label("Credits each period").fill("100")
    await new_plan.get_by_role("button", name="Create the plan").click()
    await expect(page.get_by_role("status")).to_have_text("The plan is on sale.")
    plan = page.get_by_role("article", name=f"Study club {tag}")
    await expect(plan).to_contain_text("yearly")
    plans = await page.request.get("/api/v1/billing/plans?limit=100")
    assert f"club-{tag}" in await plans.text()
    await plan.get_by_role("button", name="Take off sale").click()
    await expect(plan).to_contain_text("off sale")
    plans = await page.request.get("/api/v1/billing/plans?limit=100")
    assert f"club-{tag}" not in await plans.text()
    await _in_arabic(page, "admin-prices")

    await _admin_nav(page, "Course catalogue")
    item = page.get_by_role("article", name=product)
    await expect(item).to_contain_text("not published")
    await check_page(page, "admin-catalogue")
    await item.get_by_role("button", name=f"Publish {product}").click()
    await expect(page.get_by_role("status")).to_have_text("The product is published.")
    await expect(item.get_by_text("published", exact=True)).to_be_visible()
    public = await page.request.get("/api/v1/products?limit=100")
    assert product in await public.text()
    await item.get_by_role("button", name=f"Unpublish {product}").click()
    await expect(page.get_by_role("status")).to_have_text("The product is unpublished.")
    public = await page.request.get("/api/v1/products?limit=100")
    assert product not in await public.text()

    title = (await (await page.request.get("/api/v1/courses")).json())["items"][0]["title"]
    course = page.get_by_role("article", name=title, exact=True)
    await course.get_by_role("button", name=f"Feature {title}").click()
    await expect(page.get_by_role("status")).to_have_text(
        "The course is featured in the catalogue."
    )
    await expect(course.get_by_text("featured", exact=True)).to_be_visible()
    await _in_arabic(page, "admin-catalogue")
    await page.get_by_role("link", name="Courses", exact=True).click()
    featured = page.get_by_role("list", name="Featured")
    await expect(featured.get_by_role("link", name=title)).to_be_visible()
    await check_page(page, "courses-featured")
    await page.go_back()
    await course.get_by_role("button", name=f"Stop featuring {title}").click()
    await expect(page.get_by_role("status")).to_have_text("The course is no longer featured.")


async def test_an_admin_hides_a_review_and_marks_a_payout_statement_paid(
    page: Page, web_server: WebServer
) -> None:
    await sign_in(page, ADMIN)
    await page.goto("/admin")
    await _admin_nav(page, "Reviews")
    await expect(page.get_by_role("heading", name="Reviews", level=1)).to_be_visible()
    await check_page(page, "admin-reviews")
    review = page.get_by_role("article").filter(has_text="Great chemistry explanations.")
    await expect(review).to_contain_text("Noor")
    await review.get_by_label("Reason for hiding this review").fill("names another student")
    await review.get_by_role("button", name="Hide").click()
    await expect(page.get_by_role("status")).to_have_text(
        "The review is hidden and no longer counts in the rating."
    )
    await expect(review).to_contain_text("Hidden because: names another student")
    tutors = await page.request.get("/api/v1/tutors?limit=100")
    kenji = next(t for t in (await tutors.json())["items"] if t["name"] == "Kenji Tutor")
    assert kenji["rating_count"] == 1
    await page.get_by_label("Show").select_option("hidden")
    await page.get_by_role("button", name="Search").click()
    await expect(review).to_have_count(1)
    await check_page(page, "admin-reviews-hidden")
    await _in_arabic(page, "admin-reviews-hidden")
    await review.get_by_role("button", name="Show it again").click()
    await expect(page.get_by_role("status")).to_have_text("The review is shown again.")
    tutors = await page.request.get("/api/v1/tutors?limit=100")
    kenji = next(t for t in (await tutors.json())["items"] if t["name"] == "Kenji Tutor")
    assert kenji["rating_count"] == 2

    await _admin_nav(page, "Payouts")
    await expect(page.get_by_role("heading", name="Payouts", level=1)).to_be_visible()
    await expect(page.get_by_label("Status")).to_have_value("due")
    statement = page.get_by_role("article", name=re.compile("^Kenji Tutor"))
    await expect(statement).to_contain_text("due")
    await check_page(page, "admin-payouts")
    await statement.get_by_role("button", name="Mark paid by hand").click()
    await expect(page.get_by_role("status")).to_have_text("The statement is marked paid.")
    await expect(statement).to_have_count(0)  # no longer due
    await page.get_by_label("Status").select_option("paid")
    await page.get_by_role("button", name="Search").click()
    await expect(statement).to_contain_text("paid by hand")
    await _in_arabic(page, "admin-payouts")

    await _admin_nav(page, "Audit log")
    await page.get_by_label("Action, e.g. review.hide").fill("payout_statement.mark_paid")
    await page.get_by_role("button", name="Search").click()
    await expect(page.get_by_role("article")).to_have_count(1)
    await page.get_by_label("Action, e.g. review.hide").fill("review.hide")
    await page.get_by_role("button", name="Search").click()
    await expect(page.get_by_role("article").first).to_contain_text("names another student")
