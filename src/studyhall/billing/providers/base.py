"""The provider interface and the provider-neutral shapes it speaks in."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, Protocol

from studyhall.kit.errors import BadRequest, ServiceUnavailable, Unprocessable

RemoteStatus = Literal["pending", "succeeded", "failed"]


class InvalidSignature(BadRequest):
    default_code = "invalid_signature"


class ProviderNotConfigured(Unprocessable):
    default_code = "provider_not_configured"


class ProviderNotEnabled(Unprocessable):
    default_code = "provider_not_enabled"


class ProviderUnavailable(ServiceUnavailable):
    default_code = "provider_unavailable"


@dataclass(frozen=True)
class PaymentRequest:
    """What a provider needs to start collecting one of our payments."""

    payment_id: uuid.UUID
    user_id: uuid.UUID
    email: str
    name: str
    amount_cents: int
    currency: str
    description: str
    customer_id: str | None = None


@dataclass(frozen=True)
class Checkout:
    """What the client needs to pay; a remote provider sets one of the three handles."""

    status: RemoteStatus
    provider_payment_id: str | None = None
    provider_checkout_id: str | None = None
    client_secret: str | None = None
    checkout_url: str | None = None
    payment_key: str | None = None


@dataclass(frozen=True)
class VerifiedEvent:
    event_id: str
    event_type: str
    payload: dict[str, Any]


@dataclass(frozen=True)
class RemotePayment:
    """A payment as the provider reports it when asked.

    ``event``: the provider answered with the very object its callbacks carry (Paymob's
    transaction); it is then applied as that callback would be, under the same event id.
    """

    status: RemoteStatus
    amount_refunded_cents: int = 0
    failure_code: str | None = None
    failure_message: str | None = None
    event: VerifiedEvent | None = None
    provider_payment_id: str | None = None
    # The provider's order the answer is about (Paymob): recorded on the payment if unset, since
    # the provider answered a question about this very payment.
    provider_checkout_id: str | None = None
    # What a success says was paid (Stripe), checked against the payment before it counts.
    amount_cents: int | None = None
    currency: str | None = None


@dataclass(frozen=True)
class RemoteRefund:
    provider_refund_id: str | None
    status: RemoteStatus


EventKind = Literal[
    "payment_succeeded",
    "payment_failed",
    "payment_refunded",
    "subscription_changed",
    "invoice_paid",
    "card_saved",
    "payout_account_updated",
    "transfer_changed",
    "ignored",
]


@dataclass(frozen=True)
class ConnectedAccount:
    """A tutor's Stripe Connect account as an ``account.updated`` event reports it."""

    account_id: str
    details_submitted: bool
    payouts_enabled: bool
    event_created: int


@dataclass(frozen=True)
class TransferState:
    """A transfer to a tutor: which statement it pays (our id, from metadata) and whether it
    was reversed."""

    transfer_id: str
    statement_id: uuid.UUID | None
    reversed: bool


@dataclass(frozen=True)
class SavedCard:
    """A card the payer chose to save, as the provider's token callback reports it.
    ``provider_order_id`` is the provider's order of the payment during which it was saved."""

    token: str
    masked_pan: str
    brand: str | None
    provider_order_id: str


@dataclass(frozen=True)
class RemoteSubscription:
    """A provider's subscription as it is now, in our vocabulary."""

    provider_subscription_id: str
    status: str
    current_period_start: datetime | None
    current_period_end: datetime | None
    cancel_at_period_end: bool
    client_secret: str | None = None


@dataclass(frozen=True)
class PaidInvoice:
    invoice_id: str
    provider_subscription_id: str
    amount_cents: int
    currency: str
    period_start: datetime
    period_end: datetime


@dataclass(frozen=True)
class PaymentEvent:
    """A provider event reduced to what billing acts on.

    Only what the provider signed finds the payment: ``payment_id`` is ours from signed metadata
    (Stripe), ``provider_order_id`` the provider's order our payment stored as its checkout id
    (Paymob's HMAC-covered ``order.id``), ``provider_payment_id`` the provider's payment.
    ``stated_reference`` is an unsigned copy of our payment id the event also carries (Paymob's
    ``merchant_order_id``): never used to find a payment, only checked against the one found.
    A success states what was paid (``amount_cents``, ``currency``), checked against the payment.
    ``refunded_total_cents`` is the provider's running total, so applying an older refund event
    after a newer one changes nothing.
    """

    kind: EventKind
    payment_id: uuid.UUID | None = None
    provider_payment_id: str | None = None
    provider_order_id: str | None = None
    stated_reference: str | None = None
    amount_cents: int | None = None
    currency: str | None = None
    refunded_total_cents: int = 0
    provider_refund_id: str | None = None
    failure_code: str | None = None
    failure_message: str | None = None
    provider_subscription_id: str | None = None
    invoice: PaidInvoice | None = None
    card: SavedCard | None = None
    account: ConnectedAccount | None = None
    transfer: TransferState | None = None


class EventRejected(Exception):
    """A verified event whose claims do not match what it names: kept with ``reason``, applied
    to nothing."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Provider(Protocol):
    name: str

    def require_configured(self) -> None:
        """Raise ProviderNotConfigured when a payment could not be started; checked before
        anything is written, so a configuration gap never leaves a row behind."""

    async def start_payment(self, request: PaymentRequest) -> Checkout: ...

    async def fetch_payment(
        self,
        payment_id: uuid.UUID,
        provider_payment_id: str | None,
        provider_checkout_id: str | None,
    ) -> RemotePayment: ...

    async def refund(
        self, refund_id: uuid.UUID, provider_payment_id: str, amount_cents: int
    ) -> RemoteRefund: ...

    def verify_webhook(
        self, body: bytes, headers: Mapping[str, str], query: Mapping[str, str]
    ) -> VerifiedEvent: ...

    def interpret(self, event_type: str, payload: dict[str, Any]) -> PaymentEvent: ...


def parse_uuid(value: object) -> uuid.UUID | None:
    if not isinstance(value, str):
        return None
    try:
        return uuid.UUID(value)
    except ValueError:
        return None
