"""Materials: take an upload, turn it into chunks in a job (seed 000 uploads, 002 materials)."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.accounts.models import User
from studyhall.audit import service as audit
from studyhall.config import Settings
from studyhall.courses import service as courses
from studyhall.db.engine import Database
from studyhall.jobs.core import backoff, enqueue, queue, runtime
from studyhall.kit.errors import (
    Conflict,
    NotFound,
    PayloadTooLarge,
    Unprocessable,
    UnsupportedMediaType,
)
from studyhall.study import quota
from studyhall.study.embeddings import embedding_client
from studyhall.study.engine.chunk import Chunk, chunk_blocks
from studyhall.study.engine.extract import (
    DocumentKind,
    ExtractionError,
    detect_type,
    extract_blocks,
)
from studyhall.study.llm import LlmError
from studyhall.study.models import Material, MaterialChunk
from studyhall.study.retrieval import bypass_rls, index_lexemes, pad_vector, readable_materials
from studyhall.study.storage import StorageError, get_storage
from studyhall.study.upload_limit import file_too_large

log = logging.getLogger(__name__)

MIME_TYPES: dict[DocumentKind, str] = {
    "pdf": "application/pdf",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "markdown": "text/markdown",
    "text": "text/plain",
}
EMBED_BATCH = 64


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
    from studyhall.study.jobs import process_material

    await enqueue(session, process_material, material_id=str(material.id))
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
    owner, or a trusted session, can take the lock."""
    row = (
        await session.execute(
            select(Material.deleted_at)
            .where(Material.id == material_id)
            .with_for_update(key_share=True)
        )
    ).first()
    return row is not None and row.deleted_at is None


async def list_owned(session: AsyncSession, user_id: uuid.UUID) -> Sequence[Material]:
    return (
        await session.scalars(
            select(Material)
            .where(Material.user_id == user_id, Material.deleted_at.is_(None))
            .order_by(Material.created_at.desc(), Material.id)
        )
    ).all()


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
    await enqueue(session, remove_stored_file, key=material.storage_key)


@queue.task(name="studyhall.study.remove_stored_file", queue="study", retry=backoff(5))
async def remove_stored_file(key: str) -> None:
    """The file of a deleted material; removing a file that is already gone is fine."""
    await get_storage(runtime().settings).delete(key)


async def fail_unexpected(database: Database, material_id: uuid.UUID, error: Exception) -> None:
    """A bug must not leave a material ``processing`` forever."""
    await _set_status(
        database,
        material_id,
        "failed",
        processing_error_code="internal_error",
        processing_error=f"processing failed unexpectedly ({type(error).__name__}); try again",
    )


# The job ---------------------------------------------------------------------------------


async def _set_status(
    database: Database, material_id: uuid.UUID, status: str, **values: Any
) -> None:
    async with database.transaction() as session:
        await bypass_rls(session)
        await session.execute(
            update(Material)
            .where(Material.id == material_id)
            .values(processing_status=status, **values)
        )
        await audit.record(
            session,
            None,
            f"material.{status}",
            "material",
            material_id,
            {k: v for k, v in values.items() if k != "updated_at"} or None,
        )


def _extract(data: bytes, file_name: str, limit: int) -> tuple[list[Chunk], int | None]:
    blocks = extract_blocks(data, file_name, max_bytes=limit)
    pages = [number for b in blocks if (number := b.page or b.slide) is not None]
    return chunk_blocks(blocks), (max(pages) if pages else None)


