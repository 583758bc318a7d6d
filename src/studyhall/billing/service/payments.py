"""Payments: start one with a provider, settle it (succeeded / failed / refunded) exactly once.

Every status change locks the payment row and runs the purpose's handler in the same transaction,
so "the payment succeeded" and "the credits were granted" commit together or not at all.
Transitions are monotonic: pending → succeeded | failed, failed → succeeded (a retried card),
succeeded → refunded (in full). A late or repeated event that would move backwards changes nothing.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.accounts.models import User
from studyhall.audit import service as audit
from studyhall.billing import providers
from studyhall.billing.config import billing_settings
from studyhall.billing.events import PaymentSucceeded
from studyhall.billing.models import Payment, PaymentCustomer
from studyhall.billing.providers.base import Checkout, PaymentRequest, RemoteStatus
from studyhall.billing.providers.stripe import StripeProvider
from studyhall.billing.service import purposes
from studyhall.db.engine import Database
from studyhall.db.rls import cross_users
from studyhall.kit.errors import Conflict, DomainError, NotFound
from studyhall.kit.events import emit
from studyhall.kit.paging import PageRequest, after
from studyhall.notifications import service as notifications


@dataclass(frozen=True)
class Started:
    payment: Payment
    checkout: Checkout


async def open_checkout(database: Database, payment_id: uuid.UUID) -> Started:
    """Ask the provider for the client's way to pay, with no transaction open and no connection
    held, then record its answer in a short transaction of its own.

    Safe to repeat (a retried request, a duplicate): the provider's idempotency key is our
    payment id, and recording locks the payment row and changes only what is still unset, so a
    webhook that arrived first is kept. A provider that cannot be reached leaves the payment
    pending (503 ``provider_unavailable``) for a retry or the reconciliation job; a provider that
    refuses fails it, which releases what it was holding.
    """
    async with database.transaction() as session:
        await cross_users(session)
        payment = await session.get(Payment, payment_id)
        assert payment is not None
        user = await session.get(User, payment.user_id)
        assert user is not None
        customer_id = await known_customer(session, user.id, payment.provider)
    if payment.status != "pending":
        return Started(payment, _settled_checkout(payment))
    if payment.provider == "stripe" and customer_id is None:
        customer_id = await stripe_customer(database, user)
    request = PaymentRequest(
        payment_id=payment.id,
        user_id=user.id,
        email=user.email,
        name=user.name,
        amount_cents=payment.amount_cents,
        currency=payment.currency,
        description=payment.description or "",
        customer_id=customer_id,
    )
    try:
        checkout = await providers.get(payment.provider).start_payment(request)
    except DomainError as exc:
        if exc.status < 500:
            await _record_refusal(database, payment_id, exc)
        raise
    async with database.transaction() as session:
        await cross_users(session)
        payment = await lock(session, payment_id)
        if payment.provider_payment_id is None:
            payment.provider_payment_id = checkout.provider_payment_id
        if payment.provider_checkout_id is None:
            payment.provider_checkout_id = checkout.provider_checkout_id
        await session.flush()
        if checkout.status == "succeeded":
            await succeed(session, payment, actor=None)
        elif checkout.status == "failed":
            await fail(session, payment, actor=None, code="provider_declined", message=None)
    return Started(payment, checkout)


def _settled_checkout(payment: Payment) -> Checkout:
    status: RemoteStatus = "failed" if payment.status == "failed" else "succeeded"
    return Checkout(
        status=status,
        provider_payment_id=payment.provider_payment_id,
        provider_checkout_id=payment.provider_checkout_id,
    )


async def _record_refusal(database: Database, payment_id: uuid.UUID, exc: DomainError) -> None:
    async with database.transaction() as session:
        await cross_users(session)
        payment = await lock(session, payment_id)
        await fail(session, payment, actor=None, code=exc.code, message=exc.detail)


async def known_customer(session: AsyncSession, user_id: uuid.UUID, provider: str) -> str | None:
    return await session.scalar(
        select(PaymentCustomer.provider_customer_id).where(
            PaymentCustomer.user_id == user_id, PaymentCustomer.provider == provider
        )
    )


async def stripe_customer(database: Database, user: User) -> str:
    """The user's Stripe customer, created (no transaction open) when there is none yet."""
    async with database.transaction() as session:
        await cross_users(session)
        known = await known_customer(session, user.id, "stripe")
    if known is not None:
        return known
    # The idempotency key is the user id, so a race between two first payments yields one
    # Stripe customer, and the loser's insert below does nothing.
    customer_id = await StripeProvider(billing_settings()).create_customer(
        user.id, user.email, user.name
    )
    async with database.transaction() as session:
        await cross_users(session)
        await _remember_customer(session, user.id, customer_id)
    return customer_id


