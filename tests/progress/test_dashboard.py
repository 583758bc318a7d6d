"""``GET /me/progress`` over a real server socket, and its statement budget."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal
from typing import Any

import httpx
import uvicorn
from fastapi import FastAPI
from sqlalchemy import event

from studyhall.app import create_app
from studyhall.config import Settings
from studyhall.db.engine import Database
from studyhall.progress import service as progress
from studyhall.progress.service import rules
from tests.courses.helpers import course_tree, sign_up
from tests.notifications.servers import free_port
from tests.progress.helpers import define_achievement, learner

# Statements one dashboard request may run, authentication included (see docs/progress.md).
STATEMENT_BUDGET = 4


@asynccontextmanager
async def serving(app: FastAPI) -> AsyncIterator[str]:
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="off", log_level="warning")
    )
    task = asyncio.create_task(server.serve())
    for _ in range(500):  # uvicorn offers no event to wait on
        if server.started:
            break
        await asyncio.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


async def test_the_dashboard_over_a_real_server(
    client: httpx.AsyncClient, settings: Settings, db: Database, owner_db: Database
) -> None:
    tutor = await sign_up(client, "tutor")
    tree = await course_tree(client, tutor, lessons=3, lesson_status="preview")
    ana = await learner(client, owner_db, "Pacific/Kiritimati")
    await define_achievement(owner_db, "three_lessons", "lessons_completed", 3)
    async with (
        serving(create_app(settings, db)) as base,
        httpx.AsyncClient(base_url=base) as http,
    ):
        empty = await http.get("/api/v1/me/progress", headers=ana.headers)
        assert empty.status_code == 200, empty.text
        assert empty.json()["streak"]["current"] == 0
        assert empty.json()["goal"] == {
            "type": "activity",
            "target": 1,
            "progress": 0,
            "met": False,
        }
        lesson = tree["lessons"][0]
        done = await http.put(f"/api/v1/lessons/{lesson}/completion", headers=ana.headers)
        assert done.status_code == 200
        body: dict[str, Any] = (await http.get("/api/v1/me/progress", headers=ana.headers)).json()
        anonymous = await http.get("/api/v1/me/progress")
    assert anonymous.status_code == 401
    assert body["timezone"] == "Pacific/Kiritimati"
    assert body["streak"]["current"] == 1 and body["streak"]["today_counted"] is True
    assert body["goal"]["met"] is True
    assert body["xp"]["total"] == rules.LESSON_XP == body["xp"]["this_week"]
    assert body["next_achievement"]["criteria_type"] == "lessons_completed"
    assert body["next_achievement"]["current_value"] == 1
    assert body["due_cards"] == 0
    assert body["continue_learning"] is None  # preview lessons grant no course access


async def test_the_dashboard_stays_within_its_statement_budget(
    client: httpx.AsyncClient, db: Database, owner_db: Database
) -> None:
    ben = await learner(client, owner_db)
    for n in range(5):
        await define_achievement(owner_db, f"xp_{n}", "total_xp", 100 * (n + 1))
    async with db.transaction(ben.id) as session:
        for _ in range(30):
            await progress.record(
                session,
                progress.QuizCompleted(ben.id, uuid.uuid4(), uuid.uuid4(), Decimal(90)),
            )
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(str(args[2]))

    event.listen(db.engine.sync_engine, "before_cursor_execute", count)
    try:
        response = await client.get("/api/v1/me/progress", headers=ben.headers)
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", count)
    assert response.status_code == 200
    assert response.json()["xp"]["level"] >= 2
    assert len(statements) <= STATEMENT_BUDGET, statements
