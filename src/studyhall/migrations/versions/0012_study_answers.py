"""Study answers: a chat reply that the materials do not support names related passages.

- ``chat_messages.related`` (JSONB, default ``[]``): the nearest passages offered when the answer
  is "not found in your materials", kept apart from ``citations`` (the answer's sources).
- ``materials.embedding_model``: set once every chunk has a vector from that model, so a
  material can say when semantic search of it is ready.

Revision ID: 0012_study_answers
Revises: 0011_study_retrieval
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0012_study_answers"
down_revision: str | None = "0011_study_retrieval"
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


def downgrade() -> None:
    op.drop_column("materials", "embedding_model")
    op.drop_column("chat_messages", "related")
