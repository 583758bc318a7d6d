"""Privacy: ``data_exports``, the ``data_export_ready`` notification, and the one function that
clears a deleted account's rows in the append-only tables.

- ``data_exports``: a user's export archive, its link's token hash and expiry, downloadable once;
  one export being built per user (a partial unique index).
- ``studyhall_erase_append_only_rows(user)``: the API and worker roles may not change
  ``audit_log``, ``credit_ledger`` or ``guardian_consents``; erasure must still clear the free
  text in them (audit diffs, ledger notes) and the guardian's address. The function runs as the
  owner, does only that, and only for an account that is already deleted.

Revision ID: 0017_privacy
Revises: 0016_study_answers
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from studyhall.db.migration_helpers import legacy_owner_rls as enable_owner_rls
from studyhall.db.migration_helpers import updated_at_trigger

revision: str = "0017_privacy"
down_revision: str | None = "0016_study_answers"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_TYPES = (
    "booking_confirmation",
    "booking_reminder",
    "booking_cancellation",
    "payment_success",
    "payment_failed",
    "credit_low",
    "ai_artifact_ready",
    "system_update",
    "email_verification",
    "password_reset",
    "guardian_consent",
    "achievement_unlocked",
)
NEW_TYPES = (*OLD_TYPES, "data_export_ready")

ERASE_FUNCTION = """
CREATE FUNCTION studyhall_erase_append_only_rows(p_user uuid) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    IF NOT EXISTS (
        SELECT 1 FROM users WHERE id = p_user AND status = 'deleted' AND deleted_at IS NOT NULL
    ) THEN
        RAISE EXCEPTION 'only a deleted account''s rows are erased'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    DELETE FROM guardian_consents WHERE user_id = p_user;
    UPDATE credit_ledger SET note = NULL
        WHERE (user_id = p_user OR actor_user_id = p_user) AND note IS NOT NULL;
    UPDATE audit_log SET diff = NULL
        WHERE (actor_user_id = p_user OR entity_id = p_user::text) AND diff IS NOT NULL;
END;
$$
"""


def _types_check(types: tuple[str, ...]) -> str:
    return "type IN (" + ", ".join(f"'{t}'" for t in types) + ")"


def _notification_types(types: tuple[str, ...]) -> None:
    for table in ("notifications", "notification_preferences"):
        op.drop_constraint(op.f(f"ck_{table}_type"), table, type_="check")
        op.create_check_constraint(op.f(f"ck_{table}_type"), table, _types_check(types))


def upgrade() -> None:
    op.create_table(
        "data_exports",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("status", sa.String(length=20), server_default="pending", nullable=False),
        sa.Column("storage_key", sa.Text(), nullable=True),
        sa.Column("size_bytes", sa.BigInteger(), nullable=True),
        sa.Column("token_hash", sa.String(length=64), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ready_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("downloaded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.CheckConstraint(
            "status IN ('pending', 'ready', 'downloaded', 'expired', 'failed')",
            name=op.f("ck_data_exports_status"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_data_exports_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_data_exports")),
    )
    op.create_index(op.f("ix_data_exports_user_id"), "data_exports", ["user_id"], unique=False)
    op.create_index(
        "uq_data_exports_user_id_pending",
        "data_exports",
        ["user_id"],
        unique=True,
        postgresql_where=sa.text("status = 'pending'"),
    )
    updated_at_trigger("data_exports")
    enable_owner_rls("data_exports")
    _notification_types(NEW_TYPES)
    op.execute(ERASE_FUNCTION)
    op.execute("REVOKE ALL ON FUNCTION studyhall_erase_append_only_rows(uuid) FROM PUBLIC")


def downgrade() -> None:
    op.execute("DROP FUNCTION studyhall_erase_append_only_rows(uuid)")
    op.execute("DELETE FROM notifications WHERE type = 'data_export_ready'")
    op.execute("DELETE FROM notification_preferences WHERE type = 'data_export_ready'")
    _notification_types(OLD_TYPES)
    op.drop_table("data_exports")
