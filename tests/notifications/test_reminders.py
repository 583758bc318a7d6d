"""Booking reminders: scheduled at offsets in each recipient's zone, moved, dropped."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from sqlalchemy import text

from studyhall.config import Settings
from studyhall.db.engine import Database, set_current_user
from studyhall.db.rls import cross_users_transaction
from studyhall.notifications.service import sending as service
from tests.conftest import run_jobs
from tests.notifications.conftest import (
    Person,
    delivery_jobs,
    queued_deliveries,
    rows,
    sign_up,
)

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
STARTS = datetime(2026, 3, 8, 14, 0, tzinfo=UTC)  # 10:00 EDT in New York, 15:00 CET in Berlin


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


async def _pair(client: httpx.AsyncClient) -> tuple[Person, Person]:
    return (
        await sign_up(client, "Ana", timezone="America/New_York"),
        await sign_up(client, "Ben", role="tutor", timezone="Europe/Berlin"),
    )


async def _reminders(owner_db: Database) -> list[tuple[str, str, str, str, datetime]]:
    found = await rows(
        owner_db,
        "SELECT u.name, n.payload->>'offset', n.channel, n.status, n.scheduled_for "
        "FROM notifications n JOIN users u ON u.id = n.user_id "
        "WHERE n.type = 'booking_reminder' ORDER BY 1, 2 DESC, 3, 5",
    )
    return [(str(r[0]), str(r[1]), str(r[2]), str(r[3]), r[4]) for r in found]


def _outbox(settings: Settings) -> list[Path]:
    return sorted(settings.outbox_dir.glob("*.eml")) if settings.outbox_dir.exists() else []


async def test_reminders_are_scheduled_per_offset_in_each_zone(
    client: httpx.AsyncClient, db: Database, owner_db: Database
) -> None:
    ana, ben = await _pair(client)
    booking = uuid.uuid4()
    async with db.transaction() as session:
        created = await service.schedule_booking_reminders(
            session, booking, [ana.id, ben.id], STARTS, {"title": "Algebra"}, now=NOW
        )
    assert len(created) == 8
    # New York changed to summer time on 8 March: its "1d" reminder is 23 hours before.
    expected = [
        ("Ana", "1h", "email", "pending", utc(2026, 3, 8, 13, 0)),
        ("Ana", "1h", "inapp", "pending", utc(2026, 3, 8, 13, 0)),
        ("Ana", "1d", "email", "pending", utc(2026, 3, 7, 15, 0)),
        ("Ana", "1d", "inapp", "pending", utc(2026, 3, 7, 15, 0)),
        ("Ben", "1h", "email", "pending", utc(2026, 3, 8, 13, 0)),
        ("Ben", "1h", "inapp", "pending", utc(2026, 3, 8, 13, 0)),
        ("Ben", "1d", "email", "pending", utc(2026, 3, 7, 14, 0)),
        ("Ben", "1d", "inapp", "pending", utc(2026, 3, 7, 14, 0)),
    ]
    assert await _reminders(owner_db) == expected
    scheduled = dict(await rows(owner_db, "SELECT id::text, scheduled_for FROM notifications"))
    assert await queued_deliveries(owner_db) == scheduled
    # Reminders due at the same instant share a job: 13:00 (4 rows), 14:00 (2), 15:00 (2).
    jobs = await delivery_jobs(owner_db)
    assert sorted((len(job[0]), job[1]) for job in jobs) == [
        (2, utc(2026, 3, 7, 14, 0)),
        (2, utc(2026, 3, 7, 15, 0)),
        (4, utc(2026, 3, 8, 13, 0)),
    ]

    async with db.transaction() as session:  # confirming twice adds nothing
        again = await service.schedule_booking_reminders(
            session, booking, [ana.id, ben.id], STARTS, {"title": "Algebra"}, now=NOW
        )
    assert again == []
    assert len(await delivery_jobs(owner_db)) == 3


async def test_a_reschedule_moves_the_reminders_and_a_late_offset_is_canceled(
    client: httpx.AsyncClient, db: Database, owner_db: Database
) -> None:
    ana, ben = await _pair(client)
    booking = uuid.uuid4()
    async with db.transaction() as session:
        await service.schedule_booking_reminders(
            session, booking, [ana.id, ben.id], STARTS, now=NOW
        )
        other = uuid.uuid4()
        await service.schedule_booking_reminders(session, other, [ana.id], STARTS, now=NOW)
    moved_to = datetime(2026, 3, 10, 14, 0, tzinfo=UTC)
    async with cross_users_transaction(db) as session:
        assert await service.move_booking_reminders(session, booking, moved_to, now=NOW) == 8
    assert await _reminders(owner_db) == [
        ("Ana", "1h", "email", "pending", utc(2026, 3, 8, 13, 0)),  # the other booking
        ("Ana", "1h", "email", "pending", utc(2026, 3, 10, 13, 0)),
        ("Ana", "1h", "inapp", "pending", utc(2026, 3, 8, 13, 0)),
        ("Ana", "1h", "inapp", "pending", utc(2026, 3, 10, 13, 0)),
        ("Ana", "1d", "email", "pending", utc(2026, 3, 7, 15, 0)),
        ("Ana", "1d", "email", "pending", utc(2026, 3, 9, 14, 0)),
        ("Ana", "1d", "inapp", "pending", utc(2026, 3, 7, 15, 0)),
        ("Ana", "1d", "inapp", "pending", utc(2026, 3, 9, 14, 0)),
        ("Ben", "1h", "email", "pending", utc(2026, 3, 10, 13, 0)),
        ("Ben", "1h", "inapp", "pending", utc(2026, 3, 10, 13, 0)),
        ("Ben", "1d", "email", "pending", utc(2026, 3, 9, 14, 0)),
        ("Ben", "1d", "inapp", "pending", utc(2026, 3, 9, 14, 0)),
    ]
    starts = await rows(
        owner_db,
        "SELECT DISTINCT payload->>'starts_at' FROM notifications WHERE entity_id = :b",
        b=booking,
    )
    assert starts == [("2026-03-10T14:00:00Z",)]

    # Moved to 90 minutes from "now": the day-before reminders can no longer go out.
    soon = NOW + timedelta(minutes=90)
    async with cross_users_transaction(db) as session:
        assert await service.move_booking_reminders(session, booking, soon, now=NOW) == 4
    statuses = await rows(
        owner_db,
        "SELECT payload->>'offset', status, count(*) FROM notifications WHERE entity_id = :b "
        "GROUP BY 1, 2 ORDER BY 1, 2",
        b=booking,
    )
    assert statuses == [("1d", "canceled", 4), ("1h", "pending", 4)]


async def test_moved_reminders_go_out_once_at_the_new_time_only(
    client: httpx.AsyncClient, db: Database, owner_db: Database, settings: Settings
) -> None:
    ana, ben = await _pair(client)
    booking = uuid.uuid4()
    now = datetime.now(UTC)
    async with db.transaction() as session:
        await service.schedule_booking_reminders(
            session, booking, [ana.id, ben.id], now + timedelta(days=3)
        )
    old_jobs = await rows(owner_db, "SELECT max(id) FROM procrastinate_jobs")
    async with cross_users_transaction(db) as session:
        assert await service.move_booking_reminders(session, booking, now + timedelta(days=6)) == 8
    # The original reminder times arrive: the old jobs run and find their rows moved later.
    async with owner_db.transaction() as session:
        await session.execute(
            text("UPDATE procrastinate_jobs SET scheduled_at = now() WHERE id <= :last"),
            {"last": old_jobs[0][0]},
        )
    await run_jobs()
    assert _outbox(settings) == []
    assert await rows(owner_db, "SELECT status, count(*) FROM notifications GROUP BY 1") == [
        ("pending", 8)
    ]
    # Then the new times arrive.
    async with owner_db.transaction() as session:
        await session.execute(
            text("UPDATE notifications SET scheduled_for = now() - interval '1 second'")
        )
        await session.execute(text("UPDATE procrastinate_jobs SET scheduled_at = now()"))
    await run_jobs()
    await run_jobs()
    assert len(_outbox(settings)) == 4  # two people, two offsets, one email each
    assert await rows(
        owner_db, "SELECT channel, status, count(*) FROM notifications GROUP BY 1, 2 ORDER BY 1"
    ) == [("email", "sent", 4), ("inapp", "sent", 4)]


async def test_a_cancel_drops_the_reminders_that_have_not_gone_out(
    client: httpx.AsyncClient, db: Database, owner_db: Database, settings: Settings
) -> None:
    ana, ben = await _pair(client)
    booking, kept = uuid.uuid4(), uuid.uuid4()
    now = datetime.now(UTC)
    async with db.transaction() as session:
        await service.schedule_booking_reminders(
            session, booking, [ana.id, ben.id], now + timedelta(days=3)
        )
        await service.schedule_booking_reminders(session, kept, [ana.id], now + timedelta(days=3))
    async with cross_users_transaction(db) as session:
        assert await service.drop_booking_reminders(session, booking) == 8
        assert await service.drop_booking_reminders(session, booking) == 0
    async with owner_db.transaction() as session:
        await session.execute(
            text("UPDATE notifications SET scheduled_for = now() - interval '1 second'")
        )
        await session.execute(text("UPDATE procrastinate_jobs SET scheduled_at = now()"))
    await run_jobs()
    assert await rows(
        owner_db,
        "SELECT entity_id = :b, status, count(*) FROM notifications GROUP BY 1, 2 ORDER BY 1",
        b=booking,
    ) == [(False, "sent", 4), (True, "canceled", 8)]
    assert len(_outbox(settings)) == 2  # only the booking that was kept
    # A canceled booking moved later does not bring its reminders back.
    async with cross_users_transaction(db) as session:
        assert await service.move_booking_reminders(session, booking, now + timedelta(days=9)) == 0


async def test_a_stranger_can_neither_move_nor_drop_the_reminders_of_a_booking(
    client: httpx.AsyncClient, db: Database, owner_db: Database
) -> None:
    """Re-timing reminders is open to the booking's parties (row level security decides through
    the bookings they can see) and to units of work that cross users; nobody else."""
    ana, ben = await _pair(client)
    stranger = await sign_up(client, "Cleo")
    booking = uuid.uuid4()
    async with db.transaction() as session:
        await service.schedule_booking_reminders(
            session, booking, [ana.id, ben.id], STARTS, now=NOW
        )
    async with db.transaction() as session:
        await set_current_user(session, stranger.id)
        assert await service.move_booking_reminders(session, booking, STARTS, now=NOW) == 0
        assert await service.drop_booking_reminders(session, booking) == 0
    assert await rows(owner_db, "SELECT status, count(*) FROM notifications GROUP BY 1") == [
        ("pending", 8)
    ]
