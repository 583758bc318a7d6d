"""Progress: boards rank by an index-only count, and mastery blends the topic's flashcards.

- ``leaderboard_cache.listed``: whether the row's learner appears on boards (their
  ``show_on_leaderboards`` and not deleted), kept on the row so ranking needs no join. The board
  index becomes partial on listed rows with XP, so "my rank" is an index-only count.
- ``topic_progress.card_retrievability`` (the mean FSRS retrievability of the learner's cards of
  the topic, at their last review) and ``card_reviews``, which the mastery blend uses.

Revision ID: 0014_progress_cards
Revises: 0013_webhook_rejections
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014_progress_cards"
down_revision: str | None = "0013_webhook_rejections"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BOARD_COLUMNS: list[str | sa.ColumnElement[object]] = [
    "period_type",
    "period_start",
    sa.literal_column("xp_total DESC"),
    "user_id",
]


def upgrade() -> None:
    op.add_column(
        "leaderboard_cache",
        sa.Column("listed", sa.Boolean(), server_default=sa.text("true"), nullable=False),
    )
    op.execute(
        """
        UPDATE leaderboard_cache b SET listed = false
        FROM users u LEFT JOIN user_streaks s ON s.user_id = u.id
        WHERE u.id = b.user_id
          AND (u.deleted_at IS NOT NULL OR NOT coalesce(s.show_on_leaderboards, true))
        """
    )
    op.drop_index("ix_leaderboard_cache_board", table_name="leaderboard_cache")
    op.create_index(
        "ix_leaderboard_cache_board",
        "leaderboard_cache",
        BOARD_COLUMNS,
        unique=False,
        postgresql_where=sa.text("listed AND xp_total > 0"),
    )
    op.add_column("topic_progress", sa.Column("card_retrievability", sa.Float(), nullable=True))
    op.add_column(
        "topic_progress",
        sa.Column("card_reviews", sa.Integer(), server_default=sa.text("0"), nullable=False),
    )
    op.create_check_constraint(
        op.f("ck_topic_progress_card_retrievability_range"),
        "topic_progress",
        "card_retrievability IS NULL OR (card_retrievability >= 0 AND card_retrievability <= 1)",
    )


def downgrade() -> None:
    op.drop_constraint(
        op.f("ck_topic_progress_card_retrievability_range"), "topic_progress", type_="check"
    )
    op.drop_column("topic_progress", "card_reviews")
    op.drop_column("topic_progress", "card_retrievability")
    op.drop_index("ix_leaderboard_cache_board", table_name="leaderboard_cache")
    op.create_index("ix_leaderboard_cache_board", "leaderboard_cache", BOARD_COLUMNS, unique=False)
    op.drop_column("leaderboard_cache", "listed")
