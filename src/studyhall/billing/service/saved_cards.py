"""Saved cards (``payment_methods``): Paymob card tokens, kept to renew their owner's subscription.

A token arrives in Paymob's TOKEN callback, which names the Paymob order of the payment during
which the card was saved; that payment names the owner. The token is secret (it charges the card),
so it is stored AES-GCM encrypted with accounts' key ring (``STUDYHALL_ENCRYPTION_KEYS``), the row
id as associated data, and decrypted only by the job that charges it.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.accounts.models import User
from studyhall.accounts.service import KeyRing, reencrypt_rows
from studyhall.audit import service as audit
from studyhall.billing.models import Payment, PaymentMethod
from studyhall.billing.providers.base import PaymentRequest, SavedCard
from studyhall.billing.service import payments
from studyhall.jobs import runtime
from studyhall.kit.errors import NotFound
from studyhall.kit.paging import PageRequest, after


@dataclass(frozen=True)
class Charge:
    request: PaymentRequest
    card_token: str


def fingerprint(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _keys() -> KeyRing:
    return KeyRing.from_settings(runtime().settings)


async def save(session: AsyncSession, card: SavedCard) -> bool:
    """Store a card from a verified TOKEN callback. False while its payment is not known (yet)."""
    owner = await session.scalar(
        select(Payment.user_id).where(
            Payment.provider == "paymob", Payment.provider_checkout_id == card.provider_order_id
        )
    )
    if owner is None:
        return False
    keys = _keys()
    method_id = uuid.uuid4()
    inserted = await session.scalar(
        pg_insert(PaymentMethod)
        .values(
            id=method_id,
            user_id=owner,
            provider="paymob",
            token_encrypted=keys.encrypt(card.token, method_id.bytes),
            encryption_key_id=keys.current,
            token_sha256=fingerprint(card.token),
            masked_pan=card.masked_pan[:32],
            brand=None if card.brand is None else card.brand[:40],
        )
        .on_conflict_do_nothing(
            index_elements=["provider", "token_sha256"],
            index_where=PaymentMethod.deleted_at.is_(None),
        )
        .returning(PaymentMethod.id)
    )
    if inserted is not None:
        await audit.record(
            session,
            None,
            "payment_method.create",
            "payment_method",
            method_id,
            {"user_id": str(owner), "masked_pan": card.masked_pan, "brand": card.brand},
        )
    return True


async def list_for_user(
    session: AsyncSession, user_id: uuid.UUID, page: PageRequest
) -> tuple[list[PaymentMethod], str | None]:
    """One page of the user's saved cards, the newest first."""
    order: list[ColumnElement[Any]] = [
        PaymentMethod.created_at.expression,
        PaymentMethod.id.expression,
    ]
    query = select(PaymentMethod).where(
        PaymentMethod.user_id == user_id, PaymentMethod.deleted_at.is_(None)
    )
    beyond = after(order, page.key(datetime, uuid.UUID), descending=True)
    if beyond is not None:
        query = query.where(beyond)
    query = query.order_by(*(column.desc() for column in order)).limit(page.limit + 1)
    rows = list(await session.scalars(query))
    return page.of(rows, lambda method: (method.created_at, method.id))


async def latest(session: AsyncSession, user_id: uuid.UUID, provider: str) -> PaymentMethod | None:
    """The card a renewal charges: the one saved most recently."""
    return await session.scalar(
        select(PaymentMethod)
        .where(
            PaymentMethod.user_id == user_id,
            PaymentMethod.provider == provider,
            PaymentMethod.deleted_at.is_(None),
        )
        .order_by(PaymentMethod.created_at.desc(), PaymentMethod.id)
        .limit(1)
    )


async def delete(session: AsyncSession, user_id: uuid.UUID, method_id: uuid.UUID) -> None:
    """Soft delete; the token is overwritten, so a deleted card can never be charged."""
    method = await session.get(PaymentMethod, method_id, with_for_update=True)
    if method is None or method.user_id != user_id or method.deleted_at is not None:
        raise NotFound("No such saved card.", code="payment_method_not_found")
    method.deleted_at = datetime.now(UTC)
    method.token_encrypted = b""
    await session.flush()
    await audit.record(session, user_id, "payment_method.delete", "payment_method", method.id, None)


async def prepare_charge(
    session: AsyncSession, payment_id: uuid.UUID, method_id: uuid.UUID
) -> Charge | None:
    """What the charge job sends, read in a short transaction. None: nothing to charge (already
    settled, or the card was deleted meanwhile, which fails the payment)."""
    payment = await payments.lock(session, payment_id)
    if payment.status != "pending":
        return None
    method = await session.get(PaymentMethod, method_id)
    if method is None or method.deleted_at is not None:
        await payments.fail(
            session,
            payment,
            actor=None,
            code="card_removed",
            message="The saved card was removed before the renewal was charged.",
        )
        return None
    user = await session.get(User, payment.user_id)
    assert user is not None
    token = _keys().decrypt(method.encryption_key_id, method.token_encrypted, method.id.bytes)
    request = PaymentRequest(
        payment_id=payment.id,
        user_id=user.id,
        email=user.email,
        name=user.name,
        amount_cents=payment.amount_cents,
        currency=payment.currency,
        description=payment.description or "",
    )
    return Charge(request, token)


async def rotate_keys(session: AsyncSession, keys: KeyRing, batch: int = 500) -> int:
    """Re-encrypt every live card not under the current key; returns how many were rewritten."""

    def reseal(method: PaymentMethod) -> None:
        token = keys.decrypt(method.encryption_key_id, method.token_encrypted, method.id.bytes)
        method.token_encrypted = keys.encrypt(token, method.id.bytes)
        method.encryption_key_id = keys.current

    return await reencrypt_rows(session, keys, PaymentMethod, reseal, "payment_method", batch)
