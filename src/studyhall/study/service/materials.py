"""Materials: take an upload and queue its processing, read and delete one's uploads.

The processing itself (extract, chunk, embed) is the job's work, in ``processing``.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import uuid
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.accounts.models import User
from studyhall.audit import service as audit
from studyhall.config import Settings
from studyhall.courses import service as courses
from studyhall.jobs.core import enqueue
from studyhall.kit.errors import (
    Conflict,
    NotFound,
    PayloadTooLarge,
    Unprocessable,
    UnsupportedMediaType,
)
from studyhall.kit.paging import PageRequest
from studyhall.study import jobs
from studyhall.study.engine.extract import DocumentKind, ExtractionError, detect_type
from studyhall.study.models import Material
from studyhall.study.providers.storage import get_storage
from studyhall.study.service.listing import keyset_page
from studyhall.study.service.retrieval import readable_materials

log = logging.getLogger(__name__)

MIME_TYPES: dict[DocumentKind, str] = {
    "pdf": "application/pdf",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "markdown": "text/markdown",
    "text": "text/plain",
}


def file_too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(
        f"The file is larger than the {limit}-byte upload limit.", code="file_too_large"
    )


def _reject(error: ExtractionError) -> Exception:
    if error.code == "unsupported_type":
        return UnsupportedMediaType(error.message, code="unsupported_type")
    if error.code == "too_large":
        return PayloadTooLarge(error.message, code="file_too_large")
    return Unprocessable(error.message, code=error.code)


async def upload(
    session: AsyncSession,
    settings: Settings,
    user: User,
    file_name: str,
    data: bytes,
    origin: str,
) -> Material:
    """Store the file and queue its processing; the type comes from the bytes, not the name."""
    limit = settings.study_max_upload_bytes
    if len(data) > limit:
        raise file_too_large(limit)
    if not data.strip():
        raise Unprocessable("The file is empty.", code="empty_file")
    try:
        kind = await asyncio.to_thread(detect_type, data, file_name)
    except ExtractionError as exc:
        raise _reject(exc) from exc
    material_id = uuid.uuid4()
    key = f"{user.id}/{material_id}"
    await get_storage(settings).put(key, data)
    material = Material(
        id=material_id,
        user_id=user.id,
        file_name=file_name[:255] or "upload",
        storage_key=key,
        mime_type=MIME_TYPES[kind],
        size_bytes=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        origin=origin,
        processing_status="pending",
    )
    session.add(material)
    await session.flush()
    await audit.record(
        session,
        user.id,
        "material.upload",
        "material",
        material.id,
        {"file_name": material.file_name, "mime_type": material.mime_type, "origin": origin},
    )
    await enqueue(session, jobs.process_material, material_id=str(material.id))
    return material


async def get_owned(
    session: AsyncSession, user_id: uuid.UUID, material_id: uuid.UUID, *, lock: bool = False
) -> Material:
    material = await session.get(Material, material_id, with_for_update=lock)
    if material is None or material.user_id != user_id or material.deleted_at is not None:
        raise NotFound("No such material.", code="material_not_found")
    return material


async def get_readable(
    session: AsyncSession, user_id: uuid.UUID, material_id: uuid.UUID
) -> Material:
    """One of the user's materials or a course material they may read (``readable_materials``)."""
    material = await session.scalar(
        select(Material).where(Material.id == material_id, readable_materials(user_id))
    )
    if material is None:
        raise NotFound("No such material.", code="material_not_found")
    return material


async def find_undeleted(session: AsyncSession, material_id: uuid.UUID) -> Material | None:
    """The material if it exists, is not deleted and the session's role may see it."""
    material = await session.get(Material, material_id)
    return None if material is None or material.deleted_at is not None else material


async def keep_for_reference(session: AsyncSession, material_id: uuid.UUID) -> bool:
    """Lock the material against deletion (``soft_delete`` takes the row for update) until
    commit, as something is about to reference it; False if it was deleted meanwhile. Only its
    owner, or a session acting across users, can take the lock."""
    row = (
        await session.execute(
            select(Material.deleted_at)
            .where(Material.id == material_id)
            .with_for_update(key_share=True)
        )
    ).first()
    return row is not None and row.deleted_at is None


async def list_owned(
    session: AsyncSession, user_id: uuid.UUID, page: PageRequest
) -> tuple[list[Material], str | None]:
    """The user's own uploads, newest first (course materials they may read are not listed)."""
    query = select(Material).where(Material.user_id == user_id, Material.deleted_at.is_(None))
    return await keyset_page(
        session, query, (Material.created_at, Material.id), page, lambda m: (m.created_at, m.id)
    )


async def soft_delete(session: AsyncSession, user: User, material_id: uuid.UUID) -> None:
    """Refused while lessons use the material: their learners study from it."""
    material = await get_owned(session, user.id, material_id, lock=True)
    lesson_ids = await courses.lessons_using_material(session, material.id)
    if lesson_ids:
        raise Conflict(
            f"The material is used by {len(lesson_ids)} course lesson(s); remove it from them "
            "before deleting it.",
            code="material_used_by_lessons",
            lesson_ids=[str(lesson_id) for lesson_id in lesson_ids],
        )
    material.deleted_at = datetime.now(UTC)
    await audit.record(session, user.id, "material.delete", "material", material.id)
    # After the commit only: a rolled-back delete must still find its file.
    await enqueue(session, jobs.remove_stored_file, key=material.storage_key)
