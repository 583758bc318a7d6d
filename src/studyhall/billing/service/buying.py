"""One way to buy: every POST that moves money, in billing or in a domain that sells through it
(course checkout, credit packs, bookings, subscriptions), runs through ``once`` (no provider
call) or ``pay_once`` (a provider is called between two short transactions). Both take the
optional ``Idempotency-Key`` the same way: a retry with the key replays the first answer, byte for
byte, and a key has at most one effect whatever the timing."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

from fastapi import Depends
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.billing.schemas import PaymentRead, PaymentStarted
from studyhall.billing.service import payments
from studyhall.billing.service.payments import Started
from studyhall.db.engine import Database
from studyhall.kit import idempotency

# Optional on every POST that moves money, and handled the same way everywhere: a retry with the
# same key replays the first answer byte for byte; without a key each request is a new intent.
IdempotencyKey = Annotated[str | None, Depends(idempotency.idempotency_key_header)]


async def once(
    session: AsyncSession,
    *,
    key: str | None,
    user_id: uuid.UUID,
    scope: str,
    payload: Any,
    status: int,
    work: Callable[[], Awaitable[BaseModel]],
) -> JSONResponse:
    claimed = await idempotency.claim(session, key, user_id, scope, payload)
    if claimed.replay is not None:
        return claimed.replay
    body = (await work()).model_dump(mode="json")
    return await _remembered(session, claimed, status, body)


def started(result: Started) -> PaymentStarted:
    checkout = result.checkout
    return PaymentStarted(
        payment=PaymentRead.model_validate(result.payment),
        client_secret=checkout.client_secret,
        checkout_url=checkout.checkout_url,
        payment_key=checkout.payment_key,
    )


@dataclass(frozen=True)
class Intent:
    """What ``pay_once``'s first transaction wrote: the thing the answer describes (a booking, a
    purchase, or the payment itself), the payment to open at the provider (None when nothing is
    collected there: free, paid with credits, already paid) and the answer's HTTP status."""

    status: int
    subject_id: uuid.UUID
    payment_id: uuid.UUID | None = None

    def progress(self, lease_until: float) -> dict[str, Any]:
        return {
            "status": self.status,
            "subject_id": str(self.subject_id),
            "payment_id": None if self.payment_id is None else str(self.payment_id),
            "lease_until": lease_until,
        }

    @classmethod
    def from_progress(cls, stored: dict[str, Any]) -> Intent:
        payment_id = stored.get("payment_id")
        return cls(
            status=int(stored["status"]),
            subject_id=uuid.UUID(stored["subject_id"]),
            payment_id=None if payment_id is None else uuid.UUID(payment_id),
        )


Opened = TypeVar("Opened")
Prepare = Callable[[AsyncSession], Awaitable[Intent]]
Answer = Callable[[AsyncSession, Intent, Started | None], Awaitable[BaseModel]]

# How long a request that opened a checkout is trusted to finish it: a duplicate waits for its
# answer meanwhile, and takes the work over afterwards (the first one may have died).
CHECKOUT_LEASE_S = 60.0
POLL_S = (0.02, 0.05, 0.1, 0.2, 0.5)


async def pay_once(
    database: Database,
    *,
    user_id: uuid.UUID,
    key: str | None,
    scope: str,
    payload: Any,
    prepare: Prepare,
    answer: Answer,
) -> JSONResponse:
    """Start a payment in three short transactions, with the provider called between them.

    1. claim the Idempotency-Key, write the pending rows (``prepare``) and mark the key in
       progress; commit. 2. ``payments.open_checkout``: the provider call, no transaction open,
       then its answer recorded. 3. build the response (``answer``) and store it for the key.

    A duplicate of a request in progress waits for its stored response and replays it; one that
    finds the key abandoned (the provider was unreachable, the process died) carries on with the
    same payment, so a key still has one effect.
    """

    async def open_payment(intent: Intent) -> Started | None:
        if intent.payment_id is None:
            return None
        return await payments.open_checkout(database, intent.payment_id)

    return await open_once(
        database,
        user_id=user_id,
        key=key,
        scope=scope,
        payload=payload,
        prepare=prepare,
        open_remote=open_payment,
        answer=answer,
    )


async def open_once(
    database: Database,
    *,
    user_id: uuid.UUID,
    key: str | None,
    scope: str,
    payload: Any,
    prepare: Prepare,
    open_remote: Callable[[Intent], Awaitable[Opened]],
    answer: Callable[[AsyncSession, Intent, Opened], Awaitable[BaseModel]],
) -> JSONResponse:
    """``pay_once`` with the provider step given: ``open_remote`` runs between the first and the
    last transaction, with none open, and must be safe to repeat for the same ``Intent`` (Stripe
    subscriptions open a subscription rather than a payment)."""
    found = await _claim_or_wait(database, user_id, key, scope, payload, prepare)
    if isinstance(found, JSONResponse):
        return found
    claimed, intent = found
    try:
        opened = await open_remote(intent)
    except Exception:
        # Let a retry with this key carry on at once instead of waiting out the lease.
        async with database.transaction(user_id) as session:
            await idempotency.note_progress(session, claimed, intent.progress(0.0))
        raise
    async with database.transaction(user_id) as session:
        body = (await answer(session, intent, opened)).model_dump(mode="json")
        return await _remembered(session, claimed, intent.status, body)


async def _remembered(
    session: AsyncSession, claimed: idempotency.Claim, status: int, body: Any
) -> JSONResponse:
    """Store the answer for the key and give it as the bytes every replay will send."""
    await idempotency.remember(session, claimed, status, body)
    return idempotency.first_answer(body, status)


async def _claim_or_wait(
    database: Database,
    user_id: uuid.UUID,
    key: str | None,
    scope: str,
    payload: Any,
    prepare: Prepare,
) -> JSONResponse | tuple[idempotency.Claim, Intent]:
    attempt = 0
    while True:
        async with database.transaction(user_id) as session:
            claimed = await idempotency.claim(session, key, user_id, scope, payload)
            if claimed.replay is not None:
                return claimed.replay
            lease_until = time.time() + CHECKOUT_LEASE_S
            if claimed.progress is None:
                intent = await prepare(session)
            elif claimed.progress["lease_until"] <= time.time():
                intent = Intent.from_progress(claimed.progress)
            else:
                intent = None
            if intent is not None:
                await idempotency.note_progress(session, claimed, intent.progress(lease_until))
                return claimed, intent
        await asyncio.sleep(POLL_S[min(attempt, len(POLL_S) - 1)])
        attempt += 1
