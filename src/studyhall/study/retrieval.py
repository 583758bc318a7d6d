"""Hybrid retrieval over ``material_chunks``: PostgreSQL full-text candidates re-ranked with BM25,
pgvector nearest neighbours when embeddings are configured, fused by reciprocal rank fusion.

Every query is confined to ``scope``, the ids of the materials the user may read (their own, and
course materials through the courses domain's rule), so a user's search never reaches another
user's private chunks (and row level security repeats the rule inside PostgreSQL).
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Uuid,
    and_,
    any_,
    case,
    cast,
    func,
    literal,
    or_,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, TSQUERY
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.config import Settings
from studyhall.courses import service as courses
from studyhall.study.embeddings import embedding_client
from studyhall.study.engine.chunk import Passage
from studyhall.study.engine.lexical import rrf
from studyhall.study.llm import LlmError
from studyhall.study.models import EMBEDDING_DIMENSIONS, Material, MaterialChunk
from studyhall.study.quota import UsageCall

__all__ = [
    "RetrievedChunk",
    "accessible_materials",
    "bypass_rls",
    "embed_query",
    "pad_vector",
    "readable_materials",
    "scope",
    "search",
]

# Full-text finds candidates, weighed by IDF; BM25 (ts_rank has no IDF) orders them.
LEXICAL_CANDIDATES = 100
DENSE_CANDIDATES = 40
# A lexeme found in this many of the user's chunks no longer selects candidates (see below).
COMMON_CAP = 500


async def bypass_rls(session: AsyncSession) -> None:
    """Jobs act for the system across users; the API never calls this."""
    await session.execute(text("SELECT set_config('app.bypass_rls', 'on', true)"))


def readable_materials(user_id: uuid.UUID) -> ColumnElement[bool]:
    """Undeleted materials ``user_id`` may read: their own, and the course materials the courses
    domain lets them read (lessons of courses they hold access to or author)."""
    return and_(
        Material.deleted_at.is_(None),
        or_(Material.user_id == user_id, Material.id.in_(courses.lesson_material_ids(user_id))),
    )


def accessible_materials(user_id: uuid.UUID) -> ColumnElement[bool]:
    """Materials whose chunks ``user_id`` may retrieve: readable and processed."""
    return and_(readable_materials(user_id), Material.processing_status == "completed")


async def scope(
    session: AsyncSession,
    user_id: uuid.UUID,
    material_ids: Sequence[uuid.UUID] | None = None,
    *,
    topic_id: uuid.UUID | None = None,
) -> list[uuid.UUID]:
    """Ids of the materials a search for ``user_id`` reads: every accessible one, narrowed to
    ``material_ids`` and to the materials of lessons tagged ``topic_id`` when given. Computed once
    per search; each retrieval query then filters chunks on this short list."""
    query = select(Material.id).where(accessible_materials(user_id)).order_by(Material.id)
    if material_ids:
        query = query.where(Material.id.in_(material_ids))
    if topic_id is not None:
        query = query.where(Material.id.in_(courses.lesson_material_ids(user_id, topic_id)))
    return list((await session.scalars(query)).all())


def _in_scope(column: Any, material_ids: Sequence[uuid.UUID]) -> ColumnElement[bool]:
    # One array parameter, whatever the number of materials.
    return column == any_(literal(list(material_ids), ARRAY(Uuid())))  # type: ignore[no-any-return]


@dataclass(frozen=True)
class RetrievedChunk:
    id: uuid.UUID
    material_id: uuid.UUID
    file_name: str
    mime_type: str
    ordinal: int
    heading: str | None
    page_number: int | None
    text: str
    score: float

    @property
    def is_slide(self) -> bool:
        return self.mime_type.endswith("presentationml.presentation")

    def to_passage(self) -> Passage:
        body_offset = self.text.find("\n\n") + 2 if self.heading and "\n\n" in self.text else 0
        return Passage(
            id=str(self.id),
            text=self.text,
            body_offset=body_offset,
            heading=self.heading,
            material_id=str(self.material_id),
            page=None if self.is_slide else self.page_number,
            slide=self.page_number if self.is_slide else None,
        )


def pad_vector(vector: Sequence[float]) -> list[float]:
    if len(vector) > EMBEDDING_DIMENSIONS:
        raise ValueError(
            f"embeddings of {len(vector)} dimensions exceed the {EMBEDDING_DIMENSIONS} stored"
        )
    return [*vector, *([0.0] * (EMBEDDING_DIMENSIONS - len(vector)))]


def _base(material_ids: Sequence[uuid.UUID]) -> Any:
    """Chunk (id, text) rows of the scope's materials; typed loosely across SQLAlchemy 2.0/2.1."""
    return select(MaterialChunk.id, MaterialChunk.chunk_text).where(
        _in_scope(MaterialChunk.material_id, material_ids)
    )


