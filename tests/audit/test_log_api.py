"""The audit log read API: admins filter and page through entries across monthly partitions;
everyone else is refused; bad filters are precise problems; secrets never come back."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx

from studyhall.db.engine import Database
from tests.accounts.conftest import make_admin, owner_exec, owner_rows, sign_up

API = "/api/v1/admin/audit-log"
NOW = datetime.now(UTC)


def _months_ago(count: int) -> datetime:
    index = NOW.year * 12 + NOW.month - 1 - count
    return datetime(index // 12, index % 12 + 1, 10, 12, 0, tzinfo=UTC)


async def _entry(
    owner_db: Database,
    at: datetime,
    action: str = "lesson.edit",
    entity_id: str = "l-1",
    actor: uuid.UUID | None = None,
    diff: dict[str, Any] | None = None,
) -> uuid.UUID:
    entry_id = uuid.uuid4()
    await owner_exec(
        owner_db,
        "INSERT INTO audit_log (id, actor_user_id, action, entity, entity_id, diff, created_at) "
        "VALUES (:id, :actor, :action, 'lesson', :entity_id, CAST(:diff AS jsonb), :at)",
        id=entry_id,
        actor=actor,
        action=action,
        entity_id=entity_id,
        diff=None if diff is None else json.dumps(diff),
        at=at,
    )
    return entry_id


async def _partition_of(owner_db: Database, entry_id: uuid.UUID) -> str:
    rows = await owner_rows(
        owner_db, "SELECT tableoid::regclass::text FROM audit_log WHERE id = :id", id=entry_id
    )
    return str(rows[0][0])


async def _move_months_out_of_default(owner_db: Database, *months: datetime) -> None:
    for month in months:
        await owner_exec(
            owner_db,
            "SELECT studyhall_audit_log_add_month(:month)",
            month=date(month.year, month.month, 1),
        )


async def test_pages_cross_monthly_partitions_newest_first(
    client: httpx.AsyncClient, owner_db: Database
) -> None:
    admin = await make_admin(client, owner_db)
    two, one = _months_ago(2), _months_ago(1)
    made = [
        await _entry(owner_db, two),
        await _entry(owner_db, two + timedelta(hours=1)),
        await _entry(owner_db, one),
        await _entry(owner_db, one + timedelta(hours=1)),
        await _entry(owner_db, NOW - timedelta(seconds=5)),
    ]
    # Rows of a month without a partition wait in the default one and move when it is made.
    assert await _partition_of(owner_db, made[0]) == "audit_log_default"
    await _move_months_out_of_default(owner_db, two, one)
    assert await _partition_of(owner_db, made[0]) == f"audit_log_{two:%Y_%m}"
    assert await _partition_of(owner_db, made[2]) == f"audit_log_{one:%Y_%m}"
    assert await _partition_of(owner_db, made[4]) == f"audit_log_{NOW:%Y_%m}"

    pages, cursor = [], None
    while True:
        params: dict[str, Any] = {"limit": 2, "entity": "lesson"}
        if cursor:
            params["cursor"] = cursor
        response = await client.get(API, params=params, headers=admin.headers)
        assert response.status_code == 200, response.text
        body = response.json()
        pages.append([uuid.UUID(item["id"]) for item in body["items"]])
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert pages == [made[4:2:-1], made[2:0:-1], made[0:1]]


async def test_filters_by_actor_subject_action_and_time(
    client: httpx.AsyncClient, owner_db: Database
) -> None:
    admin = await make_admin(client, owner_db)
    actor = await sign_up(client)
    by_actor = await _entry(owner_db, NOW - timedelta(minutes=3), actor=actor.id)
    other_subject = await _entry(owner_db, NOW - timedelta(minutes=2), entity_id="l-2")
    deleted = await _entry(owner_db, NOW - timedelta(minutes=1), action="lesson.delete")
    older = await _entry(owner_db, _months_ago(1))
    await _move_months_out_of_default(owner_db, _months_ago(1))

    async def ids(**params: Any) -> list[uuid.UUID]:
        response = await client.get(API, params=params, headers=admin.headers)
        assert response.status_code == 200, response.text
        return [uuid.UUID(item["id"]) for item in response.json()["items"]]

    assert await ids(entity="lesson", actor_user_id=str(actor.id)) == [by_actor]
    assert await ids(entity="lesson", entity_id="l-2") == [other_subject]
    assert await ids(action="lesson.delete") == [deleted]
    assert await ids(entity="lesson", until=(NOW - timedelta(days=1)).isoformat()) == [older]
    assert await ids(
        entity="lesson", since=(NOW - timedelta(minutes=2, seconds=30)).isoformat()
    ) == [
        deleted,
        other_subject,
    ]
    window = {
        "since": (NOW - timedelta(minutes=2, seconds=30)).isoformat(),
        "until": (NOW - timedelta(minutes=1, seconds=30)).isoformat(),
    }
    assert await ids(entity="lesson", **window) == [other_subject]


async def test_only_admins_read_the_log(client: httpx.AsyncClient, owner_db: Database) -> None:
    student = await sign_up(client)
    tutor = await sign_up(client, role="tutor")
    for caller in (student, tutor):
        refused = await client.get(API, headers=caller.headers)
        assert refused.status_code == 403
        assert refused.headers["content-type"] == "application/problem+json"
        assert refused.json()["code"] == "role_required"
    anonymous = await client.get(API)
    assert anonymous.status_code == 401


async def test_bad_filters_are_precise_problems(
    client: httpx.AsyncClient, owner_db: Database
) -> None:
    admin = await make_admin(client, owner_db)
    cases = [
        ({"since": NOW.isoformat(), "until": NOW.isoformat()}, "invalid_time_range"),
        ({"entity_id": "l-1"}, "entity_id_without_entity"),
        ({"since": "2026-01-01T00:00:00"}, None),  # no UTC offset
        ({"actor_user_id": "not-a-uuid"}, None),
        ({"action": "x" * 101}, None),
        ({"cursor": "garbage"}, "invalid_cursor"),
        ({"limit": 0}, None),
    ]
    for params, code in cases:
        response = await client.get(API, params=params, headers=admin.headers)
        assert response.status_code == 422, (params, response.text)
        assert response.headers["content-type"] == "application/problem+json", params
        if code is not None:
            assert response.json()["code"] == code, params


async def test_secret_values_never_come_back(client: httpx.AsyncClient, owner_db: Database) -> None:
    admin = await make_admin(client, owner_db)
    await _entry(
        owner_db,
        NOW - timedelta(seconds=1),
        action="webhook_endpoint.rotate",
        diff={
            "signing_secret": ["old-s3cr3t", "new-s3cr3t"],
            "nested": {"access_token": "tok-123", "name": ["a", "b"]},
            "url": ["https://a.example", "https://b.example"],
        },
    )
    response = await client.get(
        API, params={"action": "webhook_endpoint.rotate"}, headers=admin.headers
    )
    assert response.status_code == 200, response.text
    assert "s3cr3t" not in response.text and "tok-123" not in response.text
    assert response.json()["items"][0]["diff"] == {
        "signing_secret": "[redacted]",
        "nested": {"access_token": "[redacted]", "name": ["a", "b"]},
        "url": ["https://a.example", "https://b.example"],
    }
