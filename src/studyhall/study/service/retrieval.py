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

from sqlalchemy import (
    ColumnElement,
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
    union_all,
)
from sqlalchemy.dialects.postgresql import ARRAY, TSQUERY
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.config import Settings
from studyhall.courses import service as courses
from studyhall.study.engine.answer import unseen_idf
from studyhall.study.engine.chunk import Passage
from studyhall.study.engine.lexical import rrf
from studyhall.study.models import (
    EMBEDDING_DIMENSIONS,
    Material,
    MaterialChunk,
    MaterialLexeme,
    searchable_chunks,
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


async def _scope(
    session: AsyncSession,
    user_id: uuid.UUID,
    material_ids: Sequence[uuid.UUID] | None = None,
    topic_id: uuid.UUID | None = None,
) -> _Scope:
    query = (
        select(Material.id, Material.chunk_count)
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


# Document frequencies from the per-material lexeme counts: one index probe per lexeme and
# material of the scope, however common the word (counting matching chunks cost a GIN scan and a
# heap visit per match, per query word).
_DOCUMENT_FREQUENCY = text(
    """
    SELECT l.lexeme, coalesce(sum(s.chunks), 0) AS n
    FROM unnest(tsvector_to_array(to_tsvector('english'::regconfig, :query))) AS l(lexeme)
    LEFT JOIN material_lexemes s ON s.lexeme = l.lexeme AND s.material_id = ANY(:materials)
    GROUP BY l.lexeme
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
    """IDF of the query lexemes found in the scope, the ones that pick candidates, and the IDF
    mass of the whole query (lexemes the scope never uses weigh the most)."""

    weights: dict[str, float]
    selective: list[str]
    query_mass: float


async def _term_weights(session: AsyncSession, scope: _Scope, query: str) -> _Terms:
    """IDF of each query lexeme over the scope's chunks, and the lexemes that pick candidates.

    A lexeme in ``COMMON_CAP`` chunks or more weighs little, and ranking every chunk that shares
    it would cost time in proportion to the corpus, so it does not select candidates (unless
    nothing rarer is in the query).
    """
    rows = (
        await session.execute(
            _DOCUMENT_FREQUENCY, {"materials": scope.material_ids, "query": query}
        )
    ).all()
    found = sorted(((str(lexeme), int(n)) for lexeme, n in rows if n > 0), key=lambda r: r[1])
    weights = {lexeme: _idf(n, max(scope.chunk_count, n)) for lexeme, n in found}
    selective = _selective(found)
    unseen = unseen_idf(scope.chunk_count)
    mass = sum(weights.get(str(lexeme), unseen) for lexeme, _ in rows)
    return _Terms(weights, selective, mass)


def _selective(found: Sequence[tuple[str, int]]) -> list[str]:
    """The rarest lexemes (``found`` is rarest first) whose matches stay within the candidate
    budget: a long question's common words would make every match be scored, and add little
    IDF mass. At least one lexeme always selects (the two rarest when all are common)."""
    chosen: list[str] = []
    matches = 0
    for lexeme, n in found:
        if n >= COMMON_CAP or (chosen and matches + n > MATCH_BUDGET):
            break
        chosen.append(lexeme)
        matches += n
    return chosen or [lexeme for lexeme, _ in found[:2]]


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


def _lexeme(term: str) -> ColumnElement[Any]:
    return cast("'" + term.replace("'", "''") + "'", TSQUERY)


async def _top_by_mass(
    session: AsyncSession, scope: _Scope, weights: dict[str, float], selective: list[str]
) -> list[Any]:
    """Ids of the ``LEXICAL_CANDIDATES`` chunks holding the most IDF mass of the selecting words
    (a question rarely shares every word with its answer, so any of them may match).

    Each word's matches come from the GIN index alone (a one-lexeme query needs no recheck, so
    no tsvector is read); the sum per chunk is done here, over at most ``MATCH_BUDGET`` ids.
    """
    chunks = searchable_chunks
    per_word = [
        select(literal(t).label("lexeme"), chunks.c.id).where(
            _in_scope(scope), chunks.c.search_vector.op("@@")(_lexeme(t))
        )
        for t in selective
    ]
    mass: dict[Any, float] = {}
    for lexeme, chunk_id in await session.execute(union_all(*per_word)):
        mass[chunk_id] = mass.get(chunk_id, 0.0) + weights[lexeme]
    return sorted(mass, key=lambda cid: (-mass[cid], cid))[:LEXICAL_CANDIDATES]


async def _candidates(
    session: AsyncSession, scope: _Scope, weights: dict[str, float], selective: list[str]
) -> list[tuple[Any, ...]]:
    """(id, token_count, tf of each term in ``weights``) of the best-massed candidate chunks.

    Term frequencies come from one pass over each candidate's tsvector, after the limit.
    """
    top = await _top_by_mass(session, scope, weights, selective)
    if not top:
        return []
    chunks = searchable_chunks
    ids = bindparam("candidate_ids", top, type_=ARRAY(Uuid()))
    picked = (
        select(chunks.c.id, chunks.c.token_count, chunks.c.search_vector)
        .where(_in_scope(scope), chunks.c.id == any_(ids))
        .cte("picked")
    )
    entries = func.unnest(picked.c.search_vector).table_valued("lexeme", "positions").lateral()
    terms = list(weights)
    rows = await session.execute(
        select(
            picked.c.id, picked.c.token_count, entries.c.lexeme, entries.c.positions
        ).select_from(picked.outerjoin(entries, entries.c.lexeme.in_(terms)))
    )
    frequencies: dict[Any, tuple[int, dict[str, int]]] = {}
    for chunk_id, token_count, lexeme, positions in rows:
        _, counts = frequencies.setdefault(chunk_id, (token_count, {}))
        if lexeme is not None:
            counts[lexeme] = len(positions)
    # In mass order, as the ties of the BM25 sort are broken by position.
    return [
        (chunk_id, frequencies[chunk_id][0], *(frequencies[chunk_id][1].get(t, 0) for t in terms))
        for chunk_id in top
        if chunk_id in frequencies
    ]


def _coverage(row: Sequence[Any], terms: Sequence[str], terms_of: _Terms) -> float:
    held = sum(terms_of.weights[t] for t, tf in zip(terms, row[2:], strict=True) if tf)
    return held / terms_of.query_mass if terms_of.query_mass > 0 else 0.0


async def _lexical(
    session: AsyncSession, scope: _Scope, query: str
) -> tuple[list[uuid.UUID], dict[uuid.UUID, float]]:
    """Chunk ids best first, and the share of the query's IDF mass each one holds."""
    terms_of = await _term_weights(session, scope, query)
    if not terms_of.selective:
        return [], {}
    rows = await _candidates(session, scope, terms_of.weights, terms_of.selective)
    if not rows:
        return [], {}
    terms = list(terms_of.weights)
    scores = _bm25(rows, terms, terms_of.weights)
    order = sorted(range(len(rows)), key=lambda i: (-scores[i], i))
    coverage = {row[0]: _coverage(row, terms, terms_of) for row in rows}
    return [rows[i][0] for i in order if scores[i] > 0], coverage


async def _dense(
    session: AsyncSession, scope: _Scope, vector: Sequence[float], model: str
) -> list[uuid.UUID]:
    """The nearest chunks by cosine distance, from the HNSW index.

    Iterative scans keep walking the graph until enough rows pass the scope filter; relaxed
    order may return them slightly out of order, so they are sorted here. The search list
    (``ef_search``) is a few times the candidates asked for, for recall close to an exact scan.
    """
    await session.execute(
        text(
            "SELECT set_config('hnsw.iterative_scan', 'relaxed_order', true), "
            "set_config('hnsw.ef_search', :ef_search, true)"
        ),
        {"ef_search": str(HNSW_EF_SEARCH)},
    )
    chunks = searchable_chunks
    distance = chunks.c.embedding.cosine_distance(pad_vector(vector))
    rows = (
        await session.execute(
            select(chunks.c.id, distance)
            .where(
                _in_scope(scope),
                chunks.c.embedding_model == model,
                chunks.c.embedding.is_not(None),
            )
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
    scope = await _scope(session, user_id, material_ids)
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
    rows = (
        await session.execute(
            select(MaterialChunk, Material.file_name, Material.mime_type)
            .join(Material, Material.id == MaterialChunk.material_id)
            .where(MaterialChunk.id.in_(ids), Material.id.in_(scope.material_ids))
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
                coverage=coverage.get(chunk.id, 0.0),
            )
        )
    return results
