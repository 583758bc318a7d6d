"""A visitor in a real browser: landing, sign up, confirm the email from the mailed link, sign
out, sign in, reset a forgotten password from the mailed link, sign out; in English, in Arabic
and on a phone."""

from __future__ import annotations

from playwright.async_api import Page, expect

from tests.web.browser import WebServer, assert_accessible, assert_fits, check_page, links_in

PASSWORD = "a long walk by the river"
NEW_PASSWORD = "another long walk home"


async def sign_up(page: Page, name: str, email: str) -> None:
    await page.goto("/")
    await page.get_by_role("link", name="Create an account").click()
    await expect(page.get_by_role("heading", name="Create an account")).to_be_visible()
    await page.get_by_label("Your name").fill(name)
    await page.get_by_label("Email").fill(email)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_label("learn (student)").check()
    await page.get_by_role("button", name="Create account").click()


async def test_a_visitor_signs_up_confirms_signs_in_and_resets_the_password(
    page: Page, web_server: WebServer
) -> None:
    email = "nadia@example.com"
    await page.goto("/")
    await expect(page.get_by_role("heading", level=1)).to_have_text(
        "Learn with a tutor, a course or your own notes"
    )
    await check_page(page, "landing")

    await page.get_by_role("link", name="Create an account").click()
    # The browser's own zone replaces the UTC default.
    await expect(page.get_by_label("Time zone")).to_have_value("Africa/Cairo")
    await check_page(page, "sign-up")
    await page.get_by_role("button", name="Create account").click()
    await expect(page.get_by_text("Enter your name.")).to_be_visible()
    await check_page(page, "sign-up-errors")

    await sign_up(page, "Nadia Hassan", email)
    await expect(page.get_by_role("heading", name="Welcome, Nadia Hassan")).to_be_visible()
    await expect(page.get_by_role("status")).to_have_text(
        "We sent you an email: open its link to confirm your address."
    )
    await expect(page.get_by_text("not confirmed yet")).to_be_visible()
    await check_page(page, "home")

    verification = await web_server.wait_for_mail(email, "Confirm your email")
    [link] = [url for url in links_in(verification) if "/verify-email?" in url]
    await page.goto(link)
    await expect(page.get_by_role("heading", name="Confirm your email address")).to_be_visible()
    await check_page(page, "verify-email")
    await page.get_by_role("button", name="Confirm my email address").click()
    await expect(page.get_by_role("status")).to_have_text(
        "Your email address is confirmed. Thank you!"
    )
    await expect(page.get_by_text("confirmed", exact=True)).to_be_visible()

    await page.get_by_role("button", name="Sign out").click()
    await expect(page.get_by_role("status")).to_have_text("You are signed out.")
    await page.goto("/home")
    await expect(page.get_by_role("heading", name="Sign in")).to_be_visible()

    await page.get_by_label("Email").fill(email)
    await page.get_by_label("Password").fill("not the password")
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("alert")).to_have_text("The email or password is wrong.")
    await check_page(page, "sign-in-failed")

    await page.get_by_role("link", name="Forgot your password?").click()
    await page.get_by_label("Email").fill(email)
    await page.get_by_role("button", name="Send the link").click()
    await expect(page.get_by_role("status")).to_have_text(
        "If an account uses this address, a reset link is on its way."
    )
    await check_page(page, "forgot-password")

    reset = await web_server.wait_for_mail(email, "Reset your")
    [link] = [url for url in links_in(reset) if "/reset-password?" in url]
    await page.goto(link)
    await page.get_by_label("New password").fill("short")
    await page.get_by_role("button", name="Save the new password").click()
    await expect(page.get_by_role("alert")).to_contain_text("Choose a stronger password")
    await page.get_by_label("New password").fill(NEW_PASSWORD)
    await check_page(page, "reset-password")
    await page.get_by_role("button", name="Save the new password").click()
    await expect(page.get_by_role("status")).to_have_text(
        "Your password was changed. Sign in with the new one."
    )

    # The link works once.
    await page.goto(link)
    await expect(page.get_by_role("alert")).to_contain_text("invalid, expired or already used")

    await page.goto("/sign-in")
    await page.get_by_label("Email").fill(email)
    await page.get_by_label("Password").fill(NEW_PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("heading", name="Welcome, Nadia Hassan")).to_be_visible()
    await page.get_by_role("button", name="Sign out").click()
    await expect(page.get_by_role("status")).to_have_text("You are signed out.")


async def test_the_visitor_pages_read_right_to_left_in_arabic(page: Page) -> None:
    await page.goto("/sign-in")
    await page.get_by_role("button", name="العربية").click()
    await expect(page.locator("html")).to_have_attribute("dir", "rtl")
    await expect(page.locator("html")).to_have_attribute("lang", "ar")
    await expect(page.get_by_role("heading", level=1)).to_have_text("تسجيل الدخول")
    await check_page(page, "ar-sign-in")
    for path, name, heading in (
        ("/", "ar-landing", "تعلّم مع مدرّس أو دورة أو ملاحظاتك الخاصة"),
        ("/sign-up", "ar-sign-up", "أنشئ حسابًا"),
        ("/forgot-password", "ar-forgot-password", "هل نسيت كلمة المرور؟"),
    ):
        await page.goto(path)
        await expect(page.get_by_role("heading", level=1)).to_have_text(heading)
        await check_page(page, name)

    await page.goto("/sign-up")
    await page.get_by_label("اسمك").fill("ليلى")
    await page.get_by_label("البريد الإلكتروني").fill("layla@example.com")
    await page.get_by_label("كلمة المرور").fill(PASSWORD)
    await page.get_by_role("button", name="أنشئ الحساب").click()
    await expect(page.get_by_role("heading", name="مرحبًا، ليلى")).to_be_visible()
    await check_page(page, "ar-home")

    await page.get_by_role("link", name="ابحث عن مدرّس").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("ابحث عن مدرّس")
    await expect(page.get_by_role("list", name="المدرّسون")).to_contain_text("US$ في الساعة")
    await check_page(page, "ar-tutors")
    await page.get_by_role("link", name="Tara Tutor").click()
    await expect(page.get_by_text("الأوقات بتوقيتك المحلي، Africa/Cairo.")).to_be_visible()
    await check_page(page, "ar-tutor-profile")


async def test_the_visitor_pages_fit_a_360_pixel_phone(page: Page) -> None:
    await page.set_viewport_size({"width": 360, "height": 740})
    for path, name in (("/", "phone-landing"), ("/sign-up", "phone-sign-up")):
        await page.goto(path)
        await assert_fits(page, path)
        await check_page(page, name)
    await sign_up(page, "Omar Farouk", "omar@example.com")
    await expect(page.get_by_role("heading", name="Welcome, Omar Farouk")).to_be_visible()
    await assert_fits(page, "/home")
    await assert_accessible(page, "phone home")
    await check_page(page, "phone-home")
