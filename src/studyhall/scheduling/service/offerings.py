"""Offerings: created and edited by the owning tutor only; read by anyone while the tutor may
sell."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import literal, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.accounts.models import User
from studyhall.audit import service as audit
from studyhall.kit.errors import Forbidden, NotFound, Unprocessable
from studyhall.kit.paging import PageRequest, after
from studyhall.scheduling.models import Offering, Slot
from studyhall.scheduling.schemas import OfferingCreate, OfferingUpdate
from studyhall.scheduling.service.background import schedule_materialization
from studyhall.scheduling.service.clock import utcnow
from studyhall.scheduling.service.sellers import sellable
from studyhall.scheduling.service.tutor_settings import ensure_settings

SHORT_DESCRIPTION_MAX = 500
_FIELDS = (
    "title",
    "description",
    "short_description",
    "topic_tags",
    "duration_minutes",
    "price_cents",
    "currency",
    "level",
    "prerequisites",
    "materials_url",
    "max_participants",
    "requires_approval",
    "is_active",
)


def derive_short_description(description: str) -> str:
    """The first 500 characters, cut at a word boundary with an ellipsis when truncated."""
    text = " ".join(description.split())
    if len(text) <= SHORT_DESCRIPTION_MAX:
        return text
    cut = text[: SHORT_DESCRIPTION_MAX - 1]
    if " " in cut:
        cut = cut[: cut.rindex(" ")]
    return cut.rstrip(" ,.;:") + "…"


def _check_duration(minutes: int | None) -> None:
    if minutes is not None and minutes % 15:
        raise Unprocessable(
            f"duration_minutes must be a multiple of 15, got {minutes}.",
            code="duration_not_multiple_of_15",
            field="duration_minutes",
        )


def _normalized_tags(tags: list[str]) -> list[str]:
    seen: dict[str, None] = {}
    for tag in tags:
        clean = " ".join(tag.split()).lower()
        if clean:
            seen.setdefault(clean[:60], None)
    return list(seen)


async def create_offering(session: AsyncSession, tutor: User, data: OfferingCreate) -> Offering:
    _check_duration(data.duration_minutes)
    values: dict[str, Any] = data.model_dump()
    values["materials_url"] = None if data.materials_url is None else str(data.materials_url)
    values["short_description"] = data.short_description or derive_short_description(
        data.description
    )
    values["topic_tags"] = _normalized_tags(data.topic_tags)
    offering = Offering(tutor_id=tutor.id, **values)
    session.add(offering)
    await ensure_settings(session, tutor.id)
    await session.flush()
    await session.refresh(offering)
    await audit.record(
        session, tutor.id, "offering.create", "offering", offering.id, {"title": offering.title}
    )
    await schedule_materialization(session, tutor.id)
    return offering


async def get_offering(
    session: AsyncSession, offering_id: uuid.UUID, viewer: User | None = None
) -> Offering:
    """Public: an active offering of a tutor who may sell; its own tutor always sees it."""
    offering = await session.get(Offering, offering_id)
    if offering is None or offering.deleted_at is not None:
        raise NotFound("No such offering.", code="offering_not_found")
    own = viewer is not None and viewer.id == offering.tutor_id
    if not own and not (offering.is_active and await _on_sale(session, offering)):
        raise NotFound("No such offering.", code="offering_not_found")
    return offering


async def _on_sale(session: AsyncSession, offering: Offering) -> bool:
    return bool(await session.scalar(select(sellable(literal(offering.tutor_id)))))


async def owned_offering(session: AsyncSession, actor: User, offering_id: uuid.UUID) -> Offering:
    # Read first, lock after the owner check: row level security lets everyone read an offering
    # but only its tutor (or an admin) lock it, and a stranger should hear "not yours".
    offering = await session.get(Offering, offering_id)
    if offering is None or offering.deleted_at is not None:
        raise NotFound("No such offering.", code="offering_not_found")
    if offering.tutor_id != actor.id and actor.role != "admin":
        raise Forbidden("Only the tutor who owns this offering may change it.", code="not_owner")
    await session.refresh(offering, with_for_update=True)
    return offering


async def list_offerings(
    session: AsyncSession,
    tutor_id: uuid.UUID | None,
    tag: str | None,
    page: PageRequest,
    viewer: User | None = None,
) -> tuple[list[Offering], str | None]:
    """A page of active offerings of tutors who may sell, oldest first; a tutor listing their
    own sees theirs anyway."""
    query = select(Offering).where(Offering.deleted_at.is_(None), Offering.is_active)
    if tutor_id is not None:
        query = query.where(Offering.tutor_id == tutor_id)
    if tutor_id is None or viewer is None or viewer.id != tutor_id:
        query = query.where(sellable(Offering.tutor_id))
    if tag:
        query = query.where(Offering.topic_tags.contains([tag.strip().lower()]))
    keyset = after(
        (Offering.created_at.expression, Offering.id.expression), page.key(datetime, uuid.UUID)
    )
    if keyset is not None:
        query = query.where(keyset)
    query = query.order_by(Offering.created_at, Offering.id).limit(page.limit + 1)
    rows = (await session.scalars(query)).all()
    return page.of(rows, lambda row: (row.created_at, row.id))


async def update_offering(
    session: AsyncSession, actor: User, offering_id: uuid.UUID, data: OfferingUpdate
) -> Offering:
    offering = await owned_offering(session, actor, offering_id)
    _check_duration(data.duration_minutes)
    changes = data.model_dump(exclude_unset=True)
    if "materials_url" in changes and changes["materials_url"] is not None:
        changes["materials_url"] = str(changes["materials_url"])
    if "topic_tags" in changes:
        changes["topic_tags"] = _normalized_tags(changes["topic_tags"] or [])
    if "description" in changes and "short_description" not in changes:
        changes["short_description"] = derive_short_description(changes["description"])
    before = {name: getattr(offering, name) for name in _FIELDS}
    for name, value in changes.items():
        setattr(offering, name, value)
    await session.flush()
    await session.refresh(offering)
    after = {name: getattr(offering, name) for name in _FIELDS}
    await audit.record(
        session, actor.id, "offering.update", "offering", offering.id, audit.changes(before, after)
    )
    await schedule_materialization(session, offering.tutor_id)
    return offering


async def delete_offering(session: AsyncSession, actor: User, offering_id: uuid.UUID) -> None:
    offering = await owned_offering(session, actor, offering_id)
    offering.deleted_at = utcnow()
    offering.is_active = False
    # Booked slots stay as they are: their bookings are still honoured.
    await session.execute(
        update(Slot)
        .where(Slot.offering_id == offering.id, Slot.seats_taken == 0, Slot.status == "open")
        .values(status="closed")
    )
    await audit.record(session, actor.id, "offering.delete", "offering", offering.id)
