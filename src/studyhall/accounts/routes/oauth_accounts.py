"""Accounts HTTP: the caller's connected provider accounts (a calendar, for example)."""

from __future__ import annotations

import uuid
from datetime import datetime

from fastapi import APIRouter, status

from studyhall.accounts.deps import CurrentUser
from studyhall.accounts.schemas import OAuthAccountPage, OAuthAccountRead
from studyhall.accounts.service import oauth
from studyhall.db.deps import Session
from studyhall.kit.paging import PageQuery

router = APIRouter(prefix="/me/oauth-accounts")


@router.get("", summary="List the caller's connected accounts")
async def oauth_accounts_list(
    user: CurrentUser, session: Session, page: PageQuery
) -> OAuthAccountPage:
    """The caller's connected provider accounts, oldest first; never their tokens."""
    rows = await oauth.page_for_user(
        session, user.id, page.limit + 1, page.key(datetime, uuid.UUID)
    )
    shown, next_cursor = page.of(rows, lambda row: (row.created_at, row.id))
    return OAuthAccountPage(
        items=[OAuthAccountRead.model_validate(row) for row in shown], next_cursor=next_cursor
    )


@router.delete(
    "/{account_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Disconnect a provider account",
)
async def oauth_account_delete(account_id: uuid.UUID, user: CurrentUser, session: Session) -> None:
    """Disconnects one of the caller's provider accounts and erases its tokens."""
    await oauth.disconnect(session, user.id, account_id)
