"""Accounts HTTP: the caller's own account."""

from __future__ import annotations

from fastapi import APIRouter, Request, status

from studyhall.accounts.deps import CurrentUser
from studyhall.accounts.schemas import UserRead, UserUpdate
from studyhall.accounts.service import users as service
from studyhall.db.deps import Session

router = APIRouter()


@router.get("/me", summary="Get the caller's account")
async def me_get(user: CurrentUser) -> UserRead:
    """The signed-in caller's own account."""
    return UserRead.model_validate(user)


@router.patch("/me", summary="Change the caller's account")
async def me_update(data: UserUpdate, user: CurrentUser, session: Session) -> UserRead:
    """Changes the fields sent (name, time zone, phone...); fields left out stay as they are."""
    return UserRead.model_validate(await service.update_me(session, user, data))


@router.delete(
    "/me",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete the caller's account",
    responses={403: {"description": "`reauthentication_required`: sign in again first"}},
)
async def me_delete(user: CurrentUser, request: Request, session: Session) -> None:
    """Closes the account for good (a soft delete; every session ends; personal data is erased
    after the grace period). No body: the proof is a recent sign-in, so the access token must
    come from a sign-in (or password change) of the last 15 minutes, else 403
    `reauthentication_required`."""
    await service.delete_account(session, user, request.state.session_id)
