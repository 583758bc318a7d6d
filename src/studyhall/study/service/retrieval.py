"""Hybrid retrieval over ``material_chunks``: PostgreSQL full-text candidates re-ranked with BM25,
pgvector nearest neighbours when embeddings are configured, fused by reciprocal rank fusion.

Every query is confined to ``scope``, the ids of the materials the user may read (their own, and
course materials the courses domain lets them read), so a user's search never reaches another
user's private chunks. Chunks are read through the view ``material_chunks_searchable``, which
applies row level security's rule as a plain condition so that ``@@`` (not LEAKPROOF) may use the
GIN index; the materials and the returned chunks are read under row level security itself.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pgvector.sqlalchemy import HALFVEC
from sqlalchemy import (
    ColumnElement,
    Float,
    Uuid,
    and_,
    any_,
    bindparam,
    cast,
    delete,
    func,
    literal,
    or_,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.config import Settings
from studyhall.courses import service as courses
from studyhall.study.engine.answer import unseen_idf
from studyhall.study.engine.chunk import Passage
from studyhall.study.engine.language import detect_language, text_search_config
from studyhall.study.engine.lexical import rrf
from studyhall.study.models import (
    EMBEDDING_DIMENSIONS,
    SMALL_EMBEDDING_DIMENSIONS,
    Material,
    MaterialChunk,
    MaterialLexeme,
    is_large_embedding,
    is_small_embedding,
    searchable_chunks,
    small_embedding,
)
from studyhall.study.providers.embeddings import embedding_client
from studyhall.study.providers.llm import LlmError
from studyhall.study.service.quota import UsageCall

__all__ = [
    "RetrievedChunk",
    "accessible_materials",
    "embed_query",
    "index_lexemes",
    "pad_vector",
    "readable_materials",
    "scope",
    "search",
]

# Full-text finds candidates, weighed by IDF; BM25 (ts_rank has no IDF) orders them.
LEXICAL_CANDIDATES = 100
DENSE_CANDIDATES = 40
HNSW_EF_SEARCH = 100
# A lexeme found in this many of the user's chunks no longer selects candidates (see below).
COMMON_CAP = 500
# The chunks matched by the selecting lexemes, summed over them, stay under this (see _selective).
MATCH_BUDGET = 400
# Reciprocal rank fusion weights (lexical, dense), tuned on the public SQuAD subset with the
# packaged all-MiniLM-L6-v2: alone the vectors rank worse (hit@1 .77 vs .87), so at equal weight
# they pulled good lexical hits down; at a quarter weight they only break ties and lift misses
# (docs/study.md, "Dense retrieval").
FUSION_WEIGHTS = (1.0, 0.25)


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
    # Share of the question's IDF mass this chunk holds (0 for a chunk only the vectors found):
    # the evidence an answer may rest on (``engine.answer.ABSTAIN_BELOW``).
    coverage: float = 0.0

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


@dataclass(frozen=True)
class _Scope:
    """The materials one search reads, resolved once under row level security."""

    material_ids: list[uuid.UUID]
    chunk_count: int


# Read by the HNSW scan when it starts: set by the scope query of a search with a vector.
_HNSW_SETTINGS: ColumnElement[str] = func.concat(
    func.set_config("hnsw.iterative_scan", "relaxed_order", True),
    func.set_config("hnsw.ef_search", str(HNSW_EF_SEARCH), True),
)


async def _scope(
    session: AsyncSession,
    user_id: uuid.UUID,
    material_ids: Sequence[uuid.UUID] | None = None,
    topic_id: uuid.UUID | None = None,
    *,
    dense: bool = False,
) -> _Scope:
    # The vector search's settings ride along (transaction-local), saving a round trip.
    settings = _HNSW_SETTINGS if dense else literal("")
    query = (
        select(Material.id, Material.chunk_count, settings)
        .where(accessible_materials(user_id))
        .order_by(Material.id)
    )
    if material_ids:
        query = query.where(Material.id.in_(material_ids))
    if topic_id is not None:
        query = query.where(Material.id.in_(courses.lesson_material_ids(user_id, topic_id)))
    rows = (await session.execute(query)).all()
    return _Scope([row[0] for row in rows], sum(row[1] for row in rows))


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
    return (await _scope(session, user_id, material_ids, topic_id)).material_ids


def _in_scope(scope: _Scope) -> ColumnElement[bool]:
    # Chunks are read through ``searchable_chunks`` (row level security's rule as a plain
    # condition) so full-text and vector conditions can use their indexes; the scope's material
    # ids are a constant of the statement, so no join can make the planner repeat an index scan
    # once per material.
    ids = bindparam("scope_material_ids", scope.material_ids, type_=ARRAY(Uuid()))
    return searchable_chunks.c.material_id == any_(ids)


# One statement per lexical search (each round trip to the server costs more than the work
# itself on a busy machine):
# 1. ``df``: document frequencies from the per-material lexeme counts, one index probe per
#    query lexeme and material of the scope, however common the word;
# 2. ``selecting``: the rarest lexemes whose matches add up to at most ``MATCH_BUDGET`` chunks
#    (a long question's common words would make every match be scored, and add little IDF
#    mass); a lexeme in ``COMMON_CAP`` chunks or more never selects, unless nothing rarer is in
#    the query (the rarest always selects, the two rarest when all are common);
# 3. ``top``: each selecting lexeme's matches from the GIN index (a one-lexeme query needs no
#    recheck), the IDF mass summed per chunk, the ``LEXICAL_CANDIDATES`` chunks holding the most;
# 4. their term frequencies: ``setweight`` marks the query's lexemes and ``ts_filter`` keeps only
#    them (binary searches in the stored vector), so a few entries per candidate are unnested
#    instead of every lexeme of every candidate.
# The rows are the document frequencies (``chunk_id`` NULL), then the candidates' frequencies.
_LEXICAL = text(
    r"""
    WITH q AS (
        SELECT DISTINCT l AS lexeme
        FROM unnest(tsvector_to_array(to_tsvector(CAST(:config AS regconfig), :query))) AS l
    ),
    df AS (
        SELECT q.lexeme, coalesce(sum(s.chunks), 0)::int AS n
        FROM q LEFT JOIN material_lexemes s
            ON s.lexeme = q.lexeme AND s.material_id = ANY(:materials)
        GROUP BY q.lexeme
    ),
    ranked AS (
        SELECT lexeme, n,
               ln(1.0 + (greatest(:total, n) - n + 0.5) / (n + 0.5))::float8 AS idf,
               row_number() OVER (ORDER BY n, lexeme) AS rarity,
               sum(n) OVER (ORDER BY n, lexeme) AS running
        FROM df WHERE n > 0
    ),
    chosen AS (
        SELECT lexeme, idf FROM ranked
        WHERE n < :common_cap AND (rarity = 1 OR running <= :budget)
    ),
    selecting AS (
        SELECT lexeme, idf FROM chosen
        UNION ALL
        SELECT lexeme, idf FROM ranked WHERE rarity <= 2 AND NOT EXISTS (SELECT FROM chosen)
    ),
    top AS (
        SELECT m.id, sum(s.idf) AS mass
        FROM selecting s CROSS JOIN LATERAL (
            SELECT c.id FROM material_chunks_searchable c
            WHERE c.material_id = ANY(:materials)
              AND c.search_vector @@ CAST(
                  '''' || replace(replace(s.lexeme, '\', '\\'), '''', '''''') || ''''
                  AS tsquery)
        ) m
        GROUP BY m.id
        ORDER BY mass DESC, m.id
        LIMIT :candidates
    )
    SELECT NULL::uuid AS chunk_id, NULL::int AS token_count, NULL::float8 AS mass,
           lexeme, n AS frequency
    FROM df
    UNION ALL
    SELECT t.id, c.token_count, t.mass, e.lexeme, coalesce(array_length(e.positions, 1), 1)
    FROM top t
    JOIN material_chunks_searchable c ON c.id = t.id AND c.material_id = ANY(:materials)
    CROSS JOIN LATERAL unnest(ts_filter(
        setweight(c.search_vector, 'A', ARRAY(SELECT lexeme FROM ranked)), '{a}')) AS e
    """
).bindparams(bindparam("materials", type_=ARRAY(Uuid())))

_INDEX_LEXEMES = text(
    """
    INSERT INTO material_lexemes (lexeme, material_id, user_id, chunks)
    SELECT l, c.material_id, c.user_id, count(*)
    FROM material_chunks c, unnest(tsvector_to_array(c.search_vector)) AS l
    WHERE c.material_id = :material
    GROUP BY l, c.material_id, c.user_id
    """
)


async def index_lexemes(session: AsyncSession, material_id: uuid.UUID) -> None:
    """Count, once per stored chunk set, how many of the material's chunks hold each lexeme."""
    await session.execute(delete(MaterialLexeme).where(MaterialLexeme.material_id == material_id))
    await session.execute(_INDEX_LEXEMES, {"material": material_id})


