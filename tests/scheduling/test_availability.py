from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import httpx
import pytest

from studyhall.db.engine import Database
from tests.conftest import run_jobs
from tests.scheduling.conftest import (
    API,
    add_rule,
    create_offering,
    execute,
    scalar,
    set_settings,
    sign_up,
    slots,
)

LONG = {"booking_horizon_days": 700}


async def _rule_error(
    client: httpx.AsyncClient, tutor_headers: dict[str, str], **body: object
) -> str:
    payload = {"start_date": "2027-01-04", "start_time": "09:00", "end_time": "10:00", **body}
    response = await client.post(f"{API}/availability-rules", json=payload, headers=tutor_headers)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    code: str = response.json()["code"]
    return code


async def test_bad_rules_are_refused_with_precise_codes(
    client: httpx.AsyncClient, owner_db: Database
) -> None:
    tutor = await sign_up(client, "tutor")
    h = tutor.headers
    assert await _rule_error(client, h, timezone="Europe/Copenhagn", rrule="FREQ=DAILY") == (
        "unknown_timezone"
    )
    assert await _rule_error(client, h, timezone="UTC", rrule="FREQ=SOMETIMES") == "invalid_rrule"
    assert await _rule_error(client, h, rrule="FREQ=DAILY", end_date="2027-01-01") == (
        "invalid_date_range"
    )
    assert await _rule_error(client, h, rrule="FREQ=DAILY", end_time="09:00") == "invalid_rule"
    await set_settings(client, tutor, booking_horizon_days=None)
    assert await _rule_error(client, h, rrule="FREQ=WEEKLY;BYDAY=MO") == "rrule_unbounded"
    assert await scalar(owner_db, "SELECT count(*) FROM availability_rules") == 0
    bounded = await add_rule(
        client,
        tutor,
        start_date="2027-01-04",
        rrule="FREQ=WEEKLY;BYDAY=MO;COUNT=3",
        start_time="09:00",
        end_time="10:00",
    )
    assert bounded["rrule"] == "FREQ=WEEKLY;BYDAY=MO;COUNT=3"


async def test_copenhagen_rule_stays_0900_local_across_spring_forward(
    client: httpx.AsyncClient,
) -> None:
    tutor = await sign_up(client, "tutor", timezone="Europe/Copenhagen")
    offering = await create_offering(client, tutor)
    await set_settings(client, tutor, **LONG)
    await add_rule(
        client,
        tutor,
        timezone="Europe/Copenhagen",
        start_date="2027-03-15",
        start_time="09:00",
        end_time="10:00",
        rrule="FREQ=WEEKLY;BYDAY=MO",
        end_date="2027-04-05",
    )
    await run_jobs()
    listed = await slots(
        client,
        offering_id=offering["id"],
        start=datetime(2027, 3, 1, tzinfo=UTC),
        days=60,
        tz="Europe/Copenhagen",
    )
    assert [s["start_at"] for s in listed] == [
        "2027-03-15T08:00:00Z",
        "2027-03-22T08:00:00Z",
        "2027-03-29T07:00:00Z",
        "2027-04-05T07:00:00Z",
    ]
    assert [s["local_start"] for s in listed] == [
        "2027-03-15T09:00:00+01:00",
        "2027-03-22T09:00:00+01:00",
        "2027-03-29T09:00:00+02:00",
        "2027-04-05T09:00:00+02:00",
    ]


