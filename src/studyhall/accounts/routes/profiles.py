"""Accounts HTTP: the caller's student or tutor profile."""

from __future__ import annotations

from fastapi import APIRouter

from studyhall.accounts.deps import Student, Tutor
from studyhall.accounts.schemas import (
    StudentProfileRead,
    StudentProfileUpdate,
    TutorProfileRead,
    TutorProfileUpdate,
)
from studyhall.accounts.service import profiles
from studyhall.db.deps import Session

router = APIRouter(prefix="/me")


@router.get("/student-profile", summary="Get the calling student's profile")
async def student_profile_get(user: Student, session: Session) -> StudentProfileRead:
    """The calling student's learning profile."""
    return StudentProfileRead.model_validate(await profiles.student_profile(session, user))


@router.patch("/student-profile", summary="Change the calling student's profile")
async def student_profile_update(
    data: StudentProfileUpdate, user: Student, session: Session
) -> StudentProfileRead:
    """Changes the fields sent; fields left out stay as they are."""
    profile = await profiles.student_profile(session, user)
    await profiles.update_profile(session, user, profile, data.model_dump(exclude_unset=True))
    return StudentProfileRead.model_validate(profile)


@router.get("/tutor-profile", summary="Get the calling tutor's profile")
async def tutor_profile_get(user: Tutor, session: Session) -> TutorProfileRead:
    """The calling tutor's profile, as the directory and admins see it, with its totals."""
    await profiles.ensure_profile(session, user)
    return TutorProfileRead.model_validate(await profiles.tutor_profile(session, user.id))


@router.patch("/tutor-profile", summary="Change the calling tutor's profile")
async def tutor_profile_update(
    data: TutorProfileUpdate, user: Tutor, session: Session
) -> TutorProfileRead:
    """Changes the fields sent (bio, subjects, rate, availability...); others stay as they are."""
    await profiles.ensure_profile(session, user)
    profile = await profiles.tutor_profile(session, user.id)
    await profiles.update_profile(
        session, user, profile, data.model_dump(exclude_unset=True, mode="json")
    )
    return TutorProfileRead.model_validate(profile)
