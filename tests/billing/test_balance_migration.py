"""Migration 0008 moves every cached balance onto the student profile, and back on downgrade."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import psycopg
import pytest

from studyhall.bootstrap import DatabaseUrls
from studyhall.db import migrate
from tests.pg import APP_ROLE, PgServer, fresh_database

BEFORE = "0007_notifications"


@pytest.fixture
def empty_database(pg_server: PgServer) -> Iterator[DatabaseUrls]:
    name, urls = fresh_database(pg_server, empty=True)
    yield urls
    pg_server.drop_database(name)


def _rows(url: str, sql: str) -> set[tuple[object, ...]]:
    with psycopg.connect(url) as conn:
        return {tuple(row) for row in conn.execute(sql)}


def test_balances_move_to_student_profiles_and_back(empty_database: DatabaseUrls) -> None:
    owner = empty_database.owner
    migrate.upgrade(owner, APP_ROLE, BEFORE)
    student, tutor, idle = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    with psycopg.connect(owner) as conn:
        for user_id, role in ((student, "student"), (tutor, "tutor"), (idle, "student")):
            conn.execute(
                "INSERT INTO users (id, email, name, password_hash, role) "
                "VALUES (%s, %s, 'M', 'x', %s)",
                (user_id, f"{user_id.hex}@example.org", role),
            )
        conn.execute("INSERT INTO student_profiles (user_id) VALUES (%s), (%s)", (student, idle))
        conn.execute(
            "INSERT INTO credit_balances (user_id, balance, last_seq) "
            "VALUES (%s, 7, 2), (%s, 3, 1)",
            (student, tutor),
        )

    migrate.upgrade(owner, APP_ROLE)
    assert _rows(
        owner, "SELECT user_id, credit_balance, credit_ledger_seq FROM student_profiles"
    ) == {(student, 7, 2), (tutor, 3, 1), (idle, 0, 0)}
    assert "credit_balances" not in {
        row[0] for row in _rows(owner, "SELECT tablename FROM pg_tables")
    }

    migrate.downgrade(owner, BEFORE)
    assert _rows(owner, "SELECT user_id, balance, last_seq FROM credit_balances") == {
        (student, 7, 2),
        (tutor, 3, 1),
    }
