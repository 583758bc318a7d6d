"""Progress: the study timer, streaks in the learner's own day, the XP ledger, achievements,
friends, leaderboards, mastery per topic and concept, recommendations.

- One running study session per user: a partial unique index on ``user_id`` where
  ``ended_at IS NULL``.
- ``xp_logs`` is append-only for the API role (``studyhall.db.migrate`` revokes UPDATE, DELETE
  and TRUNCATE after every upgrade) and holds one row per (user, source, reference, reason), so a
  replayed event pays nothing.
- ``friends``: one row per pair whichever way it was asked (unique index on the ordered pair).
- Row level security: each learner's own rows; ``friends`` rows to both people;
  ``leaderboard_cache`` is readable by everyone and written only for one's own user.
- Notifications gain the ``achievement_unlocked`` type.

Revision ID: 0012_progress
Revises: 0011_study_retrieval
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from studyhall.db.migration_helpers import legacy_owner_rls as enable_owner_rls
from studyhall.db.migration_helpers import updated_at_trigger

revision: str = "0012_progress"
down_revision: str | None = "0011_study_retrieval"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OWNER = (
    "current_setting('app.bypass_rls', true) = 'on' OR "
    "user_id::text = current_setting('app.user_id', true)"
)
OWNED_TABLES = (
    "study_sessions",
    "user_streaks",
    "xp_logs",
    "user_achievements",
    "topic_progress",
    "learning_profiles",
    "user_recommendations",
)
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
)
NEW_TYPES = (*OLD_TYPES, "achievement_unlocked")


def _types_check(types: tuple[str, ...]) -> str:
    return "type IN (" + ", ".join(f"'{t}'" for t in types) + ")"


def _notification_types(types: tuple[str, ...]) -> None:
    for table in ("notifications", "notification_preferences"):
        op.drop_constraint(op.f(f"ck_{table}_type"), table, type_="check")
        op.create_check_constraint(op.f(f"ck_{table}_type"), table, _types_check(types))


def upgrade() -> None:
    op.create_table(
        "achievements",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("code", sa.String(length=60), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), server_default="", nullable=False),
        sa.Column("badge_icon", sa.String(length=200), nullable=True),
        sa.Column("criteria_type", sa.String(length=40), nullable=False),
        sa.Column("criteria_value", sa.Integer(), nullable=False),
        sa.Column("xp_reward", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("is_active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
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
        sa.CheckConstraint(
            "criteria_type IN ('streak_days', 'total_xp', 'quizzes_passed', 'lessons_completed', "
            "'cards_reviewed', 'study_minutes', 'questions_asked')",
            name=op.f("ck_achievements_criteria_type"),
        ),
        sa.CheckConstraint(
            "criteria_value > 0", name=op.f("ck_achievements_criteria_value_positive")
        ),
        sa.CheckConstraint("xp_reward >= 0", name=op.f("ck_achievements_xp_reward_non_negative")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_achievements")),
        sa.UniqueConstraint("code", name=op.f("uq_achievements_code")),
    )
    op.create_table(
        "friends",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("requester_id", sa.UUID(), nullable=False),
        sa.Column("addressee_id", sa.UUID(), nullable=False),
        sa.Column("status", sa.String(length=20), server_default="pending", nullable=False),
        sa.Column("blocked_by", sa.UUID(), nullable=True),
        sa.Column("accepted_at", sa.DateTime(timezone=True), nullable=True),
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
        sa.CheckConstraint(
            "(status = 'blocked') = (blocked_by IS NOT NULL)", name=op.f("ck_friends_blocked_by")
        ),
        sa.CheckConstraint(
            "status IN ('pending', 'accepted', 'blocked')", name=op.f("ck_friends_status")
        ),
        sa.CheckConstraint("requester_id <> addressee_id", name=op.f("ck_friends_not_self")),
        sa.ForeignKeyConstraint(
            ["addressee_id"],
            ["users.id"],
            name=op.f("fk_friends_addressee_id_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["blocked_by"],
            ["users.id"],
            name=op.f("fk_friends_blocked_by_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["requester_id"],
            ["users.id"],
            name=op.f("fk_friends_requester_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_friends")),
    )
    op.create_index(op.f("ix_friends_addressee_id"), "friends", ["addressee_id"], unique=False)
    op.create_index(op.f("ix_friends_requester_id"), "friends", ["requester_id"], unique=False)
    op.create_index(
        "uq_friends_pair",
        "friends",
        [
            sa.literal_column("least(requester_id, addressee_id)"),
            sa.literal_column("greatest(requester_id, addressee_id)"),
        ],
        unique=True,
    )
    op.create_table(
        "leaderboard_cache",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("period_type", sa.String(length=10), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("xp_total", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column(
            "generated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "period_type IN ('weekly', 'monthly')", name=op.f("ck_leaderboard_cache_period_type")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_leaderboard_cache_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_leaderboard_cache")),
        sa.UniqueConstraint(
            "period_type",
            "period_start",
            "user_id",
            name=op.f("uq_leaderboard_cache_period_type_period_start_user_id"),
        ),
    )
    op.create_index(
        "ix_leaderboard_cache_board",
        "leaderboard_cache",
        ["period_type", "period_start", sa.literal_column("xp_total DESC"), "user_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_leaderboard_cache_user_id"), "leaderboard_cache", ["user_id"], unique=False
    )
    op.create_table(
        "study_sessions",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column(
            "started_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "last_heartbeat_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("local_date", sa.Date(), nullable=False),
        sa.Column("duration_seconds", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("xp_awarded", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("close_reason", sa.Text(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "close_reason IS NULL OR close_reason IN ('stopped', 'idle', 'capped')",
            name=op.f("ck_study_sessions_close_reason"),
        ),
        sa.CheckConstraint(
            "duration_seconds >= 0", name=op.f("ck_study_sessions_duration_non_negative")
        ),
        sa.CheckConstraint(
            "ended_at IS NULL OR ended_at >= started_at",
            name=op.f("ck_study_sessions_ends_after_start"),
        ),
        sa.CheckConstraint("xp_awarded >= 0", name=op.f("ck_study_sessions_xp_non_negative")),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_study_sessions_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_study_sessions")),
    )
    op.create_index(
        "ix_study_sessions_open_heartbeat",
        "study_sessions",
        ["last_heartbeat_at"],
        unique=False,
        postgresql_where=sa.text("ended_at IS NULL"),
    )
    op.create_index(
        "ix_study_sessions_user_id_local_date",
        "study_sessions",
        ["user_id", "local_date"],
        unique=False,
    )
    op.create_index(
        "uq_study_sessions_running",
        "study_sessions",
        ["user_id"],
        unique=True,
        postgresql_where=sa.text("ended_at IS NULL"),
    )
    op.create_table(
        "user_achievements",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("achievement_id", sa.UUID(), nullable=False),
        sa.Column(
            "unlocked_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["achievement_id"],
            ["achievements.id"],
            name=op.f("fk_user_achievements_achievement_id_achievements"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_user_achievements_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user_achievements")),
        sa.UniqueConstraint(
            "user_id", "achievement_id", name=op.f("uq_user_achievements_user_id_achievement_id")
        ),
    )
    op.create_index(
        op.f("ix_user_achievements_achievement_id"),
        "user_achievements",
        ["achievement_id"],
        unique=False,
    )
    op.create_table(
        "user_recommendations",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("recommendation_type", sa.String(length=40), nullable=False),
        sa.Column("reason_code", sa.String(length=60), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("reference_id", sa.UUID(), nullable=True),
        sa.Column("priority_score", sa.Integer(), nullable=False),
        sa.Column(
            "generated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("dismissed_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "recommendation_type IN ('cards_due', 'weak_concept', 'continue_lesson', "
            "'streak_at_risk', 'book_tutor')",
            name=op.f("ck_user_recommendations_recommendation_type"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_user_recommendations_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user_recommendations")),
        sa.UniqueConstraint(
            "user_id",
            "recommendation_type",
            "reason_code",
            name=op.f("uq_user_recommendations_user_id_recommendation_type_reason_code"),
        ),
    )
    op.create_index(
        "ix_user_recommendations_user_id_priority",
        "user_recommendations",
        ["user_id", sa.literal_column("priority_score DESC")],
        unique=False,
    )
    op.create_table(
        "user_streaks",
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("current_streak", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("longest_streak", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("last_study_date", sa.Date(), nullable=True),
        sa.Column("freezes_available", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column(
            "daily_goal_type", sa.String(length=20), server_default="activity", nullable=False
        ),
        sa.Column("daily_goal_minutes", sa.Integer(), server_default=sa.text("10"), nullable=False),
        sa.Column(
            "show_on_leaderboards", sa.Boolean(), server_default=sa.text("true"), nullable=False
        ),
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
        sa.CheckConstraint(
            "daily_goal_type IN ('minutes', 'activity')", name=op.f("ck_user_streaks_goal_type")
        ),
        sa.CheckConstraint(
            "current_streak >= 0 AND longest_streak >= current_streak",
            name=op.f("ck_user_streaks_streak_counts"),
        ),
        sa.CheckConstraint(
            "daily_goal_minutes BETWEEN 1 AND 600", name=op.f("ck_user_streaks_goal_minutes")
        ),
        sa.CheckConstraint(
            "freezes_available BETWEEN 0 AND 5", name=op.f("ck_user_streaks_freezes")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_user_streaks_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_user_streaks")),
    )
    op.create_table(
        "xp_logs",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("source_type", sa.String(length=20), nullable=False),
        sa.Column("reference_id", sa.UUID(), nullable=False),
        sa.Column("reason", sa.String(length=40), nullable=False),
        sa.Column("xp_amount", sa.Integer(), nullable=False),
        sa.Column("local_date", sa.Date(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "source_type IN ('quiz', 'lesson', 'doubt', 'study', 'review', 'achievement', "
            "'admin', 'streak')",
            name=op.f("ck_xp_logs_source_type"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_xp_logs_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_xp_logs")),
        sa.UniqueConstraint(
            "user_id",
            "source_type",
            "reference_id",
            "reason",
            name=op.f("uq_xp_logs_user_id_source_type_reference_id_reason"),
        ),
    )
    op.create_index("ix_xp_logs_created_at", "xp_logs", ["created_at"], unique=False)
    op.create_index(
        "ix_xp_logs_user_id_local_date", "xp_logs", ["user_id", "local_date"], unique=False
    )
    op.create_table(
        "learning_profiles",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("subject", sa.String(length=100), nullable=False),
        sa.Column("concept", sa.String(length=200), nullable=False),
        sa.Column("topic_id", sa.UUID(), nullable=True),
        sa.Column("mastery_score", sa.Float(), server_default=sa.text("0"), nullable=False),
        sa.Column("ability", sa.Float(), server_default=sa.text("0"), nullable=False),
        sa.Column(
            "last_interaction",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("total_interactions", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("streak_days", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.CheckConstraint(
            "mastery_score >= 0 AND mastery_score <= 1",
            name=op.f("ck_learning_profiles_mastery_range"),
        ),
        sa.ForeignKeyConstraint(
            ["topic_id"],
            ["topics.id"],
            name=op.f("fk_learning_profiles_topic_id_topics"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_learning_profiles_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_learning_profiles")),
        sa.UniqueConstraint(
            "user_id",
            "subject",
            "concept",
            name=op.f("uq_learning_profiles_user_id_subject_concept"),
        ),
    )
    op.create_index(
        op.f("ix_learning_profiles_topic_id"), "learning_profiles", ["topic_id"], unique=False
    )
    op.create_index(
        "ix_learning_profiles_user_id_subject",
        "learning_profiles",
        ["user_id", "subject"],
        unique=False,
    )
    op.create_table(
        "topic_progress",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("topic_id", sa.UUID(), nullable=False),
        sa.Column(
            "mastery_score",
            sa.Numeric(precision=5, scale=4),
            server_default=sa.text("0"),
            nullable=False,
        ),
        sa.Column("ability", sa.Float(), server_default=sa.text("0"), nullable=False),
        sa.Column("total_interactions", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("last_interaction", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "last_updated",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "mastery_score >= 0 AND mastery_score <= 1",
            name=op.f("ck_topic_progress_mastery_range"),
        ),
        sa.ForeignKeyConstraint(
            ["topic_id"],
            ["topics.id"],
            name=op.f("fk_topic_progress_topic_id_topics"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_topic_progress_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_topic_progress")),
        sa.UniqueConstraint("user_id", "topic_id", name=op.f("uq_topic_progress_user_id_topic_id")),
    )
    op.create_index(
        op.f("ix_topic_progress_topic_id"), "topic_progress", ["topic_id"], unique=False
    )
    updated_at_trigger("achievements")
    updated_at_trigger("friends")
    updated_at_trigger("user_streaks")
    for table in OWNED_TABLES:
        enable_owner_rls(table)
    op.execute("ALTER TABLE friends ENABLE ROW LEVEL SECURITY")
    op.execute(
        "CREATE POLICY friends_parties ON friends USING ("
        "current_setting('app.bypass_rls', true) = 'on' OR "
        "requester_id::text = current_setting('app.user_id', true) OR "
        "addressee_id::text = current_setting('app.user_id', true))"
    )
    op.execute("ALTER TABLE leaderboard_cache ENABLE ROW LEVEL SECURITY")
    op.execute("CREATE POLICY leaderboard_cache_read ON leaderboard_cache FOR SELECT USING (true)")
    op.execute(
        f"CREATE POLICY leaderboard_cache_owner_insert ON leaderboard_cache FOR INSERT "
        f"WITH CHECK ({OWNER})"
    )
    for command in ("UPDATE", "DELETE"):
        op.execute(
            f"CREATE POLICY leaderboard_cache_owner_{command.lower()} ON leaderboard_cache "
            f"FOR {command} USING ({OWNER})"
        )
    _notification_types(NEW_TYPES)


def downgrade() -> None:
    op.execute("DELETE FROM notifications WHERE type = 'achievement_unlocked'")
    op.execute("DELETE FROM notification_preferences WHERE type = 'achievement_unlocked'")
    _notification_types(OLD_TYPES)
    for table in (
        "topic_progress",
        "learning_profiles",
        "xp_logs",
        "user_streaks",
        "user_recommendations",
        "user_achievements",
        "study_sessions",
        "leaderboard_cache",
        "friends",
        "achievements",
    ):
        op.drop_table(table)
