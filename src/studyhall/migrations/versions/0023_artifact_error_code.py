"""Study: a failed artifact says why with a stable code beside its message.

- ``ai_artifacts.error_code``: what clients branch on (``quiz_no_fair_questions``,
  ``material_too_short``, ``sources_unavailable``, ``internal_error``); ``error`` stays the
  readable message. Older failed rows keep a null code.

Revision ID: 0023_artifact_error_code
Revises: 0022_study_languages
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0023_artifact_error_code"
down_revision: str | None = "0022_study_languages"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("ai_artifacts", sa.Column("error_code", sa.Text(), nullable=True))


def downgrade() -> None:
    op.drop_column("ai_artifacts", "error_code")
