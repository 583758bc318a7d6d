"""Pushing new in-app notifications to signed-in clients over server-sent events.

A database trigger sends ``NOTIFY studyhall_notifications, '<user id>:<notification id>'`` when
an in-app row becomes visible, at the commit of whichever process wrote it (an API process, a
worker on another machine). Each API process holds one ``LISTEN`` connection while it has
subscribers and hands each message to the queues of that user's open streams.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import psycopg

log = logging.getLogger(__name__)

CHANNEL = "studyhall_notifications"
RECONNECT_S = 1.0


class Hub:
    """One LISTEN connection per process, opened with the first subscriber, closed with the last."""

    def __init__(self, conninfo: str) -> None:
        self.conninfo = conninfo
        self._queues: dict[uuid.UUID, set[asyncio.Queue[uuid.UUID]]] = defaultdict(set)
        self._listener: asyncio.Task[None] | None = None
        self._listening = asyncio.Event()
        self._lock = asyncio.Lock()

    @asynccontextmanager
    async def subscribe(self, user_id: uuid.UUID) -> AsyncIterator[asyncio.Queue[uuid.UUID]]:
        queue: asyncio.Queue[uuid.UUID] = asyncio.Queue(maxsize=1000)
        async with self._lock:
            self._queues[user_id].add(queue)
            if self._listener is None:
                self._listening.clear()
                self._listener = asyncio.create_task(self._listen())
        # A notification committed after this returns reaches the queue.
        await self._listening.wait()
        try:
            yield queue
        finally:
            async with self._lock:
                self._queues[user_id].discard(queue)
                if not self._queues[user_id]:
                    del self._queues[user_id]
                if not self._queues and self._listener is not None:
                    self._listener.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await self._listener
                    self._listener = None

    async def _listen(self) -> None:
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(
                    self.conninfo, autocommit=True
                ) as conn:
                    await conn.execute(f"LISTEN {CHANNEL}")
                    self._listening.set()
                    async for message in conn.notifies():
                        self._dispatch(message.payload)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("notification listener lost its connection; reconnecting")
                await asyncio.sleep(RECONNECT_S)

    def _dispatch(self, payload: str) -> None:
        user_part, _, notification_part = payload.partition(":")
        try:
            user_id, notification_id = uuid.UUID(user_part), uuid.UUID(notification_part)
        except ValueError:
            return
        for queue in self._queues.get(user_id, ()):
            with contextlib.suppress(asyncio.QueueFull):
                queue.put_nowait(notification_id)

    @property
    def subscribers(self) -> int:
        return sum(len(queues) for queues in self._queues.values())
