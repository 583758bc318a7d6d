"""The marketplace, complete: reviews of completed bookings and the directory's rating score.

1. ``reviews``: one per booking (unique), 1 to 5 stars, optional text, editable until
   ``editable_until``, one tutor reply, hidden by an admin rather than deleted. Public catalogue
   data like offerings: no row level security.
2. ``tutor_profiles.rating_score``: the Bayesian average the directory sorts by
   (``accounts/ratings.py``); the directory index moves from ``coalesce(rating, 0)`` to it.
   A rating no review stands behind (``rating_count = 0``) is cleared: ratings now follow from
   visible reviews only.
3. Tutor payouts: ``payout_accounts`` (Stripe Connect Express), ``payout_statements`` (one per
   tutor, currency and period) and ``tutor_earning_entries`` (earnings of completed bookings and
   refunds after completion, each joining one statement). Billing's tables without row level
   security: the routes read them by the caller's id, jobs and webhooks write them.
4. ``calendar_busy_times`` / ``calendar_busy_syncs``: the busy intervals of a connected Google
   Calendar (free/busy), cached for slot listings and bookings, and when they were fetched.

Revision ID: 0015_marketplace
Revises: 0014_progress_cards
Create Date: 2026-12-07
"""

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from studyhall.db.migration_helpers import updated_at_trigger

revision: str = "0015_marketplace"
down_revision: str | None = "0014_progress_cards"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DIRECTORY_WHERE = "verification_status = 'verified' AND is_available AND deleted_at IS NULL"


def _timestamps() -> list[sa.Column[datetime]]:
    return [
        sa.Column(
            name,
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        )
        for name in ("created_at", "updated_at")
    ]


