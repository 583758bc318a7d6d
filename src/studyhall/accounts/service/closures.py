"""When an account closes (suspended or deleted), what it had running elsewhere winds down.

The domains that hold that work (bookings, subscriptions) depend on accounts, not the other way
round, so each registers a handler here. A suspension or deletion enqueues one job in its own
transaction: if it rolls back nothing is wound down, and the handlers run only after it
committed. Handlers re-read what they need (a suspended account may have been restored by then)
and are safe to run twice, since the job retries.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Literal

from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.db.engine import Database
from studyhall.jobs.core import backoff, enqueue, queue, runtime

Closure = Literal["suspended", "deleted"]
ClosureHandler = Callable[[Database, uuid.UUID, Closure], Awaitable[None]]

_handlers: dict[str, ClosureHandler] = {}


def on_account_closed(name: str, handler: ClosureHandler) -> None:
    """Register ``handler(database, user_id, closure)``; a second call with ``name`` replaces it."""
    _handlers[name] = handler


async def account_closed(session: AsyncSession, user_id: uuid.UUID, closure: Closure) -> None:
    """Call in the transaction that suspends or deletes the account."""
    await enqueue(
        session,
        wind_down_closed_account,
        lock=f"closure:{user_id}",
        user_id=str(user_id),
        closure=closure,
    )


@queue.task(name="studyhall.accounts.wind_down_closed_account", retry=backoff())
async def wind_down_closed_account(user_id: str, closure: Closure) -> None:
    database = runtime().database
    for name in sorted(_handlers):
        await _handlers[name](database, uuid.UUID(user_id), closure)
