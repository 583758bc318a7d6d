"""Helpers the billing routes share: required Idempotency-Key and the replay-or-run wrapper."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import Depends
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.accounts.deps import Admin
from studyhall.billing import rls
from studyhall.billing.payments import Started
from studyhall.billing.schemas import PaymentRead, PaymentStarted
from studyhall.db.deps import Session
from studyhall.kit import idempotency
from studyhall.kit.errors import BadRequest


async def required_idempotency_key(
    key: Annotated[str | None, Depends(idempotency.idempotency_key_header)],
) -> str:
    # Money moves only once per intent: a client that cannot retry safely must not start.
    if key is None:
        raise BadRequest(
            "Send an Idempotency-Key header (a fresh UUID per intended payment) with this request.",
            code="idempotency_key_required",
        )
    return key


IdempotencyKey = Annotated[str, Depends(required_idempotency_key)]


async def _admin_session(admin: Admin, session: Session) -> AsyncSession:
    # Admins act on other users' money: the request's transaction may cross row level security.
    await rls.trust(session)
    return session


AdminSession = Annotated[AsyncSession, Depends(_admin_session)]


async def once(
    session: AsyncSession,
    *,
    key: str,
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
    await idempotency.remember(session, claimed, status, body)
    return JSONResponse(body, status_code=status)


def started(result: Started) -> PaymentStarted:
    checkout = result.checkout
    return PaymentStarted(
        payment=PaymentRead.model_validate(result.payment),
        client_secret=checkout.client_secret,
        checkout_url=checkout.checkout_url,
        payment_key=checkout.payment_key,
    )
