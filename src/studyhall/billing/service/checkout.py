"""Starting a payment: the provider a purchase goes through, the pending payment row written in the
transaction of what it pays for, and its reconciliation scheduled with it. The provider itself is
called after that transaction commits (``payments.open_checkout``), except for the in-process
manual provider (``start``)."""

from __future__ import annotations

import re
import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.accounts.models import User
from studyhall.audit import service as audit
from studyhall.billing import providers
from studyhall.billing.models import Payment
from studyhall.billing.providers.base import PaymentRequest
from studyhall.billing.service import payments, purposes
from studyhall.billing.service.payments import Started
from studyhall.billing.service.settlement import schedule_reconciliation
from studyhall.kit.errors import Unprocessable

CURRENCY = re.compile(r"^[A-Z]{3}$")
MAX_AMOUNT_CENTS = 100_000_000_00


def validate_money(amount_cents: int, currency: str) -> None:
    if amount_cents <= 0 or amount_cents > MAX_AMOUNT_CENTS:
        raise Unprocessable(
            "The amount must be a positive number of minor units (cents).", code="invalid_amount"
        )
    if not CURRENCY.match(currency):
        raise Unprocessable(
            "The currency must be an ISO 4217 code in capitals, such as USD or EGP.",
            code="invalid_currency",
        )


def choose_provider(requested: str | None) -> str:
    """The provider a client's purchase goes through: the one asked for (None: the default) if
    the deployment enables it, else 422 ``provider_not_enabled``. Call it before writing
    anything for the purchase."""
    return providers.choose(requested)


async def prepare(
    session: AsyncSession,
    *,
    user: User,
    purpose: str,
    purpose_id: uuid.UUID,
    amount_cents: int,
    currency: str,
    description: str,
    provider: str,
) -> Payment:
    """Write our pending payment row, in the transaction that writes what it pays for.

    ``provider`` is a client's purchase's ``choose_provider`` answer, or the provider an existing
    subscription already pays through (its renewals keep it).
    No provider is called here: ``open_checkout`` does that after this transaction commits.
    A remote payment gets its reconciliation job now, so a payment whose checkout never opened
    (a crash, a provider that did not answer) is still settled or failed.
    """
    validate_money(amount_cents, currency)
    handler = purposes.get(purpose)
    provider_name = provider
    # An unknown name or a provider missing its settings fails before anything is written.
    providers.get(provider_name).require_configured()
    payment = Payment(
        user_id=user.id,
        type=handler.payment_type,
        purpose=purpose,
        purpose_id=purpose_id,
        provider=provider_name,
        amount_cents=amount_cents,
        currency=currency,
        description=description,
        status="pending",
        amount_refunded_cents=0,
    )
    session.add(payment)
    await session.flush()
    await audit.record(
        session,
        user.id,
        "payment.create",
        "payment",
        payment.id,
        {"purpose": purpose, "amount_cents": amount_cents, "currency": currency},
    )
    if provider_name != "manual":
        await schedule_reconciliation(session, payment.id)
    return payment


async def start(
    session: AsyncSession,
    *,
    user: User,
    purpose: str,
    purpose_id: uuid.UUID,
    amount_cents: int,
    currency: str,
    description: str,
    provider: str,
) -> Started:
    """``prepare`` and the provider call in the caller's transaction: for the ``manual``
    provider only, which answers in-process (a manual subscription's renewal job). A remote
    provider is called through ``open_checkout``, outside any transaction: no transaction
    waits on the network.
    """
    if provider != "manual":
        raise ValueError("checkout.start is for the in-process manual provider only")
    payment = await prepare(
        session,
        user=user,
        purpose=purpose,
        purpose_id=purpose_id,
        amount_cents=amount_cents,
        currency=currency,
        description=description,
        provider=provider,
    )
    checkout = await providers.get(payment.provider).start_payment(
        PaymentRequest(
            payment_id=payment.id,
            user_id=user.id,
            email=user.email,
            name=user.name,
            amount_cents=amount_cents,
            currency=currency,
            description=description,
            customer_id=None,
        )
    )
    payment.provider_payment_id = checkout.provider_payment_id
    payment.provider_checkout_id = checkout.provider_checkout_id
    await session.flush()
    if checkout.status == "succeeded":
        await payments.succeed(session, payment, actor=None)
    return Started(payment, checkout)
