"""``studyhall demo``: a welcome notification in every demo user's in-app inbox, once."""

from __future__ import annotations

import uuid

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.config import Settings
from studyhall.notifications.service import sending as service

WELCOME = {
    "title": "Welcome to Studyhall",
    "body": "Your notifications appear here. Choose what reaches you by email or SMS in settings.",
}


async def load(session: AsyncSession, settings: Settings) -> list[str]:
    user_ids: list[uuid.UUID] = list(
        (
            await session.execute(
                text("SELECT id FROM users WHERE deleted_at IS NULL ORDER BY id LIMIT 1000")
            )
        ).scalars()
    )
    created = 0
    for user_id in user_ids:
        # The dedupe key makes a second `studyhall demo` add nothing.
        created += len(
            await service.notify(
                session,
                user_id,
                "system_update",
                WELCOME,
                channels=["inapp"],
                dedupe_key="demo:welcome",
            )
        )
    return [f"notifications: {created} welcome notifications ({len(user_ids)} users)"]
