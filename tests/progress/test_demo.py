"""The starter achievements load once and are listed through the API."""

from __future__ import annotations

import httpx

from studyhall.config import Settings
from studyhall.db.engine import Database
from studyhall.progress import demo
from tests.progress.helpers import learner


async def test_demo_achievements_are_idempotent_and_listed(
    client: httpx.AsyncClient, owner_db: Database, settings: Settings
) -> None:
    for expected in (f"progress: {len(demo.STARTER)} ", "progress: 0 "):
        async with owner_db.transaction() as session:
            summary = await demo.load(session, settings)
        assert summary[0].startswith(expected)
    ana = await learner(client, owner_db)
    listed = (await client.get("/api/v1/achievements", headers=ana.headers)).json()["items"]
    assert sorted(a["code"] for a in listed) == sorted(code for code, *_ in demo.STARTER)
    assert all(a["unlocked_at"] is None for a in listed)
