"""The credit ledger over HTTP: read your own, admins adjust and reverse."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, status
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.accounts.deps import Admin, CurrentUser
from studyhall.billing.models import CreditLedgerEntry
from studyhall.billing.routes.deps import AdminSession
from studyhall.billing.schemas import (
    CreditsRead,
    ExpiringCredits,
    LedgerEntryPage,
    LedgerEntryRead,
    ManualCreditBody,
    ReverseBody,
)
from studyhall.billing.service import expiry, ledger
from studyhall.billing.service.buying import IdempotencyKey, once
from studyhall.db.deps import Session
from studyhall.kit.paging import PageQuery, PageRequest

router = APIRouter()


async def _credits(session: AsyncSession, user_id: uuid.UUID) -> CreditsRead:
    return CreditsRead(
        balance=await ledger.balance(session, user_id),
        expiring=[
            ExpiringCredits(amount=amount, expires_at=when)
            for amount, when in await expiry.upcoming(session, user_id)
        ],
    )


async def _entries(session: AsyncSession, user_id: uuid.UUID, page: PageRequest) -> LedgerEntryPage:
    rows, next_cursor = await ledger.entries(session, user_id, page)
    return LedgerEntryPage(
        items=[LedgerEntryRead.model_validate(row) for row in rows], next_cursor=next_cursor
    )


@router.get("/billing/credits", summary="Your credit balance")
async def credits_get(user: CurrentUser, session: Session) -> CreditsRead:
    """Your balance and when unspent credits expire, soonest first."""
    return await _credits(session, user.id)


@router.get("/billing/credits/entries", summary="List your credit ledger")
async def credit_entries_list(
    user: CurrentUser, session: Session, page: PageQuery
) -> LedgerEntryPage:
    """Your credit ledger, one page at a time, newest first."""
    return await _entries(session, user.id, page)


@router.get("/billing/admin/users/{user_id}/credits", summary="A user's credit balance (admin)")
async def user_credits_get(user_id: uuid.UUID, admin: Admin, session: AdminSession) -> CreditsRead:
    """A user's balance and when their unspent credits expire."""
    return await _credits(session, user_id)


@router.get(
    "/billing/admin/users/{user_id}/credits/entries", summary="List a user's credit ledger (admin)"
)
async def user_credit_entries_list(
    user_id: uuid.UUID, admin: Admin, session: AdminSession, page: PageQuery
) -> LedgerEntryPage:
    """A user's credit ledger, one page at a time, newest first."""
    return await _entries(session, user_id, page)


@router.post(
    "/billing/admin/users/{user_id}/credits",
    status_code=status.HTTP_201_CREATED,
    response_model=LedgerEntryRead,
    summary="Adjust a user's credits by hand (admin)",
)
async def user_credits_adjust(
    user_id: uuid.UUID,
    body: ManualCreditBody,
    admin: Admin,
    session: AdminSession,
    key: IdempotencyKey,
) -> Any:
    """Post a manual ledger entry (positive grants, negative takes back), with a note."""

    async def work() -> LedgerEntryRead:
        posted = await ledger.adjust(session, user_id, body.delta, actor=admin.id, note=body.note)
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
    summary="Reverse a ledger entry (admin)",
)
async def credit_entry_reverse(
    entry_id: uuid.UUID,
    admin: Admin,
    session: AdminSession,
    key: IdempotencyKey,
    body: ReverseBody | None = None,
) -> Any:
    """Post the entry's opposite; an entry is reversed at most once. The body is optional (a
    note)."""
    asked = body or ReverseBody()

    async def work() -> LedgerEntryRead:
        posted = await ledger.reverse(session, entry_id, actor=admin.id, note=asked.note)
        return await _entry(session, posted.id)

    return await once(
        session,
        key=key,
        user_id=admin.id,
        scope=f"POST /billing/admin/credit-entries/{entry_id}/reverse",
        payload=asked,
        status=status.HTTP_201_CREATED,
        work=work,
    )


async def _entry(session: AsyncSession, entry_id: uuid.UUID) -> LedgerEntryRead:
    entry = await session.get(CreditLedgerEntry, entry_id)
    assert entry is not None
    return LedgerEntryRead.model_validate(entry)
