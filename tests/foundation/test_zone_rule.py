"""One rule for time zone names across the service: a zone accepted anywhere works everywhere."""

from __future__ import annotations

from datetime import date

import httpx
import pytest

from studyhall.db.engine import Database
from studyhall.kit.timezones import validate_zone
from tests.accounts.conftest import make_admin, make_tutor, owner_value, sign_up

API = "/api/v1"
# Names the host's zone directory can load that are not portable IANA zones, and no name.
NOT_ZONES = ["Factory", "localtime", "posixrules", "posix/Europe/Paris", "right/UTC", ""]


@pytest.mark.parametrize("name", NOT_ZONES)
async def test_sign_up_and_profile_refuse_what_scheduling_refuses(
    client: httpx.AsyncClient, owner_db: Database, name: str
) -> None:
    with pytest.raises(ValueError):
        validate_zone(name)
    body = {"email": "z@example.org", "password": "a long password here", "name": "Z"}
    response = await client.post(f"{API}/auth/sign-up", json=body | {"timezone": name})
    assert response.status_code == 422, response.text
    assert [f"{e['in']}.{e['field']}" for e in response.json()["errors"]] == ["body.timezone"]
    assert await owner_value(owner_db, "SELECT count(*) FROM users") == 0

    student = await sign_up(client)
    response = await client.patch(f"{API}/me", json={"timezone": name}, headers=student.headers)
    assert response.status_code == 422, response.text
    admin = await make_admin(client, owner_db)
    response = await client.post(
        f"{API}/admin/admins",
        json={
            "email": "new-admin@example.org",
            "password": "a long password here",
            "name": "N",
            "timezone": name,
        },
        headers=admin.headers,
    )
    assert response.status_code == 422, response.text
    assert (
        await owner_value(owner_db, "SELECT count(*) FROM users WHERE timezone = :z", z=name) == 0
    )


async def test_a_rule_with_an_empty_zone_is_refused_not_read_as_mine(
    client: httpx.AsyncClient, owner_db: Database
) -> None:
    tutor = await make_tutor(client, owner_db)
    rule = {
        "start_date": date.today().isoformat(),
        "start_time": "09:00",
        "end_time": "10:00",
        "rrule": "FREQ=DAILY;COUNT=3",
    }
    for name in ("", "   ", "Factory", "localtime"):
        response = await client.post(
            f"{API}/availability-rules", json=rule | {"timezone": name}, headers=tutor.headers
        )
        assert response.status_code == 422, (name, response.text)
    assert await owner_value(owner_db, "SELECT count(*) FROM availability_rules") == 0
    kept = await client.post(f"{API}/availability-rules", json=rule, headers=tutor.headers)
    assert kept.status_code == 201, kept.text


async def test_a_zone_accepted_at_sign_up_works_for_slots_and_the_own_calendar_feed(
    client: httpx.AsyncClient, owner_db: Database
) -> None:
    tutor = await make_tutor(client, owner_db)
    student = await sign_up(client, timezone="America/Argentina/Buenos_Aires")
    window = {"from": "2027-01-04T00:00:00Z", "to": "2027-01-05T00:00:00Z", "tutor_id": tutor.id}
    slots = await client.get(f"{API}/slots", params=window, headers=student.headers)
    assert slots.status_code == 200, slots.text
    feed = await client.post(f"{API}/calendar/feed", headers=student.headers)
    assert feed.status_code == 201, feed.text
    calendar = await client.get(f"{API}/calendar/feeds/{feed.json()['token']}.ics")
    assert calendar.status_code == 200, calendar.text
