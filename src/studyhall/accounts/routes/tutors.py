"""Accounts HTTP: the public tutor directory."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Query

from studyhall.accounts.models import TutorProfile, User
from studyhall.accounts.schemas import TutorCard, TutorPage
from studyhall.accounts.service import profiles
from studyhall.db.deps import Session
from studyhall.kit.errors import NotFound
from studyhall.kit.inputs import MAX_CENTS
from studyhall.kit.paging import PageQuery

router = APIRouter(prefix="/tutors")


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


@router.get("", summary="List the tutor directory")
async def tutors_list(
    session: Session,
    page: PageQuery,
    subject: Annotated[str | None, Query(min_length=1, max_length=60)] = None,
    min_price_cents: Annotated[int | None, Query(ge=0, le=MAX_CENTS)] = None,
    max_price_cents: Annotated[int | None, Query(ge=0, le=MAX_CENTS)] = None,
    currency: Annotated[str | None, Query(pattern=r"^[A-Z]{3}$")] = None,
    min_rating: Annotated[Decimal | None, Query(ge=0, le=5)] = None,
) -> TutorPage:
    """Verified, available tutors, best rated first (public); the filters narrow it down."""
    flt = profiles.DirectoryFilter(
        subject=subject,
        min_price_cents=min_price_cents,
        max_price_cents=max_price_cents,
        currency=currency,
        min_rating=min_rating,
    )
    rows, next_cursor = await profiles.directory(session, flt, page.limit, page.cursor)
    return TutorPage(items=[_card(p, u) for p, u in rows], next_cursor=next_cursor)


@router.get("/{user_id}", summary="Get one tutor of the directory")
async def tutor_get(user_id: uuid.UUID, session: Session) -> TutorCard:
    """One tutor as the directory shows them (public); 404 if they are not listed."""
    rows, _ = await profiles.directory(
        session, profiles.DirectoryFilter(), 1, None, user_id=user_id
    )
    if not rows:
        raise NotFound("No such tutor.", code="tutor_not_found")
    return _card(*rows[0])
