"""The live inbox: what a signed-in client's event stream carries, whichever page opened it.

First a ``ready`` event with the unread count, then, after a reconnect, what was missed since the
client's last event id, then each new in-app notification as its row commits (``stream.Hub``).
The HTTP stream of the API and the bell of the web app both wrap these events.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from studyhall.accounts.models import User
from studyhall.config import Settings
from studyhall.db.engine import Database, libpq_conninfo, listen_url
from studyhall.kit.errors import NotFound
from studyhall.notifications.service.inbox import get_own, since, to_read, unread_count
from studyhall.notifications.service.stream import Hub

STREAM_PING_S = 15


@dataclass(frozen=True)
class LiveEvent:
    event: str
    id: str | None
    data: str


def _hub(holder: Any, database: Database, settings: Settings) -> Hub:
    # One LISTEN connection per process, kept on the application's state.
    hub: Hub | None = getattr(holder, "notification_hub", None)
    if hub is None:
        url = listen_url(settings, database.engine.url.render_as_string(hide_password=False))
        hub = Hub(libpq_conninfo(url, settings, "studyhall-listen"))
        holder.notification_hub = hub
    return hub


def _event_id(value: str | None) -> uuid.UUID | None:
    try:
        return None if value is None else uuid.UUID(value)
    except ValueError:
        return None


async def inbox_events(
    holder: Any, database: Database, settings: Settings, user: User, last_event_id: str | None
) -> AsyncIterator[LiveEvent]:
    """The live events of ``user``, already signed in; ``holder`` keeps the process's hub (the
    application's state). Each read runs in a short transaction of its own: a stream lives for
    hours and must not hold a connection."""
    hub = _hub(holder, database, settings)
    last_seen = _event_id(last_event_id)
    async with hub.subscribe(user.id) as queue:
        async with database.transaction(user.id) as session:
            unread = await unread_count(session, user.id)
            missed = [] if last_seen is None else await since(session, user, last_seen)
        yield LiveEvent("ready", None, json.dumps({"unread": unread}))
        for item in missed:
            yield LiveEvent("notification", str(item.id), item.model_dump_json())
        while True:
            notification_id = await queue.get()
            async with database.transaction(user.id) as session:
                try:
                    found = await get_own(session, user.id, notification_id)
                except NotFound:
                    continue
                item = to_read(found, user)
            yield LiveEvent("notification", str(item.id), item.model_dump_json())
