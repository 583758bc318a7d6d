"""Who gets what: each recipient's zone, phone, quiet hours and choices, read in one query."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.notifications.models import CHANNELS, default_enabled, is_transactional
from studyhall.notifications.service.timing import quiet_release, zone_of

# The people are chosen (and limited) first, then joined to their settings and choices, so a
# page of a broadcast costs the same at the start and the end of 100,000 users.
_SELECT = """
    SELECT u.id, u.timezone, u.phone, s.quiet_hours_start, s.quiet_hours_end,
           coalesce(jsonb_object_agg(p.type || ':' || p.channel, p.enabled)
                    FILTER (WHERE p.channel IS NOT NULL), '{}'::jsonb) AS choices
    FROM (
        SELECT id, timezone, phone FROM users
        WHERE deleted_at IS NULL AND status = 'active' AND %s
        ORDER BY id %s
    ) AS u
    LEFT JOIN notification_settings s ON s.user_id = u.id
    LEFT JOIN notification_preferences p
        ON p.user_id = u.id AND p.type = ANY(CAST(:types AS text[]))
    GROUP BY u.id, u.timezone, u.phone, s.id
    ORDER BY u.id
"""
_BY_IDS = text(_SELECT % ("id = ANY(CAST(:ids AS uuid[]))", ""))
_PAGE = text(
    _SELECT % ("id > :after AND (CAST(:role AS text) IS NULL OR role = :role)", "LIMIT :n")
)


@dataclass(frozen=True)
class Recipient:
    user_id: uuid.UUID
    zone: ZoneInfo
    phone: str | None
    quiet_start: time | None
    quiet_end: time | None
    choices: dict[str, bool] = field(default_factory=dict)  # "type:channel" -> enabled
    has_phone: bool = False

    def channels(self, type_: str, wanted: Sequence[str] | None) -> list[str]:
        """The channels this recipient gets ``type_`` on, out of those the event ``wanted``."""
        if is_transactional(type_):
            return ["email"] if wanted is None or "email" in wanted else []
        return [
            channel
            for channel in CHANNELS
            if (wanted is None or channel in wanted)
            and self.choices.get(f"{type_}:{channel}", default_enabled(type_, channel))
            and (channel != "sms" or self.has_phone)
        ]

    def deliverable_at(self, due: datetime, channel: str, urgent: bool) -> datetime:
        # The in-app inbox is silent, so quiet hours only hold back what reaches a device.
        if urgent or channel == "inapp":
            return due
        return quiet_release(due, self.zone, self.quiet_start, self.quiet_end) or due


def _recipient(row: Any) -> Recipient:
    phone = getattr(row, "phone", None)
    return Recipient(
        user_id=row.id,
        zone=zone_of(row.timezone),
        phone=phone,
        quiet_start=row.quiet_hours_start,
        quiet_end=row.quiet_hours_end,
        choices=dict(row.choices),
        has_phone=bool(phone) or bool(getattr(row, "has_phone", False)),
    )


# A database function that answers any signed-in caller, but only with what planning needs:
# never the phone number itself (``phone`` stays None; ``has_phone`` says whether SMS can go).
_FOR_NOTIFYING = text(
    "SELECT * FROM studyhall_notification_recipients(CAST(:ids AS uuid[]), CAST(:types AS text[]))"
)


async def for_notifying(
    session: AsyncSession, user_ids: Sequence[uuid.UUID], types: Sequence[str]
) -> list[Recipient]:
    """``by_ids`` for a unit of work that acts for someone else (a tutor's request notifying the
    student): row level security keeps the recipients' rows from it, so it asks the narrow
    database function instead of reading them."""
    rows = await session.execute(_FOR_NOTIFYING, {"ids": list(user_ids), "types": list(types)})
    return [_recipient(row) for row in rows]


async def by_ids(
    session: AsyncSession, user_ids: Sequence[uuid.UUID], types: Sequence[str]
) -> list[Recipient]:
    """The active users among ``user_ids``, with their choices for ``types``."""
    rows = await session.execute(_BY_IDS, {"ids": list(user_ids), "types": list(types)})
    return [_recipient(row) for row in rows]


async def page(
    session: AsyncSession, type_: str, role: str | None, after: uuid.UUID, size: int
) -> list[Recipient]:
    """The next ``size`` active users after ``after`` (by id), of ``role`` or of every role."""
    rows = await session.execute(_PAGE, {"types": [type_], "role": role, "after": after, "n": size})
    return [_recipient(row) for row in rows]
