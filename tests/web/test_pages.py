"""The web app over HTTP (no browser): offline docs, cookies, CSRF, links from e-mails."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import httpx

from studyhall.web.sessions import ACCESS_COOKIE, CSRF_COOKIE, REFRESH_COOKIE

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    match = CSRF.search(html)
    assert match, "the page has no form with a CSRF token"
    return match.group(1)


async def test_the_landing_page_is_html_in_the_browsers_language(client: httpx.AsyncClient) -> None:
    english = await client.get("/")
    assert english.status_code == 200
    assert english.headers["content-type"].startswith("text/html")
    assert '<html lang="en" dir="ltr">' in english.text
    arabic = await client.get("/", headers={"Accept-Language": "ar-EG,ar;q=0.9"})
    assert '<html lang="ar" dir="rtl">' in arabic.text
    assert "إنشاء حساب" in arabic.text


async def test_api_docs_load_swagger_ui_from_the_app_itself(client: httpx.AsyncClient) -> None:
    page = await client.get("/docs")
    assert page.status_code == 200
    assets = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert assets and all(url.startswith("/") for url in assets), assets
    for url in assets:
        assert (await client.get(url)).status_code == 200, url
    assert (await client.get("/static/vendor/swagger-ui/LICENSE")).status_code == 200
    assert (await client.get("/openapi.json")).status_code == 200


async def test_a_form_without_its_csrf_token_is_refused(client: httpx.AsyncClient) -> None:
    await client.get("/sign-in")
    response = await client.post("/sign-in", data={"email": "a@example.com", "password": "x" * 12})
    assert response.status_code == 403
    assert "This form has expired" in response.text
    forged = await client.post(
        "/sign-in", data={"email": "a@example.com", "password": "x", "csrf_token": "f" * 64}
    )
    assert forged.status_code == 403


async def test_sign_up_starts_a_cookie_session_with_safe_cookie_flags(
    client: httpx.AsyncClient,
) -> None:
    form = await client.get("/sign-up")
    response = await client.post(
        "/sign-up",
        data={
            "csrf_token": csrf_of(form.text),
            "name": "Web Student",
            "email": "web.student@example.com",
            "password": "correct horse battery",
            "role": "student",
            "timezone": "Africa/Cairo",
        },
    )
    assert response.status_code == 303, response.text
    assert response.headers["location"] == "/home?notice=verify_sent"
    cookies = response.headers.get_list("set-cookie")
    for name in (ACCESS_COOKIE, REFRESH_COOKIE):
        cookie = next(c for c in cookies if c.startswith(f"{name}="))
        assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/" in cookie
        assert "Secure" in cookie  # the settings are not development ones
    home = await client.get("/home")
    assert home.status_code == 200
    assert "Welcome, Web Student" in home.text
    assert "not confirmed yet" in home.text
    assert client.cookies.get(CSRF_COOKIE)


async def test_a_signed_out_visitor_is_sent_to_sign_in(client: httpx.AsyncClient) -> None:
    response = await client.get("/home")
    assert response.status_code == 303
    assert response.headers["location"] == "/sign-in?next=%2Fhome"


async def test_unknown_pages_are_html_and_api_errors_stay_problem_json(
    client: httpx.AsyncClient,
) -> None:
    page = await client.get("/no-such-page")
    assert page.status_code == 404
    assert page.headers["content-type"].startswith("text/html")
    api = await client.get("/api/v1/no-such-route")
    assert api.status_code == 404
    assert api.headers["content-type"] == "application/problem+json"


async def _sign_up_form(
    client: httpx.AsyncClient, email: str, date_of_birth: str
) -> httpx.Response:
    form = await client.get("/sign-up")
    return await client.post(
        "/sign-up",
        data={
            "csrf_token": csrf_of(form.text),
            "name": "Born Someday",
            "email": email,
            "password": "correct horse battery",
            "role": "student",
            "timezone": "Africa/Cairo",
            "date_of_birth": date_of_birth,
        },
    )


async def test_sign_up_takes_a_date_of_birth_and_asks_a_minor_for_a_guardian(
    client: httpx.AsyncClient,
) -> None:
    refused = await _sign_up_form(client, "bad.date@example.com", "2010-13-45")
    assert refused.status_code == 422
    assert "Enter your date of birth as year, month and day." in refused.text
    assert 'aria-invalid="true" aria-describedby="date_of_birth-error"' in refused.text

    today = datetime.now(UTC).date()
    adult = await _sign_up_form(client, "adult@example.com", f"{today.year - 30}-01-15")
    assert adult.headers["location"] == "/home?notice=verify_sent"
    client.cookies.clear()

    minor = await _sign_up_form(client, "minor@example.com", f"{today.year - 11}-01-15")
    assert minor.status_code == 303
    assert minor.headers["location"] == "/guardian-request?notice=guardian_needed"
    asked = await client.get(minor.headers["location"])
    assert "a parent or guardian has to consent first" in asked.text
    # Limited as the API limits a minor without consent.
    assert (await client.get("/bookings")).status_code == 403


async def test_an_unsubscribe_link_that_is_not_valid_says_so_and_changes_nothing(
    client: httpx.AsyncClient,
) -> None:
    page = await client.get("/unsubscribe?token=0123456789abcdef.system_update.forged")
    assert page.status_code == 200
    assert "This unsubscribe link is not valid." in page.text
    posted = await client.post(
        "/unsubscribe",
        data={"csrf_token": csrf_of(page.text), "token": "0123456789abcdef.system_update.forged"},
    )
    assert posted.status_code == 400
    assert "This unsubscribe link is not valid." in posted.text


async def test_the_study_timer_runs_once_keeps_alive_and_stops_once(
    client: httpx.AsyncClient,
) -> None:
    today = datetime.now(UTC).date()
    signed_up = await _sign_up_form(client, "timer@example.com", f"{today.year - 25}-03-01")
    assert signed_up.status_code == 303
    csrf = {"csrf_token": csrf_of((await client.get("/progress")).text)}

    started = await client.post("/progress/timer/start", data=csrf)
    assert started.headers["location"] == "/progress?notice=timer_started"
    assert "Running since" in (await client.get("/progress")).text
    again = await client.post("/progress/timer/start", data=csrf)
    assert again.status_code == 409
    assert "Your study timer is already running." in again.text

    kept = await client.post(
        "/progress/timer/heartbeat",
        headers={"X-CSRF-Token": csrf["csrf_token"], "HX-Request": "true"},
    )
    assert kept.status_code == 204

    stopped = await client.post("/progress/timer/stop", data=csrf)
    assert stopped.headers["location"] == "/progress?notice=timer_stopped"
    assert "Running since" not in (await client.get("/progress")).text
    twice = await client.post("/progress/timer/stop", data=csrf)
    assert twice.status_code == 404
    assert "Your study timer is not running." in twice.text
