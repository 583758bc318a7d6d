"""Credit packs: products that add credits to the buyer's ledger when their payment succeeds.

A pack's credits and price never change once created (only its name and whether it is on sale),
so a payment's pack tells exactly how many credits it bought.
"""

from __future__ import annotations

import math
import uuid
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.accounts.models import User
from studyhall.audit import service as audit
from studyhall.billing.models import CreditLedgerEntry, CreditPack, Payment
from studyhall.billing.service import checkout, expiry, ledger
from studyhall.kit.errors import Conflict, NotFound
from studyhall.kit.paging import PageRequest, after

PURPOSE = "credit_pack"


async def create(
    session: AsyncSession,
    *,
    name: str,
    credits: int,
    price_cents: int,
    currency: str,
    actor: uuid.UUID,
) -> CreditPack:
    checkout.validate_money(price_cents, currency)
    pack = CreditPack(
        name=name, credits=credits, price_cents=price_cents, currency=currency, is_active=True
    )
    session.add(pack)
    await session.flush()
    await audit.record(
        session,
        actor,
        "credit_pack.create",
        "credit_pack",
        pack.id,
        {"credits": credits, "price_cents": price_cents, "currency": currency},
    )
    return pack


async def update(
    session: AsyncSession,
    pack_id: uuid.UUID,
    *,
    name: str | None,
    is_active: bool | None,
    actor: uuid.UUID,
) -> CreditPack:
    pack = await session.get(CreditPack, pack_id, with_for_update=True)
    if pack is None:
        raise NotFound("No such credit pack.", code="credit_pack_not_found")
    before = {"name": pack.name, "is_active": pack.is_active}
    if name is not None:
        pack.name = name
    if is_active is not None:
        pack.is_active = is_active
    await session.flush()
    after = {"name": pack.name, "is_active": pack.is_active}
    await audit.record(
        session, actor, "credit_pack.update", "credit_pack", pack.id, audit.changes(before, after)
    )
    return pack


async def list_packs(
    session: AsyncSession, page: PageRequest, *, include_inactive: bool
) -> tuple[list[CreditPack], str | None]:
    """One page of the packs, by currency and price."""
    order: list[ColumnElement[Any]] = [
        CreditPack.currency.expression,
        CreditPack.price_cents.expression,
        CreditPack.id.expression,
    ]
    query = select(CreditPack)
    if not include_inactive:
        query = query.where(CreditPack.is_active.is_(True))
    beyond = after(order, page.key(str, int, uuid.UUID))
    if beyond is not None:
        query = query.where(beyond)
    rows = list(await session.scalars(query.order_by(*order).limit(page.limit + 1)))
    return page.of(rows, lambda pack: (pack.currency, pack.price_cents, pack.id))


async def purchase(
    session: AsyncSession, user: User, pack_id: uuid.UUID, provider: str | None
) -> Payment:
    """The pending payment for a pack; ``payments.open_checkout`` opens it at the provider."""
    provider_name = checkout.choose_provider(provider)
    pack = await session.get(CreditPack, pack_id)
    if pack is None or not pack.is_active:
        raise NotFound("No such credit pack on sale.", code="credit_pack_not_found")
    await ledger.require_holder(session, user.id)
    return await checkout.prepare(
        session,
        user=user,
        purpose=PURPOSE,
        purpose_id=pack.id,
        amount_cents=pack.price_cents,
        currency=pack.currency,
        description=f"{pack.credits} credits ({pack.name})",
        provider=provider_name,
    )


async def _purchased_credits(session: AsyncSession, payment: Payment) -> int:
    delta = await session.scalar(
        select(CreditLedgerEntry.delta).where(
            CreditLedgerEntry.payment_id == payment.id, CreditLedgerEntry.reason == "purchase"
        )
    )
    return int(delta or 0)


async def _credits_to_remove(session: AsyncSession, payment: Payment, refunded_cents: int) -> int:
    """Credits taken back so far should be the refunded share of the pack, rounded up."""
    purchased = await _purchased_credits(session, payment)
    target = math.ceil(purchased * refunded_cents / payment.amount_cents)
    removed = await session.scalar(
        select(func.coalesce(-func.sum(CreditLedgerEntry.delta), 0)).where(
            CreditLedgerEntry.payment_id == payment.id, CreditLedgerEntry.reason == "refund"
        )
    )
    return max(0, target - int(removed or 0))


async def on_payment_succeeded(session: AsyncSession, payment: Payment) -> None:
    await ledger.lock_balance(session, payment.user_id)
    if await _purchased_credits(session, payment):
        return
    pack = await session.get(CreditPack, payment.purpose_id)
    assert pack is not None
    await ledger.post(
        session,
        payment.user_id,
        pack.credits,
        "purchase",
        source=ledger.Source(payment_id=payment.id),
        note=pack.name,
        expires_at=await expiry.pack_expiry(session, payment.user_id),
    )


async def before_payment_refund(session: AsyncSession, payment: Payment, amount_cents: int) -> None:
    balance, _ = await ledger.lock_balance(session, payment.user_id)
    needed = await _credits_to_remove(
        session, payment, payment.amount_refunded_cents + amount_cents
    )
    if needed > balance:
        raise Conflict(
            f"This refund takes back {needed} credits but only {balance} are left unspent.",
            code="credits_already_spent",
            credits_needed=needed,
            balance=balance,
        )


async def on_payment_refunded(session: AsyncSession, payment: Payment, amount_cents: int) -> None:
    balance, _ = await ledger.lock_balance(session, payment.user_id)
    # A refund made at the provider cannot be refused; take back what is left unspent.
    take = min(await _credits_to_remove(session, payment, payment.amount_refunded_cents), balance)
    if take > 0:
        await ledger.post(
            session,
            payment.user_id,
            -take,
            "refund",
            source=ledger.Source(payment_id=payment.id),
            note=f"refund of {amount_cents} {payment.currency}",
        )