async def _remember_customer(session: AsyncSession, user_id: uuid.UUID, customer_id: str) -> None:
    await session.execute(
        pg_insert(PaymentCustomer)
        .values(user_id=user_id, provider="stripe", provider_customer_id=customer_id)
        .on_conflict_do_nothing()
    )


async def lock(session: AsyncSession, payment_id: uuid.UUID) -> Payment:
    payment = await session.scalar(
        select(Payment)
        .where(Payment.id == payment_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if payment is None:
        raise NotFound("No such payment.", code="payment_not_found")
    return payment


async def find_for_update(
    session: AsyncSession,
    provider: str,
    payment_id: uuid.UUID | None,
    provider_payment_id: str | None,
    provider_order_id: str | None = None,
    *,
    lock: bool = True,
) -> Payment | None:
    """The payment a provider's event names by what the provider signed: our id, the
    provider's order (stored as the checkout id), or the provider's payment id."""
    if payment_id is not None:
        condition = Payment.id == payment_id
    elif provider_order_id is not None:
        condition = Payment.provider_checkout_id == provider_order_id
    elif provider_payment_id is not None:
        condition = Payment.provider_payment_id == provider_payment_id
    else:
        return None
    query = select(Payment).where(condition, Payment.provider == provider)
    if lock:
        query = query.with_for_update()
    return await session.scalar(query.execution_options(populate_existing=True))


async def remember_order(
    database: Database, payment_id: uuid.UUID, provider_checkout_id: str | None
) -> None:
    """Record the provider's order of a payment we asked the provider about (a saved-card charge,
    an inquiry), when none is stored yet, so its callbacks find the payment by that order. A
    transaction of its own, before the answer is applied (which locks the event row first)."""
    if provider_checkout_id is None:
        return
    async with database.transaction() as session:
        await cross_users(session)
        await session.execute(
            update(Payment)
            .where(Payment.id == payment_id, Payment.provider_checkout_id.is_(None))
            .values(provider_checkout_id=provider_checkout_id)
        )


async def succeed(
    session: AsyncSession,
    payment: Payment,
    *,
    actor: uuid.UUID | None,
    provider_payment_id: str | None = None,
) -> bool:
    """``payment`` must be locked. Returns whether this call changed anything."""
    if payment.status in ("succeeded", "refunded"):
        return False
    before = payment.status
    payment.status = "succeeded"
    payment.succeeded_at = datetime.now(UTC)
    payment.failure_code = None
    payment.failure_message = None
    if provider_payment_id and payment.provider_payment_id is None:
        payment.provider_payment_id = provider_payment_id
    await session.flush()
    await audit.record(
        session, actor, "payment.succeed", "payment", payment.id, {"status": [before, "succeeded"]}
    )
    await purposes.get(payment.purpose).on_succeeded(session, payment)
    await _tell_payer(session, payment, "payment_success")
    await emit(session, succeeded_event(payment))
    return True


def succeeded_event(payment: Payment) -> PaymentSucceeded:
    return PaymentSucceeded(
        payment_id=payment.id,
        user_id=payment.user_id,
        purpose=payment.purpose,
        amount_cents=payment.amount_cents,
        currency=payment.currency,
        provider=payment.provider,
    )


async def fail(
    session: AsyncSession,
    payment: Payment,
    *,
    actor: uuid.UUID | None,
    code: str | None,
    message: str | None,
) -> bool:
    """Only a pending payment can fail: a failure reported after success is stale."""
    if payment.status != "pending":
        return False
    payment.status = "failed"
    payment.failure_code = (code or "failed")[:100]
    payment.failure_message = message
    await session.flush()
    await audit.record(
        session,
        actor,
        "payment.fail",
        "payment",
        payment.id,
        {"status": ["pending", "failed"], "failure_code": payment.failure_code},
    )
    await purposes.get(payment.purpose).on_failed(session, payment)
    await _tell_payer(session, payment, "payment_failed")
    return True


async def _tell_payer(session: AsyncSession, payment: Payment, kind: str) -> None:
    """In the status change's transaction, so the notice commits or rolls back with it. Keyed by
    payment and outcome: a failed payment that later succeeds tells both, each once."""
    payload: dict[str, object] = {
        "amount_cents": payment.amount_cents,
        "currency": payment.currency,
        "description": payment.description or "",
    }
    if kind == "payment_failed" and payment.failure_message:
        payload["reason"] = payment.failure_message
    await notifications.notify(
        session,
        payment.user_id,
        kind,
        payload,
        entity="payment",
        entity_id=payment.id,
        dedupe_key=f"{kind}:{payment.id}",
    )


async def get_visible(session: AsyncSession, payment_id: uuid.UUID, user: User) -> Payment:
    payment = await session.get(Payment, payment_id)
    if payment is None or (payment.user_id != user.id and user.role != "admin"):
        raise NotFound("No such payment.", code="payment_not_found")
    return payment


async def list_for_user(
    session: AsyncSession, user_id: uuid.UUID, page: PageRequest
) -> tuple[list[Payment], str | None]:
    """One page of the user's payments, the newest first."""
    order: list[ColumnElement[Any]] = [Payment.created_at.expression, Payment.id.expression]
    query = select(Payment).where(Payment.user_id == user_id)
    beyond = after(order, page.key(datetime, uuid.UUID), descending=True)
    if beyond is not None:
        query = query.where(beyond)
    query = query.order_by(*(column.desc() for column in order)).limit(page.limit + 1)
    rows = list(await session.scalars(query))
    return page.of(rows, lambda payment: (payment.created_at, payment.id))


async def admin_mark(
    session: AsyncSession, payment_id: uuid.UUID, *, paid: bool, actor: uuid.UUID, note: str | None
) -> Payment:
    payment = await lock(session, payment_id)
    if payment.provider != "manual":
        raise Conflict(
            f"This payment is collected by {payment.provider}; its status follows the provider.",
            code="not_a_manual_payment",
        )
    changed = (
        await succeed(session, payment, actor=actor)
        if paid
        else await fail(session, payment, actor=actor, code="marked_failed", message=note)
    )
    if not changed:
        raise Conflict(
            f"The payment is {payment.status}; it cannot be marked {'paid' if paid else 'failed'}.",
            code="payment_state_conflict",
        )
    return payment


@dataclass(frozen=True)
class PaymentListed:
    payment: Payment
    payer_name: str
    payer_email: str


async def search(
    session: AsyncSession,
    page: PageRequest,
    *,
    q: str | None = None,
    status: str | None = None,
    provider: str | None = None,
) -> tuple[list[PaymentListed], str | None]:
    """Admins: every user's payments, the newest first, with the payer; ``q`` is a payment's id
    or part of the payer's e-mail or name. The caller has declared cross-user work."""
    order: list[ColumnElement[Any]] = [Payment.created_at.expression, Payment.id.expression]
    query = select(Payment, User.name, User.email).join(User, User.id == Payment.user_id)
    if q:
        try:
            query = query.where(Payment.id == uuid.UUID(q))
        except ValueError:
            pattern = f"%{_escape_like(q)}%"
            query = query.where(User.email.ilike(pattern) | User.name.ilike(pattern))
    if status is not None:
        query = query.where(Payment.status == status)
    if provider is not None:
        query = query.where(Payment.provider == provider)
    beyond = after(order, page.key(datetime, uuid.UUID), descending=True)
    if beyond is not None:
        query = query.where(beyond)
    query = query.order_by(*(column.desc() for column in order)).limit(page.limit + 1)
    rows = [
        PaymentListed(payment, name, mail) for payment, name, mail in await session.execute(query)
    ]
    return page.of(rows, lambda row: (row.payment.created_at, row.payment.id))


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