_DOCUMENT_FREQUENCY = text(
    """
    SELECT l, (SELECT count(*) FROM (
        SELECT 1 FROM material_chunks c
        WHERE c.material_id = ANY(:scope) AND c.search_vector @@ quote_literal(l)::tsquery
        LIMIT :cap
    ) s) AS n,
    (SELECT coalesce(sum(m.chunk_count), 0) FROM materials m WHERE m.id = ANY(:scope)) AS total
    FROM unnest(tsvector_to_array(to_tsvector('english'::regconfig, :query))) AS l
    """
)


def _idf(n: int, total: int) -> float:
    return math.log(1.0 + (total - n + 0.5) / (n + 0.5))


async def _term_weights(
    session: AsyncSession, material_ids: Sequence[uuid.UUID], query: str
) -> tuple[dict[str, float], list[str]]:
    """IDF of each query lexeme over the scope's chunks, and the lexemes that pick candidates.

    Counting stops at ``COMMON_CAP``: a lexeme that common weighs little anyway, and ranking
    every chunk that shares it would cost time in proportion to the corpus, so it does not
    select candidates (unless nothing rarer is in the query).
    """
    rows = (
        await session.execute(
            _DOCUMENT_FREQUENCY,
            {"scope": list(material_ids), "query": query, "cap": COMMON_CAP},
        )
    ).all()
    found = [(str(lexeme), int(n), max(int(total), int(n))) for lexeme, n, total in rows if n > 0]
    weights = {lexeme: _idf(n, total) for lexeme, n, total in found}
    selective = [lexeme for lexeme, n, _ in found if n < COMMON_CAP]
    if not selective:
        selective = [lexeme for lexeme, _, _ in sorted(found, key=lambda row: row[1])[:2]]
    return weights, selective


def _bm25(rows: Sequence[Any], terms: Sequence[str], idf: dict[str, float]) -> list[float]:
    """Okapi BM25 from (id, token_count, tf of each term) rows; corpus IDF, candidate avgdl."""
    average = (sum(row[1] for row in rows) / len(rows)) or 1.0
    k1, b = 1.2, 0.75
    scores = []
    for row in rows:
        norm = k1 * (1.0 - b + b * row[1] / average)
        scores.append(
            sum(
                idf[t] * tf * (k1 + 1.0) / (tf + norm)
                for t, tf in zip(terms, row[2:], strict=True)
                if tf
            )
        )
    return scores


def _term_frequency(term: str) -> ColumnElement[Any]:
    """How often ``term`` occurs in the chunk, read from its tsvector positions."""
    lexemes = func.unnest(MaterialChunk.search_vector).table_valued("lexeme", "positions")
    return func.coalesce(
        select(func.array_length(lexemes.c.positions, 1))
        .where(lexemes.c.lexeme == term)
        .scalar_subquery(),
        0,
    )


