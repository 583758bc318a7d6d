"""Browser sessions keep the accounts domain's rules: refresh rotation and reuse, rate limits,
the guardian-consent limit."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from studyhall.app import create_app
from studyhall.config import Settings
from studyhall.db.engine import Database
from studyhall.web.sessions import ACCESS_COOKIE, REFRESH_COOKIE
from tests.web.test_pages import csrf_of

PASSWORD = "a long walk by the river"


async def sign_up(client: httpx.AsyncClient, email: str, **extra: str) -> httpx.Response:
    form = await client.get("/sign-up")
    return await client.post(
        "/sign-up",
        data={
            "csrf_token": csrf_of(form.text),
            "name": "Web User",
            "email": email,
            "password": PASSWORD,
            "role": "student",
            "timezone": "UTC",
            **extra,
        },
    )


async def test_an_expired_access_cookie_is_renewed_and_a_reused_refresh_token_ends_the_session(
    client: httpx.AsyncClient,
) -> None:
    assert (await sign_up(client, "renew@example.com")).status_code == 303
    first_refresh = client.cookies[REFRESH_COOKIE]
    client.cookies.delete(ACCESS_COOKIE)  # as the browser does once its max-age has passed

    renewed = await client.get("/home")
    assert renewed.status_code == 200
    assert client.cookies[ACCESS_COOKIE]
    assert client.cookies[REFRESH_COOKIE] != first_refresh

    # Someone replays the spent refresh token: the whole family is revoked, this browser too.
    thief = httpx.AsyncClient(transport=client._transport, base_url="https://test")
    thief.cookies.set(REFRESH_COOKIE, first_refresh, domain="test.local")
    replayed = await thief.get("/home")
    assert replayed.status_code == 303
    assert any(
        c.startswith(f'{REFRESH_COOKIE}=""') or c.startswith(f"{REFRESH_COOKIE}=;")
        for c in replayed.headers.get_list("set-cookie")
    )
    client.cookies.delete(ACCESS_COOKIE)
    ended = await client.get("/home")
    assert ended.status_code == 303
    assert ended.headers["location"].startswith("/sign-in")


@pytest.fixture
async def strict_client(settings: Settings, db: Database) -> AsyncIterator[httpx.AsyncClient]:
    strict = settings.model_copy(update={"signin_limit_per_account": 2})
    transport = httpx.ASGITransport(app=create_app(strict, db), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="https://test") as http:
        yield http


async def test_web_sign_ins_count_in_the_same_buckets_as_the_api(
    strict_client: httpx.AsyncClient,
) -> None:
    client = strict_client
    assert (await sign_up(client, "guess@example.com")).status_code == 303
    client.cookies.clear()
    api = await client.post(
        "/api/v1/auth/sign-in", json={"email": "guess@example.com", "password": "wrong one"}
    )
    assert api.status_code == 401
    form = await client.get("/sign-in")
    wrong = {"csrf_token": csrf_of(form.text), "email": "guess@example.com", "password": "no"}
    first = await client.post("/sign-in", data=wrong)
    assert first.status_code == 401
    assert "The email or password is wrong." in first.text
    second = await client.post("/sign-in", data=wrong)
    assert second.status_code == 429
    assert "Too many attempts" in second.text
    assert second.headers["retry-after"]
    right = await client.post("/sign-in", data={**wrong, "password": PASSWORD})
    assert right.status_code == 429  # the limit holds for a right password too


async def test_a_minor_without_consent_reaches_only_their_own_account_pages(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post(
        "/api/v1/auth/sign-up",
        json={
            "email": "young@example.com",
            "password": PASSWORD,
            "name": "Young One",
            "date_of_birth": (datetime.now(UTC).date() - timedelta(days=365 * 9)).isoformat(),
        },
    )
    assert response.status_code == 201
    form = await client.get("/sign-in")
    signed_in = await client.post(
        "/sign-in",
        data={"csrf_token": csrf_of(form.text), "email": "young@example.com", "password": PASSWORD},
    )
    assert signed_in.status_code == 303
    assert (await client.get("/home")).status_code == 200
    for path in ("/bookings", "/notifications"):
        blocked = await client.get(path)
        assert blocked.status_code == 403, path
        assert "consent is needed" in blocked.text
