from __future__ import annotations

import psycopg
import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, pool

from studyhall import domains
from studyhall.db import migrate
from studyhall.db.base import Base
from studyhall.db.engine import sqlalchemy_url
from studyhall.db.migrate import include_name
from tests.pg import APP_ROLE, PgServer, fresh_database


@pytest.fixture
def empty_database(pg_server: PgServer):  # type: ignore[no-untyped-def]
    name, urls = fresh_database(pg_server, empty=True)
    yield urls
    pg_server.drop_database(name)


def _tables(url: str) -> set[str]:
    with psycopg.connect(url) as conn:
        rows = conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        return {row[0] for row in rows}


def _schema_diff(url: str) -> list[object]:
    domains.load_models()
    engine = create_engine(sqlalchemy_url(url), poolclass=pool.NullPool)
    with engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"include_name": include_name, "compare_type": True}
        )
        diff = compare_metadata(context, Base.metadata)
    engine.dispose()
    return list(diff)


def test_upgrade_from_empty_reaches_head_and_matches_the_models(empty_database) -> None:  # type: ignore[no-untyped-def]
    migrate.upgrade(empty_database.owner, APP_ROLE)
    assert migrate.current_revision(empty_database.owner) == migrate.head_revision()
    assert {"audit_log", "job_errors", "procrastinate_jobs"} <= _tables(empty_database.owner)
    assert _schema_diff(empty_database.owner) == []


def test_downgrade_to_base_then_upgrade_again(empty_database) -> None:  # type: ignore[no-untyped-def]
    migrate.upgrade(empty_database.owner, APP_ROLE)
    migrate.downgrade(empty_database.owner, "base")
    assert migrate.current_revision(empty_database.owner) is None
    assert _tables(empty_database.owner) == {"alembic_version"}
    migrate.upgrade(empty_database.owner, APP_ROLE)
    assert migrate.current_revision(empty_database.owner) == migrate.head_revision()
    assert _schema_diff(empty_database.owner) == []


def test_every_table_with_updated_at_has_its_trigger(database_urls) -> None:  # type: ignore[no-untyped-def]
    with psycopg.connect(database_urls.owner) as conn:
        missing = conn.execute(
            """
            SELECT c.table_name FROM information_schema.columns c
            WHERE c.table_schema = 'public' AND c.column_name = 'updated_at'
              AND NOT EXISTS (
                SELECT 1 FROM information_schema.triggers t
                WHERE t.event_object_table = c.table_name
                  AND t.action_statement LIKE '%studyhall_set_updated_at%')
            """
        ).fetchall()
    assert missing == []


def test_the_api_role_is_neither_owner_nor_superuser(database_urls) -> None:  # type: ignore[no-untyped-def]
    with psycopg.connect(database_urls.app) as conn:
        row = conn.execute(
            """
            SELECT r.rolsuper, pg_get_userbyid(d.datdba) = current_user
            FROM pg_roles r, pg_database d
            WHERE r.rolname = current_user AND d.datname = current_database()
            """
        ).fetchone()
    assert row == (False, False)
