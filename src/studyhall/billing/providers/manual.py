"""The built-in provider: no account, no network. Admins settle what does not auto-settle."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from studyhall.billing.config import BillingSettings
from studyhall.billing.providers.base import (
    Checkout,
    InvalidSignature,
    PaymentEvent,
    PaymentRequest,
    RemotePayment,
    RemoteRefund,
    RemoteStatus,
    VerifiedEvent,
)


class ManualProvider:
    name = "manual"

    def __init__(self, settings: BillingSettings) -> None:
        self.settings = settings

    def require_configured(self) -> None:
        """Built in: always ready."""

    async def start_payment(self, request: PaymentRequest) -> Checkout:
        status: RemoteStatus = "succeeded" if self.settings.manual_settles_at_once else "pending"
        return Checkout(status=status, provider_payment_id=f"manual_{request.payment_id.hex}")

    async def fetch_payment(
        self,
        payment_id: uuid.UUID,
        provider_payment_id: str | None,
        provider_checkout_id: str | None,
    ) -> RemotePayment:
        # Nothing remote to ask: a manual payment changes only when an admin says so.
        return RemotePayment(status="pending")

    async def refund(
        self, refund_id: uuid.UUID, provider_payment_id: str, amount_cents: int
    ) -> RemoteRefund:
        return RemoteRefund(provider_refund_id=f"manual_re_{refund_id.hex}", status="succeeded")

    def verify_webhook(
        self, body: bytes, headers: Mapping[str, str], query: Mapping[str, str]
    ) -> VerifiedEvent:
        raise InvalidSignature("The manual provider sends no webhooks.")

    def interpret(self, event_type: str, payload: dict[str, Any]) -> PaymentEvent:
        return PaymentEvent(kind="ignored")
