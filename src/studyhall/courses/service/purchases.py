"""Purchases: the pending or free purchase a checkout writes, and what follows when money moves:
``complete_purchase`` grants access to every course of the product, ``refund_purchase`` revokes
only what that purchase granted.

Callers that act for someone other than the buyer (billing's settlement, an admin) declare
cross-user work at the start of their transaction (``db.rls.cross_users``); these functions never
switch row level security themselves."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import Select, literal, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.accounts.models import User
from studyhall.audit import service as audit
from studyhall.config import get_settings
from studyhall.courses.events import PurchaseCreated
from studyhall.courses.models import CourseAccess, CourseProduct, Purchase
from studyhall.courses.service.constraints import constraint_name
from studyhall.courses.service.learning import progress_summaries
from studyhall.courses.service.products import visible_product
from studyhall.kit import events
from studyhall.kit.errors import Conflict, NotFound
from studyhall.kit.paging import PageRequest, after

DEFAULT_REFUND_WINDOW = timedelta(days=14)
LIVE_PURCHASE_INDEX = "uq_purchases_user_id_product_id_live"


def now() -> datetime:
    return datetime.now(UTC)


async def checkout(
    session: AsyncSession, user: User, product_id: uuid.UUID
) -> tuple[Purchase, bool]:
    """A pending purchase of a paid product, or an immediate grant for a free one.

    Returns the purchase and whether it was created now. Concurrent checkouts of one product by
    one buyer collide on the live-purchase index: the loser gets the winner's purchase.
    """
    product = await visible_product(session, user, product_id, lock=True)
    free = product.price_cents == 0
    values = {
        "user_id": user.id,
        "product_id": product.id,
        "status": "paid" if free else "pending",
        "price_paid_cents": product.price_cents,
        "currency": product.currency,
        "product_details": {
            "name": product.name,
            "description": product.description,
            "image_url": product.image_url,
        },
        "provider": "free" if free else "manual",
        "paid_at": now() if free else None,
    }
    purchase_id = await session.scalar(
        insert(Purchase)
        .values(**values)
        .on_conflict_do_nothing(
            index_elements=["user_id", "product_id"],
            index_where=text("status IN ('pending', 'paid')"),
        )
        .returning(Purchase.id)
    )
    if purchase_id is None:
        return await _existing_live_purchase(session, user.id, product.id), False
    await audit.record(session, user.id, "purchase.create", "purchase", purchase_id, values)
    if free:
        await _grant_courses(session, purchase_id, user.id, product.id)
    purchase = await session.get(Purchase, purchase_id)
    assert purchase is not None
    if free:
        await _report_paid(session, purchase)
    return purchase, True


async def _existing_live_purchase(
    session: AsyncSession, user_id: uuid.UUID, product_id: uuid.UUID
) -> Purchase:
    purchase = await session.scalar(
        select(Purchase).where(
            Purchase.user_id == user_id,
            Purchase.product_id == product_id,
            Purchase.status.in_(("pending", "paid")),
        )
    )
    assert purchase is not None
    if purchase.status == "paid":
        raise Conflict(
            "You already own this product.",
            code="product_already_purchased",
            purchase_id=str(purchase.id),
        )
    return purchase


async def _grant_courses(
    session: AsyncSession, purchase_id: uuid.UUID, user_id: uuid.UUID, product_id: uuid.UUID
) -> list[uuid.UUID]:
    granted = await session.scalars(
        insert(CourseAccess)
        .from_select(
            ["user_id", "course_id", "source", "purchase_id"],
            select(
                literal(user_id), CourseProduct.course_id, literal("purchase"), literal(purchase_id)
            ).where(CourseProduct.product_id == product_id),
        )
        .on_conflict_do_nothing(index_elements=["purchase_id", "course_id"])
        .returning(CourseAccess.course_id)
    )
    return list(granted.all())


async def _report_paid(session: AsyncSession, purchase: Purchase) -> None:
    """``PurchaseCreated`` once per course the purchase granted, as it becomes paid."""
    granted = await session.scalars(
        select(CourseAccess.course_id)
        .where(CourseAccess.purchase_id == purchase.id)
        .order_by(CourseAccess.course_id)
    )
    for course_id in granted.all():
        fact = PurchaseCreated(
            purchase_id=purchase.id,
            user_id=purchase.user_id,
            course_id=course_id,
            amount_cents=purchase.price_paid_cents,
            currency=purchase.currency,
        )
        await events.emit(session, fact)


async def _locked_purchase(session: AsyncSession, purchase_id: uuid.UUID) -> Purchase:
    purchase = await session.get(
        Purchase, purchase_id, with_for_update=True, populate_existing=True
    )
    if purchase is None:
        raise NotFound(f"No purchase with id {purchase_id}.", code="purchase_not_found")
    return purchase


async def complete_purchase(
    session: AsyncSession,
    purchase_id: uuid.UUID,
    provider_session_id: str | None,
    *,
    provider: str | None = None,
    payment_id: uuid.UUID | None = None,
) -> Purchase:
    """Billing calls this once the payment succeeded. Safe to call again (webhook retries):
    an already paid purchase is returned unchanged and no access row is duplicated."""
    purchase = await _locked_purchase(session, purchase_id)
    if purchase.status == "paid":
        return purchase
    if purchase.status == "refunded":
        raise Conflict(
            "The purchase was refunded; it cannot be paid again.", code="purchase_refunded"
        )
    purchase.status = "paid"
    purchase.paid_at = now()
    purchase.provider_session_id = provider_session_id
    purchase.provider = provider or purchase.provider
    purchase.payment_id = payment_id
    try:
        await session.flush()
    except IntegrityError as exc:
        if constraint_name(exc) == "uq_purchases_provider_provider_session_id":
            raise Conflict(
                "That provider session already paid for another purchase.",
                code="provider_session_taken",
            ) from exc
        raise
    courses = await _grant_courses(session, purchase.id, purchase.user_id, purchase.product_id)
    await audit.record(
        session,
        None,
        "purchase.complete",
        "purchase",
        purchase.id,
        {"provider_session_id": provider_session_id, "granted_course_ids": courses},
    )
    await _report_paid(session, purchase)
    return purchase


def refund_window() -> timedelta:
    """The configured window (``STUDYHALL_COURSE_REFUND_WINDOW_DAYS``), for callers without a
    request at hand, such as billing's refund hook."""
    return timedelta(days=get_settings().course_refund_window_days)


