"""Stripe through its official SDK: PaymentIntents, Customers, Refunds, signed webhooks.

Every outbound call carries an idempotency key made from our own row id, so a retried request (a
job attempt after a timeout, a replayed HTTP request) can never create a second object at Stripe.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import stripe

from studyhall.billing.config import BillingSettings
from studyhall.billing.providers.base import (
    Checkout,
    ConnectedAccount,
    InvalidSignature,
    PaidInvoice,
    PaymentEvent,
    PaymentRequest,
    ProviderNotConfigured,
    ProviderUnavailable,
    RemotePayment,
    RemoteRefund,
    RemoteStatus,
    RemoteSubscription,
    TransferState,
    VerifiedEvent,
    parse_uuid,
)
from studyhall.kit.errors import BadRequest

PAYMENT_METADATA_KEY = "studyhall_payment_id"
# A completed session is paid unless an asynchronous method (a bank debit) is still settling.
PAID_SESSION = ("paid", "no_payment_required")
SUBSCRIPTION_METADATA_KEY = "studyhall_subscription_id"
STATEMENT_METADATA_KEY = "studyhall_statement_id"


class StripeProvider:
    name = "stripe"

    def __init__(self, settings: BillingSettings) -> None:
        self.settings = settings

    def require_configured(self) -> None:
        self._client()
        if self.settings.stripe_checkout == "checkout_session":
            self._return_urls()

    def _return_urls(self) -> tuple[str, str]:
        success_url, cancel_url = self.settings.stripe_success_url, self.settings.stripe_cancel_url
        if not success_url or not cancel_url:
            raise ProviderNotConfigured(
                "Stripe Checkout needs STUDYHALL_BILLING_STRIPE_SUCCESS_URL and "
                "STUDYHALL_BILLING_STRIPE_CANCEL_URL."
            )
        return success_url, cancel_url

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
        if self.settings.stripe_checkout == "checkout_session":
            return await self._start_checkout_session(request)
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

    async def fetch_payment(
        self,
        payment_id: uuid.UUID,
        provider_payment_id: str | None,
        provider_checkout_id: str | None,
    ) -> RemotePayment:
        if provider_payment_id is None and provider_checkout_id is not None:
            return await self._fetch_checkout_session(provider_checkout_id)
        if provider_payment_id is None:
            # The PaymentIntent was never created (or not recorded): nothing to ask about yet.
            return RemotePayment(status="pending")
        try:
            intent = await self._client().v1.payment_intents.retrieve_async(provider_payment_id)
        except stripe.StripeError as exc:
            raise ProviderUnavailable(f"Stripe refused or failed: {exc.user_message}") from exc
        error = intent.last_payment_error
        return RemotePayment(
            status=_intent_status(intent.status, error),
            failure_code=None if error is None else error.code,
            failure_message=None if error is None else error.message,
            **_paid(intent.to_dict(), "amount_received"),
        )

    async def cancel_payment(
        self, payment_id: uuid.UUID, provider_payment_id: str
    ) -> RemotePayment:
        """Cancel an unpaid PaymentIntent (what it paid for is gone). Stripe refuses to cancel
        one that already succeeded (or is already canceled): its current state is returned then,
        so the caller settles what really happened."""
        try:
            intent = await self._client().v1.payment_intents.cancel_async(
                provider_payment_id,
                {"cancellation_reason": "abandoned"},
                {"idempotency_key": f"cancel-payment-{payment_id}"},
            )
        except stripe.InvalidRequestError:
            return await self.fetch_payment(payment_id, provider_payment_id, None)
        except stripe.StripeError as exc:
            raise ProviderUnavailable(f"Stripe refused or failed: {exc.user_message}") from exc
        return RemotePayment(
            status=_intent_status(intent.status, intent.last_payment_error),
            **_paid(intent.to_dict(), "amount_received"),
        )

    async def _start_checkout_session(self, request: PaymentRequest) -> Checkout:
        """A hosted Checkout Session (mode ``payment``). Our payment id travels as
        ``client_reference_id`` and in the metadata of the session and of its PaymentIntent, so
        session events and PaymentIntent/charge events both find the payment."""
        success_url, cancel_url = self._return_urls()
        metadata = {PAYMENT_METADATA_KEY: str(request.payment_id)}
        params: dict[str, Any] = {
            "mode": "payment",
            "line_items": [
                {
                    "quantity": 1,
                    "price_data": {
                        "currency": request.currency.lower(),
                        "unit_amount": request.amount_cents,
                        "product_data": {"name": request.description[:250] or "Payment"},
                    },
                }
            ],
            "client_reference_id": str(request.payment_id),
            "metadata": metadata,
            "payment_intent_data": {"metadata": metadata},
            "success_url": success_url,
            "cancel_url": cancel_url,
        }
        if request.customer_id:
            params["customer"] = request.customer_id
        try:
            session = await self._client().v1.checkout.sessions.create_async(
                params,  # type: ignore[arg-type]
                {"idempotency_key": f"checkout-{request.payment_id}"},
            )
        except stripe.StripeError as exc:
            raise ProviderUnavailable(f"Stripe refused or failed: {exc.user_message}") from exc
        return Checkout(status="pending", provider_checkout_id=session.id, checkout_url=session.url)

    async def _fetch_checkout_session(self, session_id: str) -> RemotePayment:
        try:
            session = await self._client().v1.checkout.sessions.retrieve_async(session_id)
        except stripe.StripeError as exc:
            raise ProviderUnavailable(f"Stripe refused or failed: {exc.user_message}") from exc
        if session.status == "expired":
            return RemotePayment(status="failed", failure_code="checkout_expired")
        if session.status == "complete" and session.payment_status in PAID_SESSION:
            intent = session.payment_intent
            intent_id = intent if isinstance(intent, str) or intent is None else intent.id
            return RemotePayment(
                status="succeeded",
                provider_payment_id=intent_id,
                **_paid(session.to_dict(), "amount_total"),
            )
        return RemotePayment(status="pending")

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
        except stripe.InvalidRequestError:
            # Stripe will never accept this refund (already refunded, disputed, unknown intent):
            # record it as failed so its amount is refundable again, instead of retrying forever.
            return RemoteRefund(provider_refund_id=None, status="failed")
        except stripe.StripeError as exc:
            raise ProviderUnavailable(f"Stripe refused or failed: {exc.user_message}") from exc
        status: RemoteStatus = {"succeeded": "succeeded", "failed": "failed"}.get(  # type: ignore[assignment]
            str(refund.status), "pending"
        )
        return RemoteRefund(provider_refund_id=refund.id, status=status)

    async def start_subscription(
        self, subscription_id: uuid.UUID, customer_id: str, price_id: str
    ) -> RemoteSubscription:
        """An incomplete subscription whose first invoice the client pays with the secret."""
        try:
            created = await self._client().v1.subscriptions.create_async(
                {
                    "customer": customer_id,
                    "items": [{"price": price_id}],
                    "payment_behavior": "default_incomplete",
                    "payment_settings": {"save_default_payment_method": "on_subscription"},
                    "expand": ["latest_invoice.confirmation_secret"],
                    "metadata": {SUBSCRIPTION_METADATA_KEY: str(subscription_id)},
                },
                {"idempotency_key": f"subscription-{subscription_id}"},
            )
        except stripe.StripeError as exc:
            raise ProviderUnavailable(f"Stripe refused or failed: {exc.user_message}") from exc
        return _subscription_state(created.to_dict())

    async def fetch_subscription(self, provider_subscription_id: str) -> RemoteSubscription:
        try:
            found = await self._client().v1.subscriptions.retrieve_async(provider_subscription_id)
        except stripe.StripeError as exc:
            raise ProviderUnavailable(f"Stripe refused or failed: {exc.user_message}") from exc
        return _subscription_state(found.to_dict())

    async def cancel_subscription(
        self, provider_subscription_id: str, *, at_period_end: bool
    ) -> RemoteSubscription:
        client = self._client()
        options: Any = {"idempotency_key": f"cancel-{provider_subscription_id}-{at_period_end}"}
        try:
            if at_period_end:
                changed = await client.v1.subscriptions.update_async(
                    provider_subscription_id, {"cancel_at_period_end": True}, options
                )
            else:
                changed = await client.v1.subscriptions.cancel_async(
                    provider_subscription_id, None, options
                )
        except stripe.StripeError as exc:
            raise ProviderUnavailable(f"Stripe refused or failed: {exc.user_message}") from exc
        return _subscription_state(changed.to_dict())

    # --- Connect: tutors' Express accounts and transfers to them -----------------------------

    async def create_connect_account(self, user_id: uuid.UUID, email: str) -> str:
        try:
            account = await self._client().v1.accounts.create_async(
                {
                    "type": "express",
                    "email": email,
                    "capabilities": {"transfers": {"requested": True}},
                    "metadata": {"studyhall_user_id": str(user_id)},
                },
                {"idempotency_key": f"connect-account-{user_id}"},
            )
        except stripe.StripeError as exc:
            raise ProviderUnavailable(f"Stripe refused or failed: {exc.user_message}") from exc
        return str(account.id)

    async def create_account_link(
        self, account_id: str, refresh_url: str, return_url: str
    ) -> tuple[str, datetime | None]:
        """A single-use onboarding URL (Stripe makes a new one each time; nothing to repeat)."""
        try:
            link = await self._client().v1.account_links.create_async(
                {
                    "account": account_id,
                    "refresh_url": refresh_url,
                    "return_url": return_url,
                    "type": "account_onboarding",
                }
            )
        except stripe.StripeError as exc:
            raise ProviderUnavailable(f"Stripe refused or failed: {exc.user_message}") from exc
        return str(link.url), _timestamp(link.to_dict().get("expires_at"))

    async def create_transfer(
        self, statement_id: uuid.UUID, account_id: str, amount_cents: int, currency: str
    ) -> str:
        try:
            transfer = await self._client().v1.transfers.create_async(
                {
                    "amount": amount_cents,
                    "currency": currency.lower(),
                    "destination": account_id,
                    "transfer_group": f"statement-{statement_id}",
                    "metadata": {STATEMENT_METADATA_KEY: str(statement_id)},
                },
                {"idempotency_key": f"payout-{statement_id}"},
            )
        except stripe.StripeError as exc:
            raise ProviderUnavailable(f"Stripe refused or failed: {exc.user_message}") from exc
        return str(transfer.id)

    def verify_webhook(
        self, body: bytes, headers: Mapping[str, str], query: Mapping[str, str]
    ) -> VerifiedEvent:
        signature = headers.get("stripe-signature")
        if not signature:
            raise InvalidSignature("The Stripe-Signature header is missing.")
        tolerance = self.settings.stripe_webhook_tolerance_s
        for secret in self.settings.stripe_webhook_secrets:
            try:
                stripe.WebhookSignature.verify_header(
                    body, signature, secret.get_secret_value(), tolerance
                )
            except stripe.SignatureVerificationError:
                continue
            _refuse_future_timestamp(signature, tolerance)
            return _event(body)
        raise InvalidSignature("The Stripe signature does not match, or it is too old.")

    def interpret(self, event_type: str, payload: dict[str, Any]) -> PaymentEvent:
        obj = payload.get("data", {}).get("object", {})
        metadata = obj.get("metadata") or {}
        payment_id = parse_uuid(metadata.get(PAYMENT_METADATA_KEY))
        if event_type == "payment_intent.succeeded":
            return PaymentEvent(
                "payment_succeeded",
                payment_id,
                obj.get("id"),
                **_paid(obj, "amount_received"),
            )
        if event_type in ("payment_intent.payment_failed", "payment_intent.canceled"):
            error = obj.get("last_payment_error") or {}
            return PaymentEvent(
                "payment_failed",
                payment_id,
                obj.get("id"),
                failure_code=error.get("code") or obj.get("cancellation_reason") or "failed",
                failure_message=error.get("message"),
            )
        if event_type.startswith("checkout.session."):
            return _checkout_session_event(event_type, obj, payment_id)
        if event_type == "charge.refunded":
            return PaymentEvent(
                "payment_refunded",
                payment_id,
                obj.get("payment_intent"),
                refunded_total_cents=int(obj.get("amount_refunded") or 0),
            )
        if (
            event_type.startswith("customer.subscription.")
            or event_type == "invoice.payment_failed"
        ):
            # Re-fetched when applied: the current state, not this event's snapshot, is applied,
            # so an "updated" that overtakes "created" (or a newer update) cannot regress it.
            reference = obj.get("id") if obj.get("object") == "subscription" else _invoice_sub(obj)
            if reference:
                return PaymentEvent("subscription_changed", provider_subscription_id=reference)
        if event_type == "account.updated" and obj.get("id"):
            return PaymentEvent(
                "payout_account_updated",
                account=ConnectedAccount(
                    account_id=str(obj["id"]),
                    details_submitted=bool(obj.get("details_submitted")),
                    payouts_enabled=bool(obj.get("payouts_enabled")),
                    event_created=int(payload.get("created") or 0),
                ),
            )
        if event_type.startswith("transfer.") and obj.get("id"):
            return PaymentEvent(
                "transfer_changed",
                transfer=TransferState(
                    transfer_id=str(obj["id"]),
                    statement_id=parse_uuid(metadata.get(STATEMENT_METADATA_KEY)),
                    reversed=event_type == "transfer.reversed" or bool(obj.get("reversed")),
                ),
            )
        if event_type == "invoice.paid":
            invoice = _paid_invoice(obj)
            if invoice is not None:
                return PaymentEvent(
                    "invoice_paid",
                    provider_subscription_id=invoice.provider_subscription_id,
                    invoice=invoice,
                )
        return PaymentEvent("ignored")


def _refuse_future_timestamp(signature: str, tolerance_s: int) -> None:
    """The SDK refuses a signature older than the tolerance; one dated further ahead is refused
    alike (a signed request prepared for later replay, or a skewed clock)."""
    stamps = [
        part.partition("=")[2] for part in signature.split(",") if part.strip().startswith("t=")
    ]
    if not stamps or not stamps[0].strip().isdigit():
        raise InvalidSignature("The Stripe-Signature header has no timestamp.")
    if int(stamps[0]) > time.time() + tolerance_s:
        raise InvalidSignature("The Stripe signature is dated in the future.")


def _event(body: bytes) -> VerifiedEvent:
    """A signed body is still only accepted as an event object: an id, a type and a data
    object (anything else is 400 ``invalid_payload``, never applied)."""
    try:
        payload = json.loads(body)
    except ValueError as exc:
        raise BadRequest("The body is not JSON.", code="invalid_payload") from exc
    if not isinstance(payload, dict):
        raise BadRequest("The body is not a Stripe event object.", code="invalid_payload")
    event_id, event_type, data = payload.get("id"), payload.get("type"), payload.get("data")
    if (
        not isinstance(event_id, str)
        or not event_id
        or not isinstance(event_type, str)
        or not event_type
        or not isinstance(data, dict)
        or not isinstance(data.get("object"), dict)
    ):
        raise BadRequest(
            "The body is not a Stripe event object (id, type, data.object).",
            code="invalid_payload",
        )
    return VerifiedEvent(event_id[:255], event_type[:100], payload)


def _paid(obj: Mapping[str, Any], amount_key: str) -> dict[str, Any]:
    """What a success says was paid, in our units (minor units, upper-case ISO code)."""
    amount = obj.get(amount_key)
    if amount_key == "amount_received" and amount is None:
        amount = obj.get("amount")
    currency = obj.get("currency")
    whole = isinstance(amount, int) and not isinstance(amount, bool)
    return {
        "amount_cents": amount if whole else None,
        "currency": currency.upper() if isinstance(currency, str) else None,
    }


STATUS_FROM_STRIPE = {
    "trialing": "trial",
    "active": "active",
    "past_due": "past_due",
    "unpaid": "unpaid",
    "incomplete": "unpaid",
    "paused": "unpaid",
    "canceled": "canceled",
    "incomplete_expired": "canceled",
}


def _timestamp(value: object) -> datetime | None:
    return datetime.fromtimestamp(int(value), UTC) if isinstance(value, int | float) else None


def _subscription_state(obj: dict[str, Any]) -> RemoteSubscription:
    # Since API version 2025-03-31 the billing period lives on the subscription's items.
    items = (obj.get("items") or {}).get("data") or [{}]
    invoice = obj.get("latest_invoice")
    secret = None
    if isinstance(invoice, dict):
        secret = (invoice.get("confirmation_secret") or {}).get("client_secret")
    return RemoteSubscription(
        provider_subscription_id=str(obj["id"]),
        status=STATUS_FROM_STRIPE.get(str(obj.get("status")), "unpaid"),
        current_period_start=_timestamp(items[0].get("current_period_start")),
        current_period_end=_timestamp(items[0].get("current_period_end")),
        cancel_at_period_end=bool(obj.get("cancel_at_period_end")),
        client_secret=secret,
    )


def _invoice_sub(invoice: dict[str, Any]) -> str | None:
    details = (invoice.get("parent") or {}).get("subscription_details") or {}
    reference = details.get("subscription") or invoice.get("subscription")
    return str(reference) if reference else None


def _paid_invoice(invoice: dict[str, Any]) -> PaidInvoice | None:
    reference = _invoice_sub(invoice)
    lines = (invoice.get("lines") or {}).get("data") or []
    period = lines[0].get("period") if lines else None
    start = _timestamp((period or {}).get("start"))
    end = _timestamp((period or {}).get("end"))
    if reference is None or start is None or end is None or not invoice.get("amount_paid"):
        return None
    return PaidInvoice(
        invoice_id=str(invoice["id"]),
        provider_subscription_id=reference,
        amount_cents=int(invoice["amount_paid"]),
        currency=str(invoice.get("currency", "")).upper(),
        period_start=start,
        period_end=end,
    )


def _checkout_session_event(
    event_type: str, session: dict[str, Any], payment_id: uuid.UUID | None
) -> PaymentEvent:
    """Each outcome is monotonic (success wins, a failure only fails a pending payment), so the
    events apply in any order: an async success that overtakes ``completed`` settles it, and the
    ``completed`` that follows changes nothing."""
    payment_id = payment_id or parse_uuid(session.get("client_reference_id"))
    intent = session.get("payment_intent")
    intent_id = intent.get("id") if isinstance(intent, dict) else intent
    paid = event_type == "checkout.session.async_payment_succeeded" or (
        event_type == "checkout.session.completed" and session.get("payment_status") in PAID_SESSION
    )
    if paid:
        paid_amount = _paid(session, "amount_total")
        return PaymentEvent("payment_succeeded", payment_id, intent_id, **paid_amount)
    if event_type in ("checkout.session.async_payment_failed", "checkout.session.expired"):
        code = "checkout_expired" if event_type.endswith("expired") else "async_payment_failed"
        return PaymentEvent("payment_failed", payment_id, intent_id, failure_code=code)
    return PaymentEvent("ignored")


def _intent_status(status: str, error: object | None) -> RemoteStatus:
    if status == "succeeded":
        return "succeeded"
    if status == "canceled" or (status == "requires_payment_method" and error is not None):
        return "failed"
    return "pending"
