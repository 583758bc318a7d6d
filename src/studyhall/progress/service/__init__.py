"""Progress's public functions for other domains: ``record`` one learning event inside the
caller's transaction; the dashboard, boards, friends and blocks, settings, streak freezes, the
study timer and the guardian check for the web app."""

from __future__ import annotations

from studyhall.progress.service.boards import Board, board
from studyhall.progress.service.dashboard import dashboard as learner_dashboard
from studyhall.progress.service.definitions import listed as achievements_listed
from studyhall.progress.service.definitions import unlocked_by as achievements_unlocked_by
from studyhall.progress.service.events import (
    CardReviewed,
    CardTopic,
    Event,
    LessonCompleted,
    QuestionAsked,
    QuizAnswer,
    QuizCompleted,
    QuizTopic,
    StudyTime,
)
from studyhall.progress.service.freezes import EARNED_EVERY_DAYS as FREEZE_EARNED_EVERY_DAYS
from studyhall.progress.service.freezes import FREEZE_COST_XP, MAX_FREEZES
from studyhall.progress.service.freezes import buy as streak_freeze_buy
from studyhall.progress.service.friends import accept as friend_accept
from studyhall.progress.service.friends import block as friend_block
from studyhall.progress.service.friends import decline_or_remove as friend_remove
from studyhall.progress.service.friends import listed as friends_listed
from studyhall.progress.service.friends import request as friend_request
from studyhall.progress.service.friends import resolve as friend_resolve
from studyhall.progress.service.friends import unblock as friend_unblock
from studyhall.progress.service.guardians import require_guardian
from studyhall.progress.service.ledger import Recorded, record
from studyhall.progress.service.preferences import read as settings_read
from studyhall.progress.service.preferences import update as settings_update
from studyhall.progress.service.refresh import refresh as recommendations_refresh
from studyhall.progress.service.timer import heartbeat as study_timer_heartbeat
from studyhall.progress.service.timer import recent as study_sessions_recent
from studyhall.progress.service.timer import start as study_timer_start
from studyhall.progress.service.timer import stop as study_timer_stop

__all__ = [
    "FREEZE_COST_XP",
    "FREEZE_EARNED_EVERY_DAYS",
    "MAX_FREEZES",
    "Board",
    "CardReviewed",
    "CardTopic",
    "Event",
    "LessonCompleted",
    "QuestionAsked",
    "QuizAnswer",
    "QuizCompleted",
    "QuizTopic",
    "Recorded",
    "StudyTime",
    "achievements_listed",
    "achievements_unlocked_by",
    "board",
    "friend_accept",
    "friend_block",
    "friend_remove",
    "friend_request",
    "friend_resolve",
    "friend_unblock",
    "friends_listed",
    "learner_dashboard",
    "recommendations_refresh",
    "record",
    "require_guardian",
    "settings_read",
    "settings_update",
    "streak_freeze_buy",
    "study_sessions_recent",
    "study_timer_heartbeat",
    "study_timer_start",
    "study_timer_stop",
]
