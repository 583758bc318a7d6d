"""Processing an uploaded material, the work of the ``process_material`` job: extract, chunk,
store and embed.

Each step is a short transaction of its own, and every one acts for the system across users
(``cross_users`` first): the job is not the uploader's request. A model is never called inside a
transaction.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, insert, select, update

from studyhall.audit import service as audit
from studyhall.config import Settings
from studyhall.db.engine import Database
from studyhall.db.rls import cross_users_transaction
from studyhall.study.engine.chunk import Chunk, chunk_blocks
from studyhall.study.engine.extract import ExtractionError, extract_blocks
from studyhall.study.engine.language import detect_language
from studyhall.study.models import Material, MaterialChunk
from studyhall.study.providers.embeddings import embedding_client
from studyhall.study.providers.llm import LlmError
from studyhall.study.providers.storage import StorageError, get_storage
from studyhall.study.service import quota
from studyhall.study.service.retrieval import index_lexemes, pad_vector

log = logging.getLogger(__name__)

EMBED_BATCH = 64


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
    async with cross_users_transaction(database) as session:
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
    async with cross_users_transaction(database) as session:
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
    async with cross_users_transaction(database) as session:
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
                        # Picks the chunk's text-search configuration (migration 0020).
                        "language": detect_language(chunk.text),
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
    async with cross_users_transaction(database) as session:
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
            async with cross_users_transaction(database) as session:
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
        async with cross_users_transaction(database) as session:
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
