"""Plans, subscriptions and entitlements over HTTP."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Response, status

from studyhall.accounts.deps import Admin, CurrentUser
from studyhall.billing import ledger, saved_cards, subscriptions
from studyhall.billing.http import AdminSession, IdempotencyKey, once, started
from studyhall.billing.schemas import (
    CancelBody,
    EntitlementsRead,
    PaymentMethodRead,
    PaymentStarted,
    PlanCreate,
    PlanRead,
    SubscribeBody,
    SubscriptionRead,
    SubscriptionStarted,
)
from studyhall.db.deps import Session
from studyhall.kit.errors import NotFound

router = APIRouter(tags=["billing"])


@router.get("/billing/plans", summary="Plans on sale (public)")
async def list_plans(session: Session) -> list[PlanRead]:
    plans = await subscriptions.list_plans(session, include_inactive=False)
    return [PlanRead.model_validate(plan) for plan in plans]


@router.post("/billing/admin/plans", status_code=status.HTTP_201_CREATED)
async def create_plan(body: PlanCreate, admin: Admin, session: AdminSession) -> PlanRead:
    plan = await subscriptions.create_plan(session, body.model_dump(), admin.id)
    return PlanRead.model_validate(plan)


@router.post(
    "/billing/subscriptions",
    status_code=status.HTTP_201_CREATED,
    response_model=SubscriptionStarted,
)
async def subscribe(
    body: SubscribeBody, user: CurrentUser, session: Session, key: IdempotencyKey
) -> Any:
    async def work() -> SubscriptionStarted:
        result = await subscriptions.subscribe(session, user, body.plan_id, body.provider)
        await session.refresh(result.subscription)
        return SubscriptionStarted(
            subscription=SubscriptionRead.model_validate(result.subscription),
            payment=None if result.payment is None else started(result.payment),
            client_secret=result.client_secret,
        )

    return await once(
        session,
        key=key,
        user_id=user.id,
        scope="POST /billing/subscriptions",
        payload=body,
        status=status.HTTP_201_CREATED,
        work=work,
    )


@router.get("/billing/subscriptions/current")
async def current_subscription(user: CurrentUser, session: Session) -> SubscriptionRead:
    subscription = await subscriptions.live(session, user.id)
    if subscription is None:
        raise NotFound("You have no live subscription.", code="subscription_not_found")
    return SubscriptionRead.model_validate(subscription)


@router.post(
    "/billing/subscriptions/current/pay",
    status_code=status.HTTP_201_CREATED,
    response_model=PaymentStarted,
)
async def pay_subscription(user: CurrentUser, session: Session, key: IdempotencyKey) -> Any:
    async def work() -> PaymentStarted:
        return started(await subscriptions.pay_now(session, user))

    return await once(
        session,
        key=key,
        user_id=user.id,
        scope="POST /billing/subscriptions/current/pay",
        payload={},
        status=status.HTTP_201_CREATED,
        work=work,
    )


@router.post("/billing/subscriptions/current/cancel")
async def cancel_subscription(
    body: CancelBody, user: CurrentUser, session: Session
) -> SubscriptionRead:
    subscription = await subscriptions.cancel(session, user, at_period_end=body.at_period_end)
    return SubscriptionRead.model_validate(subscription)


@router.get("/billing/entitlements")
async def my_entitlements(user: CurrentUser, session: Session) -> EntitlementsRead:
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


@router.get("/billing/payment-methods", summary="Your saved cards (they renew your subscription)")
async def list_payment_methods(user: CurrentUser, session: Session) -> list[PaymentMethodRead]:
    methods = await saved_cards.list_for_user(session, user.id)
    return [PaymentMethodRead.model_validate(method) for method in methods]


@router.delete(
    "/billing/payment-methods/{method_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete a saved card",
)
async def delete_payment_method(
    method_id: uuid.UUID, user: CurrentUser, session: Session
) -> Response:
    await saved_cards.delete(session, user.id, method_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
