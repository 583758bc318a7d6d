"""Tutor payouts over HTTP: Connect onboarding, statements and transfers; admin closing and
manual payment."""

from __future__ import annotations

import uuid
from typing import Any, Literal

from fastapi import APIRouter

from studyhall.accounts.deps import Admin, CurrentUser, CurrentUserDetached, Tutor
from studyhall.billing.config import billing_settings
from studyhall.billing.providers.base import ProviderNotConfigured
from studyhall.billing.providers.stripe import StripeProvider
from studyhall.billing.routes.deps import AdminSession
from studyhall.billing.schemas import (
    AdminPayoutStatementPage,
    AdminPayoutStatementRead,
    ClosePeriodBody,
    EarningEntryRead,
    OnboardingLink,
    PayoutAccountRead,
    PayoutBalanceRead,
    PayoutStatementDetails,
    PayoutStatementPage,
    PayoutStatementRead,
)
from studyhall.billing.service import payouts
from studyhall.billing.service.buying import IdempotencyKey, once
from studyhall.db.deps import AppDatabase, Session
from studyhall.kit.errors import Forbidden, NotFound
from studyhall.kit.paging import PageQuery

router = APIRouter()


@router.post(
    "/billing/payouts/onboarding",
    summary="Get a Stripe Connect onboarding link",
)
async def payout_onboarding_create(
    user: CurrentUserDetached, database: AppDatabase
) -> OnboardingLink:
    """For the calling tutor: the Connect account is made once (its idempotency key is the
    tutor's id), and a fresh onboarding link to it is returned each time."""
    if user.role != "tutor":
        raise Forbidden("This needs the tutor role.", code="role_required")
    settings = billing_settings()
    refresh_url, return_url = (
        settings.stripe_connect_refresh_url,
        settings.stripe_connect_return_url,
    )
    if not refresh_url or not return_url:
        raise ProviderNotConfigured(
            "Stripe Connect needs STUDYHALL_BILLING_STRIPE_CONNECT_REFRESH_URL and "
            "STUDYHALL_BILLING_STRIPE_CONNECT_RETURN_URL."
        )
    stripe = StripeProvider(settings)
    async with database.transaction(user.id) as session:
        account = await payouts.account_of(session, user.id)
        account_id = None if account is None else account.stripe_account_id
    # Stripe is called with no transaction open; the account's idempotency key is the tutor's
    # id, so a retry after a lost answer gets the same account back.
    if account_id is None:
        account_id = await stripe.create_connect_account(user.id, user.email)
        async with database.transaction(user.id) as session:
            await payouts.store_account(session, user.id, account_id)
    url, expires_at = await stripe.create_account_link(account_id, refresh_url, return_url)
    return OnboardingLink(stripe_account_id=account_id, url=url, expires_at=expires_at)


@router.get("/billing/payouts/account", summary="Get your payout account")
async def payout_account_get(user: Tutor, session: Session) -> PayoutAccountRead:
    """The calling tutor's Stripe Connect account and whether it can receive payouts."""
    account = await payouts.account_of(session, user.id)
    if account is None:
        raise NotFound("No payout account yet; start onboarding.", code="payout_account_not_found")
    return PayoutAccountRead.model_validate(account)


@router.get("/billing/payouts", summary="List your payout statements")
async def payouts_list(user: Tutor, session: Session, page: PageQuery) -> PayoutStatementPage:
    """The calling tutor's payout statements, one page at a time, the latest period first."""
    statements, next_cursor = await payouts.statements_of(session, user.id, page)
    return PayoutStatementPage(
        items=[PayoutStatementRead.model_validate(s) for s in statements], next_cursor=next_cursor
    )


@router.get("/billing/payouts/balance", summary="Your unpaid earnings")
async def payout_balance_get(user: Tutor, session: Session) -> PayoutBalanceRead:
    """Per currency: what the calling tutor has earned and no statement holds yet, plus any
    negative total carried forward (a refund after a payout)."""
    return PayoutBalanceRead(unpaid_balance_cents=await payouts.unpaid_balance(session, user.id))


@router.get(
    "/billing/payouts/statements/{statement_id}",
    summary="Get one payout statement with its entries",
)
async def payout_statement_get(
    statement_id: uuid.UUID, user: CurrentUser, session: Session
) -> PayoutStatementDetails:
    """Its tutor or an admin may read it; to anyone else it does not exist."""
    statement, entries = await payouts.statement_with_entries(session, statement_id)
    if user.role != "admin" and statement.tutor_id != user.id:
        raise NotFound("No such payout statement.", code="statement_not_found")
    return PayoutStatementDetails(
        **PayoutStatementRead.model_validate(statement).model_dump(),
        entries=[EarningEntryRead.model_validate(e) for e in entries],
    )


@router.get(
    "/billing/admin/payouts/statements", summary="List every tutor's payout statements (admin)"
)
async def admin_payout_statements_list(
    admin: Admin,
    session: AdminSession,
    page: PageQuery,
    status: Literal["due", "transferring", "paid", "reversed", "carried"] | None = None,
) -> AdminPayoutStatementPage:
    """Every tutor's statements, the latest period first, each with its tutor; ``status=due``
    lists what waits to be paid."""
    rows, next_cursor = await payouts.all_statements(session, page, status=status)
    return AdminPayoutStatementPage(
        items=[
            AdminPayoutStatementRead(
                **PayoutStatementRead.model_validate(row.statement).model_dump(),
                tutor_name=row.tutor_name,
                tutor_email=row.tutor_email,
            )
            for row in rows
        ],
        next_cursor=next_cursor,
    )


@router.post(
    "/billing/admin/payouts/close",
    summary="Close a payout period (admin)",
)
async def payout_period_close(
    body: ClosePeriodBody, admin: Admin, session: AdminSession
) -> list[PayoutStatementRead]:
    """Gather every tutor's entries made before ``period_end`` into a statement per tutor and
    currency; due ones are transferred to tutors whose account can receive payouts."""
    made = await payouts.close_period(session, body.period_end, payouts.utcnow())
    return [PayoutStatementRead.model_validate(s) for s in made]


@router.post(
    "/billing/admin/payouts/statements/{statement_id}/mark-paid",
    response_model=PayoutStatementRead,
    summary="Record that a statement was paid outside Stripe (admin)",
)
async def payout_statement_mark_paid(
    statement_id: uuid.UUID, admin: Admin, session: AdminSession, key: IdempotencyKey
) -> Any:
    """Only a due statement (one a transfer has claimed is 409 ``statement_not_due``), audited,
    so a tutor is never paid twice. No body; a replayed ``Idempotency-Key`` answers as the
    first."""

    async def work() -> PayoutStatementRead:
        statement = await payouts.mark_paid(session, admin.id, statement_id, payouts.utcnow())
        return PayoutStatementRead.model_validate(statement)

    return await once(
        session,
        key=key,
        user_id=admin.id,
        scope=f"POST /billing/admin/payouts/statements/{statement_id}/mark-paid",
        payload={},
        status=200,
        work=work,
    )