async def process(database: Database, settings: Settings, material_id: uuid.UUID) -> str:
    """Extract, chunk and store; every failure ends as ``failed`` with a readable message."""
    async with database.transaction() as session:
        await bypass_rls(session)
        material = await session.scalar(
            select(Material).where(Material.id == material_id).with_for_update(skip_locked=True)
        )
        if material is None or material.deleted_at is not None:
            return "gone"
        if material.processing_status in ("completed", "failed"):
            return material.processing_status
        material.processing_status = "processing"
        key, name, owner = material.storage_key, material.file_name, material.user_id
    try:
        data = await get_storage(settings).get(key)
        chunks, pages = await asyncio.to_thread(
            _extract, data, name, settings.study_max_upload_bytes
        )
    except ExtractionError as exc:
        await _set_status(
            database,
            material_id,
            "failed",
            processing_error_code=exc.code,
            processing_error=exc.message,
        )
        return "failed"
    except StorageError as exc:
        await _set_status(
            database,
            material_id,
            "failed",
            processing_error_code="storage_error",
            processing_error=str(exc),
        )
        return "failed"
    await _store_chunks(database, material_id, owner, chunks, pages)
    await _embed(database, settings, material_id, owner)
    return "completed"


async def _store_chunks(
    database: Database,
    material_id: uuid.UUID,
    owner: uuid.UUID,
    chunks: Sequence[Chunk],
    pages: int | None,
) -> None:
    async with database.transaction() as session:
        await bypass_rls(session)
        # A retried job starts over: the material's chunks are replaced, never duplicated.
        await session.execute(delete(MaterialChunk).where(MaterialChunk.material_id == material_id))
        if chunks:
            await session.execute(
                insert(MaterialChunk),
                [
                    {
                        "material_id": material_id,
                        "user_id": owner,
                        "ordinal": chunk.index,
                        "heading": chunk.heading,
                        "page_number": chunk.page or chunk.slide,
                        "char_start": chunk.start,
                        "char_end": chunk.end,
                        "token_count": chunk.tokens,
                        "chunk_text": chunk.text,
                    }
                    for chunk in chunks
                ],
            )
        await index_lexemes(session, material_id)
        await session.execute(
            update(Material)
            .where(Material.id == material_id)
            .values(
                processing_status="completed",
                processing_error=None,
                processing_error_code=None,
                page_count=pages,
                chunk_count=len(chunks),
            )
        )
        await audit.record(
            session, None, "material.completed", "material", material_id, {"chunks": len(chunks)}
        )


async def _embed(
    database: Database, settings: Settings, material_id: uuid.UUID, owner: uuid.UUID
) -> None:
    """Dense vectors are a bonus: a failing embedding server leaves lexical retrieval working."""
    client = embedding_client(settings)
    if client is None:
        return
    async with database.transaction() as session:
        await bypass_rls(session)
        rows = (
            await session.execute(
                select(MaterialChunk.id, MaterialChunk.chunk_text)
                .where(MaterialChunk.material_id == material_id)
                .order_by(MaterialChunk.ordinal)
            )
        ).all()
    for start in range(0, len(rows), EMBED_BATCH):
        batch = rows[start : start + EMBED_BATCH]
        try:
            result = await client.embed([chunk_text for _, chunk_text in batch])
            vectors = [pad_vector(v) for v in result.vectors]
        except (LlmError, ValueError) as exc:
            log.warning(
                "embedding failed", extra={"material_id": str(material_id), "error": str(exc)}
            )
            async with database.transaction() as session:
                await bypass_rls(session)
                await quota.record_usage(
                    session,
                    owner,
                    "embedding",
                    client.model,
                    0,
                    0,
                    "failed",
                    metadata={"material_id": str(material_id), "error": str(exc)[:500]},
                )
            return
        async with database.transaction() as session:
            await bypass_rls(session)
            for (chunk_id, _), vector in zip(batch, vectors, strict=True):
                await session.execute(
                    update(MaterialChunk)
                    .where(MaterialChunk.id == chunk_id)
                    .values(embedding=vector, embedding_model=result.model)
                )
            await quota.record_usage(
                session,
                owner,
                "embedding",
                result.model,
                result.prompt_tokens,
                0,
                "succeeded",
                metadata={"material_id": str(material_id), "chunks": len(batch)},
            )
            if start + EMBED_BATCH >= len(rows):
                # The last batch is in: semantic search of this material is ready.
                await session.execute(
                    update(Material)
                    .where(Material.id == material_id)
                    .values(embedding_model=result.model)
                )
