"""Study answers: a chat reply that the materials do not support names related passages.

- ``chat_messages.related`` (JSONB, default ``[]``): the nearest passages offered when the answer
  is "not found in your materials", kept apart from ``citations`` (the answer's sources).
- ``materials.embedding_model``: set once every chunk has a vector from that model, so a
  material can say when semantic search of it is ready.
- ``material_lexemes``: how many of a material's chunks hold each lexeme (filled when chunks are
  stored, backfilled here), so search reads document frequencies with a few index probes. Row
  level security as on ``material_chunks``: the owner, and readers of the course materials.

Revision ID: 0016_study_answers
Revises: 0015_marketplace
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from studyhall.db.migration_helpers import legacy_owner_rls as enable_owner_rls

revision: str = "0016_study_answers"
down_revision: str | None = "0015_marketplace"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "chat_messages",
        sa.Column(
            "related",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'[]'::jsonb"),
            nullable=False,
        ),
    )

    op.add_column("materials", sa.Column("embedding_model", sa.Text(), nullable=True))
    # Materials embedded before this column existed: every chunk has a vector of one model.
    op.execute(
        """
        UPDATE materials m SET embedding_model = v.model
        FROM (
            SELECT material_id, min(embedding_model) AS model
            FROM material_chunks GROUP BY material_id
            HAVING count(*) = count(embedding) AND count(DISTINCT embedding_model) = 1
        ) v
        WHERE v.material_id = m.id AND m.processing_status = 'completed'
        """
    )

    op.create_table(
        "material_lexemes",
        sa.Column("lexeme", sa.Text(), nullable=False),
        sa.Column("material_id", sa.UUID(), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("chunks", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["material_id"],
            ["materials.id"],
            name=op.f("fk_material_lexemes_material_id_materials"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_material_lexemes_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("lexeme", "material_id", name=op.f("pk_material_lexemes")),
    )
    op.create_index(
        op.f("ix_material_lexemes_user_id"), "material_lexemes", ["user_id"], unique=False
    )
    enable_owner_rls("material_lexemes")
    op.execute(
        "CREATE POLICY material_lexemes_course_readers ON material_lexemes FOR SELECT USING ("
        "material_id IN (SELECT material_id FROM studyhall_course_materials("
        "nullif(current_setting('app.user_id', true), '')::uuid)))"
    )
    op.execute(
        """
        INSERT INTO material_lexemes (lexeme, material_id, user_id, chunks)
        SELECT l, c.material_id, c.user_id, count(*)
        FROM material_chunks c, unnest(tsvector_to_array(c.search_vector)) AS l
        GROUP BY l, c.material_id, c.user_id
        """
    )


def downgrade() -> None:
    op.drop_table("material_lexemes")
    op.drop_column("materials", "embedding_model")
    op.drop_column("chat_messages", "related")
