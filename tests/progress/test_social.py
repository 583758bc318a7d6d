"""Friends (one pair whichever way, with real concurrency) and leaderboards (the cache equals the
ledger; privacy, pseudonyms for minors, friends-only boards)."""

from __future__ import annotations

import asyncio
import random
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import httpx
from sqlalchemy import text

from studyhall.db.engine import Database
from studyhall.db.rls import cross_users as system_session
from studyhall.progress import service as progress
from tests.conftest import run_jobs
from tests.courses.helpers import Actor
from tests.progress.helpers import learner, rows, scalar


async def _ask(client: httpx.AsyncClient, me: Actor, other: Actor) -> httpx.Response:
    return await client.post(
        "/api/v1/friends/requests", headers=me.headers, json={"user_id": str(other.id)}
    )


async def test_asking_each_other_at_the_same_moment_makes_one_accepted_pair(
    client: httpx.AsyncClient, owner_db: Database
) -> None:
    for _ in range(5):
        ana, ben = await learner(client, owner_db), await learner(client, owner_db)
        first, second = await asyncio.gather(_ask(client, ana, ben), _ask(client, ben, ana))
        assert (first.status_code, second.status_code) == (200, 200)
        pairs = await rows(
            owner_db,
            "SELECT status FROM friends WHERE :a IN (requester_id, addressee_id)",
            a=ana.id,
        )
        assert [r[0] for r in pairs] == ["accepted"]


async def test_requests_by_email_decline_and_block(
    client: httpx.AsyncClient, owner_db: Database
) -> None:
    ana, ben = await learner(client, owner_db), await learner(client, owner_db)
    email = await scalar(owner_db, "SELECT email::text FROM users WHERE id = :u", u=ben.id)
    asked = await client.post(
        "/api/v1/friends/requests", headers=ana.headers, json={"email": email}
    )
    assert asked.status_code == 200 and asked.json()["status"] == "pending"
    for bad in ({}, {"email": email, "user_id": str(ben.id)}, {"user_id": str(ana.id)}):
        refused = await client.post("/api/v1/friends/requests", headers=ana.headers, json=bad)
        assert refused.status_code == 422, bad
    declined = await client.delete(f"/api/v1/friends/{ana.id}", headers=ben.headers)
    assert declined.status_code == 204
    blocked = await client.post(f"/api/v1/friends/{ana.id}/block", headers=ben.headers)
    assert blocked.status_code == 200 and blocked.json()["blocked_by"] == str(ben.id)
    again = await _ask(client, ana, ben)
    assert (again.status_code, again.json()["code"]) == (409, "friend_blocked")
    not_theirs = await client.delete(f"/api/v1/friends/{ben.id}/block", headers=ana.headers)
    assert not_theirs.status_code == 404
    lifted = await client.delete(f"/api/v1/friends/{ana.id}/block", headers=ben.headers)
    assert lifted.status_code == 204
    assert (await _ask(client, ana, ben)).status_code == 200


async def test_the_board_cache_equals_the_ledger_for_every_user_and_period(
    client: httpx.AsyncClient, db: Database, owner_db: Database
) -> None:
    rng = random.Random(7)
    people = [
        await learner(client, owner_db, zone)
        for zone in ("UTC", "Pacific/Kiritimati", "Pacific/Pago_Pago", "Asia/Kathmandu")
    ]
    start = datetime(2026, 1, 20, tzinfo=UTC)
    async with db.transaction() as session:
        await system_session(session)
        for _ in range(300):
            who = rng.choice(people).id
            at = start + timedelta(seconds=rng.randrange(70 * 86_400))
            event = rng.choice(
                [
                    progress.LessonCompleted(who, uuid.uuid4(), at=at),
                    progress.QuizCompleted(
                        who, uuid.uuid4(), uuid.uuid4(), Decimal(rng.randrange(101)), at=at
                    ),
                    progress.CardReviewed(who, uuid.uuid4(), rng.randrange(1, 5), at=at),
                ]
            )
            await progress.record(session, event)
    cache = await rows(
        owner_db,
        "SELECT user_id, period_type, period_start, xp_total FROM leaderboard_cache "
        "ORDER BY 1, 2, 3",
    )
    ledger = await rows(
        owner_db,
        """
        SELECT user_id, period_type, period_start, sum(xp_amount) FROM (
          SELECT user_id, 'weekly' AS period_type,
                 date_trunc('week', created_at AT TIME ZONE 'UTC')::date AS period_start, xp_amount
          FROM xp_logs WHERE xp_amount > 0
          UNION ALL
          SELECT user_id, 'monthly', date_trunc('month', created_at AT TIME ZONE 'UTC')::date,
                 xp_amount
          FROM xp_logs WHERE xp_amount > 0) t
        GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
        """,
    )
    assert len(cache) > 20
    assert [tuple(r) for r in cache] == [tuple(r) for r in ledger]