async def lock_purchase(session: AsyncSession, purchase_id: uuid.UUID) -> Purchase:
    """The purchase, locked (billing's payment handlers, which act across users)."""
    return await _locked_purchase(session, purchase_id)


async def check_refundable(
    session: AsyncSession,
    purchase_id: uuid.UUID,
    *,
    window: timedelta = DEFAULT_REFUND_WINDOW,
    at: datetime | None = None,
) -> Purchase:
    """Raises the 409 that refuses a refund of this purchase now, changing nothing; returns the
    locked purchase otherwise (a refunded one as it is). Billing asks this before money moves."""
    purchase = await _locked_purchase(session, purchase_id)
    if purchase.status == "refunded":
        return purchase
    await _enforce_policy(session, purchase, window, at or now())
    return purchase


async def _enforce_policy(
    session: AsyncSession, purchase: Purchase, window: timedelta, moment: datetime
) -> None:
    if purchase.status == "pending" or purchase.paid_at is None:
        raise Conflict("The purchase has not been paid.", code="purchase_not_paid")
    if moment - purchase.paid_at > window:
        raise Conflict(
            f"Refunds are possible for {window.days} days after payment; this window has closed.",
            code="refund_window_closed",
        )
    await _refuse_if_completed(session, purchase)


async def refund_purchase(
    session: AsyncSession,
    purchase_id: uuid.UUID,
    actor: User | None,
    *,
    window: timedelta = DEFAULT_REFUND_WINDOW,
    at: datetime | None = None,
    enforce_policy: bool = True,
) -> Purchase:
    """Marks the purchase refunded and revokes the access rows it granted, and only those.

    ``actor`` None is the system (billing's webhook). A buyer may refund their own purchase, an
    admin anyone's; either way the window is closed after ``window`` or once the buyer has
    completed a course of the product. Refunding twice returns the refunded purchase.
    ``enforce_policy=False`` is for billing once the money is back (for instance a refund made in
    the provider's dashboard): it cannot be refused any more, so access must follow it.
    """
    purchase = await _locked_purchase(session, purchase_id)
    if actor is not None and actor.role != "admin" and purchase.user_id != actor.id:
        raise NotFound(f"No purchase with id {purchase_id}.", code="purchase_not_found")
    if purchase.status == "refunded":
        return purchase
    moment = at or now()
    if enforce_policy:
        await _enforce_policy(session, purchase, window, moment)
    elif purchase.status != "paid":
        raise Conflict("The purchase has not been paid.", code="purchase_not_paid")
    purchase.status = "refunded"
    purchase.refunded_at = moment
    revoked = await session.scalars(
        update(CourseAccess)
        .where(CourseAccess.purchase_id == purchase.id, CourseAccess.revoked_at.is_(None))
        .values(revoked_at=moment)
        .returning(CourseAccess.course_id)
    )
    revoked_courses = list(revoked.all())
    await session.flush()
    await audit.record(
        session,
        None if actor is None else actor.id,
        "purchase.refund",
        "purchase",
        purchase.id,
        {"revoked_course_ids": revoked_courses},
    )
    return purchase


