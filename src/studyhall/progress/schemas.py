"""Request and response bodies of the progress API."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from studyhall.kit.paging import Page


class StudySessionRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    started_at: datetime
    last_heartbeat_at: datetime
    ended_at: datetime | None
    local_date: date
    duration_seconds: int
    xp_awarded: int
    close_reason: str | None


class SettingsRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    daily_goal_type: Literal["minutes", "activity"]
    daily_goal_minutes: int
    show_on_leaderboards: bool


class SettingsWithFreezes(SettingsRead):
    freezes_available: int
    current_streak: int


class SettingsUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    daily_goal_type: Literal["minutes", "activity"] | None = None
    daily_goal_minutes: int | None = Field(default=None, ge=1, le=600)
    show_on_leaderboards: bool | None = None


class StreakRead(BaseModel):
    current: int
    longest: int
    last_study_date: date | None
    freezes_available: int
    today_counted: bool
    seconds_left_today: int


class GoalRead(BaseModel):
    type: Literal["minutes", "activity"]
    target: int
    progress: int
    met: bool


class XpRead(BaseModel):
    total: int
    this_week: int
    today: int
    level: int
    xp_into_level: int
    xp_for_next: int


class RecommendationRead(BaseModel):
    id: uuid.UUID
    recommendation_type: str
    reason_code: str
    message: str
    reference_id: uuid.UUID | None
    priority_score: int
    expires_at: datetime


class Recommended(BaseModel):
    recommendation_type: str
    reason_code: str
    message: str
    reference_id: uuid.UUID | None
    priority_score: int
    expires_at: datetime


class NextAchievement(BaseModel):
    id: uuid.UUID
    title: str
    description: str
    badge_icon: str | None
    criteria_type: str
    criteria_value: int
    current_value: int


class ContinueLearning(BaseModel):
    course_id: uuid.UUID
    course_title: str
    lessons_completed: int
    lessons_total: int


class DashboardRead(BaseModel):
    user_id: uuid.UUID
    timezone: str
    local_date: date
    streak: StreakRead
    goal: GoalRead
    xp: XpRead
    next_achievement: NextAchievement | None
    recommendations: list[RecommendationRead]
    due_cards: int
    continue_learning: ContinueLearning | None


def dashboard_read(
    user_id: uuid.UUID,
    body: dict[str, Any],
    due_cards: int,
    continue_learning: ContinueLearning | None,
) -> DashboardRead:
    return DashboardRead.model_validate(
        {**body, "user_id": user_id, "due_cards": due_cards, "continue_learning": continue_learning}
    )


CriteriaType = Literal[
    "streak_days",
    "total_xp",
    "quizzes_passed",
    "lessons_completed",
    "cards_reviewed",
    "study_minutes",
    "questions_asked",
]


class AchievementCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(pattern=r"^[a-z0-9_]{2,60}$")
    title: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=2000)
    badge_icon: str | None = Field(default=None, max_length=200)
    criteria_type: CriteriaType
    criteria_value: int = Field(ge=1, le=10_000_000)
    xp_reward: int = Field(default=0, ge=0, le=10_000)
    is_active: bool = True


class AchievementUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=2000)
    badge_icon: str | None = Field(default=None, max_length=200)
    criteria_type: CriteriaType | None = None
    criteria_value: int | None = Field(default=None, ge=1, le=10_000_000)
    xp_reward: int | None = Field(default=None, ge=0, le=10_000)
    is_active: bool | None = None


class AchievementRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    code: str
    title: str
    description: str
    badge_icon: str | None
    criteria_type: str
    criteria_value: int
    xp_reward: int
    is_active: bool
    unlocked_at: datetime | None = None


class FriendRequest(BaseModel):
    """Exactly one of ``user_id`` or ``email``."""

    model_config = ConfigDict(extra="forbid")

    user_id: uuid.UUID | None = None
    email: str | None = Field(default=None, max_length=320)

    @model_validator(mode="after")
    def _one_of(self) -> FriendRequest:
        if (self.user_id is None) == (self.email is None):
            raise ValueError("give exactly one of user_id or email")
        return self


class FriendRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    requester_id: uuid.UUID
    addressee_id: uuid.UUID
    status: str
    blocked_by: uuid.UUID | None
    accepted_at: datetime | None
    created_at: datetime


class BoardRow(BaseModel):
    rank: int
    user_id: uuid.UUID
    name: str
    xp: int


class MyRank(BaseModel):
    rank: int
    xp: int


class BoardRead(BaseModel):
    period_type: Literal["weekly", "monthly"]
    period_start: date
    scope: Literal["global", "friends"]
    top: list[BoardRow]
    me: MyRank | None
    neighbours: list[BoardRow]


class StudySessionPage(Page[StudySessionRead]):
    """One page of my study sessions, newest first."""


class AchievementPage(Page[AchievementRead]):
    """One page of achievements, by criteria and target."""


class FriendPage(Page[FriendRead]):
    """One page of my friendships, requests and blocks, oldest first."""
