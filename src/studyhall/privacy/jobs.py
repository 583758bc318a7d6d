"""Privacy jobs: build a requested export; nightly, archive old usage logs and audit log months
and purge what has outlived its window; keep the audit log's next months partitioned; back the
database up and keep its off-site copies within their retention. Each is safe to run twice and
to re-run after a crash.

The audit jobs run here rather than in the audit domain: audit sits below the job queue's layer
and below the file storage, and this is the one retention sweep."""

from __future__ import annotations

import asyncio
import logging
import uuid

from sqlalchemy import update

from studyhall.audit import service as audit
from studyhall.db import backup
from studyhall.db.rls import cross_users
from studyhall.jobs.core import backoff, queue, runtime
from studyhall.privacy.models import DataExport
from studyhall.privacy.service import backups, export, retention
from studyhall.study.service import get_storage

log = logging.getLogger(__name__)


@queue.task(name="studyhall.privacy.build_export", queue="maintenance", retry=backoff(2))
async def build_export(export_id: str) -> None:
    rt = runtime()
    try:
        await export.build(rt.database, rt.settings, uuid.UUID(export_id))
    except Exception as exc:
        log.exception("data export failed", extra={"export_id": export_id})
        async with rt.database.transaction() as session:
            await cross_users(session)
            await session.execute(
                update(DataExport)
                .where(DataExport.id == uuid.UUID(export_id), DataExport.status == "pending")
                .values(status="failed", error=type(exc).__name__)
            )


@queue.periodic(cron="53 3 * * *")
@queue.task(name="studyhall.privacy.apply_retention", queue="maintenance")
async def apply_retention(timestamp: int) -> None:
    rt = runtime()
    archived = await retention.archive_usage_logs(rt.database, rt.settings)
    purged = await retention.purge_soft_deleted(rt.database, rt.settings)
    exports = await retention.purge_spent_exports(rt.database, rt.settings)
    audit_months = await audit.archive_expired_months(
        rt.database, get_storage(rt.settings).put, rt.settings.audit_retention_months
    )
    log.info(
        "retention applied",
        extra={
            "archived": archived,
            "purged": purged,
            "expired_exports": exports,
            "audit_months_archived": [str(month.month) for month in audit_months],
        },
    )


@queue.periodic(cron="17 2 * * *")
@queue.task(name="studyhall.privacy.ensure_audit_partitions", queue="maintenance")
async def ensure_audit_partitions(timestamp: int) -> None:
    """The audit log's partitions for this month and the next few (rows of a month without one
    land in its default partition, and move when the month's partition is made)."""
    created = await audit.ensure_months(runtime().database)
    log.info("audit log partitions ensured", extra={"created": created})


@queue.periodic(cron="30 2 * * *")
@queue.task(name="studyhall.nightly_backup", queue="maintenance")
async def nightly_backup(timestamp: int) -> None:
    """A dump as the owner role (the API role cannot read past row level security), copied
    off-site when a backup bucket is set (``privacy.service.backups``)."""
    settings = runtime().settings
    if not settings.backup_daily or settings.database_url is None:
        return
    path = await asyncio.to_thread(
        backup.backup, settings.database_url, settings.backups_dir, settings.backup_keep
    )
    log.info("backup written", extra={"path": str(path)})
    await backups.copy_offsite(settings, path)
