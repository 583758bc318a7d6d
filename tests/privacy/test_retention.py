"""Retention: old usage logs archived to storage as JSONL and deleted, once each, even across a
crash or two sweeps at the same moment; soft-deleted rows purged after their window."""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from studyhall.config import Settings
from studyhall.db.engine import Database
from studyhall.privacy.service import retention
from tests.conftest import run_jobs
from tests.privacy.seed import API, seed_everywhere

OLD = "now() - interval '400 days'"


async def _old_logs(owner_db: Database, user_id: uuid.UUID, count: int) -> None:
    async with owner_db.transaction() as session:
        for n in range(count):
            await session.execute(
                text(
                    "INSERT INTO study_events (user_id, kind, reference_id, payload, created_at) "
                    "VALUES (:u, 'quiz_completed', gen_random_uuid(), '{}', "
                    f"{OLD} + make_interval(secs => :n))"
                ),
                {"u": user_id, "n": n},
            )
        await session.execute(
            text(
                "INSERT INTO notifications (user_id, type, channel, status, payload, created_at) "
                "VALUES (:u, 'system_update', 'email', 'sent', '{\"title\": \"secret\"}', "
                f"{OLD}), "
                f"(:u, 'system_update', 'inapp', 'sent', '{{}}', {OLD})"
            ),
            {"u": user_id},
        )
        await session.execute(
            text(f"UPDATE ai_usage SET created_at = {OLD} WHERE user_id = :u"), {"u": user_id}
        )


def _archived(files_dir: Path, table: str) -> list[dict[str, object]]:
    rows = []
    for path in sorted((files_dir / "archive" / table).rglob("*.jsonl")):
        rows.extend(json.loads(line) for line in path.read_text().splitlines())
    return rows


async def _count(owner_db: Database, sql: str, **params: object) -> int:
    async with owner_db.transaction() as session:
        return int(await session.scalar(text(sql), params) or 0)


async def test_old_usage_logs_are_archived_once_and_deleted(
    client: httpx.AsyncClient, db: Database, owner_db: Database, settings: Settings
) -> None:
    person = await seed_everywhere(client, owner_db, "logs")
    await _old_logs(owner_db, person.id, 7)
    recent = await _count(owner_db, "SELECT count(*) FROM study_events")  # the seed's own, new
    counts = await retention.archive_usage_logs(db, settings, batch=3)
    assert counts == {"study_events": 7, "ai_usage": 1, "notifications": 1}
    events = _archived(settings.files_dir, "study_events")
    assert len(events) == 7 and len({row["id"] for row in events}) == 7
    assert await _count(owner_db, "SELECT count(*) FROM study_events") == recent - 7
    deliveries = _archived(settings.files_dir, "notifications")
    assert [row["channel"] for row in deliveries] == ["email"]
    assert "payload" not in deliveries[0]  # the message itself is not kept
    # The in-app inbox stays; a second sweep finds nothing more.
    assert (
        await _count(
            owner_db,
            f"SELECT count(*) FROM notifications WHERE created_at < {OLD} + interval '1 day'",
        )
        == 1
    )
    again = await retention.archive_usage_logs(db, settings, batch=3)
    assert again == {"study_events": 0, "ai_usage": 0, "notifications": 0}


async def test_a_sweep_that_crashes_after_writing_a_batch_resumes_without_doubles(
    client: httpx.AsyncClient, db: Database, owner_db: Database, settings: Settings
) -> None:
    person = await seed_everywhere(client, owner_db, "crash")
    await _old_logs(owner_db, person.id, 5)
    async with owner_db.transaction() as session:
        await session.execute(
            text(
                "CREATE FUNCTION crash() RETURNS trigger LANGUAGE plpgsql AS "
                "$$ BEGIN RAISE EXCEPTION 'power cut'; END $$"
            )
        )
        await session.execute(
            text(
                "CREATE TRIGGER crash BEFORE DELETE ON study_events "
                "FOR EACH STATEMENT EXECUTE FUNCTION crash()"
            )
        )
    with pytest.raises(DBAPIError, match="power cut"):
        await retention.archive_usage_logs(db, settings, batch=2)
    assert len(_archived(settings.files_dir, "study_events")) == 2  # written, not committed
    async with owner_db.transaction() as session:
        await session.execute(text("DROP TRIGGER crash ON study_events"))
    counts = await retention.archive_usage_logs(db, settings, batch=2)
    assert counts["study_events"] == 5
    events = _archived(settings.files_dir, "study_events")
    assert len(events) == 5 and len({row["id"] for row in events}) == 5


