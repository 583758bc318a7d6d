"""The audit log's monthly partitions: made ahead idempotently, archived to storage then dropped
one month at a time, resumable after a crash, and never writable by the API role."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, ProgrammingError

from studyhall.audit import service as audit
from studyhall.audit.service.partitions import (
    archive_key,
    export_month,
    month_start,
    months_before,
    partition_months,
)
from studyhall.bootstrap import DatabaseUrls
from studyhall.config import Settings
from studyhall.db.engine import Database
from studyhall.study.service import get_storage
from tests.accounts.conftest import owner_exec, owner_rows
from tests.foundation.test_cli import _studyhall
from tests.pg import APP_ROLE

THIS_MONTH = month_start(datetime.now(UTC))


async def _entries_in(owner_db: Database, month: date, count: int) -> list[str]:
    ids = []
    for day in range(1, count + 1):
        entry_id = uuid.uuid4()
        await owner_exec(
            owner_db,
            "INSERT INTO audit_log (id, action, entity, entity_id, created_at) "
            "VALUES (:id, 'lesson.edit', 'lesson', 'l-1', :at)",
            id=entry_id,
            at=datetime(month.year, month.month, day, 9, tzinfo=UTC),
        )
        ids.append(str(entry_id))
    await owner_exec(owner_db, "SELECT studyhall_audit_log_add_month(:m)", m=month)
    return ids


async def test_future_months_are_made_once(db: Database) -> None:
    assert await audit.ensure_months(db, ahead=5) == 2  # the migration made three ahead
    assert await audit.ensure_months(db, ahead=5) == 0
    months = await partition_months(db)
    assert [months_before(THIS_MONTH, -i) for i in range(6)] == months[-6:]


async def test_an_expired_month_is_exported_then_dropped_and_only_it(
    db: Database, owner_db: Database, settings: Settings
) -> None:
    expired = months_before(THIS_MONTH, 25)
    kept = months_before(THIS_MONTH, 23)
    expired_ids = await _entries_in(owner_db, expired, 3)
    kept_ids = await _entries_in(owner_db, kept, 2)
    storage = get_storage(settings)

    done = await audit.archive_expired_months(db, storage.put, retention_months=24)

    assert [(a.month, a.rows) for a in done] == [(expired, 3)]
    lines = (await storage.get(archive_key(expired))).decode().splitlines()
    assert [json.loads(line)["id"] for line in lines] == expired_ids
    months = await partition_months(db)
    assert expired not in months and kept in months
    left = await owner_rows(owner_db, "SELECT id::text FROM audit_log ORDER BY created_at")
    assert [row[0] for row in left if row[0] in expired_ids + kept_ids] == kept_ids
    assert await audit.archive_expired_months(db, storage.put, retention_months=24) == []


async def test_archiving_resumes_after_a_crash(
    db: Database, owner_db: Database, settings: Settings
) -> None:
    month = months_before(THIS_MONTH, 30)
    ids = await _entries_in(owner_db, month, 2)
    storage = get_storage(settings)

    async def storage_down(key: str, data: bytes) -> None:
        raise OSError("storage unreachable")

    with pytest.raises(OSError):
        await audit.archive_expired_months(db, storage_down, retention_months=24)
    assert month in await partition_months(db)
    # A crash after the export and before the drop: the file is there, the month too.
    await export_month(db, month, storage.put)
    first = await storage.get(archive_key(month))
    assert month in await partition_months(db)

    done = await audit.archive_expired_months(db, storage.put, retention_months=24)
    assert [(a.month, a.rows) for a in done] == [(month, 2)]
    assert await storage.get(archive_key(month)) == first
    assert [json.loads(line)["id"] for line in first.decode().splitlines()] == ids
    assert month not in await partition_months(db)


async def test_the_database_keeps_the_last_twelve_months(db: Database) -> None:
    recent = months_before(THIS_MONTH, 11)
    with pytest.raises(DBAPIError, match="last twelve months"):
        async with db.transaction() as session:
            await session.execute(text("SELECT studyhall_audit_log_drop_month(:m)"), {"m": recent})


@pytest.mark.parametrize(
    "statement",
    [
        f"UPDATE audit_log_{THIS_MONTH:%Y_%m} SET action = 'forged'",
        f"DELETE FROM audit_log_{THIS_MONTH:%Y_%m}",
        "DELETE FROM audit_log_default",
        f"DROP TABLE audit_log_{THIS_MONTH:%Y_%m}",
        f"ALTER TABLE audit_log DETACH PARTITION audit_log_{THIS_MONTH:%Y_%m}",
        "CREATE TABLE audit_log_2099_01 PARTITION OF audit_log "
        "FOR VALUES FROM ('2099-01-01') TO ('2099-02-01')",
    ],
)
async def test_the_api_role_cannot_touch_partitions(
    db: Database, owner_db: Database, statement: str
) -> None:
    await owner_exec(
        owner_db,
        "INSERT INTO audit_log (action, entity) VALUES ('lesson.edit', 'lesson')",
    )
    with pytest.raises(ProgrammingError, match=r"permission denied|must be owner"):
        async with db.transaction() as session:
            await session.execute(text(statement))
    assert await owner_rows(owner_db, "SELECT action FROM audit_log") == [("lesson.edit",)]


async def test_the_trigger_refuses_a_non_owner_even_with_privileges(
    db: Database, owner_db: Database
) -> None:
    """Grants are one wall; the trigger is the second, for any role but the owner (here the API
    role is given UPDATE and DELETE by mistake, in this test's own database)."""
    await owner_exec(owner_db, "INSERT INTO audit_log (action, entity) VALUES ('a.b', 'x')")
    await owner_exec(owner_db, f"GRANT UPDATE, DELETE ON audit_log TO {APP_ROLE}")
    for statement in ("DELETE FROM audit_log", "UPDATE audit_log SET action = 'forged'"):
        with pytest.raises(DBAPIError, match="append-only"):
            async with db.transaction() as session:
                await session.execute(text(statement))
    assert await owner_rows(owner_db, "SELECT action FROM audit_log") == [("a.b",)]


async def test_the_cli_archives_like_the_job(
    database_urls: DatabaseUrls, owner_db: Database, tmp_path: Path
) -> None:
    month = months_before(THIS_MONTH, 26)
    ids = await _entries_in(owner_db, month, 1)
    env = {
        "DATABASE_URL": database_urls.owner,
        "STUDYHALL_APP_DATABASE_URL": database_urls.app,
        "STUDYHALL_HOME": str(tmp_path / "home"),
    }
    first = _studyhall("db", "archive-audit", cwd=tmp_path, **env)
    assert first.returncode == 0, first.stderr
    assert f"archived {month:%Y-%m}: 1 entries" in first.stdout
    again = _studyhall("db", "archive-audit", cwd=tmp_path, **env)
    assert "no audit log month is past its retention" in again.stdout
    left = await owner_rows(owner_db, "SELECT id::text FROM audit_log WHERE id = :id", id=ids[0])
    assert left == []
