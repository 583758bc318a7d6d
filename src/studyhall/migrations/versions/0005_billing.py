"""Billing.

Revision ID: 0005_billing
Revises: 0004_scheduling
Create Date: 2026-11-22
"""

from collections.abc import Sequence

revision: str = "0005_billing"
down_revision: str | None = "0004_scheduling"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
