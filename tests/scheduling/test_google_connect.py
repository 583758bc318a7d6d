"""Connecting Google Calendar against a local fake of Google's OAuth and Calendar endpoints:
authorization code with PKCE and state, encrypted tokens, refresh before expiry, the chosen
calendar, busy times blocking slots, and revocation on disconnect and on account deletion."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
import pytest
from pydantic import SecretStr

from studyhall.accounts.service.encryption import new_key
from studyhall.bootstrap import DatabaseUrls
from studyhall.config import Settings
from studyhall.db.engine import Database
from studyhall.scheduling.config import scheduling_settings
from studyhall.scheduling.google import accounts as google_accounts
from studyhall.scheduling.google import busy as google_busy
from studyhall.scheduling.google import calendar_sync as google_calendar
from tests.conftest import run_jobs
from tests.scheduling.conftest import (
    API,
    PASSWORD,
    MarketFactory,
    Person,
    book,
    execute,
    rows,
    scalar,
    sign_up,
    slots,
)
from tests.scheduling.fake_google_oauth import EVENTS, FREEBUSY, FakeGoogleAuth, serve

REDIRECT = "https://studyhall.example/api/v1/calendar/google/callback"


@pytest.fixture
def settings(database_urls: DatabaseUrls, tmp_path: Path) -> Settings:
    """The test settings with an encryption key ring (tokens are stored encrypted)."""
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        environment="test",
        database_url=database_urls.owner,
        app_database_url=database_urls.app,
        home=tmp_path / "home",
        mail_outbox_dir=tmp_path / "outbox",
        in_process_worker=False,
        log_json=False,
        encryption_keys=SecretStr(f"k1:{new_key()}"),
    )


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeGoogleAuth]:
    with serve() as google:
        for name, value in {
            "STUDYHALL_GOOGLE_OAUTH_CLIENT_ID": google.client_id,
            "STUDYHALL_GOOGLE_OAUTH_CLIENT_SECRET": google.client_secret,
            "STUDYHALL_GOOGLE_OAUTH_REDIRECT_URL": REDIRECT,
            "STUDYHALL_GOOGLE_OAUTH_AUTH_URL": f"{google.url}/o/oauth2/v2/auth",
            "STUDYHALL_GOOGLE_OAUTH_TOKEN_URL": f"{google.url}/token",
            "STUDYHALL_GOOGLE_OAUTH_REVOKE_URL": f"{google.url}/revoke",
            "STUDYHALL_GOOGLE_CALENDAR_BASE_URL": f"{google.url}/calendar/v3",
        }.items():
            monkeypatch.setenv(name, value)
        scheduling_settings.cache_clear()
        google_accounts.install()
        yield google
        scheduling_settings.cache_clear()
        google_calendar.set_token_lookup(None)


async def connect(client: httpx.AsyncClient, google: FakeGoogleAuth, person: Person) -> Any:
    """Start, "consent" as the browser would at Google, and come back through the callback."""
    started = await client.post(f"{API}/calendar/google/connect", headers=person.headers)
    assert started.status_code == 200, started.text
    query = {
        k: v[0] for k, v in parse_qs(urlparse(started.json()["authorization_url"]).query).items()
    }
    code = google.consent(query["code_challenge"], query["redirect_uri"], query["client_id"])
    return await client.get(
        f"{API}/calendar/google/callback", params={"code": code, "state": query["state"]}
    )


async def test_authorization_code_with_pkce_and_state(
    client: httpx.AsyncClient, owner_db: Database, fake: FakeGoogleAuth
) -> None:
    tutor = await sign_up(client, "tutor")
    started = await client.post(f"{API}/calendar/google/connect", headers=tutor.headers)
    url = urlparse(started.json()["authorization_url"])
    query = {k: v[0] for k, v in parse_qs(url.query).items()}
    assert url.path == "/o/oauth2/v2/auth"
    assert (query["response_type"], query["code_challenge_method"], query["access_type"]) == (
        "code",
        "S256",
        "offline",
    )
    assert set(query["scope"].split()) == {EVENTS, FREEBUSY}
    assert query["redirect_uri"] == REDIRECT and str(tutor.id) not in query["state"]

    code = fake.consent(query["code_challenge"], REDIRECT, query["client_id"])
    forged = await client.get(
        f"{API}/calendar/google/callback", params={"code": code, "state": query["state"][:-4]}
    )
    assert (forged.status_code, forged.json()["code"]) == (400, "invalid_state")
    denied = await client.get(
        f"{API}/calendar/google/callback",
        params={"error": "access_denied", "state": query["state"]},
    )
    assert (denied.status_code, denied.json()["code"]) == (400, "consent_denied")

    done = await client.get(
        f"{API}/calendar/google/callback", params={"code": code, "state": query["state"]}
    )
    assert done.status_code == 200, done.text
    assert (done.json()["connected"], done.json()["calendar_id"]) == (True, "primary")
    [exchange] = [r for r in fake.requests if r["path"] == "/token"][-1:]
    assert exchange["form"]["grant_type"] == "authorization_code"
    assert len(exchange["form"]["code_verifier"]) >= 43
    # The code is single-use: a replayed callback is refused by Google.
    replay = await client.get(
        f"{API}/calendar/google/callback", params={"code": code, "state": query["state"]}
    )
    assert (replay.status_code, replay.json()["code"]) == (400, "google_grant_refused")

    [(access_blob, refresh_blob, scopes)] = await rows(
        owner_db,
        "SELECT access_token_encrypted, refresh_token_encrypted, scopes FROM oauth_accounts "
        "WHERE user_id = :u AND deleted_at IS NULL",
        u=tutor.id,
    )
    [access] = list(fake.access)
    assert access.encode() not in bytes(access_blob) and sorted(scopes) == sorted(
        [EVENTS, FREEBUSY]
    )
    assert refresh_blob is not None


async def test_a_grant_without_the_events_scope_is_refused(
    client: httpx.AsyncClient, owner_db: Database, fake: FakeGoogleAuth
) -> None:
    fake.granted_scope = FREEBUSY
    tutor = await sign_up(client, "tutor")
    answered = await connect(client, fake, tutor)
    assert (answered.status_code, answered.json()["code"]) == (400, "calendar_scope_missing")
    assert await scalar(owner_db, "SELECT count(*) FROM oauth_accounts") == 0


async def test_busy_times_block_slots_and_bookings(
    client: httpx.AsyncClient, owner_db: Database, market: MarketFactory, fake: FakeGoogleAuth
) -> None:
    m = await market()
    busy_slot, free_slot = m.open_slots[3], m.open_slots[6]
    fake.busy["primary"] = [{"start": busy_slot["start_at"], "end": busy_slot["end_at"]}]
    assert (await connect(client, fake, m.tutor)).status_code == 200

    # A listing finds no busy times fetched yet: it asks for them (a job) and shows what it has.
    listed = await slots(client, tutor_id=m.tutor.id)
    assert busy_slot["id"] in [s["id"] for s in listed]
    await run_jobs()
    listed = await slots(client, tutor_id=m.tutor.id)
    assert busy_slot["id"] not in [s["id"] for s in listed]
    assert free_slot["id"] in [s["id"] for s in listed]
    student = await sign_up(client)
    refused = await book(client, student, busy_slot["id"])
    assert (refused.status_code, refused.json()["code"]) == (409, "tutor_busy")
    assert (await book(client, student, free_slot["id"])).status_code == 201

    # The cache is bounded: 600 busy intervals keep the earliest 500.
    start = datetime.now(UTC) + timedelta(days=40)
    fake.busy["primary"] = [
        {
            "start": (start + timedelta(hours=2 * i)).isoformat(),
            "end": (start + timedelta(hours=2 * i + 1)).isoformat(),
        }
        for i in range(600)
    ]
    refreshed = await client.post(f"{API}/calendar/google/busy/refresh", headers=m.tutor.headers)
    assert refreshed.json() == {"busy_intervals": google_busy.MAX_INTERVALS}
    assert await scalar(owner_db, "SELECT count(*) FROM calendar_busy_times") == 500


async def test_tokens_are_refreshed_before_they_expire(
    client: httpx.AsyncClient, owner_db: Database, fake: FakeGoogleAuth
) -> None:
    tutor = await sign_up(client, "tutor")
    fake.busy["primary"] = []
    assert (await connect(client, fake, tutor)).status_code == 200
    [first] = list(fake.access)
    await execute(
        owner_db,
        "UPDATE oauth_accounts SET token_expires_at = now() + interval '2 minutes' "
        "WHERE user_id = :u",
        u=tutor.id,
    )
    refreshed = await client.post(f"{API}/calendar/google/busy/refresh", headers=tutor.headers)
    assert refreshed.status_code == 200, refreshed.text
    grants = [r["form"]["grant_type"] for r in fake.requests if r["path"] == "/token"]
    assert grants == ["authorization_code", "refresh_token"]
    used = [r["auth"] for r in fake.requests if r["path"] == "/freeBusy"]
    assert used and used[-1] != f"Bearer {first}"
    expires = await scalar(
        owner_db, "SELECT token_expires_at FROM oauth_accounts WHERE user_id = :u", u=tutor.id
    )
    assert expires > datetime.now(UTC) + timedelta(minutes=50)


async def test_the_tutor_chooses_a_calendar_google_can_read(
    client: httpx.AsyncClient, fake: FakeGoogleAuth
) -> None:
    tutor = await sign_up(client, "tutor")
    fake.busy["primary"] = []
    fake.busy["work@group.calendar.google.com"] = []
    assert (await connect(client, fake, tutor)).status_code == 200
    unknown = await client.put(
        f"{API}/calendar/google/calendar",
        json={"calendar_id": "nobody@example.com"},
        headers=tutor.headers,
    )
    assert (unknown.status_code, unknown.json()["code"]) == (400, "calendar_not_readable")
    chosen = await client.put(
        f"{API}/calendar/google/calendar",
        json={"calendar_id": "work@group.calendar.google.com"},
        headers=tutor.headers,
    )
    assert chosen.status_code == 200, chosen.text
    assert chosen.json()["calendar_id"] == "work@group.calendar.google.com"
    assert chosen.json()["busy_synced_at"] is not None
    bad = await client.put(
        f"{API}/calendar/google/calendar", json={"calendar_id": "a b"}, headers=tutor.headers
    )
    assert bad.status_code == 422


async def test_disconnect_and_deletion_revoke_the_grant(
    client: httpx.AsyncClient, owner_db: Database, market: MarketFactory, fake: FakeGoogleAuth
) -> None:
    m = await market()
    busy_slot = m.open_slots[2]
    fake.busy["primary"] = [{"start": busy_slot["start_at"], "end": busy_slot["end_at"]}]
    assert (await connect(client, fake, m.tutor)).status_code == 200
    await client.post(f"{API}/calendar/google/busy/refresh", headers=m.tutor.headers)
    [refresh] = list(fake.refresh)
    gone = await client.delete(f"{API}/calendar/google", headers=m.tutor.headers)
    assert gone.status_code == 204
    assert fake.revoked == [refresh]
    assert await rows(
        owner_db,
        "SELECT deleted_at IS NOT NULL, access_token_encrypted = ''::bytea, "
        "refresh_token_encrypted IS NULL FROM oauth_accounts WHERE user_id = :u",
        u=m.tutor.id,
    ) == [(True, True, True)]
    assert busy_slot["id"] in [s["id"] for s in await slots(client, tutor_id=m.tutor.id)]
    again = await client.delete(f"{API}/calendar/google", headers=m.tutor.headers)
    assert (again.status_code, again.json()["code"]) == (404, "google_not_connected")

    student = await sign_up(client)
    fake.busy.setdefault("primary", [])
    assert (await connect(client, fake, student)).status_code == 200
    [student_refresh] = [t for t in fake.refresh]
    deleted = await client.request(
        "DELETE", f"{API}/me", headers=student.headers, json={"password": PASSWORD}
    )
    assert deleted.status_code in (200, 204), deleted.text
    await run_jobs()
    assert fake.revoked[-1] == student_refresh
    assert (
        await scalar(
            owner_db,
            "SELECT count(*) FROM oauth_accounts WHERE user_id = :u AND deleted_at IS NULL",
            u=student.id,
        )
        == 0
    )
