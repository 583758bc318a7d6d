"""Constraint violations the API can cause, turned into their problem codes."""

from __future__ import annotations

from typing import NoReturn

from sqlalchemy.exc import IntegrityError

from studyhall.kit.errors import Conflict
from studyhall.scheduling.models import STUDENT_OVERLAP, TIME_OFF_OVERLAP, TUTOR_OVERLAP


def constraint_name(exc: IntegrityError) -> str | None:
    diag = getattr(exc.orig, "diag", None)
    name = getattr(diag, "constraint_name", None)
    return name if isinstance(name, str) else None


def raise_integrity(exc: IntegrityError) -> NoReturn:
    """Turn a constraint violation the API can cause into its problem code."""
    name = constraint_name(exc)
    if name == TUTOR_OVERLAP:
        raise Conflict(
            "The tutor already has a booking at this time (buffers included).",
            code="tutor_unavailable",
        ) from exc
    if name == STUDENT_OVERLAP:
        raise Conflict(
            "You already have a booking that overlaps this time.", code="student_overlap"
        ) from exc
    if name == TIME_OFF_OVERLAP:
        raise Conflict(
            "This time off overlaps time off you already have.", code="time_off_overlap"
        ) from exc
    raise exc
