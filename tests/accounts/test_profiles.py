"""Student and tutor profiles, the public directory, and tutor earnings."""

from __future__ import annotations

import asyncio
import uuid
from decimal import Decimal

import httpx

from studyhall.accounts.service import profiles
from studyhall.accounts.service.ratings import RatingTotals, bayesian_score
from studyhall.db.engine import Database
from studyhall.db.rls import cross_users_transaction
from studyhall.kit.cursors import encode_cursor
from tests.accounts.conftest import make_tutor, owner_exec, owner_rows, sign_up

API = "/api/v1"


async def test_student_profile_read_and_update(
    client: httpx.AsyncClient, owner_db: Database
) -> None:
    student = await sign_up(client)
    body = {
        "school": "Aarhus Katedralskole",
        "grade_level": "10th grade",
        "learning_goals": ["calculus", "essay writing"],
        "primary_goal": "pass the exam",
        "interests": ["physics"],
        "experience_level": "intermediate",
        "preferred_session_minutes": 45,
        "study_preference": "mornings",
        "onboarding_completed": True,
    }
    response = await client.patch(f"{API}/me/student-profile", json=body, headers=student.headers)
    assert response.status_code == 200
    got = (await client.get(f"{API}/me/student-profile", headers=student.headers)).json()
    assert {k: got[k] for k in body} == body
    for bad in (
        {"experience_level": "guru"},
        {"preferred_session_minutes": 2},
        {"credit_balance": 100},
        {"interests": ["x" * 61]},
    ):
        refused = await client.patch(f"{API}/me/student-profile", json=bad, headers=student.headers)
        assert refused.status_code == 422, bad
    after = (await client.get(f"{API}/me/student-profile", headers=student.headers)).json()
    assert after == got
    audit = await owner_rows(
        owner_db, "SELECT action FROM audit_log WHERE entity = 'student_profile'"
    )
    assert audit == [("student_profile.update",)]


async def test_tutor_cannot_set_verification_status_or_totals(
    client: httpx.AsyncClient, owner_db: Database
) -> None:
    tutor = await make_tutor(client, owner_db, subjects=["math"], hourly_rate_cents=4000)
    before = await owner_rows(owner_db, "SELECT * FROM tutor_profiles")
    for bad in (
        {"verification_status": "verified"},
        {"rating": 5},
        {"total_earnings_cents": 1},
        {"currency": "usd"},
        {"hourly_rate_cents": -1},
        {"meeting_link": "not a url"},
    ):
        refused = await client.patch(f"{API}/me/tutor-profile", json=bad, headers=tutor.headers)
        assert refused.status_code == 422, bad
    assert await owner_rows(owner_db, "SELECT * FROM tutor_profiles") == before
    got = (await client.get(f"{API}/me/tutor-profile", headers=tutor.headers)).json()
    assert (
        got["verification_status"],
        got["subjects"],
        got["hourly_rate_cents"],
        got["currency"],
    ) == ("pending", ["math"], 4000, "USD")


async def test_directory_filters_and_keyset_pagination(
    client: httpx.AsyncClient, owner_db: Database
) -> None:
    specs = [
        ("a", ["math", "physics"], 3000, "4.90", True, True),
        ("b", ["math"], 5000, "4.50", True, True),
        ("c", ["chemistry"], 2000, "4.90", True, True),
        ("d", ["math"], 1000, None, True, True),
        ("e", ["math"], 1000, "5.00", False, True),  # not verified
        ("f", ["math"], 1000, "5.00", True, False),  # not available
    ]
    ids = {}
    for name, subjects, rate, rating, verified, available in specs:
        tutor = await make_tutor(
            client,
            owner_db,
            verified=verified,
            subjects=subjects,
            hourly_rate_cents=rate,
            is_available=available,
        )
        ids[name] = tutor.id
        if rating is not None:
            # As ten visible reviews of that mean would leave it (the directory sorts by the
            # Bayesian score the review service stores next to the mean).
            totals = RatingTotals(count=10, stars=int(Decimal(rating) * 10))
            await owner_exec(
                owner_db,
                "UPDATE tutor_profiles SET rating = :r, rating_count = 10, rating_score = :s "
                "WHERE user_id = :id",
                r=rating,
                s=bayesian_score(totals),
                id=tutor.id,
            )
    deleted = await make_tutor(client, owner_db, verified=True, subjects=["math"])
    await owner_exec(owner_db, "UPDATE users SET deleted_at = now() WHERE id = :id", id=deleted.id)

    async def names(**params: object) -> list[str]:
        response = await client.get(f"{API}/tutors", params=params)
        assert response.status_code == 200, response.text
        by_id = {str(v): k for k, v in ids.items()}
        return [by_id[item["user_id"]] for item in response.json()["items"]]

    tie = sorted(["a", "c"], key=lambda n: str(ids[n]))
    assert await names() == [*tie, "b", "d"]
    assert await names(subject="math") == ["a", "b", "d"]
    assert await names(min_price_cents=2500, max_price_cents=4000) == ["a"]
    assert await names(min_rating="4.6") == tie
    collected, cursor = [], None
    while True:
        params = {"limit": 1} | ({"cursor": cursor} if cursor else {})
        page = (await client.get(f"{API}/tutors", params=params)).json()
        collected += [item["user_id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert collected == [str(ids[n]) for n in [*tie, "b", "d"]]
    one = await client.get(f"{API}/tutors/{ids['a']}")
    assert (one.status_code, one.json()["rating"], one.json()["subjects"]) == (
        200,
        4.9,
        ["math", "physics"],
    )
    assert (await client.get(f"{API}/tutors/{ids['e']}")).status_code == 404
    bad = await client.get(f"{API}/tutors", params={"cursor": "garbage!"})
    assert (bad.status_code, bad.json()["code"]) == (422, "invalid_cursor")
    # Well-formed cursors whose score is no score refuse too, never reach the database.
    for score in ("NaN", "Infinity", "1e999999", "six", "-1"):
        forged = encode_cursor(score, uuid.uuid4())
        response = await client.get(f"{API}/tutors", params={"cursor": forged})
        assert (response.status_code, response.json()["code"]) == (422, "invalid_cursor"), score
    assert (await client.get(f"{API}/tutors", params={"limit": 0})).status_code == 422


async def test_record_tutor_earning_adds_up_under_concurrency(
    client: httpx.AsyncClient, owner_db: Database, db: Database
) -> None:
    tutor = await make_tutor(client, owner_db)

    # Settlement records earnings in units of work that cross users (a job, a refund).
    async def pay(amount: int) -> None:
        async with cross_users_transaction(db) as session:
            await profiles.record_tutor_earning(session, tutor.id, amount)

    await asyncio.gather(*(pay(1500) for _ in range(40)))
    assert await owner_rows(
        owner_db, "SELECT total_sessions, total_earnings_cents FROM tutor_profiles"
    ) == [(40, 60000)]
    async with cross_users_transaction(db) as session:
        totals = await profiles.record_tutor_earning(session, tutor.id, -1500, sessions=-1)
    assert (totals.total_sessions, totals.total_earnings_cents, totals.currency) == (
        39,
        58500,
        "USD",
    )
