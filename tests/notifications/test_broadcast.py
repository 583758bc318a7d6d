"""Admin broadcast of a system update, to one role or everyone, in batches."""

from __future__ import annotations

import asyncio
import uuid

import httpx
import pytest

from studyhall.config import Settings
from studyhall.db.engine import Database
from studyhall.notifications.service import broadcast
from tests.conftest import run_jobs
from tests.notifications.conftest import make_admin, rows, sign_up


async def test_a_broadcast_to_students_reaches_each_student_once_in_batches(
    client: httpx.AsyncClient,
    db: Database,
    owner_db: Database,
    settings: Settings,
    notify_config: pytest.MonkeyPatch,
) -> None:
    notify_config.setenv("STUDYHALL_NOTIFY_BROADCAST_BATCH_SIZE", "2")
    boss = await sign_up(client, "Boss")
    await make_admin(owner_db, boss)
    students = [await sign_up(client, f"Student{n}") for n in range(5)]
    tutors = [await sign_up(client, f"Tutor{n}", role="tutor") for n in range(3)]

    denied = await client.post(
        "/api/v1/admin/notifications/broadcast",
        json={"title": "Hi", "body": "All"},
        headers=students[0].auth,
    )
    assert (denied.status_code, denied.json()["code"]) == (403, "role_required")
    assert await rows(owner_db, "SELECT count(*) FROM procrastinate_jobs") == [(0,)]

    started = await client.post(
        "/api/v1/admin/notifications/broadcast",
        json={"title": "New feature", "body": "Flashcards are here.", "role": "student"},
        headers=boss.auth,
    )
    assert started.status_code == 202, started.text
    body = started.json()
    assert (body["recipients"], body["users_reached"], body["finished_at"]) == (5, 0, None)
    await run_jobs()

    reached = await rows(
        owner_db,
        "SELECT user_id, channel, status FROM notifications WHERE type = 'system_update' "
        "ORDER BY user_id, channel",
    )
    assert reached == sorted(
        (s.id, channel, status)
        for s in students
        for channel, status in (("email", "sent"), ("inapp", "sent"))
    )
    assert {t.id for t in tutors}.isdisjoint({row[0] for row in reached})
    batches = await rows(
        owner_db,
        "SELECT status::text, count(*) FROM procrastinate_jobs "
        "WHERE task_name = 'studyhall.notifications.broadcast_batch' GROUP BY 1",
    )
    assert batches == [("succeeded", 3)]  # 2 + 2 + 1
    assert len(list(settings.outbox_dir.glob("*.eml"))) == 5

    # A batch that runs again (a worker died after committing) adds nothing.
    progress = await client.get(
        f"/api/v1/admin/notifications/broadcasts/{body['id']}", headers=boss.auth
    )
    done = progress.json()
    assert (done["users_reached"], done["notifications_created"], done["batches"]) == (5, 10, 3)
    assert done["finished_at"] is not None
    again = await broadcast.run_batch(uuid.UUID(body["id"]), uuid.UUID(int=0))
    assert again == 2
    assert await rows(owner_db, "SELECT count(*) FROM notifications") == [(10,)]
    repeated = await client.get(
        f"/api/v1/admin/notifications/broadcasts/{body['id']}", headers=boss.auth
    )
    assert (repeated.json()["users_reached"], repeated.json()["finished_at"]) == (
        5,
        done["finished_at"],
    )
    listed = await client.get("/api/v1/admin/notifications/broadcasts", headers=boss.auth)
    assert [b["id"] for b in listed.json()["items"]] == [body["id"]]
    for path in (f"broadcasts/{body['id']}", "broadcasts"):
        denied = await client.get(f"/api/v1/admin/notifications/{path}", headers=students[0].auth)
        assert (denied.status_code, denied.json()["code"]) == (403, "role_required")
    missing = await client.get(
        f"/api/v1/admin/notifications/broadcasts/{uuid.uuid4()}", headers=boss.auth
    )
    assert (missing.status_code, missing.json()["code"]) == (404, "broadcast_not_found")
    audit = await rows(
        owner_db,
        "SELECT actor_user_id, entity_id, diff->>'recipients' FROM audit_log "
        "WHERE action = 'notification.broadcast'",
    )
    assert audit == [(boss.id, body["id"], "5")]


