"""The in-app inbox: own rows only, read state, preferences, and concurrent clients."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import text

from studyhall.db.engine import Database
from studyhall.notifications.service import sending as service
from tests.notifications.conftest import Person, rows, sign_up


async def _notify(db: Database, person: Person, count: int) -> list[uuid.UUID]:
    ids = []
    for index in range(count):
        async with db.transaction() as session:
            ids += await service.notify(
                session,
                person.id,
                "system_update",
                {"title": f"Update {index}", "body": "..."},
                channels=["inapp"],
            )
    return ids


async def _snapshot(owner_db: Database) -> list[tuple[object, ...]]:
    return await rows(
        owner_db,
        "SELECT id, status, read_at, deleted_at FROM notifications ORDER BY id",
    )


async def test_the_inbox_lists_newest_first_in_pages_and_counts_unread(
    client: httpx.AsyncClient, db: Database
) -> None:
    ana = await sign_up(client, "Ana")
    ids = await _notify(db, ana, 5)
    first = await client.get("/api/v1/notifications?limit=2", headers=ana.auth)
    assert first.status_code == 200
    page = first.json()
    assert [item["title"] for item in page["items"]] == ["Update 4", "Update 3"]
    assert page["items"][0]["status"] == "sent"
    second = await client.get(
        f"/api/v1/notifications?limit=2&cursor={page['next_cursor']}", headers=ana.auth
    )
    third = await client.get(
        f"/api/v1/notifications?limit=2&cursor={second.json()['next_cursor']}", headers=ana.auth
    )
    assert [i["title"] for i in second.json()["items"]] == ["Update 2", "Update 1"]
    assert [i["title"] for i in third.json()["items"]] == ["Update 0"]
    assert third.json()["next_cursor"] is None

    count = await client.get("/api/v1/notifications/unread-count", headers=ana.auth)
    assert count.json() == {"unread": 5}
    read = await client.post(f"/api/v1/notifications/{ids[0]}/read", headers=ana.auth)
    assert read.json()["status"] == "read" and read.json()["read_at"] is not None
    unread = await client.get("/api/v1/notifications?unread_only=true", headers=ana.auth)
    assert [i["title"] for i in unread.json()["items"]] == [f"Update {n}" for n in (4, 3, 2, 1)]
    assert (await client.post("/api/v1/notifications/read-all", headers=ana.auth)).json() == {
        "marked": 4
    }
    assert (await client.get("/api/v1/notifications/unread-count", headers=ana.auth)).json() == {
        "unread": 0
    }
    deleted = await client.delete(f"/api/v1/notifications/{ids[1]}", headers=ana.auth)
    assert deleted.status_code == 204
    listed = await client.get("/api/v1/notifications", headers=ana.auth)
    assert [i["title"] for i in listed.json()["items"]] == [f"Update {n}" for n in (4, 3, 2, 0)]


async def test_a_user_never_reads_or_changes_another_users_notifications(
    client: httpx.AsyncClient, db: Database, owner_db: Database
) -> None:
    ana, ben = await sign_up(client, "Ana"), await sign_up(client, "Ben")
    [anas] = await _notify(db, ana, 1)
    before = await _snapshot(owner_db)

    assert (await client.get("/api/v1/notifications", headers=ben.auth)).json() == {
        "items": [],
        "next_cursor": None,
    }
    assert (await client.get("/api/v1/notifications/unread-count", headers=ben.auth)).json() == {
        "unread": 0
    }
    for method, path in (
        ("POST", f"/api/v1/notifications/{anas}/read"),
        ("DELETE", f"/api/v1/notifications/{anas}"),
    ):
        response = await client.request(method, path, headers=ben.auth)
        assert response.status_code == 404, path
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["code"] == "notification_not_found"
    # A cursor is opaque: one that this API did not return is refused, not looked up.
    forged = await client.get(f"/api/v1/notifications?cursor={anas}", headers=ben.auth)
    assert forged.status_code == 422
    assert forged.headers["content-type"] == "application/problem+json"
    assert forged.json()["code"] == "invalid_cursor"
    assert (await client.post("/api/v1/notifications/read-all", headers=ben.auth)).json() == {
        "marked": 0
    }
    assert await _snapshot(owner_db) == before

    # Row level security says the same, whatever the query: as Ben, Ana's row does not exist.
    async with db.transaction(ben.id) as session:
        seen = await session.scalar(text("SELECT count(*) FROM notifications"))
        changed = await session.execute(
            text("UPDATE notifications SET status = 'read', read_at = now() WHERE id = :i"),
            {"i": anas},
        )
    assert (seen, changed.rowcount) == (0, 0)  # type: ignore[attr-defined]
    async with db.transaction(ana.id) as session:
        assert await session.scalar(text("SELECT count(*) FROM notifications")) == 1
    assert await _snapshot(owner_db) == before

    unauthenticated = await client.get("/api/v1/notifications")
    assert (unauthenticated.status_code, unauthenticated.json()["code"]) == (
        401,
        "not_authenticated",
    )


async def test_account_email_preferences_are_locked(
    client: httpx.AsyncClient, owner_db: Database
) -> None:
    ana = await sign_up(client, "Ana")
    response = await client.put(
        "/api/v1/notifications/preferences",
        json={
            "preferences": [
                {"type": "system_update", "channel": "email", "enabled": False},
                {"type": "password_reset", "channel": "email", "enabled": False},
            ]
        },
        headers=ana.auth,
    )
    assert response.status_code == 422
    assert response.json()["code"] == "preference_locked"
    assert await rows(owner_db, "SELECT count(*) FROM notification_preferences") == [(0,)]
    bad = await client.put(
        "/api/v1/notifications/preferences",
        json={"preferences": [{"type": "birthday", "channel": "email", "enabled": False}]},
        headers=ana.auth,
    )
    assert (bad.status_code, bad.json()["code"]) == (422, "validation_failed")
    listed = await client.get("/api/v1/notifications/preferences?limit=30", headers=ana.auth)
    first = listed.json()
    assert len(first["items"]) == 30 and first["next_cursor"] is not None
    rest = (
        await client.get(
            f"/api/v1/notifications/preferences?limit=30&cursor={first['next_cursor']}",
            headers=ana.auth,
        )
    ).json()
    assert rest["next_cursor"] is None
    prefs = first["items"] + rest["items"]
    assert len(prefs) == 39  # 13 types (achievement_unlocked, data_export_ready included) x 3
    assert len({(p["type"], p["channel"]) for p in prefs}) == 39
    assert {
        "type": "password_reset",
        "channel": "email",
        "enabled": True,
        "locked": True,
    } in prefs
    assert {"type": "system_update", "channel": "sms", "enabled": False, "locked": False} in prefs


async def test_concurrent_clients_marking_all_read_mark_each_notification_once(
    client: httpx.AsyncClient, db: Database, owner_db: Database
) -> None:
    ana = await sign_up(client, "Ana")
    await _notify(db, ana, 12)
    responses = await asyncio.gather(
        *(client.post("/api/v1/notifications/read-all", headers=ana.auth) for _ in range(10))
    )
    assert all(response.status_code == 200 for response in responses)
    assert sum(response.json()["marked"] for response in responses) == 12
    assert await rows(owner_db, "SELECT status, count(*) FROM notifications GROUP BY 1") == [
        ("read", 12)
    ]
    audits = await rows(
        owner_db,
        "SELECT sum((diff->>'marked')::int) FROM audit_log WHERE action = 'notification.read_all'",
    )
    assert audits == [(12,)]


async def test_concurrent_reminder_scheduling_creates_each_reminder_once(
    client: httpx.AsyncClient, db: Database, owner_db: Database
) -> None:
    ana = await sign_up(client, "Ana")
    booking = uuid.uuid4()
    starts = datetime.now(UTC) + timedelta(days=2)

    async def confirm() -> int:
        async with db.transaction() as session:
            created = await service.schedule_booking_reminders(session, booking, [ana.id], starts)
            return len(created)

    created = await asyncio.gather(*(confirm() for _ in range(10)))
    assert sum(created) == 4
    assert await rows(owner_db, "SELECT count(*) FROM notifications") == [(4,)]
    jobs = await rows(
        owner_db,
        "SELECT count(*), sum(jsonb_array_length(args->'notification_ids')) "
        "FROM procrastinate_jobs WHERE task_name = 'studyhall.notifications.deliver'",
    )
    assert jobs == [(2, 4)]  # the day-before pair and the hour-before pair


async def test_concurrent_preference_changes_keep_one_row_per_type_and_channel(
    client: httpx.AsyncClient, owner_db: Database
) -> None:
    ana = await sign_up(client, "Ana")

    def change(enabled: bool) -> dict[str, object]:
        return {"preferences": [{"type": "system_update", "channel": "email", "enabled": enabled}]}

    responses = await asyncio.gather(
        *(
            client.put(
                "/api/v1/notifications/preferences", json=change(n % 2 == 0), headers=ana.auth
            )
            for n in range(16)
        )
    )
    assert [response.status_code for response in responses] == [200] * 16
    stored = await rows(
        owner_db, "SELECT type, channel, count(*) FROM notification_preferences GROUP BY 1, 2"
    )
    assert stored == [("system_update", "email", 1)]
    listed = await client.get("/api/v1/notifications/preferences", headers=ana.auth)
    final = listed.json()["items"]
    [email] = [p for p in final if (p["type"], p["channel"]) == ("system_update", "email")]
    enabled = await rows(owner_db, "SELECT enabled FROM notification_preferences")
    assert email["enabled"] == enabled[0][0]
