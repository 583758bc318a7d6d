"""Achievement definitions: validated, admin-only, and awarded retroactively by a job."""

from __future__ import annotations

import uuid

import httpx

from studyhall.db.engine import Database
from studyhall.progress import service as progress
from studyhall.progress.jobs import award_retroactively_now
from tests.conftest import run_jobs
from tests.courses.helpers import make_admin
from tests.progress.helpers import learner, scalar

BADGE = {
    "code": "two_lessons",
    "title": "Two lessons",
    "criteria_type": "lessons_completed",
    "criteria_value": 2,
    "xp_reward": 15,
}


async def test_definitions_are_validated_and_admin_only(
    client: httpx.AsyncClient, owner_db: Database
) -> None:
    admin = await make_admin(client, owner_db)
    ana = await learner(client, owner_db)
    url = "/api/v1/admin/achievements"
    refused = await client.post(url, headers=ana.headers, json=BADGE)
    assert refused.status_code == 403
    for bad in ({"criteria_type": "vibes"}, {"criteria_value": 0}, {"code": "Has Spaces"}):
        response = await client.post(url, headers=admin.headers, json={**BADGE, **bad})
        assert response.status_code == 422, bad
    assert await scalar(owner_db, "SELECT count(*) FROM achievements") == 0
    created = await client.post(url, headers=admin.headers, json=BADGE)
    assert created.status_code == 201
    twice = await client.post(url, headers=admin.headers, json=BADGE)
    assert (twice.status_code, twice.json()["code"]) == (409, "achievement_code_taken")
    hidden = await client.patch(
        f"{url}/{created.json()['id']}", headers=admin.headers, json={"is_active": False}
    )
    assert hidden.status_code == 200 and hidden.json()["is_active"] is False
    listed = await client.get("/api/v1/achievements", headers=ana.headers)
    assert listed.json() == {"items": [], "next_cursor": None}


async def test_a_new_definition_is_awarded_to_those_who_already_qualify(
    client: httpx.AsyncClient, db: Database, owner_db: Database
) -> None:
    admin = await make_admin(client, owner_db)
    keen = await learner(client, owner_db)
    idle = await learner(client, owner_db)
    async with db.transaction(keen.id) as session:
        for _ in range(3):
            await progress.record(session, progress.LessonCompleted(keen.id, uuid.uuid4()))
    async with db.transaction(idle.id) as session:
        await progress.record(session, progress.LessonCompleted(idle.id, uuid.uuid4()))

    created = await client.post("/api/v1/admin/achievements", headers=admin.headers, json=BADGE)
    assert created.status_code == 201
    await run_jobs()
    assert await award_retroactively_now(uuid.UUID(created.json()["id"])) == 0  # already done

    unlocked = "SELECT count(*) FROM user_achievements WHERE user_id = :u"
    assert await scalar(owner_db, unlocked, u=keen.id) == 1
    assert await scalar(owner_db, unlocked, u=idle.id) == 0
    assert (
        await scalar(
            owner_db,
            "SELECT count(*) FROM notifications "
            "WHERE user_id = :u AND type = 'achievement_unlocked'",
            u=keen.id,
        )
        == 1
    )
    assert (
        await scalar(owner_db, "SELECT sum(xp_amount) FROM xp_logs WHERE user_id = :u", u=keen.id)
        == 3 * 20 + 15
    )
    mine = await client.get("/api/v1/achievements", headers=keen.headers)
    assert mine.json()["items"][0]["unlocked_at"] is not None
    # The second lesson of the idle learner unlocks it in that lesson's own transaction.
    async with db.transaction(idle.id) as session:
        result = await progress.record(session, progress.LessonCompleted(idle.id, uuid.uuid4()))
    assert [u.title for u in result.unlocked] == ["Two lessons"]


async def test_a_definition_made_easier_or_turned_back_on_is_awarded_once_by_the_job(
    client: httpx.AsyncClient, db: Database, owner_db: Database
) -> None:
    admin = await make_admin(client, owner_db)
    keen = await learner(client, owner_db)
    async with db.transaction(keen.id) as session:
        for _ in range(2):
            await progress.record(session, progress.LessonCompleted(keen.id, uuid.uuid4()))
    url = "/api/v1/admin/achievements"
    created = await client.post(
        url, headers=admin.headers, json={**BADGE, "criteria_value": 3, "is_active": False}
    )
    assert created.status_code == 201
    badge = f"{url}/{created.json()['id']}"
    unlocked = "SELECT count(*) FROM user_achievements WHERE user_id = :u"
    notified = (
        "SELECT count(*) FROM notifications WHERE user_id = :u AND type = 'achievement_unlocked'"
    )
    # Turned on while still out of reach: nothing to award.
    assert (await client.patch(badge, headers=admin.headers, json={"is_active": True})).is_success
    await run_jobs()
    assert await scalar(owner_db, unlocked, u=keen.id) == 0
    # Made easier: the job awards it to the learner who already qualifies.
    assert (await client.patch(badge, headers=admin.headers, json={"criteria_value": 2})).is_success
    await run_jobs()
    assert await scalar(owner_db, unlocked, u=keen.id) == 1
    # Off and on again: the learner keeps their one unlock, XP and notification.
    for active in (False, True):
        response = await client.patch(badge, headers=admin.headers, json={"is_active": active})
        assert response.is_success
    await run_jobs()
    assert await scalar(owner_db, unlocked, u=keen.id) == 1
    assert await scalar(owner_db, notified, u=keen.id) == 1
    assert (
        await scalar(owner_db, "SELECT sum(xp_amount) FROM xp_logs WHERE user_id = :u", u=keen.id)
        == 2 * 20 + 15
    )
