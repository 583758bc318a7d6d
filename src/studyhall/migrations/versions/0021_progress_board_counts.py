"""Progress: a board's learners counted per XP value, so "my rank" sums a few hundred counts
instead of counting every learner ahead.

- ``leaderboard_counts`` (period, period start, XP value, learners): how many listed board rows
  of the period hold exactly that XP. Written append-only by the ledger's transactions (a learner
  moving from 120 to 150 XP adds -1 at 120 and +1 at 150; no row is updated, so learners never
  wait for each other on a popular value) and compacted to one row per value by a job that
  recomputes the period from ``leaderboard_cache``. Filled here from the existing board rows.
- Row level security: readable by everyone; rows are added by requests acting for a learner and
  removed only by cross-user work (the compaction job).

Revision ID: 0021_progress_board_counts
Revises: 0020_course_featured
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021_progress_board_counts"
down_revision: str | None = "0020_course_featured"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BYPASS = "current_setting('app.bypass_rls', true) = 'on'"
ACTING = "coalesce(current_setting('app.user_id', true), '') <> ''"


def upgrade() -> None:
    op.create_table(
        "leaderboard_counts",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("period_type", sa.String(length=10), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("xp_total", sa.BigInteger(), nullable=False),
        sa.Column("learners", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "period_type IN ('weekly', 'monthly')", name=op.f("ck_leaderboard_counts_period_type")
        ),
        sa.CheckConstraint("xp_total > 0", name=op.f("ck_leaderboard_counts_xp_positive")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_leaderboard_counts")),
    )
    op.create_index(
        "ix_leaderboard_counts_board",
        "leaderboard_counts",
        ["period_type", "period_start", "xp_total"],
        unique=False,
        postgresql_include=["learners"],
    )
    op.execute(
        """
        INSERT INTO leaderboard_counts (period_type, period_start, xp_total, learners)
        SELECT period_type, period_start, xp_total, count(*)
        FROM leaderboard_cache WHERE listed AND xp_total > 0
        GROUP BY period_type, period_start, xp_total
        """
    )
    op.execute("ALTER TABLE leaderboard_counts ENABLE ROW LEVEL SECURITY")
    op.execute(
        "CREATE POLICY leaderboard_counts_read ON leaderboard_counts FOR SELECT USING (true)"
    )
    op.execute(
        "CREATE POLICY leaderboard_counts_insert ON leaderboard_counts FOR INSERT "
        f"WITH CHECK ({BYPASS} OR {ACTING})"
    )
    op.execute(
        f"CREATE POLICY leaderboard_counts_delete ON leaderboard_counts FOR DELETE USING ({BYPASS})"
    )


def downgrade() -> None:
    op.drop_table("leaderboard_counts")
