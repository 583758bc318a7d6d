"""The cached credit balance moves onto the student profile; ledger grants can expire.

``credit_balances`` (billing's stand-in until accounts had landed) is folded into
``student_profiles``: ``credit_balance``, ``credit_ledger_seq`` (the head of the
ledger chain) and ``credit_next_expiry_at`` (when the expiry job should look at the student next).
A user with a balance row but no student profile gets a profile, so no balance is lost.
``credit_ledger.expires_at`` says when a grant's unspent credits expire.

``student_profiles`` gets row level security for writes: the balance lives there now, and a user
must not move another user's. Reads stay as they were (the table had no policies; accounts reads
profiles at sign-up, before ``app.user_id`` is set), and so does inserting a profile, as long as
it starts with no credits.

Revision ID: 0008_credit_balance_profile
Revises: 0007_notifications
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from studyhall.db.migration_helpers import legacy_owner_rls as enable_owner_rls
from studyhall.db.migration_helpers import updated_at_trigger

revision: str = "0008_credit_balance_profile"
down_revision: str | None = "0007_notifications"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OWNER = (
    "current_setting('app.bypass_rls', true) = 'on' OR "
    "user_id::text = current_setting('app.user_id', true)"
)


def upgrade() -> None:
    op.add_column(
        "student_profiles",
        sa.Column("credit_balance", sa.Integer(), server_default=sa.text("0"), nullable=False),
    )
    op.add_column(
        "student_profiles",
        sa.Column("credit_ledger_seq", sa.Integer(), server_default=sa.text("0"), nullable=False),
    )
    op.add_column(
        "student_profiles",
        sa.Column("credit_next_expiry_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_check_constraint(
        op.f("ck_student_profiles_credit_balance_non_negative"),
        "student_profiles",
        "credit_balance >= 0",
    )
    op.create_check_constraint(
        op.f("ck_student_profiles_credit_ledger_seq"), "student_profiles", "credit_ledger_seq >= 0"
    )
    op.create_index(
        "ix_student_profiles_credit_next_expiry_at",
        "student_profiles",
        ["credit_next_expiry_at"],
        unique=False,
        postgresql_where=sa.text("credit_next_expiry_at IS NOT NULL"),
    )
    op.execute(
        "INSERT INTO student_profiles (user_id) SELECT user_id FROM credit_balances "
        "ON CONFLICT (user_id) DO NOTHING"
    )
    op.execute(
        "UPDATE student_profiles p SET credit_balance = b.balance, credit_ledger_seq = b.last_seq "
        "FROM credit_balances b WHERE b.user_id = p.user_id"
    )
    op.drop_table("credit_balances")

    op.add_column(
        "credit_ledger", sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.create_check_constraint(
        op.f("ck_credit_ledger_expires_at_on_grants"),
        "credit_ledger",
        "expires_at IS NULL OR delta > 0",
    )

    op.execute("ALTER TABLE student_profiles ENABLE ROW LEVEL SECURITY")
    op.execute("CREATE POLICY student_profiles_read ON student_profiles FOR SELECT USING (true)")
    for command in ("UPDATE", "DELETE"):
        op.execute(
            f"CREATE POLICY student_profiles_owner_{command.lower()} ON student_profiles "
            f"FOR {command} USING ({OWNER})"
        )
    op.execute(
        "CREATE POLICY student_profiles_born_empty ON student_profiles FOR INSERT "
        "WITH CHECK (credit_balance = 0 AND credit_ledger_seq = 0)"
    )


def downgrade() -> None:
    for policy in ("born_empty", "owner_delete", "owner_update", "read"):
        op.execute(f"DROP POLICY student_profiles_{policy} ON student_profiles")
    op.execute("ALTER TABLE student_profiles DISABLE ROW LEVEL SECURITY")

    op.drop_constraint(
        op.f("ck_credit_ledger_expires_at_on_grants"), "credit_ledger", type_="check"
    )
    op.drop_column("credit_ledger", "expires_at")

    op.create_table(
        "credit_balances",
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("balance", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("last_seq", sa.Integer(), server_default=sa.text("0"), nullable=False),
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
        sa.CheckConstraint("balance >= 0", name=op.f("ck_credit_balances_balance_non_negative")),
        sa.CheckConstraint("last_seq >= 0", name=op.f("ck_credit_balances_last_seq")),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_credit_balances_user_id_users"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_credit_balances")),
    )
    updated_at_trigger("credit_balances")
    enable_owner_rls("credit_balances")
    op.execute(
        "INSERT INTO credit_balances (user_id, balance, last_seq) "
        "SELECT user_id, credit_balance, credit_ledger_seq FROM student_profiles "
        "WHERE credit_ledger_seq > 0"
    )

    op.drop_index(
        "ix_student_profiles_credit_next_expiry_at",
        table_name="student_profiles",
        postgresql_where=sa.text("credit_next_expiry_at IS NOT NULL"),
    )
    op.drop_constraint(
        op.f("ck_student_profiles_credit_ledger_seq"), "student_profiles", type_="check"
    )
    op.drop_constraint(
        op.f("ck_student_profiles_credit_balance_non_negative"), "student_profiles", type_="check"
    )
    op.drop_column("student_profiles", "credit_next_expiry_at")
    op.drop_column("student_profiles", "credit_ledger_seq")
    op.drop_column("student_profiles", "credit_balance")
