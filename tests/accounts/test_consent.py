"""Guardian consent end to end: the email is read from a real local SMTP server."""

from __future__ import annotations

from datetime import UTC, date, datetime
from ipaddress import ip_address

import httpx
import pytest
from fastapi import APIRouter
from sqlalchemy import text
from sqlalchemy.exc import ProgrammingError

from studyhall.accounts.deps import CurrentUser
from studyhall.accounts.service import consent
from studyhall.app import create_app
from studyhall.config import Settings
from studyhall.db.engine import Database
from tests.accounts.conftest import Mailbox, deliver_mail, owner_rows, owner_value, sign_up

API = "/api/v1"
GUARDIAN = "parent@example.org"


def _born_years_ago(years: int) -> str:
    today = datetime.now(UTC).date()
    return date(today.year - years, today.month, min(today.day, 28)).isoformat()


@pytest.fixture
async def app_client(settings: Settings, db: Database) -> httpx.AsyncClient:
    """The app plus a route of 'another domain' that only declares ``CurrentUser``."""
    app = create_app(settings, db)
    other = APIRouter()

    @other.get("/scheduling-like/bookings")
    async def bookings(user: CurrentUser) -> dict[str, str]:
        return {"user": str(user.id)}

    app.include_router(other, prefix=API)
    transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 4000))
    return httpx.AsyncClient(transport=transport, base_url="http://test")


async def test_minor_is_blocked_until_guardian_consents_and_again_after_withdrawal(
    app_client: httpx.AsyncClient, owner_db: Database, mailbox: Mailbox
) -> None:
    client = app_client
    minor = await sign_up(client, date_of_birth=_born_years_ago(10))
    elsewhere = f"{API}/scheduling-like/bookings"

    blocked = await client.get(elsewhere, headers=minor.headers)
    assert (blocked.status_code, blocked.json()["code"]) == (403, "guardian_consent_required")
    for path in ("/me", "/me/student-profile", "/me/guardian-consent"):
        assert (await client.get(f"{API}{path}", headers=minor.headers)).status_code == 200, path
    status = (await client.get(f"{API}/me/guardian-consent", headers=minor.headers)).json()
    assert status == {
        "required": True,
        "consent_age": 13,
        "state": "missing",
        "guardian_email": None,
    }

    asked = await client.post(
        f"{API}/me/guardian-consent", json={"guardian_email": GUARDIAN}, headers=minor.headers
    )
    assert asked.status_code == 202
    await deliver_mail()
    token = mailbox.token(GUARDIAN, "Consent token")
    mail_text = mailbox.body(mailbox.to(GUARDIAN)[0])
    assert consent.LEGAL_TEXT_HASH in mail_text
    status = (await client.get(f"{API}/me/guardian-consent", headers=minor.headers)).json()
    assert (status["state"], status["guardian_email"]) == ("pending", GUARDIAN)

    shown = await client.get(f"{API}/guardian-consent", params={"token": token})
    assert shown.status_code == 200
    assert shown.json()["legal_text"] == consent.LEGAL_TEXT
    assert shown.json()["guardian_email"] == GUARDIAN
    stale = await client.post(
        f"{API}/guardian-consent",
        json={"token": token, "consent_given": True, "legal_text_hash": "0" * 64},
    )
    assert (stale.status_code, stale.json()["code"]) == (409, "legal_text_changed")
    assert await owner_value(owner_db, "SELECT count(*) FROM guardian_consents") == 0
    assert (await client.get(elsewhere, headers=minor.headers)).status_code == 403

    given = await client.post(
        f"{API}/guardian-consent",
        json={
            "token": token,
            "consent_given": True,
            "legal_text_hash": shown.json()["legal_text_hash"],
        },
    )
    assert given.status_code == 201
    rows = await owner_rows(
        owner_db,
        "SELECT user_id, guardian_email, consent_type, consent_given, legal_text_hash, ip_address "
        "FROM guardian_consents",
    )
    assert rows == [
        (minor.id, GUARDIAN, "account", True, consent.LEGAL_TEXT_HASH, ip_address("203.0.113.7"))
    ]
    assert (await client.get(elsewhere, headers=minor.headers)).status_code == 200
    reused = await client.post(
        f"{API}/guardian-consent",
        json={"token": token, "consent_given": False, "legal_text_hash": consent.LEGAL_TEXT_HASH},
    )
    assert (reused.status_code, reused.json()["code"]) == (422, "invalid_token")

    await deliver_mail()
    withdrawal = mailbox.token(GUARDIAN, "Withdrawal token")
    withdrawn = await client.post(f"{API}/guardian-consent/withdraw", json={"token": withdrawal})
    assert withdrawn.status_code == 201
    blocked = await client.get(elsewhere, headers=minor.headers)
    assert (blocked.status_code, blocked.json()["code"]) == (403, "guardian_consent_required")
    status = (await client.get(f"{API}/me/guardian-consent", headers=minor.headers)).json()
    assert status["state"] == "withdrawn"
    assert await owner_rows(
        owner_db, "SELECT consent_given FROM guardian_consents ORDER BY created_at"
    ) == [(True,), (False,)]
    assert await owner_rows(
        owner_db,
        "SELECT action FROM audit_log WHERE action LIKE 'guardian_consent.%' ORDER BY created_at",
    ) == [("guardian_consent.request",), ("guardian_consent.give",), ("guardian_consent.withdraw",)]