def _idf(n: int, total: int) -> float:
    return math.log(1.0 + (total - n + 0.5) / (n + 0.5))


@dataclass(frozen=True)
class _Terms:
    """IDF of the query lexemes found in the scope, and the IDF mass of the whole query
    (lexemes the scope never uses weigh the most)."""

    weights: dict[str, float]
    query_mass: float


def _terms(frequencies: Sequence[tuple[str, int]], total: int) -> _Terms:
    weights = {lexeme: _idf(n, max(total, n)) for lexeme, n in frequencies if n > 0}
    unseen = unseen_idf(total)
    return _Terms(weights, sum(weights.get(lexeme, unseen) for lexeme, _ in frequencies))


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


def _candidate_rows(rows: Sequence[Any], terms: Sequence[str]) -> list[tuple[Any, ...]]:
    """(id, token_count, tf of each term) of the candidates, most IDF mass first (the ties of
    the BM25 sort are broken by this position)."""
    found: dict[Any, tuple[int, float, dict[str, int]]] = {}
    for chunk_id, token_count, mass, lexeme, frequency in rows:
        found.setdefault(chunk_id, (token_count, mass, {}))[2][lexeme] = frequency
    order = sorted(found, key=lambda cid: (-found[cid][1], cid))
    return [(cid, found[cid][0], *(found[cid][2].get(t, 0) for t in terms)) for cid in order]


