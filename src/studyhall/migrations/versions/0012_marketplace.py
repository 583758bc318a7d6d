"""The marketplace, complete: reviews of completed bookings and the directory's rating score.

1. ``reviews``: one per booking (unique), 1 to 5 stars, optional text, editable until
   ``editable_until``, one tutor reply, hidden by an admin rather than deleted. Public catalogue
   data like offerings: no row level security.
2. ``tutor_profiles.rating_score``: the Bayesian average the directory sorts by
   (``accounts/ratings.py``); the directory index moves from ``coalesce(rating, 0)`` to it.
   A rating no review stands behind (``rating_count = 0``) is cleared: ratings now follow from
   visible reviews only.

Revision ID: 0012_marketplace
Revises: 0011_study_retrieval
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from studyhall.db.migration_helpers import updated_at_trigger

revision: str = "0012_marketplace"
down_revision: str | None = "0011_study_retrieval"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DIRECTORY_WHERE = "verification_status = 'verified' AND is_available AND deleted_at IS NULL"


def _timestamps() -> list[sa.Column[sa.DateTime]]:
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


def downgrade() -> None:
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
