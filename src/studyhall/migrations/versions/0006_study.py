"""Study assistant.

Revision ID: 0006_study
Revises: 0005_billing
Create Date: 2026-11-22
"""

from collections.abc import Sequence

revision: str = "0006_study"
down_revision: str | None = "0005_billing"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
