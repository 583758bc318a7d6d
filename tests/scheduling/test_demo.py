from __future__ import annotations

from datetime import datetime, timedelta

import httpx

from studyhall.accounts import demo as accounts_demo
from studyhall.billing import demo as billing_demo
from studyhall.config import Settings
from studyhall.db.engine import Database
from studyhall.scheduling import demo
from tests.scheduling.conftest import API, rows


async def test_demo_equips_the_demo_tutors_once(owner_db: Database, settings: Settings) -> None:
    for _ in range(2):
        async with owner_db.transaction() as session:
            await accounts_demo.load(session, settings)
            summary = await demo.load(session, settings)
            await billing_demo.load(session, settings)
    assert [line.split(":")[1].strip() for line in summary] == list(accounts_demo.TUTORS)
    counts = await rows(
        owner_db,
        "SELECT (SELECT count(*) FROM offerings), (SELECT count(*) FROM availability_rules), "
        "(SELECT count(DISTINCT (offering_id, start_at)) = count(*) FROM slots), "
        "(SELECT count(*) > 0 FROM slots)",
    )
    assert counts == [(4, 2, True, True)]
    # The demo tutors' ratings come from real reviews of completed sessions, not a set number.
    ratings = await rows(
        owner_db,
        "SELECT u.email, p.rating, p.rating_count, (SELECT count(*) FROM reviews r "
        "JOIN bookings b ON b.id = r.booking_id WHERE r.tutor_id = u.id "
        "AND b.status = 'completed') FROM tutor_profiles p JOIN users u ON u.id = p.user_id "
        "ORDER BY u.email",
    )
    assert [
        (email, str(rating), count, reviewed) for email, rating, count, reviewed in ratings
    ] == [
        ("kenji@demo.example.com", "4.50", 2, 2),
        ("tara@demo.example.com", "4.67", 3, 3),
    ]

    # Their paid past sessions are on one payout statement each, minus the platform fee (20%).
    statements = await rows(
        owner_db,
        "SELECT u.email, s.status, s.amount_cents, p.total_earnings_cents, p.total_sessions "
        "FROM payout_statements s JOIN users u ON u.id = s.tutor_id "
        "JOIN tutor_profiles p ON p.user_id = s.tutor_id ORDER BY u.email",
    )
    assert statements == [
        ("kenji@demo.example.com", "due", 2 * 20000, 2 * 20000, 2),
        ("tara@demo.example.com", "due", 3 * 20000, 3 * 20000, 3),
    ]


async def test_the_demo_calendar_tutors_busy_times_block_their_slots(
    client: httpx.AsyncClient, owner_db: Database, settings: Settings
) -> None:
    async with owner_db.transaction() as session:
        await accounts_demo.load(session, settings)
        summary = await demo.load(session, settings)
    assert any(
        demo.CALENDAR_TUTOR in line and "2 busy times from a recorded calendar answer" in line
        for line in summary
    )
    busy = await rows(
        owner_db,
        "SELECT u.email, lower(b.busy), upper(b.busy) FROM calendar_busy_times b "
        "JOIN users u ON u.id = b.user_id ORDER BY lower(b.busy)",
    )
    assert [email for email, _, _ in busy] == [demo.CALENDAR_TUTOR] * 2
    [(tutor_id,)] = await rows(
        owner_db, "SELECT id FROM users WHERE email = :e", e=demo.CALENDAR_TUTOR
    )
    _, first_start, first_end = busy[0]
    # The tutor's own slots that fall in the busy time exist, but nobody is offered them.
    [(hidden,)] = await rows(
        owner_db,
        "SELECT count(*) FROM slots WHERE tutor_id = :t AND status = 'open' "
        "AND tstzrange(start_at, end_at) && tstzrange(:s, :e)",
        t=tutor_id,
        s=first_start,
        e=first_end,
    )
    assert hidden > 0
    listed = await client.get(
        f"{API}/slots",
        params={
            "tutor_id": str(tutor_id),
            "from": (first_start - timedelta(hours=4)).isoformat(),
            "to": (first_end + timedelta(hours=4)).isoformat(),
        },
    )
    assert listed.status_code == 200
    starts = [
        (datetime.fromisoformat(s["start_at"]), datetime.fromisoformat(s["end_at"]))
        for s in listed.json()["items"]
    ]
    assert starts, "the tutor's other hours that day stay bookable"
    assert all(end <= first_start or start >= first_end for start, end in starts)
