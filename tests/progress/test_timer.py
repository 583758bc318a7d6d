"""The study timer: one running session, idle close at the last heartbeat, caps, minutes goal."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import httpx

from studyhall.db.engine import Database
from studyhall.db.rls import cross_users as system_session
from studyhall.progress.config import ProgressConfig
from studyhall.progress.service import timer
from tests.progress.helpers import learner, scalar

CONFIG = ProgressConfig(_env_file=None)  # type: ignore[call-arg]
T0 = datetime(2026, 3, 8, 14, 0, tzinfo=UTC)


async def test_one_running_session_even_when_ten_tabs_start_at_once(
    client: httpx.AsyncClient, owner_db: Database
) -> None:
    ana = await learner(client, owner_db)
    responses = await asyncio.gather(
        *(client.post("/api/v1/study-sessions", headers=ana.headers) for _ in range(10))
    )
    codes = sorted(r.status_code for r in responses)
    assert codes == [201] + [409] * 9
    assert {r.json()["code"] for r in responses if r.status_code == 409} == {
        "study_session_running"
    }
    beat = await client.post("/api/v1/study-sessions/current/heartbeat", headers=ana.headers)
    assert beat.status_code == 200 and beat.json()["ended_at"] is None
    stopped = await client.post("/api/v1/study-sessions/current/stop", headers=ana.headers)
    assert stopped.status_code == 200 and stopped.json()["close_reason"] == "stopped"
    again = await client.post("/api/v1/study-sessions/current/stop", headers=ana.headers)
    assert (again.status_code, again.json()["code"]) == (404, "study_session_not_running")


async def _in(db: Database, user_id: uuid.UUID, action, *args):  # type: ignore[no-untyped-def]
    async with db.transaction(user_id) as session:
        return await action(session, user_id, *args, CONFIG)


async def test_a_silent_session_closes_at_its_last_heartbeat(
    client: httpx.AsyncClient, db: Database, owner_db: Database
) -> None:
    ben = await learner(client, owner_db)
    started = await _in(db, ben.id, timer.start, T0)
    await _in(db, ben.id, timer.heartbeat, T0 + timedelta(minutes=4))
    await _in(db, ben.id, timer.heartbeat, T0 + timedelta(minutes=8))
    async with db.transaction() as session:
        await system_session(session)
        assert await timer.close_idle(session, T0 + timedelta(minutes=12), CONFIG) == 0
        assert await timer.close_idle(session, T0 + timedelta(hours=5), CONFIG) == 1
    row = await scalar(
        owner_db,
        "SELECT row(ended_at, duration_seconds, xp_awarded, close_reason)::text "
        "FROM study_sessions WHERE id = :id",
        id=started.id,
    )
    assert row == '("2026-03-08 14:08:00+00",480,8,idle)'


async def test_caps_per_session_and_per_local_day(
    client: httpx.AsyncClient, db: Database, owner_db: Database
) -> None:
    cleo = await learner(client, owner_db, "America/St_Johns")
    await _in(db, cleo.id, timer.start, T0)
    minute = 0
    while True:  # a forgotten tab that keeps beating until the cap closes its session
        minute += 4
        last = await _in(db, cleo.id, timer.heartbeat, T0 + timedelta(minutes=minute))
        if last.ended_at is not None:
            break
    assert minute == 180
    assert last.close_reason == "capped"
    assert last.duration_seconds == CONFIG.session_cap_minutes * 60
    assert last.xp_awarded == CONFIG.session_cap_minutes
    later = T0 + timedelta(hours=4)
    second = await _in(db, cleo.id, timer.start, later)
    for minute in range(4, 121, 4):
        await _in(db, cleo.id, timer.heartbeat, later + timedelta(minutes=minute))
    done = await _in(db, cleo.id, timer.stop, later + timedelta(minutes=120, seconds=30))
    assert done.id == second.id and done.duration_seconds == 120 * 60 + 30
    # Same local day: only what is left of the daily cap pays.
    assert done.xp_awarded == CONFIG.daily_xp_minutes_cap - CONFIG.session_cap_minutes
    total = await scalar(
        owner_db, "SELECT sum(xp_amount) FROM xp_logs WHERE user_id = :u", u=cleo.id
    )
    assert total == CONFIG.daily_xp_minutes_cap


async def test_a_minutes_goal_counts_the_day_once_enough_is_studied(
    client: httpx.AsyncClient, db: Database, owner_db: Database
) -> None:
    dan = await learner(client, owner_db, "Asia/Kathmandu")
    changed = await client.patch(
        "/api/v1/me/progress/settings",
        headers=dan.headers,
        json={"daily_goal_type": "minutes", "daily_goal_minutes": 10},
    )
    assert changed.status_code == 200 and changed.json()["daily_goal_minutes"] == 10
    bad = await client.patch(
        "/api/v1/me/progress/settings", headers=dan.headers, json={"daily_goal_minutes": 0}
    )
    assert bad.status_code == 422
    await _in(db, dan.id, timer.start, T0)
    await _in(db, dan.id, timer.stop, T0 + timedelta(minutes=4))
    streak = "SELECT current_streak FROM user_streaks WHERE user_id = :u"
    assert await scalar(owner_db, streak, u=dan.id) == 0
    await _in(db, dan.id, timer.start, T0 + timedelta(minutes=5))
    await _in(db, dan.id, timer.heartbeat, T0 + timedelta(minutes=8))
    await _in(db, dan.id, timer.stop, T0 + timedelta(minutes=11))
    assert await scalar(owner_db, streak, u=dan.id) == 1
    local_day = await scalar(
        owner_db, "SELECT last_study_date::text FROM user_streaks WHERE user_id = :u", u=dan.id
    )
    assert local_day == "2026-03-08"  # 19:45 in Kathmandu
