"""Google Calendar sync finds its tokens in accounts' encrypted oauth_accounts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
from pydantic import SecretStr

from studyhall.accounts.service import oauth
from studyhall.accounts.service.encryption import KeyRing, new_key
from studyhall.config import Settings
from studyhall.db.engine import Database
from studyhall.db.rls import cross_users_transaction
from studyhall.scheduling.google import accounts as google_accounts
from studyhall.scheduling.google.calendar_sync import CalendarAccess
from tests.conftest import run_jobs
from tests.scheduling.conftest import MarketFactory, book, sign_up
from tests.scheduling.test_calendar import MORNING, FakeGoogle, google  # noqa: F401


async def test_sync_uses_the_decrypted_google_token(
    client: httpx.AsyncClient,
    db: Database,
    settings: Settings,
    market: MarketFactory,
    google: FakeGoogle,  # noqa: F811
) -> None:
    spec = f"k1:{new_key()}"
    keyed = settings.model_copy(update={"encryption_keys": SecretStr(spec)})
    m = await market(rule=MORNING)
    student = await sign_up(client, name="Sam")
    expired = await sign_up(client, name="Old")
    async with cross_users_transaction(db) as session:  # as the sync jobs do
        for person, token, expires in (
            (student, "ya29.student", datetime.now(UTC) + timedelta(hours=1)),
            (expired, "ya29.expired", datetime.now(UTC) - timedelta(minutes=1)),
        ):
            await oauth.link(
                session,
                KeyRing.parse(spec),
                person.id,
                provider="google",
                provider_account_id=f"g-{person.id}",
                access_token=token,
                expires_at=expires,
                calendar_id="study@group.calendar.google.com" if person is student else None,
            )
    google_accounts.install(keyed)
    lookup = google_accounts.lookup_for(keyed)
    async with cross_users_transaction(db) as session:  # as the sync jobs do
        assert await lookup(session, student.id) == CalendarAccess(
            "ya29.student", "study@group.calendar.google.com"
        )
        assert await lookup(session, expired.id) is None
        assert await lookup(session, m.tutor.id) is None
    async with db.transaction() as session:
        assert await google_accounts.lookup_for(settings)(session, student.id) is None

    booking = (await book(client, student, m.open_slots[0]["id"])).json()
    await run_jobs()
    assert [(r["method"], r["path"], r["auth"]) for r in google.requests] == [
        (
            "POST",
            "/calendar/v3/calendars/study@group.calendar.google.com/events",
            "Bearer ya29.student",
        )
    ]
    assert google.requests[0]["body"]["id"] == f"sh{booking['id'].replace('-', '')}s"
