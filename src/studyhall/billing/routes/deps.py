"""Request dependencies the billing routes share."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.accounts.deps import Admin
from studyhall.db.rls import SystemSession


async def _admin_session(admin: Admin, session: SystemSession) -> AsyncSession:
    # Admins act on other users' money: the whole request's transaction crosses users.
    return session


AdminSession = Annotated[AsyncSession, Depends(_admin_session)]
