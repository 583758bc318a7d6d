"""What a payment pays for, and what happens when it succeeds, fails or is refunded.

Each purpose registers its handlers once at import time. The handlers run inside the transaction
that changes the payment's status, with the payment row locked, so the effect (credits granted, a
booking confirmed, course access revoked) commits or rolls back with it. Another domain plugs in
with one line in its own module, for example::

    purposes.register(Purpose("booking", "one_off", confirm_hold, release_hold, refund_booking))
"""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.billing.models import Payment

PaymentHandler = Callable[[AsyncSession, Payment], Awaitable[None]]
RefundHandler = Callable[[AsyncSession, Payment, int], Awaitable[None]]


async def _nothing(session: AsyncSession, payment: Payment) -> None:
    return None


async def _nothing_refunded(session: AsyncSession, payment: Payment, amount_cents: int) -> None:
    return None


@dataclass(frozen=True)
class Purpose:
    name: str
    payment_type: str
    on_succeeded: PaymentHandler = _nothing
    on_failed: PaymentHandler = _nothing
    # Called with the amount of this refund; ``payment.amount_refunded_cents`` already includes it.
    on_refunded: RefundHandler = _nothing_refunded
    # Called before an admin or policy refund is accepted: raise to refuse it with a reason.
    before_refund: RefundHandler = _nothing_refunded


_registry: dict[str, Purpose] = {}


def register(purpose: Purpose) -> None:
    _registry[purpose.name] = purpose


BUILTIN_MODULES = (
    "studyhall.billing.credit_packs",
    "studyhall.billing.subscriptions",
)


def load_builtin() -> None:
    """Billing's own purposes register on import; any process that settles payments needs them."""
    for module in BUILTIN_MODULES:
        importlib.import_module(module)


def get(name: str) -> Purpose:
    if name not in _registry:
        load_builtin()
    try:
        return _registry[name]
    except KeyError:
        raise LookupError(f"no billing purpose named {name!r} is registered") from None


def names() -> list[str]:
    return sorted(_registry)