async def test_gap_shifts_forward_and_fall_back_keeps_its_real_time(
    client: httpx.AsyncClient,
) -> None:
    tutor = await sign_up(client, "tutor", timezone="Europe/Copenhagen")
    offering = await create_offering(client, tutor, duration_minutes=30)
    await set_settings(client, tutor, **LONG)
    # Spring forward 2027-03-28: 02:00 -> 03:00. The window is one real hour long.
    await add_rule(
        client,
        tutor,
        timezone="Europe/Copenhagen",
        start_date="2027-03-28",
        start_time="01:30",
        end_time="03:30",
        rrule=None,
    )
    # Fall back 2027-10-31: 03:00 CEST -> 02:00 CET; 02:00-03:00 happens twice, so the
    # window runs from 01:30 CEST to 03:00 CET, two and a half real hours.
    await add_rule(
        client,
        tutor,
        timezone="Europe/Copenhagen",
        start_date="2027-10-31",
        start_time="01:30",
        end_time="03:00",
        rrule=None,
    )
    await run_jobs()
    spring = await slots(
        client,
        offering_id=offering["id"],
        start=datetime(2027, 3, 27, tzinfo=UTC),
        days=2,
        tz="Europe/Copenhagen",
    )
    assert [(s["start_at"], s["local_start"]) for s in spring] == [
        ("2027-03-28T00:30:00Z", "2027-03-28T01:30:00+01:00"),
        ("2027-03-28T01:00:00Z", "2027-03-28T03:00:00+02:00"),
    ]
    autumn = await slots(
        client,
        offering_id=offering["id"],
        start=datetime(2027, 10, 30, tzinfo=UTC),
        days=2,
        tz="Europe/Copenhagen",
    )
    assert [(s["start_at"], s["local_start"]) for s in autumn] == [
        ("2027-10-30T23:30:00Z", "2027-10-31T01:30:00+02:00"),
        ("2027-10-31T00:00:00Z", "2027-10-31T02:00:00+02:00"),
        ("2027-10-31T00:30:00Z", "2027-10-31T02:30:00+02:00"),
        ("2027-10-31T01:00:00Z", "2027-10-31T02:00:00+01:00"),
        ("2027-10-31T01:30:00Z", "2027-10-31T02:30:00+01:00"),
    ]


@pytest.mark.parametrize(
    ("zone", "day", "expected"),
    [
        ("Asia/Kathmandu", "2027-01-15", "2027-01-15T03:15:00Z"),
        ("Australia/Lord_Howe", "2027-01-15", "2027-01-14T22:00:00Z"),
        ("Australia/Lord_Howe", "2027-06-15", "2027-06-14T22:30:00Z"),
        ("Pacific/Kiritimati", "2027-01-15", "2027-01-14T19:00:00Z"),
        ("America/Sao_Paulo", "2027-01-15", "2027-01-15T12:00:00Z"),
    ],
)
async def test_golden_zones(client: httpx.AsyncClient, zone: str, day: str, expected: str) -> None:
    tutor = await sign_up(client, "tutor", timezone=zone)
    offering = await create_offering(client, tutor)
    await set_settings(client, tutor, **LONG)
    await add_rule(
        client,
        tutor,
        timezone=zone,
        start_date=day,
        start_time="09:00",
        end_time="10:00",
        rrule=None,
    )
    await run_jobs()
    start = datetime.fromisoformat(day).replace(tzinfo=UTC) - timedelta(days=1)
    listed = await slots(client, offering_id=offering["id"], start=start, days=3, tz=zone)
    assert [s["start_at"] for s in listed] == [expected]
    assert listed[0]["local_start"].startswith(f"{day}T09:00:00")


async def test_time_off_rules(client: httpx.AsyncClient, owner_db: Database) -> None:
    tutor = await sign_up(client, "tutor")
    offering = await create_offering(client, tutor)
    tomorrow = date.today() + timedelta(days=1)
    await add_rule(
        client,
        tutor,
        start_date=tomorrow.isoformat(),
        start_time="09:00",
        end_time="12:00",
        rrule=None,
    )
    await run_jobs()
    assert len(await slots(client, offering_id=offering["id"], days=3)) == 3
    start = datetime.combine(tomorrow, datetime.min.time(), UTC).replace(hour=10)
    body = {"start_at": start.isoformat(), "end_at": (start + timedelta(hours=1)).isoformat()}
    created = await client.post(f"{API}/time-off", json=body, headers=tutor.headers)
    assert created.status_code == 201, created.text
    overlap = {
        "start_at": (start + timedelta(minutes=30)).isoformat(),
        "end_at": (start + timedelta(hours=2)).isoformat(),
    }
    clash = await client.post(f"{API}/time-off", json=overlap, headers=tutor.headers)
    assert clash.status_code == 409
    assert clash.json()["code"] == "time_off_overlap"
    backwards = {"start_at": body["end_at"], "end_at": body["start_at"]}
    bad = await client.post(f"{API}/time-off", json=backwards, headers=tutor.headers)
    assert bad.status_code == 422
    assert bad.json()["code"] == "end_before_start"
    assert await scalar(owner_db, "SELECT count(*) FROM time_off_blocks") == 1
    await run_jobs()
    listed = await slots(client, offering_id=offering["id"], days=3)
    assert [s["start_at"][11:16] for s in listed] == ["09:00", "11:00"]
    assert await scalar(owner_db, "SELECT count(*) FROM slots WHERE status = 'closed'") == 1


