"""Progress tables: the study timer, streaks, the XP ledger, achievements, friends, leaderboards,
mastery per topic and concept, recommendations.

Dates called ``local_date`` are the learner's own calendar day (their ``users.timezone``) at the
moment of the event, never the server's date.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from studyhall.db.base import Base, Timestamps, UUIDPrimaryKey

XP_SOURCES = ("quiz", "lesson", "doubt", "study", "review", "achievement", "admin", "streak")
GOAL_TYPES = ("minutes", "activity")
CRITERIA_TYPES = (
    "streak_days",
    "total_xp",
    "quizzes_passed",
    "lessons_completed",
    "cards_reviewed",
    "study_minutes",
    "questions_asked",
)
FRIEND_STATUSES = ("pending", "accepted", "blocked")
PERIOD_TYPES = ("weekly", "monthly")
RECOMMENDATION_TYPES = (
    "cards_due",
    "weak_concept",
    "continue_lesson",
    "streak_at_risk",
    "book_tutor",
)


def _in(values: tuple[str, ...]) -> str:
    return "(" + ", ".join(f"'{v}'" for v in values) + ")"


def _user_fk(*, index: bool = True) -> Mapped[uuid.UUID]:
    return mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=index)


class StudySession(UUIDPrimaryKey, Base):
    """A timer run. At most one per user is running (``ended_at`` NULL): a partial unique index,
    so two tabs starting at once cannot both win."""

    __tablename__ = "study_sessions"

    user_id: Mapped[uuid.UUID] = _user_fk(index=False)
    started_at: Mapped[datetime] = mapped_column(server_default=func.now())
    last_heartbeat_at: Mapped[datetime] = mapped_column(server_default=func.now())
    ended_at: Mapped[datetime | None]
    local_date: Mapped[date] = mapped_column(Date)
    duration_seconds: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    xp_awarded: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    close_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())

    __table_args__ = (
        CheckConstraint("duration_seconds >= 0", name="duration_non_negative"),
        CheckConstraint("xp_awarded >= 0", name="xp_non_negative"),
        CheckConstraint("ended_at IS NULL OR ended_at >= started_at", name="ends_after_start"),
        CheckConstraint(
            "close_reason IS NULL OR close_reason IN ('stopped', 'idle', 'capped')",
            name="close_reason",
        ),
        Index(
            "uq_study_sessions_running",
            "user_id",
            unique=True,
            postgresql_where=text("ended_at IS NULL"),
        ),
        Index("ix_study_sessions_user_id_local_date", "user_id", "local_date"),
        Index(
            "ix_study_sessions_open_heartbeat",
            "last_heartbeat_at",
            postgresql_where=text("ended_at IS NULL"),
        ),
    )


class UserStreak(Base):
    """One row per learner: the streak, their daily goal and board privacy."""

    __tablename__ = "user_streaks"

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    current_streak: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    longest_streak: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    last_study_date: Mapped[date | None] = mapped_column(Date)
    freezes_available: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    daily_goal_type: Mapped[str] = mapped_column(String(20), server_default="activity")
    daily_goal_minutes: Mapped[int] = mapped_column(Integer, server_default=text("10"))
    show_on_leaderboards: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now())

    __table_args__ = (
        CheckConstraint(
            "current_streak >= 0 AND longest_streak >= current_streak", name="streak_counts"
        ),
        CheckConstraint("freezes_available BETWEEN 0 AND 5", name="freezes"),
        CheckConstraint(f"daily_goal_type IN {_in(GOAL_TYPES)}", name="goal_type"),
        CheckConstraint("daily_goal_minutes BETWEEN 1 AND 600", name="goal_minutes"),
    )


class XpLog(UUIDPrimaryKey, Base):
    """The XP ledger: append-only (the API role may only INSERT and SELECT). One row per
    (user, source, reference, reason): a replayed event inserts nothing."""

    __tablename__ = "xp_logs"

    user_id: Mapped[uuid.UUID] = _user_fk(index=False)
    source_type: Mapped[str] = mapped_column(String(20))
    reference_id: Mapped[uuid.UUID]
    reason: Mapped[str] = mapped_column(String(40))
    xp_amount: Mapped[int] = mapped_column(Integer)
    local_date: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())

    __table_args__ = (
        UniqueConstraint("user_id", "source_type", "reference_id", "reason"),
        CheckConstraint(f"source_type IN {_in(XP_SOURCES)}", name="source_type"),
        Index("ix_xp_logs_user_id_local_date", "user_id", "local_date"),
        Index("ix_xp_logs_created_at", "created_at"),
    )


class Achievement(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "achievements"

    code: Mapped[str] = mapped_column(String(60), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, server_default="")
    badge_icon: Mapped[str | None] = mapped_column(String(200))
    criteria_type: Mapped[str] = mapped_column(String(40))
    criteria_value: Mapped[int] = mapped_column(Integer)
    xp_reward: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    is_active: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))

    __table_args__ = (
        CheckConstraint(f"criteria_type IN {_in(CRITERIA_TYPES)}", name="criteria_type"),
        CheckConstraint("criteria_value > 0", name="criteria_value_positive"),
        CheckConstraint("xp_reward >= 0", name="xp_reward_non_negative"),
    )


class UserAchievement(UUIDPrimaryKey, Base):
    __tablename__ = "user_achievements"

    user_id: Mapped[uuid.UUID] = _user_fk(index=False)
    achievement_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("achievements.id", ondelete="CASCADE"), index=True
    )
    unlocked_at: Mapped[datetime] = mapped_column(server_default=func.now())

    __table_args__ = (UniqueConstraint("user_id", "achievement_id"),)


class Friend(UUIDPrimaryKey, Timestamps, Base):
    """A pair of users, stored once whichever way it was asked: a unique index on the ordered
    pair refuses the same pair in the other direction."""

    __tablename__ = "friends"

    requester_id: Mapped[uuid.UUID] = _user_fk()
    addressee_id: Mapped[uuid.UUID] = _user_fk()
    status: Mapped[str] = mapped_column(String(20), server_default="pending")
    blocked_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    accepted_at: Mapped[datetime | None]

    __table_args__ = (
        CheckConstraint("requester_id <> addressee_id", name="not_self"),
        CheckConstraint(f"status IN {_in(FRIEND_STATUSES)}", name="status"),
        CheckConstraint("(status = 'blocked') = (blocked_by IS NOT NULL)", name="blocked_by"),
        Index(
            "uq_friends_pair",
            func.least(text("requester_id"), text("addressee_id")),
            func.greatest(text("requester_id"), text("addressee_id")),
            unique=True,
        ),
    )


class LeaderboardEntry(UUIDPrimaryKey, Base):
    """XP per user and UTC week or month, kept in the transaction that writes the ledger, so it
    always equals the ledger's sum."""

    __tablename__ = "leaderboard_cache"

    period_type: Mapped[str] = mapped_column(String(10))
    period_start: Mapped[date] = mapped_column(Date)
    user_id: Mapped[uuid.UUID] = _user_fk()
    xp_total: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))
    # Whether the learner appears on boards (their setting, and not deleted): kept on the row so
    # a rank is an index-only count over the partial board index, with no join per row.
    listed: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    generated_at: Mapped[datetime] = mapped_column(server_default=func.now())

    __table_args__ = (
        UniqueConstraint("period_type", "period_start", "user_id"),
        CheckConstraint(f"period_type IN {_in(PERIOD_TYPES)}", name="period_type"),
        Index(
            "ix_leaderboard_cache_board",
            "period_type",
            "period_start",
            text("xp_total DESC"),
            "user_id",
            postgresql_where=text("listed AND xp_total > 0"),
        ),
    )