async def test_a_broadcast_to_everyone_in_app_only(
    client: httpx.AsyncClient, db: Database, owner_db: Database
) -> None:
    boss = await sign_up(client, "Boss")
    await make_admin(owner_db, boss)
    people = [await sign_up(client, f"P{n}", role=("student", "tutor")[n % 2]) for n in range(4)]
    response = await client.post(
        "/api/v1/admin/notifications/broadcast",
        json={"title": "Downtime", "body": "Sunday 02:00 UTC", "channels": ["inapp"]},
        headers=boss.auth,
    )
    assert response.json()["recipients"] == 5
    await run_jobs()
    assert await rows(
        owner_db, "SELECT channel, status, count(*) FROM notifications GROUP BY 1, 2"
    ) == [("inapp", "sent", 5)]
    inbox = await client.get("/api/v1/notifications", headers=people[1].auth)
    assert [item["title"] for item in inbox.json()["items"]] == ["Downtime"]


@pytest.mark.parametrize(
    "body",
    [
        {"title": "", "body": "x"},
        {"title": "x", "body": "x", "role": "parent"},
        {"title": "x", "body": "x", "channels": []},
        {"title": "x", "body": "x", "channels": ["fax"]},
        {"title": "x", "body": "x", "extra": 1},
    ],
)
async def test_bad_broadcasts_are_refused_and_start_nothing(
    client: httpx.AsyncClient, owner_db: Database, body: dict[str, object]
) -> None:
    boss = await sign_up(client, "Boss")
    await make_admin(owner_db, boss)
    response = await client.post(
        "/api/v1/admin/notifications/broadcast", json=body, headers=boss.auth
    )
    assert (response.status_code, response.json()["code"]) == (422, "validation_failed")
    assert await rows(owner_db, "SELECT count(*) FROM procrastinate_jobs") == [(0,)]


async def test_a_double_submitted_broadcast_with_one_idempotency_key_starts_once(
    client: httpx.AsyncClient, db: Database, owner_db: Database
) -> None:
    boss = await sign_up(client, "Boss")
    await make_admin(owner_db, boss)
    await sign_up(client, "Ana")
    headers = {**boss.auth, "Idempotency-Key": "maintenance-2026-11-22"}
    body = {"title": "Maintenance", "body": "Tonight", "channels": ["inapp"]}
    responses = await asyncio.gather(
        *(
            client.post("/api/v1/admin/notifications/broadcast", json=body, headers=headers)
            for _ in range(5)
        )
    )
    assert [r.status_code for r in responses] == [202] * 5
    assert len({r.json()["id"] for r in responses}) == 1
    await run_jobs()
    assert await rows(owner_db, "SELECT count(*) FROM notifications") == [(2,)]
    assert await rows(
        owner_db, "SELECT count(*) FROM audit_log WHERE action = 'notification.broadcast'"
    ) == [(1,)]
    changed = await client.post(
        "/api/v1/admin/notifications/broadcast",
        json={**body, "title": "Something else"},
        headers=headers,
    )
    assert (changed.status_code, changed.json()["code"]) == (409, "idempotency_key_reused")


async def test_broadcasts_and_failures_are_listed_in_pages(
    client: httpx.AsyncClient, owner_db: Database
) -> None:
    boss = await sign_up(client, "Boss")
    await make_admin(owner_db, boss)
    started = []
    for n in range(5):
        response = await client.post(
            "/api/v1/admin/notifications/broadcast",
            json={"title": f"Update {n}", "body": "News.", "role": "tutor"},
            headers=boss.auth,
        )
        assert response.status_code == 202, response.text
        started.append(response.json()["id"])
    seen: list[str] = []
    cursor = None
    for _ in range(4):
        query = "limit=2" + (f"&cursor={cursor}" if cursor else "")
        page = await client.get(
            f"/api/v1/admin/notifications/broadcasts?{query}", headers=boss.auth
        )
        assert page.status_code == 200, page.text
        seen += [item["id"] for item in page.json()["items"]]
        cursor = page.json()["next_cursor"]
        if cursor is None:
            break
    assert seen == list(reversed(started))  # newest first, each once
    assert cursor is None

    failures = await client.get("/api/v1/admin/notifications?limit=1", headers=boss.auth)
    assert failures.json() == {"items": [], "next_cursor": None}
    forged = await client.get("/api/v1/admin/notifications?cursor=not-ours", headers=boss.auth)
    assert (forged.status_code, forged.json()["code"]) == (422, "invalid_cursor")
