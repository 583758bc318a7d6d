"""Row level security of the audit log and the jobs' error records, as the API role: only a
signed admin or a unit of work that crosses users reads them, a request cannot write an audit row
naming somebody else, and no partition of the log can be read around its parent's policies."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import psycopg
import pytest

from studyhall.bootstrap import DatabaseUrls
from studyhall.db.identity import Identity, rls_key, signed_settings
from tests.foundation.test_row_level_security import _as_app_settings, _signed_up
from tests.pg import TEST_RLS_KEY

INSERT_AUDIT = (
    "INSERT INTO audit_log (actor_user_id, action, entity, entity_id) "
    "VALUES (%s, 'rls.probe', 'probe', %s)"
)


def _signed(identity: Identity) -> dict[str, str]:
    return _as_app_settings(signed_settings(identity, TEST_RLS_KEY))


def _run(
    conn: psycopg.Connection[Any], settings: dict[str, str], statement: str, *params: Any
) -> list[tuple[Any, ...]]:
    with conn.transaction():
        for name, value in settings.items():
            conn.execute("SELECT set_config(%s, %s, true)", (name, value))
        cursor = conn.execute(statement, params)
        return cursor.fetchall() if cursor.description else []


def _forgeries(victim: uuid.UUID, attacker: uuid.UUID) -> list[dict[str, str]]:
    mine = _signed(Identity(attacker))
    return [
        {},  # no identity at all
        {"app.user_id": str(victim), "app.user_role": "admin"},  # unsigned
        {"app.bypass_rls": "on"},
        {"app.cross_users": "on", "app.user_role": "admin"},
        {**mine, "app.user_role": "admin"},
        {**mine, "app.cross_users": "on"},
        _as_app_settings(signed_settings(Identity(victim, admin=True), rls_key("x"))),
        mine,  # the attacker's own, valid signature: a learner reads no one's audit rows
        _signed(Identity(victim)),  # nor their own
    ]


@pytest.fixture
def owner(database_urls: DatabaseUrls) -> Any:
    with psycopg.connect(database_urls.owner, autocommit=True) as conn:
        yield conn


async def test_only_admins_and_crossing_work_read_the_audit_log(
    client: httpx.AsyncClient, database_urls: DatabaseUrls, owner: psycopg.Connection[Any]
) -> None:
    victim, _ = await _signed_up(client)
    attacker, _ = await _signed_up(client)
    marker = uuid.uuid4().hex
    owner.execute(INSERT_AUDIT, (victim, marker))
    count = "SELECT count(*) FROM audit_log WHERE entity_id = %s"
    with psycopg.connect(database_urls.app) as conn:
        for granted in (Identity(attacker, admin=True), Identity(crosses_users=True)):
            assert _run(conn, _signed(granted), count, marker) == [(1,)], granted
        for forged in _forgeries(victim, attacker):
            assert _run(conn, forged, count, marker) == [(0,)], forged


async def test_a_request_writes_audit_rows_only_as_itself(
    client: httpx.AsyncClient, database_urls: DatabaseUrls, owner: psycopg.Connection[Any]
) -> None:
    victim, _ = await _signed_up(client)
    attacker, _ = await _signed_up(client)
    marker = uuid.uuid4().hex
    with psycopg.connect(database_urls.app) as conn:
        mine = _signed(Identity(attacker))
        _run(conn, mine, INSERT_AUDIT, attacker, marker)
        _run(conn, {}, INSERT_AUDIT, None, marker)  # an anonymous flow: no actor
        for forged in [mine, *_forgeries(victim, attacker)[:-2]]:
            with pytest.raises(psycopg.errors.InsufficientPrivilege, match="row-level security"):
                _run(conn, forged, INSERT_AUDIT, victim, marker)
        # A unit of work that crosses users records what it did on anyone's behalf.
        _run(conn, _signed(Identity(crosses_users=True)), INSERT_AUDIT, victim, marker)
    written = owner.execute(
        "SELECT actor_user_id FROM audit_log WHERE entity_id = %s ORDER BY actor_user_id",
        (marker,),
    ).fetchall()
    assert sorted(written, key=str) == sorted([(attacker,), (None,), (victim,)], key=str)


async def test_no_partition_is_readable_around_the_parent(
    database_urls: DatabaseUrls, owner: psycopg.Connection[Any]
) -> None:
    owner.execute(INSERT_AUDIT, (None, uuid.uuid4().hex))
    with psycopg.connect(database_urls.app) as conn:
        # A month the partition job adds after the migrator granted the API role its privileges.
        _run(conn, {}, "SELECT studyhall_audit_log_add_month('2098-05-01')")
        partitions = [
            name
            for (name,) in owner.execute(
                "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                "WHERE i.inhparent = 'audit_log'::regclass"
            ).fetchall()
        ]
        assert {"audit_log_default", "audit_log_2098_05"} <= set(partitions)
        crossing = _signed(Identity(crosses_users=True))
        for partition in partitions:
            for settings in ({}, crossing):
                with pytest.raises(psycopg.errors.InsufficientPrivilege):
                    _run(conn, settings, f'SELECT count(*) FROM "{partition}"')


async def test_job_errors_are_read_only_by_admins_and_crossing_work(
    client: httpx.AsyncClient, database_urls: DatabaseUrls, owner: psycopg.Connection[Any]
) -> None:
    victim, _ = await _signed_up(client)
    attacker, _ = await _signed_up(client)
    owner.execute(
        "INSERT INTO job_errors (job_id, task_name, attempt, error, traceback) "
        "VALUES (1, 'rls.probe', 1, %s, '')",
        (f"ValueError: {victim}@example.com",),
    )
    count = "SELECT count(*) FROM job_errors WHERE task_name = 'rls.probe'"
    with psycopg.connect(database_urls.app) as conn:
        for granted in (Identity(attacker, admin=True), Identity(crosses_users=True)):
            assert _run(conn, _signed(granted), count) == [(1,)], granted
        for forged in _forgeries(victim, attacker):
            assert _run(conn, forged, count) == [(0,)], forged
        for forged in _forgeries(victim, attacker):
            with pytest.raises(psycopg.errors.InsufficientPrivilege, match="row-level security"):
                _run(
                    conn,
                    forged,
                    "INSERT INTO job_errors (job_id, task_name, attempt, error, traceback) "
                    "VALUES (2, 'rls.forged', 1, 'x', '')",
                )
