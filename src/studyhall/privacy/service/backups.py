"""Off-site copies of the backups, and how long they are kept there.

A dump holds every person's data, so its copies are personal data with a retention of their own:
with ``STUDYHALL_BACKUP_S3_BUCKET`` set, each dump ``studyhall db backup`` or the nightly job
writes is uploaded to S3-compatible storage under ``STUDYHALL_BACKUP_S3_PREFIX``, and copies
whose name says they are older than ``STUDYHALL_BACKUP_S3_RETENTION_DAYS`` are deleted there. An
erased person's data thus leaves the last off-site copy after that many days.
"""

from __future__ import annotations

import asyncio
import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from studyhall.config import Settings
from studyhall.study.service import S3Storage, StorageError

log = logging.getLogger(__name__)

# ``studyhall-20261207T023000Z.dump``, as db.backup names them: the name carries the time.
_DUMP_NAME = re.compile(r"^studyhall-(\d{8}T\d{6}Z)\.dump$")


@dataclass(frozen=True)
class OffsiteCopy:
    key: str
    removed: list[str]


def offsite_storage(settings: Settings) -> S3Storage | None:
    """The backup bucket, or ``None`` when off-site copies are not configured. Endpoint, region
    and keys default to the file storage's (``STUDYHALL_S3_*``)."""
    if settings.backup_s3_bucket is None:
        return None
    endpoint = settings.backup_s3_endpoint_url or settings.s3_endpoint_url
    access_key = settings.backup_s3_access_key_id or settings.s3_access_key_id
    secret = settings.backup_s3_secret_access_key or settings.s3_secret_access_key
    if not (endpoint and access_key and secret):
        raise StorageError(
            "STUDYHALL_BACKUP_S3_BUCKET needs an endpoint and keys: "
            "STUDYHALL_BACKUP_S3_ENDPOINT_URL, "
            "_ACCESS_KEY_ID, _SECRET_ACCESS_KEY (or the STUDYHALL_S3_* ones)"
        )
    return S3Storage(
        endpoint,
        settings.backup_s3_bucket,
        access_key,
        secret.get_secret_value(),
        settings.backup_s3_region or settings.s3_region,
    )


def _taken_at(key: str, prefix: str) -> datetime | None:
    match = _DUMP_NAME.match(key.removeprefix(prefix))
    if match is None or "/" in key.removeprefix(prefix):
        return None
    try:
        return datetime.strptime(match.group(1), "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    except ValueError:  # shaped like a dump's name, but no real time: not ours to delete
        return None


async def prune(storage: S3Storage, settings: Settings, now: datetime | None = None) -> list[str]:
    """Delete the off-site dumps older than the retention; other objects under the prefix (not
    named like a dump) are left alone."""
    cutoff = (now or datetime.now(UTC)) - timedelta(days=settings.backup_s3_retention_days)
    prefix = settings.backup_s3_prefix
    removed = []
    for key in await storage.keys(prefix):
        taken = _taken_at(key, prefix)
        if taken is not None and taken < cutoff:
            await storage.delete(key)
            removed.append(key)
    return removed


async def copy_offsite(settings: Settings, dump: Path) -> OffsiteCopy | None:
    """Upload ``dump`` (a single PUT, so up to 5 GB), then apply the off-site retention. Running
    it again for the same dump writes the same key again."""
    storage = offsite_storage(settings)
    if storage is None:
        return None
    key = f"{settings.backup_s3_prefix}{dump.name}"
    await storage.put(key, await asyncio.to_thread(dump.read_bytes))
    removed = await prune(storage, settings)
    log.info("backup copied off-site", extra={"key": key, "removed": len(removed)})
    return OffsiteCopy(key, removed)
