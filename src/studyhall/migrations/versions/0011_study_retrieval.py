"""Study retrieval: full-text and vector search over a user's chunks use their indexes.

1. Under row level security PostgreSQL may not evaluate a function that is not LEAKPROOF before
   the policy's own condition, and ``tsvector @@ tsquery`` is not LEAKPROOF: the API role's
   full-text query read and matched every one of the user's chunks instead of asking the GIN
   index (seconds per query at 20 000 chunks). The view ``material_chunks_searchable`` is owned
   by the table owner, so the table's policies are not applied to it; it applies their rule
   itself (the owner's chunks, or those of the course materials ``studyhall_course_materials``
   lets the reader see, migration 0010) as an ordinary condition, which the planner combines
   freely with the indexes. It exposes only what retrieval reads, and its check option keeps
   writes through it to the rows the policies allow. The owner test compares uuids rather than
   text: the same rows, but the planner can estimate it from the column's statistics (the text
   form looked so selective that an exact sort of every vector seemed cheaper than the HNSW
   index).
2. The GIN index stops using a pending list (``fastupdate``): every search had to scan the
   unsorted list of recent insertions (up to 4 MB) until a vacuum merged it; inserting chunks
   pays a little more instead, once.

Revision ID: 0011_study_retrieval
Revises: 0010_study_scope
Create Date: 2026-11-22
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0011_study_retrieval"
down_revision: str | None = "0010_study_scope"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # The rules of material_chunks' policies (enable_owner_rls()'s owner policy and 0010's course
    # readers); a malformed app.user_id fails the cast instead of matching nothing, and the API
    # only ever sets a uuid or ''.
    op.execute(
        """
        CREATE VIEW material_chunks_searchable AS
        SELECT id, material_id, user_id, token_count, search_vector, embedding, embedding_model
        FROM material_chunks
        WHERE current_setting('app.bypass_rls', true) = 'on'
           OR user_id = nullif(current_setting('app.user_id', true), '')::uuid
           OR material_id IN (
               SELECT material_id FROM studyhall_course_materials(
                   nullif(current_setting('app.user_id', true), '')::uuid))
        WITH LOCAL CHECK OPTION
        """
    )
    op.execute("ALTER INDEX ix_material_chunks_search_vector SET (fastupdate = off)")
    op.execute("SELECT gin_clean_pending_list('ix_material_chunks_search_vector')")


def downgrade() -> None:
    op.execute("ALTER INDEX ix_material_chunks_search_vector RESET (fastupdate)")
    op.execute("DROP VIEW material_chunks_searchable")