class LeaderboardCount(UUIDPrimaryKey, Base):
    """How many listed board rows of a period hold exactly ``xp_total``: "my rank" is the sum of
    the counts above my XP plus the ties ahead of me. Rows are deltas (+1 where a learner
    arrives, -1 where they leave), appended by the ledger's transactions so no two learners
    wait on one popular value; a job compacts them to one row per value."""

    __tablename__ = "leaderboard_counts"

    period_type: Mapped[str] = mapped_column(String(10))
    period_start: Mapped[date] = mapped_column(Date)
    xp_total: Mapped[int] = mapped_column(BigInteger)
    learners: Mapped[int] = mapped_column(Integer)

    __table_args__ = (
        CheckConstraint(f"period_type IN {_in(PERIOD_TYPES)}", name="period_type"),
        CheckConstraint("xp_total > 0", name="xp_positive"),
        Index(
            "ix_leaderboard_counts_board",
            "period_type",
            "period_start",
            "xp_total",
            postgresql_include=["learners"],
        ),
    )


class TopicProgress(UUIDPrimaryKey, Base):
    __tablename__ = "topic_progress"

    user_id: Mapped[uuid.UUID] = _user_fk(index=False)
    topic_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("topics.id", ondelete="CASCADE"), index=True
    )
    mastery_score: Mapped[Decimal] = mapped_column(Numeric(5, 4), server_default=text("0"))
    ability: Mapped[float] = mapped_column(Float, server_default=text("0"))
    total_interactions: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    # The mean FSRS retrievability of the learner's cards of this topic at their last review.
    card_retrievability: Mapped[float | None] = mapped_column(Float)
    card_reviews: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    last_interaction: Mapped[datetime | None]
    last_updated: Mapped[datetime] = mapped_column(server_default=func.now())

    __table_args__ = (
        UniqueConstraint("user_id", "topic_id"),
        CheckConstraint("mastery_score >= 0 AND mastery_score <= 1", name="mastery_range"),
        CheckConstraint(
            "card_retrievability IS NULL OR "
            "(card_retrievability >= 0 AND card_retrievability <= 1)",
            name="card_retrievability_range",
        ),
    )


