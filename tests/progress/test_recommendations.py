"""Recommendations: the rules with their reason codes, storing, dismissing, the job."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import httpx

from studyhall.db.engine import Database
from studyhall.progress import service as progress
from studyhall.progress.jobs import refresh_recommendations_now
from studyhall.progress.service import recommendations as recs
from tests.progress.helpers import learner, scalar
from tests.progress.test_mastery import _topic

NOW = datetime(2026, 5, 4, 20, 0, tzinfo=UTC)


def test_each_rule_gives_a_reason_code_and_a_sentence() -> None:
    state = recs.State(
        now=NOW,
        day_ends_at=NOW + timedelta(hours=2),
        streak=6,
        today_counted=False,
        due_cards=3,
        weakest=recs.WeakConcept("Krebs cycle", "Biology", None, 0.31),
        next_lesson=recs.NextLesson(uuid.uuid4(), "Cell Biology", 4),
    )
    found = {(r.reason_code, r.message) for r in recs.rules(state)}
    assert found == {
        ("streak_ends_tonight", "Streak at risk: 2 h left in your day"),
        ("cards_due_now", "3 cards due for review"),
        ("lowest_concept_mastery", "Weakest concept: Krebs cycle (Biology)"),
        ("next_unfinished_lesson", "Continue lesson 4 of Cell Biology"),
    }
    calm = recs.State(NOW, NOW + timedelta(hours=9), 6, False, 0, None, None)
    assert recs.rules(calm) == []  # a streak is not at risk with 9 h left


async def test_refresh_store_dismiss_and_the_job(
    client: httpx.AsyncClient, db: Database, owner_db: Database
) -> None:
    ana = await learner(client, owner_db)
    topic_id = await _topic(owner_db)
    event = progress.QuizCompleted(
        ana.id,
        uuid.uuid4(),
        uuid.uuid4(),
        Decimal(0),
        answers=(progress.QuizAnswer("Krebs cycle", False),) * 2,
        topic=progress.QuizTopic(topic_id, "Biology", 3),
    )
    async with db.transaction(ana.id) as session:
        await progress.record(session, event)
    refreshed = await client.post("/api/v1/me/recommendations/refresh", headers=ana.headers)
    assert refreshed.status_code == 200
    assert [r["reason_code"] for r in refreshed.json()] == ["lowest_concept_mastery"]
    dashboard = (await client.get("/api/v1/me/progress", headers=ana.headers)).json()
    (shown,) = dashboard["recommendations"]
    assert shown["message"] == "Weakest concept: Krebs cycle (Biology)"
    dismissed = await client.post(
        f"/api/v1/me/recommendations/{shown['id']}/dismiss", headers=ana.headers
    )
    assert dismissed.status_code == 204
    # The job recomputes it; the same advice stays dismissed.
    assert await refresh_recommendations_now() >= 1
    after = (await client.get("/api/v1/me/progress", headers=ana.headers)).json()
    assert after["recommendations"] == []
    assert (
        await scalar(
            owner_db, "SELECT count(*) FROM user_recommendations WHERE user_id = :u", u=ana.id
        )
        == 1
    )
    other = await learner(client, owner_db)
    foreign = await client.post(
        f"/api/v1/me/recommendations/{shown['id']}/dismiss", headers=other.headers
    )
    assert foreign.status_code == 404
