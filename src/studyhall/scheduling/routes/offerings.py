"""HTTP for offerings: what a tutor sells, and the public catalogue of them."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from studyhall.accounts.deps import OptionalUser, Tutor, TutorOrAdmin
from studyhall.db.deps import Session
from studyhall.kit.paging import PageQuery
from studyhall.scheduling import service
from studyhall.scheduling.schemas import OfferingCreate, OfferingPage, OfferingRead, OfferingUpdate

router = APIRouter()


@router.post("/offerings", status_code=status.HTTP_201_CREATED, summary="Create an offering")
async def offerings_create(data: OfferingCreate, tutor: Tutor, session: Session) -> OfferingRead:
    """A tutor publishes a session they sell: title, length, price, capacity, topic tags. Slots
    for it appear as the tutor's availability is materialized."""
    return OfferingRead.model_validate(await service.create_offering(session, tutor, data))


@router.get("/offerings", summary="List active offerings (public)")
async def offerings_list(
    session: Session,
    viewer: OptionalUser,
    page: PageQuery,
    tutor_id: uuid.UUID | None = None,
    tag: Annotated[str | None, Query(max_length=60)] = None,
) -> OfferingPage:
    """Active offerings of tutors who may sell, oldest first, by tutor or topic tag; a tutor
    listing their own offerings sees them even while they may not sell."""
    rows, next_cursor = await service.list_offerings(session, tutor_id, tag, page, viewer)
    return OfferingPage(
        items=[OfferingRead.model_validate(row) for row in rows], next_cursor=next_cursor
    )


@router.get("/offerings/{offering_id}", summary="Get one offering (public)")
async def offering_get(
    offering_id: uuid.UUID, session: Session, viewer: OptionalUser
) -> OfferingRead:
    """One offering; a retired one, or one of a tutor who may not sell, is 404 to others."""
    return OfferingRead.model_validate(await service.get_offering(session, offering_id, viewer))


@router.patch("/offerings/{offering_id}", summary="Edit an offering")
async def offering_update(
    offering_id: uuid.UUID, data: OfferingUpdate, actor: TutorOrAdmin, session: Session
) -> OfferingRead:
    """Change the fields sent (its tutor or an admin); bookings keep the price they were made at."""
    return OfferingRead.model_validate(
        await service.update_offering(session, actor, offering_id, data)
    )


@router.delete(
    "/offerings/{offering_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Retire an offering",
)
async def offering_delete(
    offering_id: uuid.UUID, actor: TutorOrAdmin, session: Session
) -> Response:
    """The offering stops being sold and its open slots close; existing bookings stand."""
    await service.delete_offering(session, actor, offering_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