def upgrade() -> None:
    op.create_table(
        "reviews",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("booking_id", sa.UUID(), nullable=False),
        sa.Column("tutor_id", sa.UUID(), nullable=False),
        sa.Column("student_id", sa.UUID(), nullable=False),
        sa.Column("rating", sa.SmallInteger(), nullable=False),
        sa.Column("body", sa.Text(), nullable=True),
        sa.Column("editable_until", sa.DateTime(timezone=True), nullable=False),
        sa.Column("tutor_reply", sa.Text(), nullable=True),
        sa.Column("tutor_replied_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("hidden_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("hidden_by", sa.UUID(), nullable=True),
        sa.Column("hidden_reason", sa.String(length=500), nullable=True),
        *_timestamps(),
        sa.CheckConstraint("rating BETWEEN 1 AND 5", name=op.f("ck_reviews_rating")),
        sa.CheckConstraint("char_length(body) <= 5000", name=op.f("ck_reviews_body_length")),
        sa.CheckConstraint(
            "char_length(tutor_reply) <= 5000", name=op.f("ck_reviews_tutor_reply_length")
        ),
        sa.CheckConstraint(
            "(tutor_reply IS NULL) = (tutor_replied_at IS NULL)", name=op.f("ck_reviews_reply")
        ),
        sa.CheckConstraint(
            "(hidden_at IS NULL) OR (hidden_reason IS NOT NULL)", name=op.f("ck_reviews_hidden")
        ),
        sa.ForeignKeyConstraint(
            ["booking_id"],
            ["bookings.id"],
            name=op.f("fk_reviews_booking_id_bookings"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tutor_id"], ["users.id"], name=op.f("fk_reviews_tutor_id_users"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["student_id"],
            ["users.id"],
            name=op.f("fk_reviews_student_id_users"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["hidden_by"],
            ["users.id"],
            name=op.f("fk_reviews_hidden_by_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reviews")),
        sa.UniqueConstraint("booking_id", name=op.f("uq_reviews_booking_id")),
    )
    op.create_index(
        "ix_reviews_tutor_visible",
        "reviews",
        ["tutor_id", sa.literal_column("created_at DESC"), sa.literal_column("id DESC")],
        unique=False,
        postgresql_where=sa.text("hidden_at IS NULL"),
    )
    op.create_index("ix_reviews_student_id", "reviews", ["student_id"], unique=False)
    updated_at_trigger("reviews")

    op.add_column(
        "tutor_profiles",
        sa.Column(
            "rating_score",
            sa.Numeric(precision=4, scale=3),
            server_default=sa.text("4.000"),
            nullable=False,
        ),
    )
    op.create_check_constraint(
        op.f("ck_tutor_profiles_rating_score"), "tutor_profiles", "rating_score BETWEEN 1 AND 5"
    )
    op.execute("UPDATE tutor_profiles SET rating = NULL WHERE rating_count = 0")
    op.execute(
        "UPDATE tutor_profiles SET rating_score = round((5 * 4.0 + rating * rating_count)"
        " / (5 + rating_count), 3) WHERE rating IS NOT NULL"
    )
    op.drop_index(
        "ix_tutor_profiles_directory",
        table_name="tutor_profiles",
        postgresql_where=sa.text(DIRECTORY_WHERE),
    )
    op.create_index(
        "ix_tutor_profiles_directory",
        "tutor_profiles",
        [sa.literal_column("rating_score DESC"), "user_id"],
        unique=False,
        postgresql_where=sa.text(DIRECTORY_WHERE),
    )
    _payout_tables()
    _busy_tables()


def _busy_tables() -> None:
    op.create_table(
        "calendar_busy_times",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("busy", postgresql.TSTZRANGE(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_calendar_busy_times_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_calendar_busy_times")),
    )
    op.create_index(
        "ix_calendar_busy_times_user_id", "calendar_busy_times", ["user_id"], unique=False
    )
    op.create_table(
        "calendar_busy_syncs",
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("synced_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_calendar_busy_syncs_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_calendar_busy_syncs")),
    )


def _payout_tables() -> None:
    op.create_table(
        "payout_accounts",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("stripe_account_id", sa.String(length=255), nullable=False),
        sa.Column(
            "details_submitted", sa.Boolean(), server_default=sa.text("false"), nullable=False
        ),
        sa.Column("payouts_enabled", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column(
            "last_event_created", sa.BigInteger(), server_default=sa.text("0"), nullable=False
        ),
        *_timestamps(),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_payout_accounts_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payout_accounts")),
        sa.UniqueConstraint("stripe_account_id", name=op.f("uq_payout_accounts_stripe_account_id")),
        sa.UniqueConstraint("user_id", name=op.f("uq_payout_accounts_user_id")),
    )
    updated_at_trigger("payout_accounts")
    op.create_table(
        "payout_statements",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("tutor_id", sa.UUID(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("period_start", sa.DateTime(timezone=True), nullable=True),
        sa.Column("period_end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("entries_cents", sa.BigInteger(), nullable=False),
        sa.Column("carried_in_cents", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("amount_cents", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=15), nullable=False),
        sa.Column("method", sa.String(length=10), nullable=True),
        sa.Column("stripe_transfer_id", sa.String(length=255), nullable=True),
        sa.Column("paid_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("paid_by", sa.UUID(), nullable=True),
        *_timestamps(),
        sa.CheckConstraint(
            "status IN ('carried', 'due', 'transferring', 'paid', 'reversed')",
            name=op.f("ck_payout_statements_status"),
        ),
        sa.CheckConstraint(
            "method IS NULL OR method IN ('stripe', 'manual')",
            name=op.f("ck_payout_statements_method"),
        ),
        sa.CheckConstraint("currency ~ '^[A-Z]{3}$'", name=op.f("ck_payout_statements_currency")),
        sa.CheckConstraint("carried_in_cents <= 0", name=op.f("ck_payout_statements_carried_in")),
        sa.CheckConstraint(
            "amount_cents = entries_cents + carried_in_cents",
            name=op.f("ck_payout_statements_amount"),
        ),
        sa.CheckConstraint(
            "(status = 'carried') = (amount_cents <= 0)", name=op.f("ck_payout_statements_carried")
        ),
        sa.CheckConstraint(
            "status <> 'paid' OR paid_at IS NOT NULL", name=op.f("ck_payout_statements_paid")
        ),
        sa.ForeignKeyConstraint(
            ["tutor_id"],
            ["users.id"],
            name=op.f("fk_payout_statements_tutor_id_users"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["paid_by"],
            ["users.id"],
            name=op.f("fk_payout_statements_paid_by_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payout_statements")),
        sa.UniqueConstraint(
            "stripe_transfer_id", name=op.f("uq_payout_statements_stripe_transfer_id")
        ),
        sa.UniqueConstraint(
            "tutor_id",
            "currency",
            "period_end",
            name=op.f("uq_payout_statements_tutor_id_currency_period_end"),
        ),
    )
    op.create_index(
        "ix_payout_statements_tutor",
        "payout_statements",
        ["tutor_id", "currency", "period_end"],
        unique=False,
    )
    updated_at_trigger("payout_statements")
    op.create_table(
        "tutor_earning_entries",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("tutor_id", sa.UUID(), nullable=False),
        sa.Column("booking_id", sa.UUID(), nullable=True),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("amount_cents", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("source_key", sa.String(length=120), nullable=False),
        sa.Column("statement_id", sa.UUID(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("clock_timestamp()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "kind IN ('earning', 'refund')", name=op.f("ck_tutor_earning_entries_kind")
        ),
        sa.CheckConstraint(
            "(kind = 'earning' AND amount_cents >= 0) OR (kind = 'refund' AND amount_cents <= 0)",
            name=op.f("ck_tutor_earning_entries_sign"),
        ),
        sa.CheckConstraint(
            "currency ~ '^[A-Z]{3}$'", name=op.f("ck_tutor_earning_entries_currency")
        ),
        sa.ForeignKeyConstraint(
            ["tutor_id"],
            ["users.id"],
            name=op.f("fk_tutor_earning_entries_tutor_id_users"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["statement_id"],
            ["payout_statements.id"],
            name=op.f("fk_tutor_earning_entries_statement_id_payout_statements"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tutor_earning_entries")),
        sa.UniqueConstraint("source_key", name=op.f("uq_tutor_earning_entries_source_key")),
    )
    op.create_index(
        "ix_tutor_earning_entries_open",
        "tutor_earning_entries",
        ["tutor_id", "currency", "created_at"],
        unique=False,
        postgresql_where=sa.text("statement_id IS NULL"),
    )
    op.create_index(
        "ix_tutor_earning_entries_statement_id",
        "tutor_earning_entries",
        ["statement_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_table("calendar_busy_syncs")
    op.drop_table("calendar_busy_times")
    op.drop_table("tutor_earning_entries")
    op.drop_table("payout_statements")
    op.drop_table("payout_accounts")
    op.drop_index(
        "ix_tutor_profiles_directory",
        table_name="tutor_profiles",
        postgresql_where=sa.text(DIRECTORY_WHERE),
    )
    op.create_index(
        "ix_tutor_profiles_directory",
        "tutor_profiles",
        [sa.literal_column("coalesce(rating, 0) DESC"), "user_id"],
        unique=False,
        postgresql_where=sa.text(DIRECTORY_WHERE),
    )
    op.drop_constraint(op.f("ck_tutor_profiles_rating_score"), "tutor_profiles", type_="check")
    op.drop_column("tutor_profiles", "rating_score")
    op.drop_index("ix_reviews_student_id", table_name="reviews")
    op.drop_index(
        "ix_reviews_tutor_visible",
        table_name="reviews",
        postgresql_where=sa.text("hidden_at IS NULL"),
    )
    op.drop_table("reviews")
