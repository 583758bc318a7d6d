"""Row level security on the marketplace, billing and study tables, as SQL run by the API role
sees it: whatever settings it states, it reads no one else's quiz answers, payout rows or refunds,
and a student's review still moves the tutor's rating, through the one function allowed to.

(The general wall, forgeries and pooled connections: ``test_row_level_security.py``.)
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import httpx
import psycopg
import pytest

from studyhall.accounts.service.ratings import RatingTotals, bayesian_score, mean
from studyhall.bootstrap import DatabaseUrls
from studyhall.db.identity import Identity, signed_settings
from tests.pg import TEST_RLS_KEY

API = "/api/v1"
PASSWORD = "correct horse battery staple"


async def _person(client: httpx.AsyncClient, role: str) -> uuid.UUID:
    email = f"rlsm-{uuid.uuid4().hex[:10]}@example.com"
    body = {"email": email, "password": PASSWORD, "name": "Rosa", "role": role}
    response = await client.post(f"{API}/auth/sign-up", json=body)
    assert response.status_code == 201, response.text
    headers = {"Authorization": f"Bearer {response.json()['access_token']}"}
    return uuid.UUID((await client.get(f"{API}/me", headers=headers)).json()["id"])


@dataclass(frozen=True)
class Seeded:
    booking: uuid.UUID
    payment: uuid.UUID
    quiz: uuid.UUID


def _one(conn: psycopg.Connection[Any], statement: str, *params: object) -> Any:
    row = conn.execute(statement, params).fetchone()
    assert row is not None
    return row[0]


def _seed(urls: DatabaseUrls, tutor: uuid.UUID, student: uuid.UUID) -> Seeded:
    """As the owner: a completed booking of ``student`` with ``tutor``, the student's paid and
    refunded payment, the tutor's payout rows, and the student's quiz with its answer."""
    with psycopg.connect(urls.owner, autocommit=True) as conn:
        offering = _one(
            conn,
            "INSERT INTO offerings (tutor_id, title, description, short_description, "
            "duration_minutes, price_cents, currency) VALUES (%s, 'Algebra', 'x', 'x', 60, 2000, "
            "'USD') RETURNING id",
            tutor,
        )
        slot = _one(
            conn,
            "INSERT INTO slots (tutor_id, offering_id, start_at, end_at, capacity, status, "
            "seats_taken) VALUES (%s, %s, now() - interval '2 days', "
            "now() - interval '2 days' + interval '1 hour', 1, 'closed', 1) RETURNING id",
            tutor,
            offering,
        )
        booking = _one(
            conn,
            "INSERT INTO bookings (student_id, tutor_id, offering_id, slot_id, start_at, end_at, "
            "blocked_range, status, price_cents, currency) SELECT %s, tutor_id, offering_id, id, "
            "start_at, end_at, tstzrange(start_at, end_at), 'completed', 2000, 'USD' "
            "FROM slots WHERE id = %s RETURNING id",
            student,
            slot,
        )
        payment = _one(
            conn,
            "INSERT INTO payments (user_id, type, purpose, purpose_id, provider, amount_cents, "
            "currency) VALUES (%s, 'one_off', 'booking', %s, 'manual', 2000, 'USD') RETURNING id",
            student,
            booking,
        )
        conn.execute(
            "INSERT INTO refunds (payment_id, amount_cents, currency, reason, provider) "
            "VALUES (%s, 500, 'USD', 'course_refund', 'manual')",
            (payment,),
        )
        conn.execute(
            "INSERT INTO payout_accounts (user_id, stripe_account_id) VALUES (%s, %s)",
            (tutor, f"acct_{uuid.uuid4().hex[:12]}"),
        )
        statement = _one(
            conn,
            "INSERT INTO payout_statements (tutor_id, currency, period_end, entries_cents, "
            "amount_cents, status) VALUES (%s, 'USD', now(), 1600, 1600, 'due') RETURNING id",
            tutor,
        )
        conn.execute(
            "INSERT INTO tutor_earning_entries (tutor_id, booking_id, kind, amount_cents, "
            "currency, source_key, statement_id) VALUES (%s, %s, 'earning', 1600, 'USD', %s, %s)",
            (tutor, booking, f"earning:{booking}", statement),
        )
        quiz = _one(conn, "INSERT INTO quizzes (user_id) VALUES (%s) RETURNING id", student)
        conn.execute(
            "INSERT INTO quiz_questions (quiz_id, position, question_text, options, "
            "correct_answer) VALUES (%s, 1, 'Two and two?', '[\"3\", \"4\"]', '4')",
            (quiz,),
        )
    return Seeded(booking, payment, quiz)


def _signed(user: uuid.UUID) -> dict[str, str]:
    values = signed_settings(Identity(user), TEST_RLS_KEY)
    return {
        "app.user_id": values["uid"],
        "app.user_role": values["role"],
        "app.cross_users": values["crossing"],
        "app.identity_signature": values["signature"],
    }


def _forgeries(victim: uuid.UUID, mine: dict[str, str]) -> list[dict[str, str]]:
    return [
        {"app.user_id": str(victim)},
        {"app.bypass_rls": "on"},
        {"app.cross_users": "on", "app.user_role": "admin"},
        {**mine, "app.user_id": str(victim)},
        {**mine, "app.cross_users": "on"},
        {**mine, "app.user_role": "admin"},
    ]


@contextmanager
def _as(conn: psycopg.Connection[Any], settings: dict[str, str]) -> Iterator[None]:
    """One transaction of the API role stating ``settings`` (the database decides what they
    are worth); rolled back, so what it tried to write is gone either way."""
    with conn.transaction(force_rollback=True):
        for name, value in settings.items():
            conn.execute("SELECT set_config(%s, %s, true)", (name, value))
        yield


def _private_rows(conn: psycopg.Connection[Any], tutor: uuid.UUID, seeded: Seeded) -> list[int]:
    counts = (
        ("SELECT count(*) FROM quiz_questions WHERE quiz_id = %s", seeded.quiz),
        ("SELECT count(*) FROM quizzes WHERE id = %s", seeded.quiz),
        ("SELECT count(*) FROM refunds WHERE payment_id = %s", seeded.payment),
        ("SELECT count(*) FROM payout_accounts WHERE user_id = %s", tutor),
        ("SELECT count(*) FROM payout_statements WHERE tutor_id = %s", tutor),
        ("SELECT count(*) FROM tutor_earning_entries WHERE tutor_id = %s", tutor),
    )
    return [int(_one(conn, statement, param)) for statement, param in counts]


async def test_no_one_else_reads_quiz_answers_payout_rows_or_refunds(
    client: httpx.AsyncClient, database_urls: DatabaseUrls
) -> None:
    tutor, student = await _person(client, "tutor"), await _person(client, "student")
    other_tutor, other_student = await _person(client, "tutor"), await _person(client, "student")
    seeded = _seed(database_urls, tutor, student)
    with psycopg.connect(database_urls.app) as conn:
        # The controls: each owner reads their own rows through their signed identity.
        with _as(conn, _signed(student)):
            assert _private_rows(conn, tutor, seeded) == [1, 1, 1, 0, 0, 0]
            answer = _one(
                conn, "SELECT correct_answer FROM quiz_questions WHERE quiz_id = %s", seeded.quiz
            )
            assert answer == "4"
        with _as(conn, _signed(tutor)):
            assert _private_rows(conn, tutor, seeded) == [0, 0, 0, 1, 1, 1]
        for intruder in (other_student, other_tutor):
            mine = _signed(intruder)
            for settings in (mine, *_forgeries(student, mine), *_forgeries(tutor, mine)):
                with _as(conn, settings):
                    assert _private_rows(conn, tutor, seeded) == [0] * 6, settings


async def test_only_the_system_writes_ledgers_and_no_one_writes_anothers_quiz(
    client: httpx.AsyncClient, database_urls: DatabaseUrls
) -> None:
    tutor, student = await _person(client, "tutor"), await _person(client, "student")
    other_student = await _person(client, "student")
    seeded = _seed(database_urls, tutor, student)
    with psycopg.connect(database_urls.app) as conn:
        with _as(conn, _signed(other_student)):
            changed = conn.execute(
                "UPDATE quiz_questions SET correct_answer = '3' WHERE quiz_id = %s", (seeded.quiz,)
            )
            assert changed.rowcount == 0
        with _as(conn, _signed(other_student)), pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute(
                "INSERT INTO quiz_questions (quiz_id, position, question_text, options, "
                "correct_answer) VALUES (%s, 2, 'q', '[]', 'a')",
                (seeded.quiz,),
            )
        # The tutor reads their earnings but cannot add to them, nor pay a statement out.
        with _as(conn, _signed(tutor)), pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute(
                "INSERT INTO tutor_earning_entries (tutor_id, kind, amount_cents, currency, "
                "source_key) VALUES (%s, 'earning', 100000, 'USD', 'forged')",
                (tutor,),
            )
        with _as(conn, _signed(tutor)):
            paid = conn.execute(
                "UPDATE payout_statements SET status = 'paid', paid_at = now() WHERE tutor_id = %s",
                (tutor,),
            )
            assert paid.rowcount == 0
        # The payer reads their refund but cannot make one.
        with _as(conn, _signed(student)), pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute(
                "INSERT INTO refunds (payment_id, amount_cents, currency, reason, provider) "
                "VALUES (%s, 1500, 'USD', 'course_refund', 'manual')",
                (seeded.payment,),
            )


def _rating(urls: DatabaseUrls, tutor: uuid.UUID) -> tuple[Decimal | None, int, Decimal]:
    with psycopg.connect(urls.owner, autocommit=True) as conn:
        row = conn.execute(
            "SELECT rating, rating_count, rating_score FROM tutor_profiles WHERE user_id = %s",
            (tutor,),
        ).fetchone()
    assert row is not None
    return row[0], row[1], row[2]


async def test_a_students_review_moves_the_tutors_rating_through_the_function_only(
    client: httpx.AsyncClient, database_urls: DatabaseUrls
) -> None:
    tutor, student = await _person(client, "tutor"), await _person(client, "student")
    seeded = _seed(database_urls, tutor, student)
    review = (
        "INSERT INTO reviews (booking_id, tutor_id, student_id, rating, editable_until) "
        "VALUES (%s, %s, %s, %s, now() + interval '1 day')"
    )
    with psycopg.connect(database_urls.app) as conn:
        # Nobody reviews in someone else's name, and a student cannot set the rating directly.
        with _as(conn, _signed(student)), pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute(review, (seeded.booking, tutor, tutor, 1))
        with _as(conn, _signed(student)):
            pushed = conn.execute(
                "UPDATE tutor_profiles SET rating = 1, rating_count = 50 WHERE user_id = %s",
                (tutor,),
            )
            assert pushed.rowcount == 0
        # The tutor edits their own profile, but not what reviews and earnings decide.
        for column in (
            "rating = 5",
            "rating_count = 50",
            "total_earnings_cents = 1",
            "verification_status = 'verified'",
        ):
            with _as(conn, _signed(tutor)), pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(f"UPDATE tutor_profiles SET {column} WHERE user_id = %s", (tutor,))
        with _as(conn, _signed(tutor)):
            bio = conn.execute(
                "UPDATE tutor_profiles SET bio = 'Algebra' WHERE user_id = %s", (tutor,)
            )
            assert bio.rowcount == 1
        # The student's review, then the function: the rating is what the reviews say.
        with conn.transaction():
            for name, value in _signed(student).items():
                conn.execute("SELECT set_config(%s, %s, true)", (name, value))
            conn.execute(review, (seeded.booking, tutor, student, 5))
            assert _one(conn, "SELECT studyhall_tutor_rating_refresh(%s)", tutor) is True
        # The tutor replies to the review but cannot change its stars.
        with _as(conn, _signed(tutor)), pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("UPDATE reviews SET rating = 1 WHERE booking_id = %s", (seeded.booking,))
        with _as(conn, _signed(tutor)):
            replied = conn.execute(
                "UPDATE reviews SET tutor_reply = 'Thanks', tutor_replied_at = now() "
                "WHERE booking_id = %s",
                (seeded.booking,),
            )
            assert replied.rowcount == 1
    totals = RatingTotals(count=1, stars=5)
    assert _rating(database_urls, tutor) == (mean(totals), 1, bayesian_score(totals))
    assert bayesian_score(totals) == Decimal("4.167")