async def test_refusal_keeps_the_account_blocked(
    app_client: httpx.AsyncClient, mailbox: Mailbox
) -> None:
    minor = await sign_up(app_client, date_of_birth=_born_years_ago(12))
    await app_client.post(
        f"{API}/me/guardian-consent", json={"guardian_email": GUARDIAN}, headers=minor.headers
    )
    await deliver_mail()
    token = mailbox.token(GUARDIAN, "Consent token")
    refused = await app_client.post(
        f"{API}/guardian-consent",
        json={"token": token, "consent_given": False, "legal_text_hash": consent.LEGAL_TEXT_HASH},
    )
    assert refused.status_code == 201
    blocked = await app_client.get(f"{API}/scheduling-like/bookings", headers=minor.headers)
    assert blocked.status_code == 403
    await deliver_mail()
    assert len(mailbox.to(GUARDIAN)) == 1  # no withdrawal link for a refusal


async def test_consent_age_is_configurable_per_country(
    app_client: httpx.AsyncClient, settings: Settings
) -> None:
    settings.guardian_consent_age_by_country = {"DE": 16}
    german = await sign_up(app_client, date_of_birth=_born_years_ago(14), country="DE")
    other = await sign_up(app_client, date_of_birth=_born_years_ago(14), country="US")
    elsewhere = f"{API}/scheduling-like/bookings"
    assert (await app_client.get(elsewhere, headers=german.headers)).status_code == 403
    assert (await app_client.get(elsewhere, headers=other.headers)).status_code == 200
    status = (await app_client.get(f"{API}/me/guardian-consent", headers=german.headers)).json()
    assert (status["consent_age"], status["state"]) == (16, "missing")
    adult_asks = await app_client.post(
        f"{API}/me/guardian-consent", json={"guardian_email": GUARDIAN}, headers=other.headers
    )
    assert (adult_asks.status_code, adult_asks.json()["code"]) == (409, "consent_not_needed")


async def test_own_email_cannot_be_the_guardian(
    app_client: httpx.AsyncClient, owner_db: Database
) -> None:
    minor = await sign_up(app_client, date_of_birth=_born_years_ago(9))
    response = await app_client.post(
        f"{API}/me/guardian-consent", json={"guardian_email": minor.email}, headers=minor.headers
    )
    assert (response.status_code, response.json()["code"]) == (422, "guardian_email_is_own")
    assert await owner_value(owner_db, "SELECT count(*) FROM auth_tokens") == 0


async def test_consents_are_append_only_for_the_api_role(
    app_client: httpx.AsyncClient, db: Database, mailbox: Mailbox
) -> None:
    minor = await sign_up(app_client, date_of_birth=_born_years_ago(11))
    await app_client.post(
        f"{API}/me/guardian-consent", json={"guardian_email": GUARDIAN}, headers=minor.headers
    )
    await deliver_mail()
    await app_client.post(
        f"{API}/guardian-consent",
        json={
            "token": mailbox.token(GUARDIAN, "Consent token"),
            "consent_given": True,
            "legal_text_hash": consent.LEGAL_TEXT_HASH,
        },
    )
    for statement in (
        "UPDATE guardian_consents SET consent_given = false",
        "DELETE FROM guardian_consents",
    ):
        with pytest.raises(ProgrammingError, match="permission denied"):
            async with db.transaction() as session:
                await session.execute(text(statement))
