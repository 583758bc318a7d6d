"""A user's data export: every row that names them, in every table, plus their uploaded files.

The tables come from the catalogue (``service.catalogue``), so a table added later is exported
without a change here. Secrets (password and token hashes, encrypted provider tokens) and derived
search data are left out. The archive is a zip: ``tables/<table>.json`` (a JSON array of rows),
``files/<material id>/<file name>`` and ``README.txt``. It is downloadable once, through a link
whose secret only the user's e-mail and inbox carry, until the link expires.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import re
import secrets
import uuid
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.audit import service as audit
from studyhall.config import Settings
from studyhall.db.engine import Database
from studyhall.db.rls import cross_users
from studyhall.kit.errors import Gone, NotFound
from studyhall.kit.times import json_default, rfc3339
from studyhall.notifications import service as notifications
from studyhall.privacy.models import DataExport
from studyhall.privacy.service.catalogue import UserTable, user_tables
from studyhall.study.service import StorageError, get_storage

README = """Everything Studyhall holds about you, as of {when} (UTC).

tables/<name>.json  one JSON array per table: every row that refers to you.
files/              the files you uploaded, by material id.

Left out on purpose: password and token hashes, encrypted provider tokens (secrets that protect
your account), and search indexes derived from your files' text.
"""
_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True)
class Archive:
    tables: dict[str, list[dict[str, Any]]]
    files: dict[str, bytes]


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _rows_sql(table: UserTable) -> str:
    hidden = [c for c in table.columns if c not in table.exported_columns]
    drop = " - ARRAY[" + ", ".join(f"'{c}'" for c in hidden) + "]::text[]" if hidden else ""
    match = " OR ".join(f'"{c}" = :user_id' for c in table.user_columns)
    return f'SELECT to_jsonb(t){drop} FROM "{table.name}" t WHERE {match}'


async def collect_rows(session: AsyncSession, user_id: uuid.UUID) -> dict[str, list[Any]]:
    """The user's rows by table; tables without any are left out."""
    found: dict[str, list[Any]] = {}
    for table in user_tables():
        rows = list((await session.scalars(text(_rows_sql(table)), {"user_id": user_id})).all())
        if rows:
            found[table.name] = rows
    return found


async def collect_files(
    session: AsyncSession, settings: Settings, user_id: uuid.UUID
) -> dict[str, bytes]:
    storage = get_storage(settings)
    materials = await session.execute(
        text("SELECT id, file_name, storage_key FROM materials WHERE user_id = :user_id"),
        {"user_id": user_id},
    )
    files: dict[str, bytes] = {}
    for material_id, file_name, key in materials:
        try:
            data = await storage.get(key)
        except StorageError:
            continue  # processing never stored it, or it was already removed
        safe_name = _UNSAFE_NAME.sub("_", file_name).strip("._") or "file"
        files[f"files/{material_id}/{safe_name}"] = data
    return files


def _zip(archive: Archive, when: datetime) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as bundle:
        bundle.writestr("README.txt", README.format(when=when.strftime("%Y-%m-%d %H:%M")))
        for table, rows in sorted(archive.tables.items()):
            bundle.writestr(
                f"tables/{table}.json", json.dumps(rows, indent=1, default=json_default)
            )
        for name, data in sorted(archive.files.items()):
            bundle.writestr(name, data)
    return buffer.getvalue()


async def request_export(session: AsyncSession, user_id: uuid.UUID) -> tuple[DataExport, bool]:
    """A new export (``True``), or the one still being built: asking twice builds it once."""
    created = await session.scalar(
        insert(DataExport)
        .values(user_id=user_id)
        .on_conflict_do_nothing(index_elements=["user_id"], index_where=text("status = 'pending'"))
        .returning(DataExport.id)
    )
    if created is not None:
        await audit.record(session, user_id, "privacy.export_requested", "data_export", created)
    pending = await session.scalar(
        select(DataExport)
        .where(DataExport.user_id == user_id, DataExport.status == "pending")
        .execution_options(populate_existing=True)
    )
    assert pending is not None
    return pending, created is not None


async def get_export(session: AsyncSession, user_id: uuid.UUID, export_id: uuid.UUID) -> DataExport:
    export = await session.get(DataExport, export_id)
    if export is None or export.user_id != user_id:
        raise NotFound("No such export.", code="export_not_found")
    return export


async def build(database: Database, settings: Settings, export_id: uuid.UUID) -> None:
    """Collect, store and announce one export; a retry after a crash builds it again."""
    async with database.transaction() as session:
        await cross_users(session)
        export = await session.get(DataExport, export_id)
        if export is None or export.status != "pending":
            return
        user_id = export.user_id
        archive = Archive(
            await collect_rows(session, user_id), await collect_files(session, settings, user_id)
        )
    now = datetime.now(UTC)
    data = await asyncio.to_thread(_zip, archive, now)
    key = f"exports/{user_id}/{export_id}.zip"
    await get_storage(settings).put(key, data)
    token = secrets.token_urlsafe(32)
    expires_at = now + timedelta(hours=settings.data_export_link_hours)
    async with database.transaction() as session:
        await cross_users(session)
        ready = await session.execute(
            update(DataExport)
            .where(DataExport.id == export_id, DataExport.status == "pending")
            .values(
                status="ready",
                storage_key=key,
                size_bytes=len(data),
                token_hash=token_hash(token),
                expires_at=expires_at,
                ready_at=now,
            )
            .returning(DataExport.id)
        )
        if ready.first() is None:
            return
        await audit.record(
            session, None, "privacy.export_ready", "data_export", export_id, {"bytes": len(data)}
        )
        link = f"{settings.base_url}/api/v1/me/exports/{export_id}/download?token={token}"
        await notifications.notify(
            session,
            user_id,
            "data_export_ready",
            {"url": link, "expires_at": rfc3339(expires_at)},
            entity="data_export",
            entity_id=export_id,
            urgent=True,
        )


async def take_download(
    session: AsyncSession, settings: Settings, export_id: uuid.UUID, token: str
) -> bytes:
    """The archive's bytes, once: the first download spends the link and removes the archive."""
    await cross_users(session)
    export = await session.get(DataExport, export_id, with_for_update=True)
    if export is None or export.token_hash is None:
        raise NotFound("No such export.", code="export_not_found")
    if not secrets.compare_digest(export.token_hash, token_hash(token)):
        raise NotFound("No such export.", code="export_not_found")
    now = datetime.now(UTC)
    if export.status != "ready" or export.expires_at is None or export.expires_at <= now:
        raise Gone(
            "This download link was already used or has expired; request a new export.",
            code="export_gone",
        )
    assert export.storage_key is not None
    storage = get_storage(settings)
    data = await storage.get(export.storage_key)
    export.status = "downloaded"
    export.downloaded_at = now
    await audit.record(
        session, export.user_id, "privacy.export_downloaded", "data_export", export.id
    )
    await session.flush()
    await storage.delete(export.storage_key)
    return data
