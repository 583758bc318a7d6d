"""Domain events: how one domain reacts to another's change without importing it.

A domain that changes something others care about defines a frozen dataclass for the fact
(``BookingCreated``, ``QuizCompleted``) in its own ``events.py`` and calls ``emit`` inside the
transaction that made the change. A domain that reacts (progress awards XP, outgoing webhooks
write their outbox) calls ``subscribe`` at import time of its own ``events.py`` or ``jobs.py``.
Handlers run in the emitter's transaction, in subscription order, so the reaction commits or
rolls back with the change; a handler that must not slow the request enqueues a job instead.

The direction stays one-way: the emitter knows only this module; the subscriber knows the
emitter's event type (it is above the emitter in the layering, see ``docs/architecture.md``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

__all__ = ["emit", "subscribe", "subscribers"]

Event = TypeVar("Event")
Handler = Callable[[AsyncSession, Any], Awaitable[None]]

_handlers: defaultdict[type, list[Handler]] = defaultdict(list)


def subscribe(
    event_type: type[Event], handler: Callable[[AsyncSession, Event], Awaitable[None]]
) -> None:
    """Run ``handler`` inside the emitting transaction whenever an ``event_type`` is emitted.
    Subscribing the same handler twice (a module imported twice in tests) is a no-op."""
    if handler not in _handlers[event_type]:
        _handlers[event_type].append(handler)


def subscribers(event_type: type) -> list[Handler]:
    return list(_handlers.get(event_type, ()))


async def emit(session: AsyncSession, event: object) -> None:
    """Hand ``event`` to every subscriber of its type, in the caller's transaction."""
    for handler in _handlers.get(type(event), ()):
        await handler(session, event)