def _coverage(row: Sequence[Any], terms: Sequence[str], terms_of: _Terms) -> float:
    held = sum(terms_of.weights[t] for t, tf in zip(terms, row[2:], strict=True) if tf)
    return held / terms_of.query_mass if terms_of.query_mass > 0 else 0.0


async def _lexical(
    session: AsyncSession, scope: _Scope, query: str
) -> tuple[list[uuid.UUID], dict[uuid.UUID, float]]:
    """Chunk ids best first, and the share of the query's IDF mass each one holds."""
    result = await session.execute(
        _LEXICAL,
        {
            "materials": scope.material_ids,
            "query": query,
            "config": text_search_config(detect_language(query)),
            "total": scope.chunk_count,
            "common_cap": COMMON_CAP,
            "budget": MATCH_BUDGET,
            "candidates": LEXICAL_CANDIDATES,
        },
    )
    frequencies: list[tuple[str, int]] = []
    matched = []
    for row in result:
        if row[0] is None:
            frequencies.append((str(row[3]), int(row[4])))
        else:
            matched.append(row)
    if not matched:
        return [], {}
    terms_of = _terms(frequencies, scope.chunk_count)
    terms = list(terms_of.weights)
    rows = _candidate_rows(matched, terms)
    scores = _bm25(rows, terms, terms_of.weights)
    order = sorted(range(len(rows)), key=lambda i: (-scores[i], i))
    coverage = {row[0]: _coverage(row, terms, terms_of) for row in rows}
    return [rows[i][0] for i in order if scores[i] > 0], coverage


