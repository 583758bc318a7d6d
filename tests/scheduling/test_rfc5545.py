"""RFC 5545 corners of availability rules over the API: date-only UNTIL, EXDATE."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx

from tests.conftest import run_jobs
from tests.scheduling.conftest import API, add_rule, create_offering, set_settings, sign_up, slots


async def test_a_date_only_until_includes_that_local_day(client: httpx.AsyncClient) -> None:
    # Auckland is 13 hours ahead: a UTC reading of the date would lose the last day.
    zone = "Pacific/Auckland"
    tutor = await sign_up(client, "tutor", timezone=zone)
    offering = await create_offering(client, tutor, duration_minutes=60)
    await set_settings(client, tutor, booking_horizon_days=60)
    first = datetime.now(ZoneInfo(zone)).date() + timedelta(days=3)
    last = first + timedelta(days=2)
    await add_rule(
        client,
        tutor,
        timezone=zone,
        start_date=first.isoformat(),
        start_time="09:00",
        end_time="10:00",
        rrule=f"FREQ=DAILY;UNTIL={last:%Y%m%d}",
    )
    await run_jobs()
    listed = await slots(client, offering_id=offering["id"], days=20, tz=zone)
    days = [datetime.fromisoformat(s["local_start"]).date() for s in listed]
    assert days == [first, first + timedelta(days=1), last]
    assert {datetime.fromisoformat(s["local_start"]).hour for s in listed} == {9}


async def _refusal(client: httpx.AsyncClient, headers: dict[str, str], **body: object) -> dict:
    payload = {
        "start_date": (date.today() + timedelta(days=5)).isoformat(),
        "start_time": "09:00",
        "end_time": "10:00",
        "timezone": "UTC",
        **body,
    }
    response = await client.post(f"{API}/availability-rules", json=payload, headers=headers)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    result: dict = response.json()
    return result


async def test_exdate_is_refused_and_names_time_off_instead(client: httpx.AsyncClient) -> None:
    tutor = await sign_up(client, "tutor")
    for rrule in ["FREQ=DAILY;EXDATE=20270105", "FREQ=DAILY\nEXDATE:20270105"]:
        problem = await _refusal(client, tutor.headers, rrule=rrule)
        assert problem["code"] == "invalid_rrule"
    problem = await _refusal(client, tutor.headers, rrule="FREQ=DAILY;EXDATE=20270105")
    assert "time off" in problem["detail"]


async def test_an_until_before_the_first_day_is_refused(client: httpx.AsyncClient) -> None:
    tutor = await sign_up(client, "tutor")
    before = date.today() + timedelta(days=2)
    problem = await _refusal(client, tutor.headers, rrule=f"FREQ=DAILY;UNTIL={before:%Y%m%d}")
    assert problem["code"] == "invalid_rule"
    assert "UNTIL" in problem["detail"]
    # The same day is a one-occurrence series, not an error.
    same = (date.today() + timedelta(days=5)).strftime("%Y%m%d")
    response = await client.post(
        f"{API}/availability-rules",
        json={
            "start_date": (date.today() + timedelta(days=5)).isoformat(),
            "start_time": "09:00",
            "end_time": "10:00",
            "timezone": "UTC",
            "rrule": f"FREQ=DAILY;UNTIL={same}",
        },
        headers=tutor.headers,
    )
    assert response.status_code == 201, response.text
