"""Notifications.

Revision ID: 0007_notifications
Revises: 0006_study
Create Date: 2026-11-22
"""

from collections.abc import Sequence

revision: str = "0007_notifications"
down_revision: str | None = "0006_study"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
