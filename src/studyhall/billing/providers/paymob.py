"""Paymob (seed 003, EGP): Intention API for checkout, HMAC-SHA512 verified transaction callbacks.

Paymob does not sign the raw body. It sends ``?hmac=<hex>`` computed with HMAC-SHA512 (the
dashboard's HMAC secret) over the values of these 20 fields of the transaction, concatenated with
no separator, in exactly this order, booleans written ``true``/``false``. Source: Paymob developer
docs, "HMAC Transaction Callback"
(https://developers.paymob.com/paymob-docs/developers/webhook-callbacks-and-hmac/hmac/hmac-transaction-callback).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from collections.abc import Mapping
from typing import Any

import httpx

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
    VerifiedEvent,
    parse_uuid,
)
from studyhall.kit.errors import BadRequest

HMAC_FIELDS = (
    "amount_cents",
    "created_at",
    "currency",
    "error_occured",  # sic: Paymob's spelling
    "has_parent_transaction",
    "id",
    "integration_id",
    "is_3d_secure",
    "is_auth",
    "is_capture",
    "is_refunded",
    "is_standalone_payment",
    "is_voided",
    "order.id",
    "owner",
    "pending",
    "source_data.pan",
    "source_data.sub_type",
    "source_data.type",
    "success",
)
TIMEOUT = httpx.Timeout(20.0, connect=5.0)


class PaymobRejected(ProviderUnavailable):
    """Paymob answered 4xx: retrying the same request cannot succeed."""

    status = 422
    default_code = "provider_rejected"


def _field(obj: Mapping[str, Any], dotted: str) -> str:
    value: Any = obj
    for part in dotted.split("."):
        value = value.get(part) if isinstance(value, Mapping) else None
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def hmac_message(transaction: Mapping[str, Any]) -> str:
    return "".join(_field(transaction, name) for name in HMAC_FIELDS)


def sign(transaction: Mapping[str, Any], secret: str) -> str:
    return hmac.new(secret.encode(), hmac_message(transaction).encode(), hashlib.sha512).hexdigest()


def _event_id(obj: Mapping[str, Any]) -> str:
    """The transaction id de-duplicates Paymob's retries of one callback. A later state of the
    same transaction (refunded, voided) is a new fact, so its state joins the id."""
    event_id = str(obj["id"])
    if obj.get("is_refunded"):
        event_id += f":refunded:{obj.get('refunded_amount_cents') or 0}"
    if obj.get("is_voided"):
        event_id += ":voided"
    return event_id


class PaymobProvider:
    name = "paymob"

    def __init__(self, settings: BillingSettings) -> None:
        self.settings = settings

    def _secret(self) -> str:
        if self.settings.paymob_secret_key is None or self.settings.paymob_integration_id is None:
            raise ProviderNotConfigured(
                "Paymob is not configured: set STUDYHALL_BILLING_PAYMOB_SECRET_KEY and "
                "STUDYHALL_BILLING_PAYMOB_INTEGRATION_ID."
            )
        return self.settings.paymob_secret_key.get_secret_value()

    async def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        headers = {"Authorization": f"Token {self._secret()}"}
        url = self.settings.paymob_api_base.rstrip("/") + path
        try:
            async with httpx.AsyncClient(timeout=TIMEOUT) as http:
                response = await http.post(url, json=body, headers=headers)
        except httpx.HTTPError as exc:
            raise ProviderUnavailable(f"Paymob could not be reached: {exc}") from exc
        if 400 <= response.status_code < 500:
            raise PaymobRejected(f"Paymob refused: {response.status_code} {response.text[:300]}")
        if response.status_code >= 500:
            raise ProviderUnavailable(f"Paymob answered {response.status_code}.")
        data: dict[str, Any] = response.json()
        return data

    async def start_payment(self, request: PaymentRequest) -> Checkout:
        first, _, last = request.name.partition(" ")
        intention = await self._post(
            "/v1/intention/",
            {
                "amount": request.amount_cents,
                "currency": request.currency,
                "payment_methods": [self.settings.paymob_integration_id],
                "items": [
                    {
                        "name": request.description[:50],
                        "amount": request.amount_cents,
                        "description": request.description,
                        "quantity": 1,
                    }
                ],
                "billing_data": {
                    "first_name": first or "NA",
                    "last_name": last or "NA",
                    "email": request.email,
                    "phone_number": "NA",
                },
                # Paymob copies this into order.merchant_order_id: our id comes back on callbacks.
                "special_reference": str(request.payment_id),
            },
        )
        client_secret = str(intention["client_secret"])
        public_key = self.settings.paymob_public_key or ""
        base = self.settings.paymob_api_base.rstrip("/")
        return Checkout(
            status="pending",
            provider_checkout_id=str(intention.get("id")),
            client_secret=client_secret,
            payment_key=client_secret,
            checkout_url=f"{base}/unifiedcheckout/?publicKey={public_key}&clientSecret={client_secret}",
        )

    async def fetch_payment(self, provider_payment_id: str) -> RemotePayment:
        # Until a transaction callback names the transaction there is nothing to look up, and the
        # pending payment keeps waiting for its callback.
        return RemotePayment(status="pending")

    async def refund(
        self, refund_id: uuid.UUID, provider_payment_id: str, amount_cents: int
    ) -> RemoteRefund:
        try:
            result = await self._post(
                "/api/acceptance/void_refund/refund",
                {"transaction_id": provider_payment_id, "amount_cents": amount_cents},
            )
        except PaymobRejected:
            # A refusal is final (unlike an outage): fail the refund and free its amount.
            return RemoteRefund(provider_refund_id=None, status="failed")
        succeeded = bool(result.get("success")) and not bool(result.get("pending"))
        return RemoteRefund(
            provider_refund_id=str(result.get("id")),
            status="succeeded" if succeeded else ("pending" if result.get("pending") else "failed"),
        )

    def verify_webhook(
        self, body: bytes, headers: Mapping[str, str], query: Mapping[str, str]
    ) -> VerifiedEvent:
        received = query.get("hmac", "")
        try:
            payload = json.loads(body)
        except ValueError as exc:
            raise InvalidSignature("The callback body is not JSON.") from exc
        obj = payload.get("obj") if isinstance(payload, dict) else None
        if not received or not isinstance(obj, dict) or obj.get("id") is None:
            raise InvalidSignature("The callback has no hmac or no transaction.")
        if not any(
            hmac.compare_digest(sign(obj, secret.get_secret_value()), received.lower())
            for secret in self.settings.paymob_hmac_secrets
        ):
            raise InvalidSignature("The Paymob HMAC does not match.")
        event_type = str(payload.get("type") or "").lower()
        if not event_type:
            raise BadRequest("The callback has no type.", code="invalid_payload")
        return VerifiedEvent(_event_id(obj), event_type, payload)

    def interpret(self, event_type: str, payload: dict[str, Any]) -> PaymentEvent:
        if event_type != "transaction":
            return PaymentEvent("ignored")
        obj = payload["obj"]
        order = obj.get("order") or {}
        payment_id = parse_uuid(order.get("merchant_order_id"))
        transaction_id = str(obj["id"])
        if obj.get("is_refunded") or obj.get("is_refund"):
            # ``is_refunded`` marks the original transaction; ``is_refund`` a refund transaction.
            return PaymentEvent(
                "payment_refunded",
                payment_id,
                None if obj.get("is_refund") else transaction_id,
                refunded_total_cents=int(obj.get("refunded_amount_cents") or 0),
                provider_refund_id=transaction_id,
            )
        if obj.get("pending"):
            return PaymentEvent("ignored")
        if obj.get("success") and not obj.get("is_voided"):
            return PaymentEvent("payment_succeeded", payment_id, transaction_id)
        data = obj.get("data") or {}
        return PaymentEvent(
            "payment_failed",
            payment_id,
            transaction_id,
            failure_code=str(data.get("txn_response_code") or "declined"),
            failure_message=data.get("message"),
        )
