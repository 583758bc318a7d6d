"""Plans, subscriptions and entitlements over HTTP."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Response, status
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.accounts.deps import Admin, CurrentUser, CurrentUserDetached
from studyhall.billing.models import Subscription
from studyhall.billing.routes.deps import AdminSession
from studyhall.billing.schemas import (
    CancelBody,
    EntitlementsRead,
    PaymentMethodPage,
    PaymentMethodRead,
    PaymentStarted,
    PlanCreate,
    PlanPage,
    PlanRead,
    PlanUpdate,
    SubscribeBody,
    SubscriptionRead,
    SubscriptionStarted,
)
from studyhall.billing.service import ledger, saved_cards, subscriptions
from studyhall.billing.service.buying import IdempotencyKey, Intent, open_once, pay_once, started
from studyhall.billing.service.payments import Started
from studyhall.db.deps import AppDatabase, Session
from studyhall.kit.errors import NotFound
from studyhall.kit.paging import PageQuery

router = APIRouter()


@router.get("/billing/plans", summary="List the plans on sale")
async def plans_list(session: Session, page: PageQuery) -> PlanPage:
    """The active subscription plans, by key and price. Public: no sign-in needed."""
    plans, next_cursor = await subscriptions.list_plans(session, page, include_inactive=False)
    return PlanPage(
        items=[PlanRead.model_validate(plan) for plan in plans], next_cursor=next_cursor
    )


@router.post(
    "/billing/admin/plans", status_code=status.HTTP_201_CREATED, summary="Create a plan (admin)"
)
async def plans_create(body: PlanCreate, admin: Admin, session: AdminSession) -> PlanRead:
    """A new plan, on sale at once; key, billing cycle and currency are unique together."""
    plan = await subscriptions.create_plan(session, body.model_dump(), admin.id)
    return PlanRead.model_validate(plan)


@router.get("/billing/admin/plans", summary="List every plan (admin)")
async def admin_plans_list(admin: Admin, session: AdminSession, page: PageQuery) -> PlanPage:
    """Every plan, retired ones included, by key and price."""
    plans, next_cursor = await subscriptions.list_plans(session, page, include_inactive=True)
    return PlanPage(
        items=[PlanRead.model_validate(plan) for plan in plans], next_cursor=next_cursor
    )


@router.patch("/billing/admin/plans/{plan_id}", summary="Rename or retire a plan (admin)")
async def plan_update(
    plan_id: uuid.UUID, body: PlanUpdate, admin: Admin, session: AdminSession
) -> PlanRead:
    """Change a plan's name or take it off sale (or back on); its price, cycle and quotas never
    change, so subscribers keep what they signed up for."""
    plan = await subscriptions.update_plan(
        session, plan_id, name=body.name, is_active=body.is_active, actor=admin.id
    )
    return PlanRead.model_validate(plan)


@router.post(
    "/billing/subscriptions",
    status_code=status.HTTP_201_CREATED,
    response_model=SubscriptionStarted,
    summary="Subscribe to a plan",
)
async def subscriptions_create(
    body: SubscribeBody, user: CurrentUserDetached, database: AppDatabase, key: IdempotencyKey
) -> Any:
    """Start a subscription and the payment of its first period (nothing to pay during a
    trial). With an ``Idempotency-Key`` a retry replays the first answer."""

    async def prepare(session: AsyncSession) -> Intent:
        written = await subscriptions.subscribe(session, user, body.plan_id, body.provider)
        payment_id = None if written.payment is None else written.payment.id
        return Intent(status.HTTP_201_CREATED, written.subscription.id, payment_id)

    async def open_remote(intent: Intent) -> subscriptions.Opened:
        return await subscriptions.open_first(database, intent.subject_id, intent.payment_id)

    async def answer(
        session: AsyncSession, intent: Intent, opened: subscriptions.Opened
    ) -> BaseModel:
        subscription = await session.get(Subscription, intent.subject_id)
        assert subscription is not None
        return SubscriptionStarted(
            subscription=SubscriptionRead.model_validate(subscription),
            payment=None if opened.payment is None else started(opened.payment),
            client_secret=opened.client_secret,
        )

    return await open_once(
        database,
        user_id=user.id,
        key=key,
        scope="POST /billing/subscriptions",
        payload=body,
        prepare=prepare,
        open_remote=open_remote,
        answer=answer,
    )


@router.get("/billing/subscriptions/current", summary="Get your current subscription")
async def subscription_get(user: CurrentUser, session: Session) -> SubscriptionRead:
    """Your live subscription (trial, active or past due); 404 when there is none."""
    subscription = await subscriptions.live(session, user.id)
    if subscription is None:
        raise NotFound("You have no live subscription.", code="subscription_not_found")
    return SubscriptionRead.model_validate(subscription)


@router.post(
    "/billing/subscriptions/current/pay",
    status_code=status.HTTP_201_CREATED,
    response_model=PaymentStarted,
    summary="Pay your subscription's next period now",
)
async def subscription_pay(
    user: CurrentUserDetached, database: AppDatabase, key: IdempotencyKey
) -> Any:
    """Start the payment for a past-due, unpaid or trial subscription's next period. No body.
    With an ``Idempotency-Key`` a retry replays the first answer."""

    async def prepare(session: AsyncSession) -> Intent:
        payment = await subscriptions.pay_now(session, user)
        return Intent(status.HTTP_201_CREATED, payment.id, payment.id)

    async def answer(session: AsyncSession, intent: Intent, opened: Started | None) -> BaseModel:
        assert opened is not None
        return started(opened)

    return await pay_once(
        database,
        user_id=user.id,
        key=key,
        scope="POST /billing/subscriptions/current/pay",
        payload={},
        prepare=prepare,
        answer=answer,
    )


@router.post("/billing/subscriptions/current/cancel", summary="Cancel your subscription")
async def subscription_cancel(
    user: CurrentUser, session: Session, body: CancelBody | None = None
) -> SubscriptionRead:
    """At the end of the paid period (the default; no body needed), or at once with
    ``at_period_end: false``."""
    asked = body or CancelBody()
    subscription = await subscriptions.cancel(session, user, at_period_end=asked.at_period_end)
    return SubscriptionRead.model_validate(subscription)


@router.get("/billing/entitlements", summary="Get your plan, AI quotas and credit balance")
async def entitlements_get(user: CurrentUser, session: Session) -> EntitlementsRead:
    """What your subscription entitles you to now, and your credit balance."""
    found = await subscriptions.entitlements(session, user.id)
    return EntitlementsRead(
        plan_key=found.plan_key,
        status=found.status,
        entitled=found.entitled,
        current_period_end=found.current_period_end,
        grace_until=found.grace_until,
        ai_daily_token_quota=found.ai_daily_token_quota,
        ai_monthly_token_quota=found.ai_monthly_token_quota,
        credit_balance=await ledger.balance(session, user.id),
    )


@router.get("/billing/payment-methods", summary="List your saved cards")
async def payment_methods_list(
    user: CurrentUser, session: Session, page: PageQuery
) -> PaymentMethodPage:
    """Your saved cards, the newest first; the latest one renews a Paymob subscription."""
    methods, next_cursor = await saved_cards.list_for_user(session, user.id, page)
    return PaymentMethodPage(
        items=[PaymentMethodRead.model_validate(method) for method in methods],
        next_cursor=next_cursor,
    )


@router.delete(
    "/billing/payment-methods/{method_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete a saved card",
)
async def payment_method_delete(
    method_id: uuid.UUID, user: CurrentUser, session: Session
) -> Response:
    """The card is forgotten (its token erased), so it is never charged again."""
    await saved_cards.delete(session, user.id, method_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
