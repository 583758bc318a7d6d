"""The credit ledger over HTTP: read your own, admins adjust and reverse."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, status
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.accounts.deps import Admin, CurrentUser
from studyhall.accounts.models import User
from studyhall.billing.models import CreditLedgerEntry
from studyhall.billing.routes.deps import AdminSession
from studyhall.billing.schemas import (
    CreditsRead,
    ExpiringCredits,
    LedgerEntryRead,
    ManualCreditBody,
    ReverseBody,
)
from studyhall.billing.service import expiry, ledger
from studyhall.billing.service.buying import IdempotencyKey, once
from studyhall.db.deps import Session
from studyhall.kit.errors import NotFound
from studyhall.kit.inputs import MAX_INT32

router = APIRouter()

Limit = Annotated[int, Query(ge=1, le=200)]
BeforeSeq = Annotated[int | None, Query(ge=1, le=MAX_INT32)]


async def _credits(
    session: AsyncSession, user_id: uuid.UUID, limit: int, before_seq: int | None
) -> CreditsRead:
    rows = await ledger.entries(session, user_id, limit=limit, before_seq=before_seq)
    return CreditsRead(
        balance=await ledger.balance(session, user_id),
        expiring=[
            ExpiringCredits(amount=amount, expires_at=when)
            for amount, when in await expiry.upcoming(session, user_id)
        ],
        entries=[LedgerEntryRead.model_validate(row) for row in rows],
    )


@router.get("/billing/credits")
async def my_credits(
    user: CurrentUser, session: Session, limit: Limit = 50, before_seq: BeforeSeq = None
) -> CreditsRead:
    return await _credits(session, user.id, limit, before_seq)


@router.get("/billing/admin/users/{user_id}/credits")
async def user_credits(
    user_id: uuid.UUID,
    admin: Admin,
    session: AdminSession,
    limit: Limit = 50,
    before_seq: BeforeSeq = None,
) -> CreditsRead:
    return await _credits(session, user_id, limit, before_seq)


@router.post(
    "/billing/admin/users/{user_id}/credits",
    status_code=status.HTTP_201_CREATED,
    response_model=LedgerEntryRead,
)
async def adjust_credits(
    user_id: uuid.UUID,
    body: ManualCreditBody,
    admin: Admin,
    session: AdminSession,
    key: IdempotencyKey,
) -> Any:
    async def work() -> LedgerEntryRead:
        target = await session.get(User, user_id)
        if target is None or target.deleted_at is not None:
            raise NotFound("No such user.", code="user_not_found")
        posted = await ledger.post(
            session, user_id, body.delta, "manual", actor=admin.id, note=body.note
        )
        return await _entry(session, posted.id)

    return await once(
        session,
        key=key,
        user_id=admin.id,
        scope=f"POST /billing/admin/users/{user_id}/credits",
        payload=body,
        status=status.HTTP_201_CREATED,
        work=work,
    )


@router.post(
    "/billing/admin/credit-entries/{entry_id}/reverse",
    status_code=status.HTTP_201_CREATED,
    response_model=LedgerEntryRead,
)
async def reverse_entry(
    entry_id: uuid.UUID, body: ReverseBody, admin: Admin, session: AdminSession, key: IdempotencyKey
) -> Any:
    async def work() -> LedgerEntryRead:
        posted = await ledger.reverse(session, entry_id, actor=admin.id, note=body.note)
        return await _entry(session, posted.id)

    return await once(
        session,
        key=key,
        user_id=admin.id,
        scope=f"POST /billing/admin/credit-entries/{entry_id}/reverse",
        payload=body,
        status=status.HTTP_201_CREATED,
        work=work,
    )


async def _entry(session: AsyncSession, entry_id: uuid.UUID) -> LedgerEntryRead:
    entry = await session.get(CreditLedgerEntry, entry_id)
    assert entry is not None
    return LedgerEntryRead.model_validate(entry)
