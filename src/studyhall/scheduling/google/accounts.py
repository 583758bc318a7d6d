"""Who is connected to Google Calendar: the user's live ``google`` row in ``oauth_accounts``.

Installed as scheduling's token lookup when the worker loads the scheduling jobs. The access
token is decrypted through accounts (AES-GCM, row id as associated data) with the process's
``STUDYHALL_ENCRYPTION_KEYS``; without keys, or with an expired token, nobody is connected
(refreshing a Google token is not done here).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.accounts import service as oauth
from studyhall.accounts.service import KeyRing
from studyhall.config import Settings
from studyhall.jobs import runtime
from studyhall.scheduling.google import calendar_sync as google_calendar
from studyhall.scheduling.google.calendar_sync import CalendarAccess, TokenLookup

PROVIDER = "google"


def lookup_for(fixed: Settings | None = None) -> TokenLookup:
    """``fixed`` None: the settings of the job runtime, read when a job asks."""

    async def lookup(session: AsyncSession, user_id: uuid.UUID) -> CalendarAccess | None:
        settings = fixed or runtime().settings
        if settings.encryption_keys is None:
            return None
        accounts = [a for a in await oauth.for_user(session, user_id) if a.provider == PROVIDER]
        if not accounts:
            return None
        account = accounts[-1]  # the most recently connected
        expires = account.token_expires_at
        if expires is not None and expires <= datetime.now(UTC):
            return None
        tokens = await oauth.tokens(session, KeyRing.from_settings(settings), account.id)
        return CalendarAccess(tokens.access_token, account.calendar_id or "primary")

    return lookup


def install(settings: Settings | None = None) -> None:
    google_calendar.set_token_lookup(lookup_for(settings))
