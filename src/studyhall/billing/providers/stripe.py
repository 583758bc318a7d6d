"""Stripe through its official SDK: PaymentIntents, Customers, Refunds, signed webhooks.

Every outbound call carries an idempotency key made from our own row id, so a retried request (a
job attempt after a timeout, a replayed HTTP request) can never create a second object at Stripe.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from typing import Any

import stripe

from studyhall.billing.config import BillingSettings
from studyhall.billing.providers.base import (
    Checkout,
    InvalidSignature,
    PaymentEvent,
    PaymentRequest,
    ProviderNotConfigured,
    ProviderUnavailable,
    RemotePayment,
    RemoteRefund,
    RemoteStatus,
    VerifiedEvent,
    parse_uuid,
)
from studyhall.kit.errors import BadRequest

PAYMENT_METADATA_KEY = "studyhall_payment_id"


class StripeProvider:
    name = "stripe"

    def __init__(self, settings: BillingSettings) -> None:
        self.settings = settings

    def _client(self) -> stripe.StripeClient:
        if self.settings.stripe_api_key is None:
            raise ProviderNotConfigured(
                "Stripe is not configured: set STUDYHALL_BILLING_STRIPE_API_KEY."
            )
        return stripe.StripeClient(
            self.settings.stripe_api_key.get_secret_value(),
            base_addresses={"api": self.settings.stripe_api_base},
            http_client=stripe.HTTPXClient(),
            max_network_retries=2,
        )

    async def create_customer(self, user_id: uuid.UUID, email: str, name: str) -> str:
        try:
            customer = await self._client().v1.customers.create_async(
                {"email": email, "name": name, "metadata": {"studyhall_user_id": str(user_id)}},
                {"idempotency_key": f"customer-{user_id}"},
            )
        except stripe.StripeError as exc:
            raise ProviderUnavailable(f"Stripe refused or failed: {exc.user_message}") from exc
        return str(customer.id)

    async def start_payment(self, request: PaymentRequest) -> Checkout:
        params: dict[str, Any] = {
            "amount": request.amount_cents,
            "currency": request.currency.lower(),
            "description": request.description,
            "metadata": {PAYMENT_METADATA_KEY: str(request.payment_id)},
            "automatic_payment_methods": {"enabled": True},
        }
        if request.customer_id:
            params["customer"] = request.customer_id
        try:
            intent = await self._client().v1.payment_intents.create_async(
                params,  # type: ignore[arg-type]
                {"idempotency_key": f"payment-{request.payment_id}"},
            )
        except stripe.StripeError as exc:
            raise ProviderUnavailable(f"Stripe refused or failed: {exc.user_message}") from exc
        return Checkout(
            status=_intent_status(intent.status, None),
            provider_payment_id=intent.id,
            client_secret=intent.client_secret,
        )

    async def fetch_payment(self, provider_payment_id: str) -> RemotePayment:
        try:
            intent = await self._client().v1.payment_intents.retrieve_async(provider_payment_id)
        except stripe.StripeError as exc:
            raise ProviderUnavailable(f"Stripe refused or failed: {exc.user_message}") from exc
        error = intent.last_payment_error
        return RemotePayment(
            status=_intent_status(intent.status, error),
            failure_code=None if error is None else error.code,
            failure_message=None if error is None else error.message,
        )

    async def refund(
        self, refund_id: uuid.UUID, provider_payment_id: str, amount_cents: int
    ) -> RemoteRefund:
        try:
            refund = await self._client().v1.refunds.create_async(
                {
                    "payment_intent": provider_payment_id,
                    "amount": amount_cents,
                    "metadata": {"studyhall_refund_id": str(refund_id)},
                },
                {"idempotency_key": f"refund-{refund_id}"},
            )
        except stripe.StripeError as exc:
            raise ProviderUnavailable(f"Stripe refused or failed: {exc.user_message}") from exc
        status: RemoteStatus = {"succeeded": "succeeded", "failed": "failed"}.get(  # type: ignore[assignment]
            str(refund.status), "pending"
        )
        return RemoteRefund(provider_refund_id=refund.id, status=status)

    def verify_webhook(
        self, body: bytes, headers: Mapping[str, str], query: Mapping[str, str]
    ) -> VerifiedEvent:
        signature = headers.get("stripe-signature")
        if not signature:
            raise InvalidSignature("The Stripe-Signature header is missing.")
        for secret in self.settings.stripe_webhook_secrets:
            try:
                event = stripe.Webhook.construct_event(
                    body,
                    signature,
                    secret.get_secret_value(),
                    tolerance=self.settings.stripe_webhook_tolerance_s,
                )
            except stripe.SignatureVerificationError:
                continue
            except ValueError as exc:
                raise BadRequest("The body is not JSON.", code="invalid_payload") from exc
            return VerifiedEvent(event.id, event.type, json.loads(body))
        raise InvalidSignature("The Stripe signature does not match, or it is too old.")

    def interpret(self, event_type: str, payload: dict[str, Any]) -> PaymentEvent:
        obj = payload.get("data", {}).get("object", {})
        metadata = obj.get("metadata") or {}
        payment_id = parse_uuid(metadata.get(PAYMENT_METADATA_KEY))
        if event_type == "payment_intent.succeeded":
            return PaymentEvent("payment_succeeded", payment_id, obj.get("id"))
        if event_type in ("payment_intent.payment_failed", "payment_intent.canceled"):
            error = obj.get("last_payment_error") or {}
            return PaymentEvent(
                "payment_failed",
                payment_id,
                obj.get("id"),
                failure_code=error.get("code") or obj.get("cancellation_reason") or "failed",
                failure_message=error.get("message"),
            )
        if event_type == "charge.refunded":
            return PaymentEvent(
                "payment_refunded",
                payment_id,
                obj.get("payment_intent"),
                refunded_total_cents=int(obj.get("amount_refunded") or 0),
            )
        return PaymentEvent("ignored")


def _intent_status(status: str, error: object | None) -> RemoteStatus:
    if status == "succeeded":
        return "succeeded"
    if status == "canceled" or (status == "requires_payment_method" and error is not None):
        return "failed"
    return "pending"
