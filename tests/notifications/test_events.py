"""The events API other domains call: rows and delivery jobs in the caller's transaction."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

import httpx
import pytest
from sqlalchemy import text

from studyhall.db.engine import Database
from studyhall.kit.errors import Unprocessable
from studyhall.notifications.service import sending as service
from tests.notifications.conftest import delivery_jobs, rows, sign_up


async def _channels(owner_db: Database, user_id: uuid.UUID) -> list[tuple[str, str, str]]:
    found = await rows(
        owner_db,
        "SELECT type, channel, status FROM notifications WHERE user_id = :u ORDER BY type, channel",
        u=user_id,
    )
    return [(str(r[0]), str(r[1]), str(r[2])) for r in found]


async def test_notify_writes_a_row_per_default_channel_and_defers_the_email(
    client: httpx.AsyncClient, db: Database, owner_db: Database
) -> None:
    ana = await sign_up(client, "Ana")
    async with db.transaction() as session:
        ids = await service.notify(
            session, ana.id, "payment_success", {"amount_cents": 2500, "currency": "EUR"}
        )
    assert len(ids) == 2
    assert await _channels(owner_db, ana.id) == [
        ("payment_success", "email", "pending"),
        ("payment_success", "inapp", "sent"),
    ]
    email_id = (await rows(owner_db, "SELECT id FROM notifications WHERE channel = 'email'"))[0][0]
    jobs = await delivery_jobs(owner_db)
    assert [(job[0], job[2]) for job in jobs] == [([str(email_id)], "todo")]
    args = await rows(owner_db, "SELECT args, queue_name FROM procrastinate_jobs")
    assert args == [({"notification_ids": [str(email_id)]}, "notifications")]


async def test_a_rolled_back_event_leaves_no_notification_and_no_job(
    client: httpx.AsyncClient, db: Database, owner_db: Database
) -> None:
    ana = await sign_up(client, "Ana")
    with pytest.raises(RuntimeError):
        async with db.transaction() as session:
            await service.notify(session, ana.id, "payment_failed", {"amount_cents": 100})
            raise RuntimeError("the payment write failed")
    assert await _channels(owner_db, ana.id) == []
    assert await delivery_jobs(owner_db) == []


async def test_preferences_and_phone_decide_the_channels(
    client: httpx.AsyncClient, db: Database, owner_db: Database
) -> None:
    ana = await sign_up(client, "Ana", phone="+4512345678")
    ben = await sign_up(client, "Ben")
    for person in (ana, ben):
        response = await client.put(
            "/api/v1/notifications/preferences",
            json={
                "preferences": [
                    {"type": "booking_confirmation", "channel": "sms", "enabled": True},
                    {"type": "booking_confirmation", "channel": "email", "enabled": False},
                ]
            },
            headers=person.auth,
        )
        assert response.status_code == 200, response.text
    async with db.transaction() as session:
        await service.notify(session, ana.id, "booking_confirmation", {"starts_at": None})
        await service.notify(session, ben.id, "booking_confirmation", {"starts_at": None})
        # The caller may narrow the channels; it cannot widen past the user's choices.
        await service.notify(session, ana.id, "ai_artifact_ready", {}, channels=["email", "inapp"])
    assert await _channels(owner_db, ana.id) == [
        ("ai_artifact_ready", "inapp", "sent"),
        ("booking_confirmation", "inapp", "sent"),
        ("booking_confirmation", "sms", "pending"),
    ]
    # Ben asked for SMS but has no phone number.
    assert await _channels(owner_db, ben.id) == [("booking_confirmation", "inapp", "sent")]


async def test_account_emails_ignore_preferences(
    client: httpx.AsyncClient, db: Database, owner_db: Database
) -> None:
    ana = await sign_up(client, "Ana")
    async with owner_db.transaction() as session:
        # Even a row written behind the API's back cannot turn off an account email.
        await session.execute(
            text(
                "INSERT INTO notification_preferences (user_id, type, channel, enabled) "
                "VALUES (:u, 'password_reset', 'email', false)"
            ),
            {"u": ana.id},
        )
    async with db.transaction() as session:
        await service.notify(session, ana.id, "password_reset", {"url": "https://x/reset"})
    assert await _channels(owner_db, ana.id) == [("password_reset", "email", "pending")]


async def test_unknown_types_and_channels_are_refused(
    client: httpx.AsyncClient, db: Database, owner_db: Database
) -> None:
    ana = await sign_up(client, "Ana")
    async with db.transaction() as session:
        with pytest.raises(Unprocessable) as type_error:
            await service.notify(session, ana.id, "birthday", {})
        with pytest.raises(Unprocessable) as channel_error:
            await service.notify(session, ana.id, "system_update", {}, channels=["pigeon"])
    assert (type_error.value.code, channel_error.value.code) == ("unknown_type", "unknown_channel")
    assert await _channels(owner_db, ana.id) == []


async def test_quiet_hours_delay_email_but_not_inapp_nor_urgent(
    client: httpx.AsyncClient, db: Database, owner_db: Database
) -> None:
    ana = await sign_up(client, "Ana", timezone="America/New_York")
    response = await client.put(
        "/api/v1/notifications/quiet-hours",
        json={"quiet_hours_start": "22:00", "quiet_hours_end": "07:00"},
        headers=ana.auth,
    )
    assert response.status_code == 200, response.text
    # 22:00 EST on 7 March 2026, the night clocks go forward.
    evening = datetime(2026, 3, 8, 3, 0, tzinfo=UTC)
    async with db.transaction() as session:
        await service.notify(
            session, ana.id, "system_update", {"title": "t", "body": "b"}, now=evening
        )
        await service.notify(
            session, ana.id, "payment_failed", {"amount_cents": 1}, urgent=True, now=evening
        )
    found = await rows(
        owner_db,
        "SELECT type, channel, status, scheduled_for FROM notifications ORDER BY type, channel",
    )
    morning = datetime(2026, 3, 8, 11, 0, tzinfo=UTC)  # 07:00 EDT
    assert found == [
        ("payment_failed", "email", "pending", evening),
        ("payment_failed", "inapp", "sent", evening),
        ("system_update", "email", "pending", morning),
        ("system_update", "inapp", "sent", evening),
    ]
    assert sorted(job[1] for job in await delivery_jobs(owner_db)) == [evening, morning]


async def test_credit_low_notifies_once_per_crossing(
    client: httpx.AsyncClient, db: Database, owner_db: Database
) -> None:
    ana = await sign_up(client, "Ana")
    created = []
    for balance in (5, 3, 2, 1, 0, 4, 2):  # threshold 3: below at 2, re-armed at 4, below at 2
        async with db.transaction() as session:
            created.append(len(await service.credit_low(session, ana.id, balance)))
    assert created == [0, 0, 2, 0, 0, 0, 2]
    payloads = await rows(
        owner_db,
        "SELECT payload->>'balance', count(*) FROM notifications GROUP BY 1 ORDER BY 1",
    )
    assert payloads == [("2", 4)]


async def test_concurrent_low_balances_notify_once(
    client: httpx.AsyncClient, db: Database, owner_db: Database
) -> None:
    ana = await sign_up(client, "Ana")

    async def debit(balance: int) -> int:
        async with db.transaction() as session:
            return len(await service.credit_low(session, ana.id, balance))

    created = await asyncio.gather(*(debit(balance % 3) for balance in range(20)))
    assert sum(created) == 2
    assert await _channels(owner_db, ana.id) == [
        ("credit_low", "email", "pending"),
        ("credit_low", "inapp", "sent"),
    ]
    assert len(await delivery_jobs(owner_db)) == 1


async def test_quiet_hours_need_both_ends(client: httpx.AsyncClient, owner_db: Database) -> None:
    ana = await sign_up(client, "Ana")
    for body, code in (
        ({"quiet_hours_start": "22:00"}, "quiet_hours_incomplete"),
        ({"quiet_hours_start": "22:00", "quiet_hours_end": "22:00"}, "quiet_hours_empty"),
        ({"quiet_hours_start": "22:00+02:00", "quiet_hours_end": "07:00"}, "quiet_hours_offset"),
        ({"quiet_hours_start": "25:00", "quiet_hours_end": "07:00"}, "validation_failed"),
        (
            {"quiet_hours_start": "22:00", "quiet_hours_end": "07:00", "timezone": "UTC"},
            "validation_failed",
        ),
    ):
        response = await client.put(
            "/api/v1/notifications/quiet-hours", json=body, headers=ana.auth
        )
        assert response.status_code == 422
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["code"] == code
    assert await rows(owner_db, "SELECT count(*) FROM notification_settings") == [(0,)]
    cleared = await client.put(
        "/api/v1/notifications/quiet-hours",
        json={"quiet_hours_start": None, "quiet_hours_end": None},
        headers=ana.auth,
    )
    assert cleared.json() == {
        "quiet_hours_start": None,
        "quiet_hours_end": None,
        "timezone": "UTC",
    }