def _vector_distance(vector: Sequence[float]) -> tuple[ColumnElement[Any], ColumnElement[bool]]:
    """The cosine distance to ``vector`` and the condition, both as one HNSW index of
    ``material_chunks`` writes them: a vector of a small model (at most 384 dimensions) is
    compared in half precision at 384 dimensions with the small vectors' index, a larger one
    with the full index of the larger vectors (migration 0025). A stored vector of the query's
    model is of its size, so it is in the index searched."""
    embedding = searchable_chunks.c.embedding
    if len(vector) <= SMALL_EMBEDDING_DIMENSIONS:
        padded = [*vector, *([0.0] * (SMALL_EMBEDDING_DIMENSIONS - len(vector)))]
        query = cast(padded, HALFVEC(SMALL_EMBEDDING_DIMENSIONS))
        distance = small_embedding(embedding).op("<=>", return_type=Float)(query)
        return distance, is_small_embedding(embedding)
    return embedding.cosine_distance(pad_vector(vector)), is_large_embedding(embedding)


async def _dense(
    session: AsyncSession, scope: _Scope, vector: Sequence[float], model: str
) -> list[uuid.UUID]:
    """The nearest chunks by cosine distance, from the HNSW index.

    Iterative scans keep walking the graph until enough rows pass the scope filter; relaxed
    order may return them slightly out of order, so they are sorted here. The search list
    (``ef_search``) is a few times the candidates asked for, for recall close to an exact scan.

    The search settings were set by ``_scope`` (``dense=True``) in the same transaction.
    """
    distance, fits_index = _vector_distance(vector)
    rows = (
        await session.execute(
            select(searchable_chunks.c.id, distance)
            .where(_in_scope(scope), searchable_chunks.c.embedding_model == model, fits_index)
            .order_by(distance)
            .limit(DENSE_CANDIDATES)
        )
    ).all()
    return [row[0] for row in sorted(rows, key=lambda row: (row[1], row[0]))]


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
    dense = query_vector is not None and bool(embedding_model)
    scope = await _scope(session, user_id, material_ids, dense=dense)
    if not scope.material_ids:
        return []
    lexical, coverage = await _lexical(session, scope, query)
    rankings = [lexical]
    if query_vector is not None and embedding_model:
        rankings.append(await _dense(session, scope, query_vector, embedding_model))
    fused = rrf(rankings, weights=FUSION_WEIGHTS[: len(rankings)])[:k]
    if not fused:
        return []
    ids = [chunk_id for chunk_id, _ in fused]
    # Only what a hit shows: not the stored vectors (kilobytes per chunk to send and parse).
    rows = (
        await session.execute(
            select(
                MaterialChunk.id,
                MaterialChunk.material_id,
                MaterialChunk.ordinal,
                MaterialChunk.heading,
                MaterialChunk.page_number,
                MaterialChunk.chunk_text,
                Material.file_name,
                Material.mime_type,
            )
            .join(Material, Material.id == MaterialChunk.material_id)
            .where(MaterialChunk.id.in_(ids), Material.id.in_(scope.material_ids))
        )
    ).all()
    found = {row.id: row for row in rows}
    return [
        RetrievedChunk(
            id=row.id,
            material_id=row.material_id,
            file_name=row.file_name,
            mime_type=row.mime_type,
            ordinal=row.ordinal,
            heading=row.heading,
            page_number=row.page_number,
            text=row.chunk_text,
            score=score,
            coverage=coverage.get(row.id, 0.0),
        )
        for chunk_id, score in fused
        if (row := found.get(chunk_id)) is not None
    ]
