"""A guardian's list of wards over HTTP: exactly the users whose standing consent (the latest,
given) names the signed-in person's e-mail, each linked to the ward's page, and linked from
``/home`` only for a guardian."""

from __future__ import annotations

import re

import httpx
from sqlalchemy import select

from studyhall.accounts.models import GuardianConsent, User
from studyhall.accounts.service import CONSENT_TYPE, LEGAL_TEXT_HASH
from studyhall.db.engine import Database
from studyhall.db.rls import cross_users_transaction
from tests.web.test_pages import csrf_of

GUARDIAN = "gemma.guardian@example.com"
WARD_LINK = re.compile(r'<a href="(/guardian/wards/[0-9a-f-]{36})">([^<]+)</a>')


async def _sign_up(client: httpx.AsyncClient, name: str, email: str) -> None:
    form = await client.get("/sign-up")
    answer = await client.post(
        "/sign-up",
        data={
            "csrf_token": csrf_of(form.text),
            "name": name,
            "email": email,
            "password": "correct horse battery",
            "role": "student",
            "timezone": "Africa/Cairo",
            "date_of_birth": "1990-01-15",
        },
    )
    assert answer.status_code == 303


async def _consents(db: Database, decisions: list[tuple[str, str, bool]]) -> None:
    """Records (ward's e-mail, guardian's e-mail, given) in this order, newest last."""
    async with cross_users_transaction(db) as session:
        for ward_email, guardian_email, given in decisions:
            ward = await session.scalar(select(User).where(User.email == ward_email))
            assert ward is not None
            session.add(
                GuardianConsent(
                    user_id=ward.id,
                    guardian_email=guardian_email,
                    consent_type=CONSENT_TYPE,
                    consent_given=given,
                    legal_text_hash=LEGAL_TEXT_HASH,
                )
            )
            await session.flush()


async def test_a_guardian_lists_the_wards_their_standing_consents_name(
    client: httpx.AsyncClient, db: Database
) -> None:
    for name in ("Zaid", "Amal", "Badr", "Camil", "Dina"):
        await _sign_up(client, name, f"{name.lower()}@example.com")
        client.cookies.clear()
    await _consents(
        db,
        [
            ("zaid@example.com", GUARDIAN.upper(), True),  # the address compared without case
            ("amal@example.com", "someone.else@example.com", True),
            ("amal@example.com", GUARDIAN, True),  # the newest consent names the guardian
            ("badr@example.com", GUARDIAN, True),
            ("badr@example.com", GUARDIAN, False),  # withdrawn
            ("camil@example.com", "someone.else@example.com", True),
            ("dina@example.com", GUARDIAN, True),
            ("dina@example.com", "someone.else@example.com", True),  # replaced by another's
        ],
    )

    await _sign_up(client, "Gemma", GUARDIAN)
    home = await client.get("/home")
    assert home.status_code == 200
    assert '<a href="/guardian/wards">Your wards</a>' in home.text

    listed = await client.get("/guardian/wards")
    assert listed.status_code == 200
    links = WARD_LINK.findall(listed.text)
    assert [name for _, name in links] == ["Amal", "Zaid"]
    for href, name in links:
        ward = await client.get(href)
        assert ward.status_code == 200
        assert f"{name}&#39;s bookings and progress" in ward.text


async def test_someone_nobody_named_sees_no_wards_and_no_link_home(
    client: httpx.AsyncClient, db: Database
) -> None:
    await _sign_up(client, "Wafa", "wafa@example.com")
    await _consents(db, [("wafa@example.com", "not.me@example.com", True)])
    client.cookies.clear()
    await _sign_up(client, "Nadia", "nadia@example.com")

    home = await client.get("/home")
    assert home.status_code == 200
    assert "/guardian/wards" not in home.text
    listed = await client.get("/guardian/wards")
    assert listed.status_code == 200
    assert WARD_LINK.findall(listed.text) == []
    assert "Nobody has named you as their guardian" in listed.text

    client.cookies.clear()
    signed_out = await client.get("/guardian/wards")
    assert signed_out.status_code == 303
    assert signed_out.headers["location"].startswith("/sign-in")
