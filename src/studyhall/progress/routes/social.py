"""HTTP for friends and leaderboards."""

from __future__ import annotations

import uuid
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response, status

from studyhall.accounts.deps import CurrentUser
from studyhall.db.deps import Session
from studyhall.progress.schemas import BoardRead, FriendRead, FriendRequest
from studyhall.progress.service import boards, friends

router = APIRouter(tags=["progress"])
NO_CONTENT = status.HTTP_204_NO_CONTENT


@router.get("/friends", summary="My friends, requests and blocks")
async def list_friends(user: CurrentUser, session: Session) -> list[FriendRead]:
    return [FriendRead.model_validate(row) for row in await friends.listed(session, user.id)]


@router.post(
    "/friends/requests",
    summary="Ask someone (by user id or e-mail) to be friends; accepts their pending request",
)
async def request_friend(body: FriendRequest, user: CurrentUser, session: Session) -> FriendRead:
    other = await friends.resolve(session, user.id, body.user_id, body.email)
    return FriendRead.model_validate(await friends.request(session, user.id, other))


@router.post("/friends/{user_id}/accept", summary="Accept a friend request")
async def accept_friend(user_id: uuid.UUID, user: CurrentUser, session: Session) -> FriendRead:
    return FriendRead.model_validate(await friends.accept(session, user.id, user_id))


@router.delete(
    "/friends/{user_id}",
    status_code=NO_CONTENT,
    summary="Decline or withdraw a request, or unfriend",
)
async def remove_friend(user_id: uuid.UUID, user: CurrentUser, session: Session) -> Response:
    await friends.decline_or_remove(session, user.id, user_id)
    return Response(status_code=NO_CONTENT)


@router.post("/friends/{user_id}/block", summary="Block a user (they cannot ask again)")
async def block_user(user_id: uuid.UUID, user: CurrentUser, session: Session) -> FriendRead:
    other = await friends.resolve(session, user.id, user_id, None)
    return FriendRead.model_validate(await friends.block(session, user.id, other))


@router.delete("/friends/{user_id}/block", status_code=NO_CONTENT, summary="Lift my block")
async def unblock_user(user_id: uuid.UUID, user: CurrentUser, session: Session) -> Response:
    await friends.unblock(session, user.id, user_id)
    return Response(status_code=NO_CONTENT)


@router.get(
    "/leaderboards/{period_type}",
    summary="Top learners of this UTC week or month, my rank and my neighbours",
)
async def leaderboard(
    period_type: Literal["weekly", "monthly"],
    user: CurrentUser,
    session: Session,
    scope: Literal["global", "friends"] = "global",
    limit: Annotated[int, Query(ge=1, le=100)] = 10,
) -> BoardRead:
    found = await boards.board(session, user.id, period_type, scope, datetime.now(UTC), limit)
    return BoardRead.model_validate(asdict(found))
