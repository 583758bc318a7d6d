"""`GET /slots` pages with an opaque keyset cursor and never silently stops short."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from studyhall.app import create_app
from studyhall.config import Settings
from studyhall.db.engine import Database
from tests.conftest import run_jobs
from tests.scheduling.conftest import (
    API,
    add_rule,
    create_offering,
    scalar,
    serving,
    set_settings,
    sign_up,
)


async def _pages(http: httpx.AsyncClient, params: dict[str, Any]) -> list[dict[str, Any]]:
    pages = []
    while True:
        response = await http.get(f"{API}/slots", params=params)
        assert response.status_code == 200, response.text
        pages.append(response.json())
        if pages[-1]["next_cursor"] is None:
            return pages
        params = {**params, "cursor": pages[-1]["next_cursor"]}


async def test_a_quarter_hour_offering_lists_all_93_days_page_by_page(
    settings: Settings, db: Database, owner_db: Database
) -> None:
    app = create_app(settings, db)
    async with serving(app) as base, httpx.AsyncClient(base_url=base, timeout=60) as http:
        tutor = await sign_up(http, "tutor")
        offering = await create_offering(http, tutor, duration_minutes=15)
        await set_settings(http, tutor, booking_horizon_days=100)
        await add_rule(http, tutor, start_time="00:00", end_time="23:45", rrule="FREQ=DAILY")
        await run_jobs()
        begin = datetime.now(UTC) + timedelta(hours=1)
        end = begin + timedelta(days=93)
        params = {
            "offering_id": offering["id"],
            "from": begin.isoformat(),
            "to": end.isoformat(),
            "limit": 200,
        }
        pages = await _pages(http, params)

    items = [item for page in pages for item in page["items"]]
    stored = await scalar(
        owner_db,
        "SELECT count(*) FROM slots WHERE offering_id = :o AND status = 'open'"
        " AND start_at >= :b AND start_at < :e",
        o=offering["id"],
        b=begin,
        e=end,
    )
    assert stored > 93 * 90  # far beyond the old silent stop at 2,000 rows
    assert len(items) == stored
    assert len({item["id"] for item in items}) == len(items)
    starts = [datetime.fromisoformat(item["start_at"]) for item in items]
    assert starts == sorted(starts)
    assert starts[-1] > end - timedelta(days=1)  # the last day is there
    assert [len(page["items"]) for page in pages[:-1]] == [200] * (len(pages) - 1)
    assert all(page["next_cursor"] for page in pages[:-1])


async def test_a_page_boundary_inside_one_start_time_loses_nothing(
    client: httpx.AsyncClient,
) -> None:
    # Three offerings share every start time; pages of two cut through them.
    tutor = await sign_up(client, "tutor")
    offerings = [await create_offering(client, tutor, duration_minutes=60) for _ in range(3)]
    begin = datetime.now(UTC) + timedelta(days=1)
    day = begin.date() + timedelta(days=1)
    await add_rule(
        client, tutor, start_date=day.isoformat(), start_time="09:00", end_time="12:00", rrule=None
    )
    await run_jobs()
    params = {"tutor_id": str(tutor.id), "from": begin.isoformat(),
              "to": (begin + timedelta(days=3)).isoformat(), "limit": 2}  # fmt: skip
    pages = await _pages(client, params)
    keys = [(item["start_at"], item["offering_id"]) for page in pages for item in page["items"]]
    assert len(keys) == len(set(keys)) == 9
    assert keys == sorted(keys)
    assert {offering_id for _, offering_id in keys} == {o["id"] for o in offerings}
    assert len(pages) == 5


async def test_bad_cursors_and_limits_are_precise_422s(client: httpx.AsyncClient) -> None:
    tutor = await sign_up(client, "tutor")
    now = datetime.now(UTC)
    params = {"tutor_id": str(tutor.id), "from": now.isoformat(),
              "to": (now + timedelta(days=1)).isoformat()}  # fmt: skip
    for cursor in ["not-a-cursor", "WyJ4Il0", "W1tdLCBbXV0", "x" * 600]:
        response = await client.get(f"{API}/slots", params={**params, "cursor": cursor})
        assert response.status_code == 422, (cursor, response.text)
        assert response.headers["content-type"] == "application/problem+json"
    decoded = await client.get(f"{API}/slots", params={**params, "cursor": "not-a-cursor"})
    assert decoded.json()["code"] == "invalid_cursor"
    for limit in ["0", "201", "9223372036854775808"]:
        response = await client.get(f"{API}/slots", params={**params, "limit": limit})
        assert response.status_code == 422, (limit, response.text)
    empty = await client.get(f"{API}/slots", params=params)
    assert empty.json() == {"items": [], "next_cursor": None}
