"""Webhook events a callback could not prove: ``webhook_events.rejected_reason``.

A verified event whose claims do not match the payment it names (another payment than its signed
order, an amount or currency other than the payment's) is kept with the reason and changes
nothing; admins list such events.

Revision ID: 0013_webhook_rejections
Revises: 0012_progress
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013_webhook_rejections"
down_revision: str | None = "0012_progress"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("webhook_events", sa.Column("rejected_reason", sa.Text(), nullable=True))


def downgrade() -> None:
    op.drop_column("webhook_events", "rejected_reason")