async def test_listing_validation_and_minimum_notice(client: httpx.AsyncClient) -> None:
    tutor = await sign_up(client, "tutor")
    offering = await create_offering(client, tutor)
    await add_rule(client, tutor)
    await run_jobs()
    now = datetime.now(UTC)
    everything = await slots(client, offering_id=offering["id"], days=3)
    await set_settings(client, tutor, min_notice_minutes=24 * 60)
    later = await slots(client, offering_id=offering["id"], days=3)
    assert later == [
        s for s in everything if datetime.fromisoformat(s["start_at"]) >= now + timedelta(days=1)
    ]
    assert 0 < len(later) < len(everything)
    params = {
        "from": now.isoformat(),
        "to": (now + timedelta(days=1)).isoformat(),
        "offering_id": offering["id"],
    }
    bad_zone = await client.get(f"{API}/slots", params={**params, "tz": "Mars/Olympus"})
    assert (bad_zone.status_code, bad_zone.json()["code"]) == (422, "unknown_timezone")
    long = {**params, "to": (now + timedelta(days=120)).isoformat()}
    too_long = await client.get(f"{API}/slots", params=long)
    assert (too_long.status_code, too_long.json()["code"]) == (422, "range_too_long")


async def test_slots_follow_rule_offering_and_booking_changes(
    client: httpx.AsyncClient, owner_db: Database
) -> None:
    tutor = await sign_up(client, "tutor")
    offering = await create_offering(client, tutor)
    tomorrow = (date.today() + timedelta(days=1)).isoformat()
    rule = await add_rule(
        client, tutor, start_date=tomorrow, start_time="09:00", end_time="12:00", rrule=None
    )
    await run_jobs()
    listed = await slots(client, offering_id=offering["id"], days=3)
    assert len(listed) == 3
    student = await sign_up(client)
    booked = await client.post(
        f"{API}/bookings", json={"slot_id": listed[0]["id"]}, headers=student.headers
    )
    assert booked.status_code == 201
    # Removing the rule closes the empty slots and keeps the booked one as it is.
    removed = await client.delete(f"{API}/availability-rules/{rule['id']}", headers=tutor.headers)
    assert removed.status_code == 204
    await run_jobs()
    assert await slots(client, offering_id=offering["id"], days=3) == []
    assert (
        await scalar(owner_db, "SELECT string_agg(status, ',' ORDER BY start_at) FROM slots")
        == "booked,closed,closed"
    )
    # A new rule reopens the same starts instead of adding duplicates.
    await add_rule(
        client, tutor, start_date=tomorrow, start_time="09:00", end_time="12:00", rrule=None
    )
    await run_jobs()
    assert [s["id"] for s in await slots(client, offering_id=offering["id"], days=3)] == [
        s["id"] for s in listed[1:]
    ]
    assert await scalar(owner_db, "SELECT count(*) FROM slots") == 3
    paused = await client.patch(
        f"{API}/offerings/{offering['id']}", json={"is_active": False}, headers=tutor.headers
    )
    assert paused.status_code == 200
    await run_jobs()
    assert (
        await scalar(owner_db, "SELECT string_agg(status, ',' ORDER BY start_at) FROM slots")
        == "booked,closed,closed"
    )


async def test_daily_roll_materializes_every_tutor_in_batches(
    client: httpx.AsyncClient, owner_db: Database, db: Database
) -> None:
    from studyhall.scheduling import jobs

    tutors = [await sign_up(client, "tutor") for _ in range(3)]
    for tutor in tutors:
        await create_offering(client, tutor)
        await add_rule(client, tutor, start_time="09:00", end_time="11:00", rrule="FREQ=DAILY")
    await run_jobs()
    per_tutor = await scalar(owner_db, "SELECT count(*) FROM slots") // 3
    await execute(owner_db, "DELETE FROM slots")
    await jobs.roll_horizon(0)
    assert (
        await scalar(
            owner_db,
            "SELECT count(*) FROM procrastinate_jobs WHERE status = 'todo' "
            "AND task_name = 'studyhall.scheduling.materialize_tutor_batch'",
        )
        == 1
    )
    await run_jobs()
    assert await scalar(owner_db, "SELECT count(*) FROM slots") == 3 * per_tutor
    # [now, now + 90 days) holds every UTC time of day exactly 90 times: 2 slots a day.
    assert per_tutor == 180
