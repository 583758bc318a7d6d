"""Progress's list routes answer ``{items, next_cursor}`` and page without loss or repeats."""

from __future__ import annotations

import httpx

from studyhall.db.engine import Database
from tests.courses.test_paging import walk
from tests.progress.helpers import define_achievement, learner


async def test_friends_and_achievements_page(client: httpx.AsyncClient, owner_db: Database) -> None:
    ana = await learner(client, owner_db)
    others = [await learner(client, owner_db) for _ in range(3)]
    for other in others:
        asked = await client.post(
            "/api/v1/friends/requests", headers=ana.headers, json={"user_id": str(other.id)}
        )
        assert asked.status_code == 200, asked.text
    friends = await walk(client, "/api/v1/friends", ana)
    assert [f["addressee_id"] for f in friends] == [str(other.id) for other in others]

    codes = [f"paged_{n}" for n in range(3)]
    for n, code in enumerate(codes):
        await define_achievement(owner_db, code, "total_xp", 1_000_000 + n)
    listed = [a["code"] for a in await walk(client, "/api/v1/achievements", ana)]
    assert [c for c in listed if c in codes] == codes
    assert len(listed) == len(set(listed))


async def test_study_sessions_page_newest_first(
    client: httpx.AsyncClient, owner_db: Database
) -> None:
    ana = await learner(client, owner_db)
    started = []
    for _ in range(3):
        begun = await client.post("/api/v1/study-sessions", headers=ana.headers)
        assert begun.status_code == 201, begun.text
        started.append(begun.json()["id"])
        stopped = await client.post("/api/v1/study-sessions/current/stop", headers=ana.headers)
        assert stopped.status_code == 200, stopped.text
    listed = await walk(client, "/api/v1/study-sessions", ana)
    assert [s["id"] for s in listed] == list(reversed(started))