async def test_boards_rank_hide_opted_out_learners_and_pseudonymize_minors(
    client: httpx.AsyncClient, db: Database, owner_db: Database
) -> None:
    people = [await learner(client, owner_db) for _ in range(6)]
    hidden, minor, me = people[0], people[1], people[3]
    async with owner_db.transaction() as session:
        await session.execute(
            text(
                "UPDATE users SET date_of_birth = current_date - interval '14 years' WHERE id = :u"
            ),
            {"u": minor.id},
        )
    for n, person in enumerate(people):
        async with db.transaction(person.id) as session:
            for _ in range(6 - n):  # people[0] earns most
                await progress.record(session, progress.LessonCompleted(person.id, uuid.uuid4()))
    off = await client.patch(
        "/api/v1/me/progress/settings", headers=hidden.headers, json={"show_on_leaderboards": False}
    )
    assert off.status_code == 200
    board = (await client.get("/api/v1/leaderboards/weekly?limit=3", headers=me.headers)).json()
    assert [row["user_id"] for row in board["top"]] == [str(p.id) for p in people[1:4]]
    assert board["top"][0]["name"].startswith("Learner ")  # the minor
    assert board["top"][1]["name"] == "Test Person"
    assert board["me"] == {"rank": 3, "xp": 60}
    assert [row["rank"] for row in board["neighbours"]] == [1, 2, 4, 5]
    assert (await _ask(client, me, people[4])).status_code == 200
    await client.post(f"/api/v1/friends/{me.id}/accept", headers=people[4].headers)
    friends = (
        await client.get("/api/v1/leaderboards/monthly?scope=friends", headers=me.headers)
    ).json()
    assert [row["user_id"] for row in friends["top"]] == [str(me.id), str(people[4].id)]
    assert friends["me"]["rank"] == 1


async def test_a_deleted_learner_leaves_the_boards_and_ranks_count_only_listed_rows(
    client: httpx.AsyncClient, db: Database, owner_db: Database
) -> None:
    leaver, me = await learner(client, owner_db), await learner(client, owner_db)
    for person, lessons in ((leaver, 3), (me, 1)):
        async with db.transaction(person.id) as session:
            for _ in range(lessons):
                await progress.record(session, progress.LessonCompleted(person.id, uuid.uuid4()))
    before = (await client.get("/api/v1/leaderboards/weekly", headers=me.headers)).json()
    assert before["me"]["rank"] == 2
    gone = await client.request(
        "DELETE",
        "/api/v1/me",
        headers=leaver.headers,
        json={"password": "correct horse battery staple 9"},
    )
    assert gone.status_code == 204
    await run_jobs()  # accounts' closure job
    after = (await client.get("/api/v1/leaderboards/weekly", headers=me.headers)).json()
    assert [row["user_id"] for row in after["top"]] == [str(me.id)]
    assert after["me"] == {"rank": 1, "xp": 20}
    assert await scalar(
        owner_db,
        "SELECT bool_and(NOT listed) FROM leaderboard_cache WHERE user_id = :u",
        u=leaver.id,
    )
