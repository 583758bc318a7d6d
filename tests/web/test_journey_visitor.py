"""A visitor in a real browser: landing, sign up, confirm the email from the mailed link, sign
out, sign in, reset a forgotten password from the mailed link, sign out; in English, in Arabic
and on a phone."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.web.browser import WebServer, assert_accessible, assert_fits, check_page, links_in

PASSWORD = "a long walk by the river"
NEW_PASSWORD = "another long walk home"


def sign_up(page: Page, name: str, email: str) -> None:
    page.goto("/")
    page.get_by_role("link", name="Create an account").click()
    expect(page.get_by_role("heading", name="Create an account")).to_be_visible()
    page.get_by_label("Your name").fill(name)
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_label("learn (student)").check()
    page.get_by_role("button", name="Create account").click()


def test_a_visitor_signs_up_confirms_signs_in_and_resets_the_password(
    page: Page, web_server: WebServer
) -> None:
    email = "nadia@example.com"
    page.goto("/")
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Learn with a tutor, a course or your own notes"
    )
    check_page(page, "landing")

    page.get_by_role("link", name="Create an account").click()
    # The browser's own zone replaces the UTC default.
    expect(page.get_by_label("Time zone")).to_have_value("Africa/Cairo")
    check_page(page, "sign-up")
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_text("Enter your name.")).to_be_visible()
    check_page(page, "sign-up-errors")

    sign_up(page, "Nadia Hassan", email)
    expect(page.get_by_role("heading", name="Welcome, Nadia Hassan")).to_be_visible()
    expect(page.get_by_role("status")).to_have_text(
        "We sent you an email: open its link to confirm your address."
    )
    expect(page.get_by_text("not confirmed yet")).to_be_visible()
    check_page(page, "home")

    verification = web_server.wait_for_mail(email, "Confirm your email")
    [link] = [url for url in links_in(verification) if "/verify-email?" in url]
    page.goto(link)
    expect(page.get_by_role("heading", name="Confirm your email address")).to_be_visible()
    check_page(page, "verify-email")
    page.get_by_role("button", name="Confirm my email address").click()
    expect(page.get_by_role("status")).to_have_text("Your email address is confirmed. Thank you!")
    expect(page.get_by_text("confirmed", exact=True)).to_be_visible()

    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("status")).to_have_text("You are signed out.")
    page.goto("/home")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()

    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_have_text("The email or password is wrong.")
    check_page(page, "sign-in-failed")

    page.get_by_role("link", name="Forgot your password?").click()
    page.get_by_label("Email").fill(email)
    page.get_by_role("button", name="Send the link").click()
    expect(page.get_by_role("status")).to_have_text(
        "If an account uses this address, a reset link is on its way."
    )
    check_page(page, "forgot-password")

    reset = web_server.wait_for_mail(email, "Reset your")
    [link] = [url for url in links_in(reset) if "/reset-password?" in url]
    page.goto(link)
    page.get_by_label("New password").fill("short")
    page.get_by_role("button", name="Save the new password").click()
    expect(page.get_by_role("alert")).to_contain_text("Choose a stronger password")
    page.get_by_label("New password").fill(NEW_PASSWORD)
    check_page(page, "reset-password")
    page.get_by_role("button", name="Save the new password").click()
    expect(page.get_by_role("status")).to_have_text(
        "Your password was changed. Sign in with the new one."
    )

    # The link works once.
    page.goto(link)
    expect(page.get_by_role("alert")).to_contain_text("invalid, expired or already used")

    page.goto("/sign-in")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Welcome, Nadia Hassan")).to_be_visible()
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("status")).to_have_text("You are signed out.")


def test_the_visitor_pages_read_right_to_left_in_arabic(page: Page) -> None:
    page.goto("/sign-in")
    page.get_by_role("button", name="العربية").click()
    expect(page.locator("html")).to_have_attribute("dir", "rtl")
    expect(page.locator("html")).to_have_attribute("lang", "ar")
    expect(page.get_by_role("heading", level=1)).to_have_text("تسجيل الدخول")
    check_page(page, "ar-sign-in")
    for path, name, heading in (
        ("/", "ar-landing", "تعلّم مع مدرّس أو دورة أو ملاحظاتك الخاصة"),
        ("/sign-up", "ar-sign-up", "أنشئ حسابًا"),
        ("/forgot-password", "ar-forgot-password", "هل نسيت كلمة المرور؟"),
    ):
        page.goto(path)
        expect(page.get_by_role("heading", level=1)).to_have_text(heading)
        check_page(page, name)

    page.goto("/sign-up")
    page.get_by_label("اسمك").fill("ليلى")
    page.get_by_label("البريد الإلكتروني").fill("layla@example.com")
    page.get_by_label("كلمة المرور").fill(PASSWORD)
    page.get_by_role("button", name="أنشئ الحساب").click()
    expect(page.get_by_role("heading", name="مرحبًا، ليلى")).to_be_visible()
    check_page(page, "ar-home")


def test_the_visitor_pages_fit_a_360_pixel_phone(page: Page) -> None:
    page.set_viewport_size({"width": 360, "height": 740})
    for path, name in (("/", "phone-landing"), ("/sign-up", "phone-sign-up")):
        page.goto(path)
        assert_fits(page, path)
        check_page(page, name)
    sign_up(page, "Omar Farouk", "omar@example.com")
    expect(page.get_by_role("heading", name="Welcome, Omar Farouk")).to_be_visible()
    assert_fits(page, "/home")
    assert_accessible(page, "phone home")
    check_page(page, "phone-home")
