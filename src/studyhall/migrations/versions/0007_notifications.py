"""Notifications: notifications (one row per channel), preferences, quiet-hours settings,
admin broadcasts.

Row level security keeps each user to their own rows; a trigger announces each in-app
notification that becomes visible on the ``studyhall_notifications`` channel (LISTEN/NOTIFY), so
every API process can push it to that user's open streams.

Revision ID: 0007_notifications
Revises: 0006_study
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from studyhall.db.migration_helpers import legacy_owner_rls as enable_owner_rls
from studyhall.db.migration_helpers import updated_at_trigger

revision: str = "0007_notifications"
down_revision: str | None = "0006_study"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TYPES = (
    "type IN ('booking_confirmation', 'booking_reminder', 'booking_cancellation', "
    "'payment_success', 'payment_failed', 'credit_low', 'ai_artifact_ready', 'system_update', "
    "'email_verification', 'password_reset', 'guardian_consent')"
)
CHANNELS = "channel IN ('email', 'sms', 'inapp')"
TABLES = ("notifications", "notification_preferences", "notification_settings")


def _timestamps() -> list[sa.Column[object]]:
    return [
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
    ]


def upgrade() -> None:
    op.create_table(
        "notification_preferences",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("type", sa.String(length=40), nullable=False),
        sa.Column("channel", sa.String(length=10), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        *_timestamps(),
        sa.CheckConstraint(CHANNELS, name=op.f("ck_notification_preferences_channel")),
        sa.CheckConstraint(TYPES, name=op.f("ck_notification_preferences_type")),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_notification_preferences_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_preferences")),
        sa.UniqueConstraint(
            "user_id",
            "type",
            "channel",
            name=op.f("uq_notification_preferences_user_id_type_channel"),
        ),
    )
    op.create_table(
        "notification_settings",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("quiet_hours_start", sa.Time(), nullable=True),
        sa.Column("quiet_hours_end", sa.Time(), nullable=True),
        *_timestamps(),
        sa.CheckConstraint(
            "(quiet_hours_start IS NULL) = (quiet_hours_end IS NULL)",
            name=op.f("ck_notification_settings_quiet_hours_pair"),
        ),
        sa.CheckConstraint(
            "quiet_hours_start IS NULL OR quiet_hours_start <> quiet_hours_end",
            name=op.f("ck_notification_settings_quiet_hours_span"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_notification_settings_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_settings")),
        sa.UniqueConstraint("user_id", name=op.f("uq_notification_settings_user_id")),
    )
    op.create_table(
        "notifications",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("type", sa.String(length=40), nullable=False),
        sa.Column("channel", sa.String(length=10), nullable=False),
        sa.Column("status", sa.String(length=10), server_default="pending", nullable=False),
        sa.Column(
            "payload",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column("urgent", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("entity", sa.String(length=50), nullable=True),
        sa.Column("entity_id", sa.UUID(), nullable=True),
        sa.Column("dedupe_key", sa.String(length=200), nullable=True),
        sa.Column(
            "scheduled_for",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("attempts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True),
        *_timestamps(),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(CHANNELS, name=op.f("ck_notifications_channel")),
        sa.CheckConstraint(
            "status <> 'read' OR (channel = 'inapp' AND read_at IS NOT NULL)",
            name=op.f("ck_notifications_read"),
        ),
        sa.CheckConstraint(
            "status IN ('pending', 'sent', 'failed', 'read', 'canceled')",
            name=op.f("ck_notifications_status"),
        ),
        sa.CheckConstraint(TYPES, name=op.f("ck_notifications_type")),
        sa.CheckConstraint("attempts >= 0", name=op.f("ck_notifications_attempts")),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_notifications_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notifications")),
        sa.UniqueConstraint(
            "user_id", "dedupe_key", name=op.f("uq_notifications_user_id_dedupe_key")
        ),
    )
    op.create_index(
        "ix_notifications_entity_entity_id",
        "notifications",
        ["entity", "entity_id"],
        unique=False,
        postgresql_where=sa.text("entity_id IS NOT NULL"),
    )
    op.create_index(
        "ix_notifications_status",
        "notifications",
        ["scheduled_for"],
        unique=False,
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.create_index(
        "ix_notifications_user_id",
        "notifications",
        ["user_id", "created_at"],
        unique=False,
        postgresql_where=sa.text("channel = 'inapp'"),
    )
    for table in TABLES:
        updated_at_trigger(table)
        enable_owner_rls(table)
    _create_broadcasts()
    op.execute(
        """
        CREATE FUNCTION studyhall_notify_inapp() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_notify('studyhall_notifications', NEW.user_id::text || ':' || NEW.id::text);
            RETURN NULL;
        END;
        $$
        """
    )
    op.execute(
        "CREATE TRIGGER trg_notifications_inapp_insert AFTER INSERT ON notifications "
        "FOR EACH ROW WHEN (NEW.channel = 'inapp' AND NEW.status = 'sent') "
        "EXECUTE FUNCTION studyhall_notify_inapp()"
    )
    op.execute(
        "CREATE TRIGGER trg_notifications_inapp_update AFTER UPDATE OF status ON notifications "
        "FOR EACH ROW WHEN (NEW.channel = 'inapp' AND NEW.status = 'sent' "
        "AND OLD.status <> 'sent') EXECUTE FUNCTION studyhall_notify_inapp()"
    )


def _create_broadcasts() -> None:
    # Admin-only (no owner column, no RLS): every route to it requires the admin role.
    op.create_table(
        "notification_broadcasts",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("created_by", sa.UUID(), nullable=True),
        sa.Column("role", sa.String(length=20), nullable=True),
        sa.Column("channels", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("recipients", sa.Integer(), nullable=False),
        sa.Column("users_reached", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column(
            "notifications_created", sa.Integer(), server_default=sa.text("0"), nullable=False
        ),
        sa.Column("batches", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        *_timestamps(),
        sa.CheckConstraint(
            "role IN ('student', 'tutor', 'admin')", name=op.f("ck_notification_broadcasts_role")
        ),
        sa.CheckConstraint(
            "recipients >= 0 AND users_reached >= 0 AND notifications_created >= 0 "
            "AND batches >= 0",
            name=op.f("ck_notification_broadcasts_counts"),
        ),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["users.id"],
            name=op.f("fk_notification_broadcasts_created_by_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_broadcasts")),
    )
    updated_at_trigger("notification_broadcasts")


def downgrade() -> None:
    op.drop_table("notification_broadcasts")
    op.drop_table("notifications")
    op.execute("DROP FUNCTION studyhall_notify_inapp()")
    op.drop_table("notification_settings")
    op.drop_table("notification_preferences")
