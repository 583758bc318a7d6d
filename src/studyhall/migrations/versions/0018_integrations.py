"""Outgoing webhooks: ``webhook_endpoints``, ``webhook_deliveries``, ``webhook_attempts``, and
``studyhall_webhook_outbox(event_type, body)``.

- The three tables are admin-only: a row is visible to a transaction that crosses users or to an
  admin (``app.user_role``); no other user reads or writes them.
- ``studyhall_webhook_outbox``: a domain event happens in a user's own transaction (a student
  books), and the outbox must be written in that same transaction without letting the student's
  transaction cross users. The function runs as the owner, does only that (one pending delivery
  per enabled endpoint subscribed to the event type) and returns the new deliveries' ids.

Revision ID: 0018_integrations
Revises: 0017_privacy
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from studyhall.db.migration_helpers import updated_at_trigger

revision: str = "0018_integrations"
down_revision: str | None = "0017_privacy"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("webhook_endpoints", "webhook_deliveries", "webhook_attempts")

OUTBOX_FUNCTION = """
CREATE FUNCTION studyhall_webhook_outbox(p_event_type text, p_body text) RETURNS SETOF uuid
LANGUAGE sql SECURITY DEFINER SET search_path = public, pg_temp AS $$
    INSERT INTO webhook_deliveries (endpoint_id, event_type, body, status, next_attempt_at)
    SELECT id, p_event_type, p_body, 'pending', now()
    FROM webhook_endpoints
    WHERE enabled AND p_event_type = ANY (event_types)
    RETURNING id
$$
"""


def _timestamps() -> list[sa.Column[object]]:
    return [
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
    ]


def _admin_only(table: str) -> None:
    op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
    op.execute(
        f"CREATE POLICY {table}_admins ON {table} USING ("
        "current_setting('app.bypass_rls', true) = 'on' OR "
        "current_setting('app.user_role', true) = 'admin')"
    )


def upgrade() -> None:
    op.create_table(
        "webhook_endpoints",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("url", sa.String(length=2048), nullable=False),
        sa.Column("description", sa.String(length=500), server_default="", nullable=False),
        sa.Column("event_types", postgresql.ARRAY(sa.String(length=64)), nullable=False),
        sa.Column("enabled", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("secret_encrypted", sa.LargeBinary(), nullable=False),
        sa.Column("previous_secret_encrypted", sa.LargeBinary(), nullable=True),
        sa.Column("previous_secret_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("encryption_key_id", sa.String(length=64), nullable=False),
        sa.Column("consecutive_failures", sa.Integer(), server_default="0", nullable=False),
        sa.Column("disabled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("disabled_reason", sa.String(length=200), nullable=True),
        *_timestamps(),
        sa.CheckConstraint(
            "cardinality(event_types) > 0", name=op.f("ck_webhook_endpoints_event_types")
        ),
        sa.CheckConstraint(
            "consecutive_failures >= 0", name=op.f("ck_webhook_endpoints_consecutive_failures")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_endpoints")),
    )
    op.create_table(
        "webhook_deliveries",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("endpoint_id", sa.UUID(), nullable=False),
        sa.Column("event_type", sa.String(length=64), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=20), server_default="pending", nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempt_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column("failed_attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("last_status_code", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        *_timestamps(),
        sa.CheckConstraint(
            "status IN ('pending', 'delivered', 'failed')",
            name=op.f("ck_webhook_deliveries_status"),
        ),
        sa.ForeignKeyConstraint(
            ["endpoint_id"],
            ["webhook_endpoints.id"],
            name=op.f("fk_webhook_deliveries_endpoint_id_webhook_endpoints"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_deliveries")),
    )
    op.create_index(
        "ix_webhook_deliveries_endpoint_id_created_at",
        "webhook_deliveries",
        ["endpoint_id", "created_at", "id"],
        unique=False,
    )
    op.create_index(
        "ix_webhook_deliveries_due",
        "webhook_deliveries",
        ["next_attempt_at"],
        unique=False,
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.create_table(
        "webhook_attempts",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("delivery_id", sa.UUID(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("duration_ms", sa.Integer(), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("error", sa.String(length=500), nullable=True),
        sa.Column("response_excerpt", sa.String(length=1000), nullable=True),
        sa.ForeignKeyConstraint(
            ["delivery_id"],
            ["webhook_deliveries.id"],
            name=op.f("fk_webhook_attempts_delivery_id_webhook_deliveries"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_attempts")),
    )
    op.create_index(
        "ix_webhook_attempts_delivery_id_number",
        "webhook_attempts",
        ["delivery_id", "number"],
        unique=False,
    )
    updated_at_trigger("webhook_endpoints")
    updated_at_trigger("webhook_deliveries")
    for table in TABLES:
        _admin_only(table)
    op.execute(OUTBOX_FUNCTION)
    op.execute("REVOKE ALL ON FUNCTION studyhall_webhook_outbox(text, text) FROM PUBLIC")


def downgrade() -> None:
    op.execute("DROP FUNCTION studyhall_webhook_outbox(text, text)")
    for table in reversed(TABLES):
        op.drop_table(table)
