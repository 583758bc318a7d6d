"""Study: the chunk vectors are indexed by size, small ones in half precision at their own size.

Every vector is stored zero-padded to ``vector(1536)``, and the one HNSW index held 6 KB per
chunk and compared 1,536 dimensions per step, though the packaged local model gives 384. Now:

- ``ix_material_chunks_embedding_small``: vectors that are zeros past 384 dimensions (models of at
  most 384), indexed as ``subvector(embedding, 1, 384)::halfvec(384)`` (768 bytes per tuple;
  cosine distance unchanged, the padding is zeros);
- ``ix_material_chunks_embedding_large``: the other vectors, as before.

Each stored vector is in exactly one; retrieval repeats the expression and the predicate of the
one that fits its query vector. Both are built ``CONCURRENTLY`` (writes go on while they build),
then the old index is dropped the same way. On a large table the build may outlast the migration's
statement timeout: build them by hand with the statements below first (``IF NOT EXISTS`` makes the
migration skip them).

Revision ID: 0026_chunk_vector_indexes
Revises: 0025_chat_thread_material
Create Date: 2026-12-07
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0026_chunk_vector_indexes"
down_revision: str | None = "0025_chat_thread_material"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_PADDING_NORM = "vector_norm(subvector(embedding, 385, 1152))"


def upgrade() -> None:
    with op.get_context().autocommit_block():
        op.execute(
            "CREATE INDEX CONCURRENTLY IF NOT EXISTS ix_material_chunks_embedding_small "
            "ON material_chunks USING hnsw "
            "(CAST(subvector(embedding, 1, 384) AS halfvec(384)) halfvec_cosine_ops) "
            f"WHERE {_PADDING_NORM} = 0"
        )
        op.execute(
            "CREATE INDEX CONCURRENTLY IF NOT EXISTS ix_material_chunks_embedding_large "
            "ON material_chunks USING hnsw (embedding vector_cosine_ops) "
            f"WHERE {_PADDING_NORM} > 0"
        )
        op.execute("DROP INDEX CONCURRENTLY IF EXISTS ix_material_chunks_embedding")


def downgrade() -> None:
    with op.get_context().autocommit_block():
        op.execute(
            "CREATE INDEX CONCURRENTLY IF NOT EXISTS ix_material_chunks_embedding "
            "ON material_chunks USING hnsw (embedding vector_cosine_ops)"
        )
        op.execute("DROP INDEX CONCURRENTLY IF EXISTS ix_material_chunks_embedding_large")
        op.execute("DROP INDEX CONCURRENTLY IF EXISTS ix_material_chunks_embedding_small")
