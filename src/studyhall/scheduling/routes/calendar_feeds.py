"""HTTP for private calendar feeds: a secret ICS URL a calendar app subscribes to."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response, status

from studyhall.accounts.deps import CurrentUser
from studyhall.db.deps import Session
from studyhall.scheduling import service
from studyhall.scheduling.schemas import FeedCreated

router = APIRouter()

ICS = "text/calendar; charset=utf-8"


@router.post(
    "/calendar/feed",
    status_code=status.HTTP_201_CREATED,
    summary="Create your private calendar feed",
)
async def calendar_feed_create(
    request: Request, user: CurrentUser, session: Session
) -> FeedCreated:
    """A new secret feed URL of your bookings; the previous one stops working."""
    token = await service.create_feed(session, user)
    return FeedCreated(url=service.feed_url(request.app.state.settings, token), token=token)


@router.delete(
    "/calendar/feed",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Revoke your calendar feed",
)
async def calendar_feed_revoke(user: CurrentUser, session: Session) -> Response:
    """Every feed URL you had stops working."""
    await service.revoke_feeds(session, user)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/calendar/feeds/{token}.ics", summary="Read a private calendar feed (public)")
async def calendar_feed_get(token: str, session: Session) -> Response:
    """The feed owner's bookings from the last 90 days on, as iCalendar. No sign-in: the URL's
    secret token is the authorization."""
    owner = await service.feed_owner(session, token)
    return Response(await service.feed_ics(session, owner), media_type=ICS)
