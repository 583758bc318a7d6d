"""The vector search reads the HNSW index that fits the query's vector: the small vectors' half
precision index for a model of at most 384 dimensions, the full one for a larger model, and each
finds the nearest chunks of its own model."""

from __future__ import annotations

import math
import uuid
from typing import Any

from sqlalchemy import event, insert, text

from studyhall.db.engine import Database
from studyhall.study.models import Material, MaterialChunk
from studyhall.study.service.retrieval import pad_vector, search


def _unit(dimensions: int, hot: int, seed: int) -> list[float]:
    """A unit vector leaning on one dimension, with a little of every other one (no zeros past
    384 for a large model: its vectors fill all their dimensions)."""
    vector = [0.01 * ((i * 7 + seed) % 5 + 1) for i in range(dimensions)]
    vector[hot] = 1.0
    norm = math.sqrt(sum(x * x for x in vector))
    return [x / norm for x in vector]


async def _material(owner_db: Database, user: uuid.UUID, vectors: dict[str, list[float]]) -> None:
    material_id = uuid.uuid4()
    async with owner_db.transaction() as session:
        await session.execute(
            insert(Material).values(
                id=material_id,
                user_id=user,
                file_name="notes.md",
                storage_key=f"{user}/{material_id}",
                mime_type="text/markdown",
                size_bytes=1,
                sha256="0" * 64,
                processing_status="completed",
                chunk_count=len(vectors),
            )
        )
        rows: list[dict[str, Any]] = []
        for ordinal, (words, vector) in enumerate(vectors.items()):
            model = "small-model" if len(vector) <= 384 else "large-model"
            rows.append(
                {
                    "material_id": material_id,
                    "user_id": user,
                    "ordinal": ordinal,
                    "char_start": 0,
                    "char_end": len(words),
                    "token_count": 3,
                    "chunk_text": words,
                    "embedding": pad_vector(vector),
                    "embedding_model": model,
                }
            )
        await session.execute(insert(MaterialChunk), rows)


class _VectorPlans:
    """The plan of every vector statement a session runs (EXPLAIN of it, with its parameters,
    on its connection, right after it ran)."""

    def __init__(self, database: Database) -> None:
        self.plans: list[str] = []
        self._engine = database.engine.sync_engine
        event.listen(self._engine, "after_cursor_execute", self._explain)

    def close(self) -> None:
        event.remove(self._engine, "after_cursor_execute", self._explain)

    def _explain(self, conn: Any, _cursor: Any, statement: str, params: Any, *_: Any) -> None:
        if "<=>" not in statement or statement.startswith("EXPLAIN"):
            return
        cursor = conn.connection.cursor()
        cursor.execute("EXPLAIN " + statement, params)
        self.plans.append("\n".join(row[0] for row in cursor.fetchall()))
        cursor.close()


async def _dense_search(db: Database, user: uuid.UUID, vector: list[float], model: str) -> str:
    async with db.transaction(user) as session:
        # A handful of rows: the planner would rather read them all and sort them; this asks
        # whether the statement can use its index at all (it can only if the expression and the
        # predicate are the index's).
        await session.execute(text("SET LOCAL enable_seqscan = off"))
        await session.execute(text("SET LOCAL enable_sort = off"))
        hits = await search(session, user, "zzz", k=1, query_vector=vector, embedding_model=model)
    return hits[0].text


async def test_each_model_searches_the_index_of_its_vectors_size(
    owner_db: Database, db: Database
) -> None:
    user = await _user(owner_db)
    small = {f"small {i}": _unit(64, i, i) for i in range(6)}
    large = {f"large {i}": _unit(768, i, i) for i in range(6)}
    await _material(owner_db, user, {**small, **large})
    plans = _VectorPlans(db)
    try:
        assert await _dense_search(db, user, _unit(64, 3, 0), "small-model") == "small 3"
        assert await _dense_search(db, user, _unit(768, 4, 1), "large-model") == "large 4"
    finally:
        plans.close()
    small_plan, large_plan = plans.plans
    assert "Index Scan using ix_material_chunks_embedding_small" in small_plan
    assert "Index Scan using ix_material_chunks_embedding_large" in large_plan


async def _user(owner_db: Database) -> uuid.UUID:
    async with owner_db.transaction() as session:
        user_id = await session.scalar(
            text(
                "INSERT INTO users (email, password_hash, name) "
                "VALUES ('vectors@example.com', 'x', 'v') RETURNING id"
            )
        )
    return uuid.UUID(str(user_id))
