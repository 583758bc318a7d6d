"""A person's own data in a real browser: ask for an export, watch it get ready, download the zip
once from the e-mailed link (a second try is refused), then delete the account after typing the
password again (a wrong one is refused and nothing happens); the account cannot sign in after."""

from __future__ import annotations

import zipfile

from playwright.async_api import Page, expect

from tests.web.browser import WebServer, assert_fits, check_page, links_in
from tests.web.test_journey_visitor import PASSWORD, sign_up

EMAIL = "rana@example.com"


async def test_a_user_exports_their_data_then_deletes_the_account(
    page: Page, web_server: WebServer
) -> None:
    await sign_up(page, "Rana Export", EMAIL)
    await page.get_by_role("link", name="Account settings").click()
    await page.get_by_role("button", name="Export my data").click()
    await expect(page.get_by_role("heading", name="Your data export")).to_be_visible()
    # The in-process worker builds the archive; the page asks again by itself.
    await expect(page.get_by_text("Ready")).to_be_visible(timeout=30_000)
    await check_page(page, "account-export-ready")

    mail = await web_server.wait_for_mail(EMAIL, "data export is ready")
    link = next(url for url in links_in(mail) if "/download?token=" in url)
    async with page.expect_download() as started:
        await page.evaluate("url => { window.location.href = url; }", link)
    download = await started.value
    archive = zipfile.ZipFile(await download.path())
    users = archive.read("tables/users.json").decode()
    assert EMAIL in users and "password_hash" not in users

    await page.reload()
    await expect(page.get_by_text("Downloaded on")).to_be_visible()
    second = await page.request.get(link)
    assert second.status == 410

    await page.get_by_role("button", name="العربية").click()
    await expect(page.locator("html")).to_have_attribute("dir", "rtl")
    await check_page(page, "ar-account-export")
    await page.goto("/account/delete")
    await check_page(page, "ar-account-delete")
    await page.set_viewport_size({"width": 360, "height": 740})
    await assert_fits(page, "/account/delete")
    await page.get_by_role("button", name="English").click()
    await page.set_viewport_size({"width": 1280, "height": 800})

    await page.goto("/account")
    await page.get_by_role("link", name="Delete my account").click()
    await expect(
        page.get_by_text("before your personal data is erased, in days: 30")
    ).to_be_visible()
    await check_page(page, "account-delete")
    await page.get_by_label("Your password").fill("not my password at all")
    await page.get_by_role("button", name="Delete my account for good").click()
    await expect(page.get_by_role("alert")).to_have_text("The email or password is wrong.")
    await page.goto("/home")
    await expect(page.get_by_role("heading", name="Welcome, Rana Export")).to_be_visible()

    await page.goto("/account/delete")
    await page.get_by_label("Your password").fill(PASSWORD)
    await page.get_by_role("button", name="Delete my account for good").click()
    await expect(page.get_by_role("status")).to_contain_text("Your account is deleted")
    await page.goto("/home")
    await expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    await page.get_by_label("Email").fill(EMAIL)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    await expect(page.get_by_role("alert")).to_be_visible()
