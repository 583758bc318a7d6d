"""Every link the service e-mails opens a working page of the web app."""

from __future__ import annotations

import email
import re
import uuid
from datetime import UTC, datetime, timedelta
from email.message import Message
from importlib.resources import files
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import httpx

from studyhall.config import Settings
from studyhall.notifications.models import is_transactional
from studyhall.notifications.service.render import render
from studyhall.notifications.service.unsubscribe import unsubscribe_page_url
from tests.conftest import run_jobs
from tests.web.browser import body_text
from tests.web.test_pages import csrf_of

LINK = re.compile(r"https?://[^\s<>\"']+")
PASSWORD = "a long walk by the river"

# What the notification templates read; booking notifications add their booking page's path.
SAMPLE_PAYLOAD = {
    "title": "Algebra, one to one",
    "starts_at": "2026-12-08T15:00:00+00:00",
    "ends_at": "2026-12-08T16:00:00+00:00",
    "with_name": "Tara Tutor",
    "balance": 2,
    "threshold": 3,
    "amount_cents": 12_500,
    "currency": "EGP",
    "description": "Algebra, one to one",
    "body": "The platform has news.",
    "kind": "summary",
    "child_name": "Sami",
}


def outbox_mails(settings: Settings) -> list[Message]:
    return [
        email.message_from_bytes(path.read_bytes())
        for path in sorted(settings.outbox_dir.glob("*.eml"))
    ]


def site_path(url: str, settings: Settings) -> str:
    assert url.startswith(settings.base_url), f"{url} is not an absolute link to the site"
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


async def assert_opens_a_page(client: httpx.AsyncClient, url: str, settings: Settings) -> None:
    response = await client.get(site_path(url, settings), follow_redirects=True)
    assert response.status_code == 200, (url, response.status_code, response.text[:500])
    assert response.headers["content-type"].startswith("text/html"), url
    assert "There is no page at this address" not in response.text, url


async def post_form(client: httpx.AsyncClient, path: str, **fields: str) -> httpx.Response:
    form = await client.get(path)
    return await client.post(path, data={"csrf_token": csrf_of(form.text), **fields})


async def test_every_link_in_the_account_emails_opens_a_page(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    # A minor signs up through the API and names a guardian: the guardian's link.
    minor = await client.post(
        "/api/v1/auth/sign-up",
        json={
            "email": "sami@example.com",
            "password": PASSWORD,
            "name": "Sami",
            "date_of_birth": (datetime.now(UTC).date() - timedelta(days=365 * 10)).isoformat(),
        },
    )
    bearer = {"Authorization": f"Bearer {minor.json()['access_token']}"}
    asked = await client.post(
        "/api/v1/me/guardian-consent", json={"guardian_email": "mum@example.com"}, headers=bearer
    )
    assert asked.status_code == 202
    # A visitor signs up in the web app (verification mail) and forgets the password (reset).
    signed_up = await post_form(
        client,
        "/sign-up",
        name="Nadia",
        email="nadia@example.com",
        password=PASSWORD,
        role="student",
        timezone="Africa/Cairo",
    )
    assert signed_up.status_code == 303
    client.cookies.clear()
    asked_reset = await post_form(client, "/forgot-password", email="nadia@example.com")
    assert asked_reset.status_code == 200
    await run_jobs()

    mails = outbox_mails(settings)
    links = {url for mail in mails for url in LINK.findall(body_text(mail))}
    paths = {urlsplit(url).path for url in links}
    assert paths == {"/guardian-consent", "/verify-email", "/reset-password"}, links
    for url in links:
        await assert_opens_a_page(client, url, settings)

    # The guardian consents on the page; the withdrawal link in the next mail opens a page too.
    [consent_link] = [url for url in links if "/guardian-consent?" in url]
    page = await client.get(site_path(consent_link, settings))
    decided = await client.post(
        "/guardian-consent",
        data={
            "csrf_token": csrf_of(page.text),
            "token": consent_link.split("token=")[1],
            "legal_text_hash": re.search(r'name="legal_text_hash" value="(\w+)"', page.text)[1],  # type: ignore[index]
            "decision": "give",
        },
    )
    assert "Your consent is recorded" in decided.text
    await run_jobs()
    withdrawal = [
        url
        for mail in outbox_mails(settings)
        for url in LINK.findall(body_text(mail))
        if "/guardian-consent/withdraw?" in url
    ]
    assert len(withdrawal) == 1
    await assert_opens_a_page(client, withdrawal[0], settings)
    assert (await client.get("/api/v1/bookings", headers=bearer)).status_code == 200


def notification_types() -> list[str]:
    templates = files("studyhall.notifications") / "templates"
    return sorted(
        entry.name.removesuffix(".txt")
        for entry in templates.iterdir()
        if entry.name.endswith(".txt") and entry.name != "base.txt"
    )


async def test_every_link_in_every_notification_email_opens_a_page(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    secret = settings.secret_key.get_secret_value()
    user_id = uuid.uuid4()
    rendered_links: dict[str, list[str]] = {}
    for type_ in notification_types():
        payload = (
            {**SAMPLE_PAYLOAD, "url": f"/bookings/{uuid.uuid4()}"}
            if type_.startswith("booking_")
            else dict(SAMPLE_PAYLOAD)
        )
        mail = render(
            type_,
            payload,
            name="Nadia",
            zone=ZoneInfo("Africa/Cairo"),
            unsubscribe_url=None
            if is_transactional(type_)
            else unsubscribe_page_url(settings.base_url, secret, user_id, type_),
            base_url=settings.base_url,
        )
        links = LINK.findall(mail.text) + re.findall(r'href="([^"]+)"', mail.html)
        for url in links:
            assert url.startswith(settings.base_url), f"{type_}: {url} is not absolute"
        rendered_links[type_] = links
    assert any("/bookings/" in url for url in rendered_links["booking_confirmation"])
    for links in rendered_links.values():
        for url in links:
            # A booking link opens the booking page; signed out, the sign-in page leads there.
            await assert_opens_a_page(client, url, settings)