async def test_two_sweeps_at_once_archive_every_row_exactly_once(
    client: httpx.AsyncClient, db: Database, owner_db: Database, settings: Settings
) -> None:
    person = await seed_everywhere(client, owner_db, "twice")
    await _old_logs(owner_db, person.id, 40)
    first, second = await asyncio.gather(
        retention.archive_usage_logs(db, settings, batch=4),
        retention.archive_usage_logs(db, settings, batch=4),
    )
    assert first["study_events"] + second["study_events"] == 40
    events = _archived(settings.files_dir, "study_events")
    assert len(events) == 40 and len({row["id"] for row in events}) == 40


async def test_soft_deleted_rows_and_their_files_go_after_their_window(
    client: httpx.AsyncClient, db: Database, owner_db: Database, settings: Settings
) -> None:
    person = await seed_everywhere(client, owner_db, "purge")
    stored = settings.files_dir / str(person.id) / str(person.material_id)
    assert stored.exists()
    async with owner_db.transaction() as session:
        await session.execute(
            text(
                "UPDATE materials SET deleted_at = now() - interval '31 days' WHERE user_id = :u; "
            ),
            {"u": person.id},
        )
        await session.execute(
            text(
                "UPDATE chat_threads SET deleted_at = now() - interval '31 days' WHERE user_id = :u"
            ),
            {"u": person.id},
        )
        await session.execute(
            text("UPDATE flashcards SET deleted_at = now() - interval '2 days' WHERE user_id = :u"),
            {"u": person.id},
        )
        await session.execute(
            text(
                "UPDATE offerings SET deleted_at = now() - interval '90 days' WHERE tutor_id = :u"
            ),
            {"u": person.id},
        )
    counts = await retention.purge_soft_deleted(db, settings, batch=1)
    assert counts["materials"] == 1 and counts["chat_threads"] == 1
    assert counts["flashcards"] == 0  # still inside its window
    assert "offerings" not in counts  # bookings name them
    assert not stored.exists()
    assert (
        await _count(
            owner_db, "SELECT count(*) FROM material_chunks WHERE user_id = :u", u=person.id
        )
        == 0
    )
    assert (
        await _count(owner_db, "SELECT count(*) FROM chat_messages WHERE user_id = :u", u=person.id)
        == 0
    )
    assert (
        await _count(owner_db, "SELECT count(*) FROM flashcards WHERE user_id = :u", u=person.id)
        == 1
    )
    assert (
        await _count(owner_db, "SELECT count(*) FROM offerings WHERE tutor_id = :u", u=person.id)
        == 1
    )
    again = await retention.purge_soft_deleted(db, settings)
    assert sum(again.values()) == 0


async def test_an_expired_export_leaves_storage(
    client: httpx.AsyncClient, db: Database, owner_db: Database, settings: Settings
) -> None:
    person = await seed_everywhere(client, owner_db, "stale")
    assert (await client.post(f"{API}/me/export", headers=person.headers)).status_code == 202
    await run_jobs()
    archives = list((settings.files_dir / "exports").rglob("*.zip"))
    assert len(archives) == 1
    assert await retention.purge_spent_exports(db, settings) == 0
    async with owner_db.transaction() as session:
        await session.execute(
            text("UPDATE data_exports SET expires_at = now() - interval '1 minute'")
        )
    assert await retention.purge_spent_exports(db, settings) == 1
    assert not archives[0].exists()
    assert await _count(owner_db, "SELECT count(*) FROM data_exports WHERE status = 'expired'") == 1