async def _refuse_if_completed(session: AsyncSession, purchase: Purchase) -> None:
    granted = list(
        (
            await session.scalars(
                select(CourseAccess.course_id).where(CourseAccess.purchase_id == purchase.id)
            )
        ).all()
    )
    if not granted:
        return
    for course_id, _title, total, done in await progress_summaries(
        session, purchase.user_id, granted
    ):
        if total > 0 and done == total:
            raise Conflict(
                "The buyer has completed a course of this product, which closes the refund window.",
                code="refund_course_completed",
                course_id=str(course_id),
            )


HISTORY_ORDER = (Purchase.created_at.expression, Purchase.id.expression)


def purchase_history_query(user_id: uuid.UUID) -> Select[Purchase]:
    """The buyer's purchase history: paid, not refunded, newest first, on the
    (user_id, created_at DESC) index."""
    return (
        select(Purchase)
        .where(
            Purchase.user_id == user_id,
            Purchase.refunded_at.is_(None),
            Purchase.status == "paid",
        )
        .order_by(*(column.desc() for column in HISTORY_ORDER))
    )


async def purchase_history(
    session: AsyncSession, user_id: uuid.UUID, page: PageRequest
) -> tuple[list[Purchase], str | None]:
    query = purchase_history_query(user_id).limit(page.limit + 1)
    beyond = after(HISTORY_ORDER, page.key(datetime, uuid.UUID), descending=True)
    if beyond is not None:
        query = query.where(beyond)
    rows = list((await session.scalars(query)).all())
    return page.of(rows, lambda purchase: (purchase.created_at, purchase.id))


async def get_purchase(session: AsyncSession, user: User, purchase_id: uuid.UUID) -> Purchase:
    """The buyer's own purchase, or anyone's for an admin (whose route reads across users)."""
    purchase = await session.get(Purchase, purchase_id)
    if purchase is None or (user.role != "admin" and purchase.user_id != user.id):
        raise NotFound(f"No purchase with id {purchase_id}.", code="purchase_not_found")
    return purchase
