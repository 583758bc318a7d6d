"""The audit log's monthly partitions: made ahead of time, and archived then dropped when old.

Partitions are changed only through functions that run as the table's owner (migration
``0019_audit_partitions``); the worker role can neither create nor drop a table. Archiving a month
is two steps that are each safe to repeat: the month's rows are written to storage as one JSONL
file (the same rows give the same file under the same name, because a finished month no longer
changes), then the partition is detached and dropped. A crash between the two leaves the
partition in place, and the next run writes the file again and drops it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy import text

from studyhall.db.engine import Database
from studyhall.db.rls import cross_users

# How many months after the current one always have a partition.
MONTHS_AHEAD = 3
_PARTITION_NAME = re.compile(r"^audit_log_(\d{4})_(\d{2})$")

Put = Callable[[str, bytes], Awaitable[None]]


@dataclass(frozen=True)
class ArchivedMonth:
    month: date
    rows: int
    key: str


def month_start(moment: datetime | date) -> date:
    return date(moment.year, moment.month, 1)


def months_before(month: date, count: int) -> date:
    index = month.year * 12 + month.month - 1 - count
    return date(index // 12, index % 12 + 1, 1)


def archive_key(month: date) -> str:
    return f"archive/audit_log/{month:%Y/%m}.jsonl"


async def ensure_months(database: Database, ahead: int = MONTHS_AHEAD) -> int:
    """Partitions for this month and the next ``ahead``; how many were created (0 when all
    existed, so running it again changes nothing)."""
    async with database.transaction() as session:
        created = await session.scalar(
            text("SELECT studyhall_audit_log_ensure_months(:ahead)"), {"ahead": ahead}
        )
    return int(created or 0)


async def partition_months(database: Database) -> list[date]:
    """The months that have a partition, oldest first."""
    async with database.transaction() as session:
        names = await session.scalars(
            text(
                "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                "WHERE i.inhparent = 'audit_log'::regclass"
            )
        )
        months = []
        for name in names.all():
            found = _PARTITION_NAME.match(name)
            if found:
                months.append(date(int(found[1]), int(found[2]), 1))
    return sorted(months)


def expired_months(months: list[date], retention_months: int, now: datetime) -> list[date]:
    """The months that ended more than ``retention_months`` before the start of this month."""
    cutoff = months_before(month_start(now), retention_months)
    return [month for month in months if month < cutoff]


async def export_month(database: Database, month: date, put: Put) -> ArchivedMonth:
    """Write one month's rows to storage as JSONL, oldest first; nothing is removed."""
    following = months_before(month, -1)
    async with database.transaction() as session:
        await cross_users(session)
        rows = (
            await session.scalars(
                text(
                    "SELECT to_jsonb(a) FROM audit_log a "
                    "WHERE a.created_at >= :start AND a.created_at < :end "
                    "ORDER BY a.created_at, a.id"
                ),
                {
                    "start": datetime(month.year, month.month, 1, tzinfo=UTC),
                    "end": datetime(following.year, following.month, 1, tzinfo=UTC),
                },
            )
        ).all()
    lines = "".join(json.dumps(row, sort_keys=True) + "\n" for row in rows)
    key = archive_key(month)
    await put(key, lines.encode())
    return ArchivedMonth(month, len(rows), key)


async def drop_month(database: Database, month: date) -> bool:
    """Detach and drop one month's partition; False when it is already gone."""
    async with database.transaction() as session:
        dropped = await session.scalar(
            text("SELECT studyhall_audit_log_drop_month(:month)"), {"month": month}
        )
    return bool(dropped)


async def archive_expired_months(
    database: Database, put: Put, retention_months: int, now: datetime | None = None
) -> list[ArchivedMonth]:
    """Every month older than the retention: exported to storage, then its partition dropped."""
    months = await partition_months(database)
    done = []
    for month in expired_months(months, retention_months, now or datetime.now(UTC)):
        archived = await export_month(database, month, put)
        await drop_month(database, month)
        done.append(archived)
    return done
