"""Booking notifications over HTTP: confirmation with the .ics, reminders moved and dropped."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from studyhall.db.engine import Database
from tests.scheduling.conftest import (
    API,
    MarketFactory,
    book,
    make_admin,
    rows,
    sign_up,
)

REMINDERS = """
SELECT user_id, dedupe_key, scheduled_for, status FROM notifications
WHERE type = 'booking_reminder' AND entity_id = :id ORDER BY user_id, dedupe_key
"""


def ahead(slots: list[dict[str, Any]], hours: int) -> list[dict[str, Any]]:
    edge = datetime.now(UTC) + timedelta(hours=hours)
    return [s for s in slots if datetime.fromisoformat(s["start_at"]) > edge]


async def test_confirm_reschedule_cancel_move_and_drop_reminders(
    client: httpx.AsyncClient, owner_db: Database, market: MarketFactory
) -> None:
    m = await market()
    student = await sign_up(client, name="Sam Student")
    first, second = ahead(m.open_slots, 26)[:2]
    created = await book(client, student, first["id"])
    assert created.status_code == 201
    booking = created.json()

    sent = await rows(
        owner_db,
        "SELECT user_id, channel, payload FROM notifications "
        "WHERE type = 'booking_confirmation' AND entity_id = :id ORDER BY user_id, channel",
        id=booking["id"],
    )
    parties = sorted([student.id, m.tutor.id])
    assert [(r[0], r[1]) for r in sent] == [
        (parties[0], "email"),
        (parties[0], "inapp"),
        (parties[1], "email"),
        (parties[1], "inapp"),
    ]
    for user_id, channel, payload in sent:
        other = "Tess Tutor" if user_id == student.id else "Sam Student"
        assert (payload["with_name"], payload["starts_at"]) == (
            other,
            first["start_at"],  # RFC 3339 with Z, as in every response
        )
        if channel == "email":
            [attachment] = payload["attachments"]
            assert (attachment["filename"], attachment["content_type"]) == (
                "booking.ics",
                "text/calendar",
            )
            ics = base64.b64decode(attachment["content_b64"]).decode()
            assert f"UID:{booking['id']}@studyhall" in ics
        else:
            assert "attachments" not in payload

    start = datetime.fromisoformat(first["start_at"])
    before = await rows(owner_db, REMINDERS, id=booking["id"])
    assert len(before) == 8  # 2 people x (1d, 1h) x (email, in-app)
    assert {(r[2], r[3]) for r in before} == {
        (start - timedelta(days=1), "pending"),
        (start - timedelta(hours=1), "pending"),
    }

    moved = await client.post(
        f"{API}/bookings/{booking['id']}/reschedule",
        json={"slot_id": second["id"]},
        headers=student.headers,
    )
    assert moved.status_code == 200, moved.text
    new_start = datetime.fromisoformat(second["start_at"])
    after = await rows(owner_db, REMINDERS, id=booking["id"])
    assert [(r[0], r[1]) for r in after] == [(r[0], r[1]) for r in before]
    assert {(r[2], r[3]) for r in after} == {
        (new_start - timedelta(days=1), "pending"),
        (new_start - timedelta(hours=1), "pending"),
    }

    canceled = await client.post(
        f"{API}/bookings/{booking['id']}/cancel", json={"reason": "ill"}, headers=m.tutor.headers
    )
    assert canceled.status_code == 200
    dropped = await rows(owner_db, REMINDERS, id=booking["id"])
    assert [r[3] for r in dropped] == ["canceled"] * 8
    told = await rows(
        owner_db,
        "SELECT user_id, channel, payload->>'reason' FROM notifications "
        "WHERE type = 'booking_cancellation' AND entity_id = :id ORDER BY user_id, channel",
        id=booking["id"],
    )
    assert told == [
        (parties[0], "email", "ill"),
        (parties[0], "inapp", "ill"),
        (parties[1], "email", "ill"),
        (parties[1], "inapp", "ill"),
    ]


async def test_a_denied_change_notifies_nobody(
    client: httpx.AsyncClient, owner_db: Database, market: MarketFactory
) -> None:
    m = await market()
    student, stranger = await sign_up(client), await sign_up(client)
    first, second = ahead(m.open_slots, 26)[:2]
    booking = (await book(client, student, first["id"])).json()
    count = "SELECT count(*), count(*) FILTER (WHERE status = 'canceled') FROM notifications"
    baseline = await rows(owner_db, count)
    reminders = await rows(owner_db, REMINDERS, id=booking["id"])
    assert (len(reminders), baseline[0][1]) == (8, 0)
    denied = await client.post(
        f"{API}/bookings/{booking['id']}/cancel", json={}, headers=stranger.headers
    )
    assert (denied.status_code, denied.json()["code"]) == (404, "booking_not_found")
    moved = await client.post(
        f"{API}/bookings/{booking['id']}/reschedule",
        json={"slot_id": second["id"]},
        headers=stranger.headers,
    )
    assert (moved.status_code, moved.json()["code"]) == (404, "booking_not_found")
    assert await rows(owner_db, count) == baseline
    assert await rows(owner_db, REMINDERS, id=booking["id"]) == reminders


async def test_paid_booking_notifies_only_once_confirmed(
    client: httpx.AsyncClient, owner_db: Database, market: MarketFactory
) -> None:
    m = await market(price_cents=2000)
    student, admin = await sign_up(client), await make_admin(client, owner_db)
    body = (await book(client, student, ahead(m.open_slots, 26)[0]["id"])).json()
    query = (
        "SELECT type, count(*) FROM notifications WHERE entity_id = :id GROUP BY type ORDER BY type"
    )
    assert await rows(owner_db, query, id=body["id"]) == []
    paid = await client.post(
        f"{API}/billing/admin/payments/{body['payment']['payment_id']}/mark-paid",
        json={},
        headers=admin.headers,
    )
    assert paid.status_code == 200, paid.text
    assert await rows(owner_db, query, id=body["id"]) == [
        ("booking_confirmation", 4),
        ("booking_reminder", 8),
    ]
