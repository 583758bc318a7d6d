"""Study: a chat thread may be about one material, so a learner finds the conversations they
had about a document and goes on with one.

- ``chat_threads.material_id``: the material the thread was started from; questions asked in
  the thread answer from it unless they name their own materials. A loose reference, like the
  thread's ``topic_id``: the conversation outlives a material that is deleted (it then answers
  from nothing and says so). A foreign key would need a second transaction to validate, which
  cannot be rerun safely beside the index built concurrently here.
- ``ix_chat_threads_material_id``, built concurrently: a material's threads for its page.

Revision ID: 0025_chat_thread_material
Revises: 0024_rls_wall
Create Date: 2026-12-07
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0025_chat_thread_material"
down_revision: str | None = "0024_rls_wall"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEX = "ix_chat_threads_material_id"


def upgrade() -> None:
    op.execute("ALTER TABLE chat_threads ADD COLUMN IF NOT EXISTS material_id uuid")
    with op.get_context().autocommit_block():
        op.execute(f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {INDEX} ON chat_threads (material_id)")


def downgrade() -> None:
    with op.get_context().autocommit_block():
        op.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {INDEX}")
    op.execute("ALTER TABLE chat_threads DROP COLUMN IF EXISTS material_id")
