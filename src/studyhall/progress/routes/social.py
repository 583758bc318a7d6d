"""HTTP for friends and leaderboards."""

from __future__ import annotations

import uuid
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response, status

from studyhall.accounts.deps import CurrentUser
from studyhall.db.deps import Session
from studyhall.kit.paging import PageQuery
from studyhall.progress.schemas import BoardRead, FriendPage, FriendRead, FriendRequest
from studyhall.progress.service import boards, friends

router = APIRouter()
NO_CONTENT = status.HTTP_204_NO_CONTENT


@router.get("/friends", summary="List my friends, requests and blocks")
async def friends_list(user: CurrentUser, session: Session, page: PageQuery) -> FriendPage:
    """Accepted friends, requests I sent or received, and blocks, oldest first."""
    rows, cursor = await friends.listed(session, user.id, page)
    return FriendPage(items=[FriendRead.model_validate(row) for row in rows], next_cursor=cursor)


@router.post(
    "/friends/requests",
    summary="Ask someone to be friends",
)
async def friend_request_create(
    body: FriendRequest, user: CurrentUser, session: Session
) -> FriendRead:
    """By user id or e-mail; if they already asked me, this accepts their request."""
    other = await friends.resolve(session, user.id, body.user_id, body.email)
    return FriendRead.model_validate(await friends.request(session, user.id, other))


@router.post("/friends/{user_id}/accept", summary="Accept a friend request")
async def friend_accept(user_id: uuid.UUID, user: CurrentUser, session: Session) -> FriendRead:
    """The pending request ``user_id`` sent me becomes a friendship."""
    return FriendRead.model_validate(await friends.accept(session, user.id, user_id))


@router.delete(
    "/friends/{user_id}",
    status_code=NO_CONTENT,
    summary="Remove a friend or a request",
)
async def friend_delete(user_id: uuid.UUID, user: CurrentUser, session: Session) -> Response:
    """Declines their request, withdraws mine, or ends the friendship."""
    await friends.decline_or_remove(session, user.id, user_id)
    return Response(status_code=NO_CONTENT)


@router.post("/friends/{user_id}/block", summary="Block a user")
async def friend_block(user_id: uuid.UUID, user: CurrentUser, session: Session) -> FriendRead:
    """They can no longer ask me to be friends; a friendship between us ends."""
    other = await friends.resolve(session, user.id, user_id, None)
    return FriendRead.model_validate(await friends.block(session, user.id, other))


@router.delete("/friends/{user_id}/block", status_code=NO_CONTENT, summary="Lift my block")
async def friend_unblock(user_id: uuid.UUID, user: CurrentUser, session: Session) -> Response:
    """Only a block I made can be lifted by me."""
    await friends.unblock(session, user.id, user_id)
    return Response(status_code=NO_CONTENT)


@router.get(
    "/leaderboards/{period_type}",
    summary="Get a leaderboard",
)
async def leaderboard_get(
    period_type: Literal["weekly", "monthly"],
    user: CurrentUser,
    session: Session,
    scope: Literal["global", "friends"] = "global",
    limit: Annotated[int, Query(ge=1, le=100)] = 10,
) -> BoardRead:
    """The top ``limit`` learners of this UTC week or month (everyone, or my friends and me),
    my rank and the learners just above and below me. Learners who opted out are not shown."""
    found = await boards.board(session, user.id, period_type, scope, datetime.now(UTC), limit)
    return BoardRead.model_validate(asdict(found))
