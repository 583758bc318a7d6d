"""Billing: saved cards (``payment_methods``) for Paymob subscription renewals, and an index to
find a payment by the Paymob order its callbacks name.

Revision ID: 0009_payment_methods
Revises: 0008_credit_balance_profile
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from studyhall.db.migration_helpers import legacy_owner_rls as enable_owner_rls
from studyhall.db.migration_helpers import updated_at_trigger

revision: str = "0009_payment_methods"
down_revision: str | None = "0008_credit_balance_profile"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "payment_methods",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("provider", sa.String(length=20), nullable=False),
        sa.Column("token_encrypted", sa.LargeBinary(), nullable=False),
        sa.Column("encryption_key_id", sa.String(length=64), nullable=False),
        sa.Column("token_sha256", sa.String(length=64), nullable=False),
        sa.Column("masked_pan", sa.String(length=32), nullable=False),
        sa.Column("brand", sa.String(length=40), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "provider IN ('manual', 'stripe', 'paymob')",
            name=op.f("ck_payment_methods_provider"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_payment_methods_user_id_users"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_methods")),
    )
    op.create_index(
        op.f("ix_payment_methods_user_id"), "payment_methods", ["user_id"], unique=False
    )
    op.create_index(
        "uq_payment_methods_provider_token_sha256",
        "payment_methods",
        ["provider", "token_sha256"],
        unique=True,
        postgresql_where=sa.text("deleted_at IS NULL"),
    )
    updated_at_trigger("payment_methods")
    enable_owner_rls("payment_methods")
    op.create_index(
        "ix_payments_provider_provider_checkout_id",
        "payments",
        ["provider", "provider_checkout_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_payments_provider_provider_checkout_id", table_name="payments")
    op.drop_index(
        "uq_payment_methods_provider_token_sha256",
        table_name="payment_methods",
        postgresql_where=sa.text("deleted_at IS NULL"),
    )
    op.drop_index(op.f("ix_payment_methods_user_id"), table_name="payment_methods")
    op.drop_table("payment_methods")
