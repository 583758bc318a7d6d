"""Scheduling.

Revision ID: 0004_scheduling
Revises: 0003_courses
Create Date: 2026-11-22
"""

from collections.abc import Sequence

revision: str = "0004_scheduling"
down_revision: str | None = "0003_courses"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
