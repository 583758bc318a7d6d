"""Privacy jobs: build a requested export; nightly, archive old usage logs and purge what has
outlived its window. Each is safe to run twice and to re-run after a crash."""

from __future__ import annotations

import logging
import uuid

from sqlalchemy import update

from studyhall.db.rls import cross_users
from studyhall.jobs.core import backoff, queue, runtime
from studyhall.privacy.models import DataExport
from studyhall.privacy.service import export, retention

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
    log.info(
        "retention applied",
        extra={"archived": archived, "purged": purged, "expired_exports": exports},
    )
