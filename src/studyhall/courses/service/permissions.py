"""Who may edit a course, and which lessons learners see."""

from __future__ import annotations

from studyhall.accounts.models import User
from studyhall.courses.models import Course
from studyhall.kit.errors import Forbidden

# Lesson statuses learners see in a public section: ``preview`` lessons are open to anyone,
# ``public`` ones to holders of course access; drafts only to editors.
PUBLISHED_LESSON = ("public", "preview")


def can_edit(user: User | None, course: Course) -> bool:
    if user is None:
        return False
    return user.role == "admin" or (user.role == "tutor" and course.author_id == user.id)


def require_editor(user: User, course: Course) -> None:
    if not can_edit(user, course):
        raise Forbidden(
            "Only the course's author or an admin may change it.", code="not_course_author"
        )
