"""``studyhall demo``: a starter set of achievement definitions, once (keyed by code)."""

from __future__ import annotations

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.config import Settings
from studyhall.progress.models import Achievement

STARTER = (
    ("first_lesson", "First lesson", "Completed your first lesson.", "lessons_completed", 1),
    ("first_pass", "Passed!", "Passed your first quiz.", "quizzes_passed", 1),
    ("week_streak", "One week", "Studied seven days in a row.", "streak_days", 7),
    ("month_streak", "One month", "Studied thirty days in a row.", "streak_days", 30),
    ("xp_1000", "A thousand XP", "Earned 1,000 XP.", "total_xp", 1000),
    ("cards_100", "Card shark", "Reviewed 100 flashcards.", "cards_reviewed", 100),
    ("hours_10", "Ten hours", "Studied ten hours with the timer.", "study_minutes", 600),
)


async def load(session: AsyncSession, settings: Settings) -> list[str]:
    inserted = await session.scalars(
        insert(Achievement)
        .values(
            [
                {
                    "code": code,
                    "title": title,
                    "description": description,
                    "criteria_type": criteria_type,
                    "criteria_value": value,
                }
                for code, title, description, criteria_type, value in STARTER
            ]
        )
        .on_conflict_do_nothing(index_elements=["code"])
        .returning(Achievement.id)
    )
    return [f"progress: {len(inserted.all())} achievement definitions"]
