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
from studyhall.progress.service import refresh
from tests.conftest import run_jobs
from tests.progress.helpers import learner, rows, scalar
from tests.progress.test_mastery import _topic
from tests.scheduling.conftest import add_rule, book, create_offering, slots
from tests.scheduling.conftest import sign_up as sign_up_person

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


def test_book_your_last_tutor_once_the_last_session_is_a_week_old() -> None:
    tutor = recs.LastTutor(uuid.uuid4(), "Tess Tutor", NOW - timedelta(days=8))
    state = recs.State(NOW, NOW + timedelta(hours=9), 0, False, 0, None, None, tutor)
    (found,) = recs.rules(state)
    assert (found.recommendation_type, found.reason_code, found.message) == (
        "book_tutor",
        "last_tutor_not_rebooked",
        "Book a session with your last tutor, Tess Tutor",
    )
    assert (found.reference_id, found.priority_score) == (tutor.tutor_id, 40)
    assert found.expires_at == NOW + timedelta(days=7)
    recent = recs.LastTutor(tutor.tutor_id, "Tess Tutor", NOW - timedelta(days=2))
    assert (
        recs.rules(recs.State(NOW, NOW + timedelta(hours=9), 0, False, 0, None, None, recent)) == []
    )


async def test_an_event_refreshes_recommendations_through_a_job_it_queues(
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
    await run_jobs()
    found = await rows(
        owner_db,
        "SELECT reason_code, message, priority_score, expires_at > now() FROM user_recommendations"
        " WHERE user_id = :u",
        u=ana.id,
    )
    assert [tuple(r) for r in found] == [
        ("lowest_concept_mastery", "Weakest concept: Krebs cycle (Biology)", 60, True)
    ]
    # A replayed event changes nothing, so it queues nothing either.
    queued = "SELECT count(*) FROM procrastinate_jobs WHERE task_name = :t"
    before = await scalar(owner_db, queued, t=recs.REFRESH_TASK)
    async with db.transaction(ana.id) as session:
        await progress.record(session, event)
    assert await scalar(owner_db, queued, t=recs.REFRESH_TASK) == before


async def test_events_of_one_learner_share_the_refresh_waiting_for_them(
    client: httpx.AsyncClient, db: Database, owner_db: Database
) -> None:
    ana, ben = await learner(client, owner_db), await learner(client, owner_db)
    waiting = (
        "SELECT count(*) FROM procrastinate_jobs"
        " WHERE task_name = :t AND status = 'todo' AND args->>'user_id' = :u"
    )

    async def lesson(person_id: uuid.UUID) -> None:
        async with db.transaction(person_id) as session:
            await progress.record(session, progress.LessonCompleted(person_id, uuid.uuid4()))

    for _ in range(3):
        await lesson(ana.id)
    await lesson(ben.id)
    assert await scalar(owner_db, waiting, t=recs.REFRESH_TASK, u=str(ana.id)) == 1
    assert await scalar(owner_db, waiting, t=recs.REFRESH_TASK, u=str(ben.id)) == 1
    await run_jobs()
    assert await scalar(owner_db, waiting, t=recs.REFRESH_TASK, u=str(ana.id)) == 0
    # Once it ran, the next event needs a refresh of its own.
    await lesson(ana.id)
    assert await scalar(owner_db, waiting, t=recs.REFRESH_TASK, u=str(ana.id)) == 1


async def test_a_past_session_without_a_next_one_suggests_booking_that_tutor(
    client: httpx.AsyncClient, db: Database, owner_db: Database
) -> None:
    tutor = await sign_up_person(client, "tutor", name="Tess Tutor")
    await create_offering(client, tutor)
    await add_rule(client, tutor)
    await run_jobs()
    student = await sign_up_person(client, "student")
    (first, *_) = await slots(client, tutor_id=tutor.id)
    booked = await book(client, student, first["id"])
    assert booked.status_code == 201, booked.text
    ended = datetime.fromisoformat(booked.json()["end_at"])
    # Before the session and a few days after it: nothing; a week after it: book again.
    for moment, expected in (
        (ended - timedelta(hours=2), []),
        (ended + timedelta(days=3), []),
        (ended + timedelta(days=8), ["last_tutor_not_rebooked"]),
    ):
        async with db.transaction(student.id) as session:
            found = await refresh.refresh(session, student.id, moment)
        assert [r.reason_code for r in found if r.recommendation_type == "book_tutor"] == expected
    stored = await rows(
        owner_db,
        "SELECT message, reference_id FROM user_recommendations WHERE user_id = :u"
        " AND recommendation_type = 'book_tutor'",
        u=student.id,
    )
    assert [tuple(r) for r in stored] == [
        ("Book a session with your last tutor, Tess Tutor", tutor.id)
    ]
