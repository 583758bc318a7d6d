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
    PaymentMethodRead,
    PaymentStarted,
    PlanCreate,
    PlanRead,
    SubscribeBody,
    SubscriptionRead,
    SubscriptionStarted,
)
from studyhall.billing.service import ledger, saved_cards, subscriptions
from studyhall.billing.service.buying import IdempotencyKey, Intent, open_once, pay_once, started
from studyhall.billing.service.payments import Started
from studyhall.db.deps import AppDatabase, Session
from studyhall.kit.errors import NotFound

router = APIRouter()


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
    body: SubscribeBody, user: CurrentUserDetached, database: AppDatabase, key: IdempotencyKey
) -> Any:
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
async def pay_subscription(
    user: CurrentUserDetached, database: AppDatabase, key: IdempotencyKey
) -> Any:
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
