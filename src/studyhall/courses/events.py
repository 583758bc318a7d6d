"""Facts the course store emits (``kit.events``) inside its own transaction."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class LessonCompleted:
    user_id: uuid.UUID
    lesson_id: uuid.UUID
    at: datetime = field(default_factory=_now)


@dataclass(frozen=True)
class PurchaseCreated:
    """A course purchase became paid and granted access."""

    purchase_id: uuid.UUID
    user_id: uuid.UUID
    course_id: uuid.UUID
    amount_cents: int
    currency: str


@dataclass(frozen=True)
class CourseCompleted:
    """The learner completed the last published lesson of a course."""

    user_id: uuid.UUID
    course_id: uuid.UUID
    at: datetime = field(default_factory=_now)


@dataclass(frozen=True)
class LessonMaterialChosen:
    """An editor is about to attach a study material to a lesson (emitted before the write).

    Study owns materials: its subscriber refuses a material that does not exist, is deleted or
    belongs to someone else (unless ``any_owner``, an admin), by raising the 422, and keeps the
    material from being deleted until the lesson that references it commits."""

    user_id: uuid.UUID
    material_id: uuid.UUID
    any_owner: bool
