"""Retention: old usage logs move to storage as JSONL, soft-deleted rows go after their window.

Every sweep works in batches, one transaction each: the batch's rows are locked, written out (or
their files removed), then deleted, then committed. A crash anywhere leaves either a finished
batch or an untouched one; running again picks up where it stopped and, for an archive, writes
the same file under the same name (its first row's id), so nothing is lost or doubled.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import text

from studyhall.config import Settings
from studyhall.db.base import Base
from studyhall.db.engine import Database
from studyhall.db.rls import cross_users
from studyhall.domains import load_models
from studyhall.study.service import get_storage

BATCH = 500


@dataclass(frozen=True)
class UsageLog:
    table: str
    age_column: str
    # Which rows are a log (rather than something the user still reads).
    condition: str = ""
    # Kept in the archive; ``None`` keeps every column.
    columns: tuple[str, ...] | None = None


USAGE_LOGS = (
    UsageLog("study_events", "created_at"),
    UsageLog("ai_usage", "created_at"),
    # E-mail and SMS deliveries; the in-app inbox is the user's own and stays. The archive keeps
    # who got what and when, not the message (which carries names and links).
    UsageLog(
        "notifications",
        "created_at",
        "AND channel <> 'inapp' AND status IN ('sent', 'failed', 'canceled')",
        (
            "id",
            "user_id",
            "type",
            "channel",
            "status",
            "entity",
            "entity_id",
            "attempts",
            "scheduled_for",
            "sent_at",
            "created_at",
        ),
    ),
)
# Soft-deleted rows that other rows still point at are kept: a deleted account's ``users`` row
# (erasure rewrites it), its profiles, and offerings that bookings name.
KEEP_SOFT_DELETED = frozenset({"users", "student_profiles", "tutor_profiles", "offerings"})
# A material a course lesson uses stays with the course.
_PURGE_CONDITION = {
    "materials": "AND id NOT IN (SELECT material_id FROM lessons WHERE material_id IS NOT NULL)"
}


def soft_deleted_tables() -> Sequence[str]:
    load_models()
    return [
        table.name
        for table in Base.metadata.sorted_tables
        if "deleted_at" in table.columns and table.name not in KEEP_SOFT_DELETED
    ]


def _archived(log: UsageLog) -> str:
    if log.columns is None:
        return "to_jsonb(t)"
    return "jsonb_build_object(" + ", ".join(f"'{c}', t.\"{c}\"" for c in log.columns) + ")"


async def archive_batch(
    database: Database, settings: Settings, log: UsageLog, before: datetime, batch: int = BATCH
) -> int:
    """Archive and delete one batch of ``log``'s rows older than ``before``; the count done."""
    async with database.transaction() as session:
        await cross_users(session)
        rows = (
            await session.execute(
                text(
                    f'SELECT t.id, t."{log.age_column}", {_archived(log)} FROM "{log.table}" t '
                    f'WHERE t."{log.age_column}" < :before {log.condition} '
                    f'ORDER BY t."{log.age_column}", t.id LIMIT :batch FOR UPDATE SKIP LOCKED'
                ),
                {"before": before, "batch": batch},
            )
        ).all()
        if not rows:
            return 0
        first_id, first_at = rows[0][0], rows[0][1]
        key = f"archive/{log.table}/{first_at:%Y/%m/%d}/{first_id}.jsonl"
        lines = "".join(json.dumps(row[2], sort_keys=True, default=str) + "\n" for row in rows)
        await get_storage(settings).put(key, lines.encode())
        await session.execute(
            text(f'DELETE FROM "{log.table}" WHERE id = ANY(:ids)'),
            {"ids": [row[0] for row in rows]},
        )
        return len(rows)


async def archive_usage_logs(
    database: Database, settings: Settings, now: datetime | None = None, batch: int = BATCH
) -> dict[str, int]:
    before = (now or datetime.now(UTC)) - timedelta(days=settings.usage_log_retention_days)
    counts: dict[str, int] = {}
    for log in USAGE_LOGS:
        total = 0
        while done := await archive_batch(database, settings, log, before, batch):
            total += done
        counts[log.table] = total
    return counts


async def purge_batch(
    database: Database, settings: Settings, table: str, before: datetime, batch: int = BATCH
) -> int:
    """Delete one batch of ``table``'s rows soft-deleted before ``before`` (and their files)."""
    async with database.transaction() as session:
        await cross_users(session)
        extra = _PURGE_CONDITION.get(table, "")
        ids = list(
            (
                await session.scalars(
                    text(
                        f'SELECT id FROM "{table}" WHERE deleted_at < :before {extra} '
                        "ORDER BY id LIMIT :batch FOR UPDATE SKIP LOCKED"
                    ),
                    {"before": before, "batch": batch},
                )
            ).all()
        )
        if not ids:
            return 0
        if table == "materials":
            keys = await session.scalars(
                text("SELECT storage_key FROM materials WHERE id = ANY(:ids)"), {"ids": ids}
            )
            storage = get_storage(settings)
            for key in keys.all():
                await storage.delete(key)
        await session.execute(text(f'DELETE FROM "{table}" WHERE id = ANY(:ids)'), {"ids": ids})
        return len(ids)


async def purge_soft_deleted(
    database: Database, settings: Settings, now: datetime | None = None, batch: int = BATCH
) -> dict[str, int]:
    before = (now or datetime.now(UTC)) - timedelta(days=settings.soft_deleted_retention_days)
    counts: dict[str, int] = {}
    for table in reversed(soft_deleted_tables()):
        total = 0
        while done := await purge_batch(database, settings, table, before, batch):
            total += done
        counts[table] = total
    return counts


async def purge_spent_exports(database: Database, settings: Settings) -> int:
    """Archives whose link expired unused are removed from storage (a download removes its own)."""
    async with database.transaction() as session:
        await cross_users(session)
        expired = await session.execute(
            text(
                "SELECT id, storage_key FROM data_exports "
                "WHERE status = 'ready' AND expires_at < now() FOR UPDATE SKIP LOCKED"
            )
        )
        rows = expired.all()
        await session.execute(
            text(
                "UPDATE data_exports SET status = 'expired', storage_key = NULL "
                "WHERE id = ANY(:ids)"
            ),
            {"ids": [row[0] for row in rows]},
        )
        keys = [row[1] for row in rows if row[1] is not None]
        storage = get_storage(settings)
        for key in keys:
            await storage.delete(key)
        return len(keys)
