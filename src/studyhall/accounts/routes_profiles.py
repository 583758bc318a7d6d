"""Accounts HTTP: the caller's profiles, connected accounts, and the public tutor directory."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Query, status

from studyhall.accounts import oauth, profiles
from studyhall.accounts.deps import CurrentUser, Student, Tutor
from studyhall.accounts.models import TutorProfile, User
from studyhall.accounts.schemas import (
    OAuthAccountRead,
    StudentProfileRead,
    StudentProfileUpdate,
    TutorCard,
    TutorPage,
    TutorProfileRead,
    TutorProfileUpdate,
)
from studyhall.db.deps import Session
from studyhall.kit.errors import NotFound
from studyhall.kit.inputs import MAX_CENTS

router = APIRouter(tags=["accounts"])


@router.get("/me/student-profile", summary="The calling student's profile")
async def get_student_profile(user: Student, session: Session) -> StudentProfileRead:
    return StudentProfileRead.model_validate(await profiles.student_profile(session, user))


@router.patch("/me/student-profile", summary="Change the calling student's profile")
async def update_student_profile(
    data: StudentProfileUpdate, user: Student, session: Session
) -> StudentProfileRead:
    profile = await profiles.student_profile(session, user)
    await profiles.update_profile(session, user, profile, data.model_dump(exclude_unset=True))
    return StudentProfileRead.model_validate(profile)


@router.get("/me/tutor-profile", summary="The calling tutor's profile")
async def get_tutor_profile(user: Tutor, session: Session) -> TutorProfileRead:
    await profiles.ensure_profile(session, user)
    return TutorProfileRead.model_validate(await profiles.tutor_profile(session, user.id))


@router.patch("/me/tutor-profile", summary="Change the calling tutor's profile")
async def update_tutor_profile(
    data: TutorProfileUpdate, user: Tutor, session: Session
) -> TutorProfileRead:
    await profiles.ensure_profile(session, user)
    profile = await profiles.tutor_profile(session, user.id)
    await profiles.update_profile(
        session, user, profile, data.model_dump(exclude_unset=True, mode="json")
    )
    return TutorProfileRead.model_validate(profile)


def _card(profile: TutorProfile, user: User) -> TutorCard:
    return TutorCard(
        user_id=user.id,
        name=user.name,
        avatar_url=user.avatar_url,
        timezone=user.timezone,
        bio=profile.bio,
        subjects=profile.subjects,
        hourly_rate_cents=profile.hourly_rate_cents,
        currency=profile.currency,
        rating=None if profile.rating is None else float(profile.rating),
        rating_count=profile.rating_count,
        total_sessions=profile.total_sessions,
    )


@router.get("/tutors", summary="Verified, available tutors, best rated first (public)")
async def list_tutors(
    session: Session,
    subject: Annotated[str | None, Query(min_length=1, max_length=60)] = None,
    min_price_cents: Annotated[int | None, Query(ge=0, le=MAX_CENTS)] = None,
    max_price_cents: Annotated[int | None, Query(ge=0, le=MAX_CENTS)] = None,
    currency: Annotated[str | None, Query(pattern=r"^[A-Z]{3}$")] = None,
    min_rating: Annotated[Decimal | None, Query(ge=0, le=5)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> TutorPage:
    flt = profiles.DirectoryFilter(
        subject=subject,
        min_price_cents=min_price_cents,
        max_price_cents=max_price_cents,
        currency=currency,
        min_rating=min_rating,
    )
    rows, next_cursor = await profiles.directory(session, flt, limit, cursor)
    return TutorPage(items=[_card(p, u) for p, u in rows], next_cursor=next_cursor)


@router.get("/tutors/{user_id}", summary="One tutor of the directory (public)")
async def get_tutor(user_id: uuid.UUID, session: Session) -> TutorCard:
    rows, _ = await profiles.directory(
        session, profiles.DirectoryFilter(), 1, None, user_id=user_id
    )
    if not rows:
        raise NotFound("No such tutor.", code="tutor_not_found")
    return _card(*rows[0])


@router.get("/me/oauth-accounts", summary="The caller's connected provider accounts")
async def list_oauth_accounts(user: CurrentUser, session: Session) -> list[OAuthAccountRead]:
    return [OAuthAccountRead.model_validate(a) for a in await oauth.for_user(session, user.id)]


@router.delete(
    "/me/oauth-accounts/{account_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Disconnect a provider account and erase its tokens",
)
async def disconnect_oauth_account(
    account_id: uuid.UUID, user: CurrentUser, session: Session
) -> None:
    await oauth.disconnect(session, user.id, account_id)
