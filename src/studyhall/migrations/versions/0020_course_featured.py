"""Courses an admin features in the catalogue: ``courses.featured_at`` (NULL: not featured; the
most recently featured show first).

Revision ID: 0020_course_featured
Revises: 0019_audit_partitions
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020_course_featured"
down_revision: str | None = "0019_audit_partitions"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("courses", sa.Column("featured_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    op.drop_column("courses", "featured_at")