async def _lexical(
    session: AsyncSession, material_ids: Sequence[uuid.UUID], query: str
) -> list[uuid.UUID]:
    weights, selective = await _term_weights(session, material_ids, query)
    if not selective:
        return []
    # Candidates: chunks holding the rarer query words, ordered by the IDF mass they hold (a
    # question rarely shares every word with its answer, so any word may match).
    matches = [
        MaterialChunk.search_vector.op("@@")(cast("'" + t.replace("'", "''") + "'", TSQUERY))
        for t in selective
    ]
    mass = sum(
        (case((match, weights[t]), else_=0.0) for t, match in zip(selective, matches, strict=True)),
        start=literal(0.0),
    )
    terms = list(weights)
    candidates = (
        _base(material_ids)
        .where(or_(*matches))
        .order_by(mass.desc(), MaterialChunk.id)
        .limit(LEXICAL_CANDIDATES)
        .with_only_columns(
            MaterialChunk.id,
            MaterialChunk.token_count,
            *(_term_frequency(t) for t in terms),
        )
    )
    rows = (await session.execute(candidates)).all()
    if not rows:
        return []
    scores = _bm25(rows, terms, weights)
    order = sorted(range(len(rows)), key=lambda i: (-scores[i], i))
    return [rows[i][0] for i in order if scores[i] > 0]


async def _dense(
    session: AsyncSession,
    material_ids: Sequence[uuid.UUID],
    vector: Sequence[float],
    model: str,
) -> list[uuid.UUID]:
    # Iterative scans keep walking the HNSW graph until enough rows pass the user filter.
    await session.execute(text("SET LOCAL hnsw.iterative_scan = relaxed_order"))
    distance = MaterialChunk.embedding.cosine_distance(pad_vector(vector))
    rows = (
        await session.execute(
            _base(material_ids)
            .where(MaterialChunk.embedding_model == model, MaterialChunk.embedding.is_not(None))
            .order_by(distance)
            .limit(DENSE_CANDIDATES)
        )
    ).all()
    return [row[0] for row in rows]


async def embed_query(
    settings: Settings, query: str, calls: list[UsageCall]
) -> tuple[list[float] | None, str | None]:
    """The query's vector when an embedding provider is configured; a failure only costs recall."""
    client = embedding_client(settings)
    if client is None:
        return None, None
    try:
        result = await client.embed([query])
    except LlmError as exc:
        calls.append(UsageCall(client.model, 0, 0, "failed", exc.message))
        return None, None
    calls.append(UsageCall(result.model, result.prompt_tokens, 0))
    return result.vectors[0], result.model


async def search(
    session: AsyncSession,
    user_id: uuid.UUID,
    query: str,
    *,
    k: int = 6,
    material_ids: Sequence[uuid.UUID] | None = None,
    query_vector: Sequence[float] | None = None,
    embedding_model: str | None = None,
) -> list[RetrievedChunk]:
    """The ``k`` best chunks for ``query`` among the materials ``user_id`` may read."""
    readable = await scope(session, user_id, material_ids)
    if not readable:
        return []
    rankings = [await _lexical(session, readable, query)]
    if query_vector is not None and embedding_model:
        rankings.append(await _dense(session, readable, query_vector, embedding_model))
    fused = rrf(rankings)[:k]
    if not fused:
        return []
    ids = [chunk_id for chunk_id, _ in fused]
    rows = (
        await session.execute(
            select(MaterialChunk, Material.file_name, Material.mime_type)
            .join(Material, Material.id == MaterialChunk.material_id)
            .where(MaterialChunk.id.in_(ids), _in_scope(Material.id, readable))
        )
    ).all()
    found = {chunk.id: (chunk, name, mime) for chunk, name, mime in rows}
    results: list[RetrievedChunk] = []
    for chunk_id, score in fused:
        if chunk_id not in found:
            continue
        chunk, name, mime = found[chunk_id]
        results.append(
            RetrievedChunk(
                id=chunk.id,
                material_id=chunk.material_id,
                file_name=name,
                mime_type=mime,
                ordinal=chunk.ordinal,
                heading=chunk.heading,
                page_number=chunk.page_number,
                text=chunk.chunk_text,
                score=score,
            )
        )
    return results