class LearningProfile(UUIDPrimaryKey, Base):
    """Mastery per concept (a key phrase or learning objective of a topic)."""

    __tablename__ = "learning_profiles"

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    subject: Mapped[str] = mapped_column(String(100))
    concept: Mapped[str] = mapped_column(String(200))
    topic_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("topics.id", ondelete="SET NULL"), index=True
    )
    mastery_score: Mapped[float] = mapped_column(Float, server_default=text("0"))
    ability: Mapped[float] = mapped_column(Float, server_default=text("0"))
    last_interaction: Mapped[datetime] = mapped_column(server_default=func.now())
    total_interactions: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    streak_days: Mapped[int] = mapped_column(Integer, server_default=text("0"))

    __table_args__ = (
        UniqueConstraint("user_id", "subject", "concept"),
        CheckConstraint("mastery_score >= 0 AND mastery_score <= 1", name="mastery_range"),
        Index("ix_learning_profiles_user_id_subject", "user_id", "subject"),
    )


class UserRecommendation(UUIDPrimaryKey, Base):
    __tablename__ = "user_recommendations"

    user_id: Mapped[uuid.UUID] = _user_fk(index=False)
    recommendation_type: Mapped[str] = mapped_column(String(40))
    reason_code: Mapped[str] = mapped_column(String(60))
    message: Mapped[str] = mapped_column(Text)
    reference_id: Mapped[uuid.UUID | None]
    priority_score: Mapped[int] = mapped_column(Integer)
    generated_at: Mapped[datetime] = mapped_column(server_default=func.now())
    expires_at: Mapped[datetime]
    dismissed_at: Mapped[datetime | None]

    __table_args__ = (
        CheckConstraint(
            f"recommendation_type IN {_in(RECOMMENDATION_TYPES)}", name="recommendation_type"
        ),
        UniqueConstraint("user_id", "recommendation_type", "reason_code"),
        Index("ix_user_recommendations_user_id_priority", "user_id", text("priority_score DESC")),
    )
