"""Paymob (Egypt, EGP): Intention API for checkout, HMAC-SHA512 verified transaction callbacks,
transaction inquiry for reconciliation.

Paymob does not sign the raw body. It sends ``?hmac=<hex>`` computed with HMAC-SHA512 (the
dashboard's HMAC secret) over the values of these 20 fields of the transaction, concatenated with
no separator, in exactly this order, booleans written ``true``/``false``. Source: Paymob developer
docs, "HMAC Transaction Callback"
(https://developers.paymob.com/paymob-docs/developers/webhook-callbacks-and-hmac/hmac/hmac-transaction-callback).
A card token callback (``type: TOKEN``) is signed the same way over its own eight fields, sorted
by name ("HMAC for Card Tokens").

The inquiry ("Retrieve A Transaction", https://docs.paymob.com/docs/retrieve-a-transaction) uses
the legacy auth: the API key is exchanged at ``/api/auth/tokens`` for a bearer token, then
``POST /api/ecommerce/orders/transaction_inquiry {"merchant_order_id": <our payment id>}``
answers the same transaction object a callback carries.

A saved card pays a renewal as a merchant-initiated (MOTO) payment ("Pay With Saved Token",
https://docs.paymob.com/docs/pay-with-saved-token): an order under our payment id, a payment key
for the recurring integration, then ``/api/acceptance/payments/pay`` with the card token.
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
    SavedCard,
    VerifiedEvent,
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
TOKEN_HMAC_FIELDS = (
    "card_subtype",
    "created_at",
    "email",
    "id",
    "masked_pan",
    "merchant_id",
    "order_id",
    "token",
)


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


def hmac_message(obj: Mapping[str, Any], fields: tuple[str, ...] = HMAC_FIELDS) -> str:
    return "".join(_field(obj, name) for name in fields)


def sign(obj: Mapping[str, Any], secret: str, fields: tuple[str, ...] = HMAC_FIELDS) -> str:
    message = hmac_message(obj, fields)
    return hmac.new(secret.encode(), message.encode(), hashlib.sha512).hexdigest()


def transaction_event(transaction: dict[str, Any]) -> VerifiedEvent:
    """A transaction Paymob answered us with, as the callback that carries it is stored."""
    return VerifiedEvent(
        _event_id(transaction), "transaction", {"type": "TRANSACTION", "obj": transaction}
    )


def order_id(transaction: Mapping[str, Any]) -> str | None:
    """Paymob's order of a transaction (``order.id``, covered by the HMAC)."""
    order = transaction.get("order")
    found = order.get("id") if isinstance(order, Mapping) else order
    return None if found is None or found == "" else str(found)


def _unwrap(data: dict[str, Any]) -> dict[str, Any] | None:
    # Paymob's docs show a transaction both bare and wrapped as a callback body.
    transaction = data.get("obj", data)
    return transaction if isinstance(transaction, dict) and "id" in transaction else None


def _event_id(obj: Mapping[str, Any]) -> str:
    """The transaction id de-duplicates Paymob's retries of one callback. A later state of the
    same transaction (settled after pending, refunded, voided) is a new fact, so its state joins
    the id: a pending report must not swallow the final one."""
    event_id = str(obj["id"])
    if obj.get("pending"):
        event_id += ":pending"
    if obj.get("is_refunded"):
        event_id += f":refunded:{obj.get('refunded_amount_cents') or 0}"
    if obj.get("is_voided"):
        event_id += ":voided"
    return event_id


def _billing_data(request: PaymentRequest) -> dict[str, str]:
    first, _, last = request.name.partition(" ")
    return {
        "first_name": first or "NA",
        "last_name": last or "NA",
        "email": request.email,
        "phone_number": "NA",
    }


def _full_billing_data(request: PaymentRequest) -> dict[str, str]:
    """The payment key API requires every address field; "NA" stands for unknown."""
    unknown = ("apartment", "floor", "street", "building", "shipping_method", "postal_code")
    address = dict.fromkeys((*unknown, "city", "country", "state"), "NA")
    return {**_billing_data(request), **address}


class PaymobProvider:
    name = "paymob"

    def __init__(self, settings: BillingSettings) -> None:
        self.settings = settings

    def require_configured(self) -> None:
        self._secret()

    def _secret(self) -> str:
        if self.settings.paymob_secret_key is None or self.settings.paymob_integration_id is None:
            raise ProviderNotConfigured(
                "Paymob is not configured: set STUDYHALL_BILLING_PAYMOB_SECRET_KEY and "
                "STUDYHALL_BILLING_PAYMOB_INTEGRATION_ID."
            )
        return self.settings.paymob_secret_key.get_secret_value()

    async def _send(
        self, path: str, body: dict[str, Any], authorization: str | None
    ) -> httpx.Response:
        """Transport failures and 5xx are outages (retry later); the caller reads anything else."""
        headers = {} if authorization is None else {"Authorization": authorization}
        url = self.settings.paymob_api_base.rstrip("/") + path
        timeout = httpx.Timeout(self.settings.paymob_timeout_s, connect=5.0)
        try:
            async with httpx.AsyncClient(timeout=timeout) as http:
                response = await http.post(url, json=body, headers=headers)
        except httpx.HTTPError as exc:
            raise ProviderUnavailable(f"Paymob could not be reached: {exc!r}") from exc
        if response.status_code >= 500:
            raise ProviderUnavailable(f"Paymob answered {response.status_code}.")
        return response

    @staticmethod
    def _json(response: httpx.Response) -> dict[str, Any]:
        if response.status_code >= 400:
            raise PaymobRejected(f"Paymob refused: {response.status_code} {response.text[:300]}")
        data: dict[str, Any] = response.json()
        return data

    async def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        return self._json(await self._send(path, body, f"Token {self._secret()}"))

    async def _auth_token(self) -> str:
        if self.settings.paymob_api_key is None:
            raise ProviderNotConfigured(
                "Paymob's API key is not configured: set STUDYHALL_BILLING_PAYMOB_API_KEY."
            )
        answer = self._json(
            await self._send(
                "/api/auth/tokens",
                {"api_key": self.settings.paymob_api_key.get_secret_value()},
                None,
            )
        )
        return str(answer["token"])

    async def inquire(self, merchant_order_id: str) -> dict[str, Any] | None:
        """The latest transaction of the order we created under ``merchant_order_id``; None
        while there is none (the buyer has not paid yet)."""
        return await self._inquire(await self._auth_token(), merchant_order_id)

    async def _inquire(self, auth_token: str, merchant_order_id: str) -> dict[str, Any] | None:
        response = await self._send(
            "/api/ecommerce/orders/transaction_inquiry",
            {"merchant_order_id": merchant_order_id},
            f"Bearer {auth_token}",
        )
        if response.status_code == 404:
            return None
        return _unwrap(self._json(response))

    async def charge_saved_card(self, request: PaymentRequest, card_token: str) -> dict[str, Any]:
        """Charge a saved card for our payment ``request.payment_id``; returns the transaction.

        Asks first: a retry of a charge whose answer was lost (timeout, crash) gets the earlier
        transaction back instead of paying again, and the payment key locks the order once paid.
        """
        integration_id = self.settings.paymob_moto_integration_id
        if integration_id is None:
            raise ProviderNotConfigured(
                "Saved-card payments need STUDYHALL_BILLING_PAYMOB_MOTO_INTEGRATION_ID."
            )
        auth_token = await self._auth_token()
        earlier = await self._inquire(auth_token, str(request.payment_id))
        if earlier is not None:
            return earlier
        order = self._json(
            await self._send(
                "/api/ecommerce/orders",
                {
                    "auth_token": auth_token,
                    "delivery_needed": False,
                    "amount_cents": request.amount_cents,
                    "currency": request.currency,
                    "merchant_order_id": str(request.payment_id),
                    "items": [],
                },
                None,
            )
        )
        key = self._json(
            await self._send(
                "/api/acceptance/payment_keys",
                {
                    "auth_token": auth_token,
                    "amount_cents": request.amount_cents,
                    "expiration": 3600,
                    "order_id": order["id"],
                    "billing_data": _full_billing_data(request),
                    "currency": request.currency,
                    "integration_id": integration_id,
                    "lock_order_when_paid": True,
                },
                None,
            )
        )
        paid = _unwrap(
            self._json(
                await self._send(
                    "/api/acceptance/payments/pay",
                    {
                        "source": {"identifier": card_token, "subtype": "TOKEN"},
                        "payment_token": key["token"],
                    },
                    None,
                )
            )
        )
        if paid is None:
            raise ProviderUnavailable("Paymob answered the payment without a transaction.")
        return paid

    async def start_payment(self, request: PaymentRequest) -> Checkout:
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
                "billing_data": _billing_data(request),
                # Paymob copies this into order.merchant_order_id: our id comes back on callbacks.
                "special_reference": str(request.payment_id),
            },
        )
        client_secret = str(intention["client_secret"])
        public_key = self.settings.paymob_public_key or ""
        base = self.settings.paymob_api_base.rstrip("/")
        return Checkout(
            status="pending",
            # Paymob's order id: transaction callbacks (order.id) and saved-card callbacks
            # (order_id) name the order, not the intention.
            provider_checkout_id=str(intention["intention_order_id"]),
            client_secret=client_secret,
            payment_key=client_secret,
            checkout_url=f"{base}/unifiedcheckout/?publicKey={public_key}&clientSecret={client_secret}",
        )

    async def fetch_payment(
        self,
        payment_id: uuid.UUID,
        provider_payment_id: str | None,
        provider_checkout_id: str | None,
    ) -> RemotePayment:
        transaction = await self.inquire(str(payment_id))
        if transaction is None or transaction.get("pending"):
            return RemotePayment(status="pending")
        succeeded = bool(transaction.get("success")) and not transaction.get("is_voided")
        return RemotePayment(
            status="succeeded" if succeeded else "failed",
            event=transaction_event(transaction),
            provider_checkout_id=order_id(transaction),
        )

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
        event_type = str(payload.get("type") or "").lower()
        fields = TOKEN_HMAC_FIELDS if event_type == "token" else HMAC_FIELDS
        if not any(
            hmac.compare_digest(sign(obj, secret.get_secret_value(), fields), received.lower())
            for secret in self.settings.paymob_hmac_secrets
        ):
            raise InvalidSignature("The Paymob HMAC does not match.")
        if not event_type:
            raise BadRequest("The callback has no type.", code="invalid_payload")
        if event_type == "token":
            if not obj.get("token") or not obj.get("order_id"):
                raise BadRequest("The card token callback has no token.", code="invalid_payload")
            return VerifiedEvent(f"token:{obj['id']}", event_type, payload)
        return VerifiedEvent(_event_id(obj), event_type, payload)

    def interpret(self, event_type: str, payload: dict[str, Any]) -> PaymentEvent:
        obj = payload["obj"]
        if event_type == "token":
            card = SavedCard(
                token=str(obj["token"]),
                masked_pan=str(obj.get("masked_pan") or ""),
                brand=obj.get("card_subtype"),
                provider_order_id=str(obj["order_id"]),
            )
            return PaymentEvent("card_saved", card=card)
        if event_type != "transaction":
            return PaymentEvent("ignored")
        # The payment is the one whose stored order is the signed ``order.id``. The merchant
        # reference is not signed: it is only compared with the payment found.
        order = obj.get("order")
        stated = order.get("merchant_order_id") if isinstance(order, dict) else None
        order_ref, stated_ref = order_id(obj), None if stated is None else str(stated)
        transaction_id = str(obj["id"])
        if obj.get("is_refunded") or obj.get("is_refund"):
            # ``is_refunded`` marks the original transaction; ``is_refund`` a refund transaction.
            return PaymentEvent(
                "payment_refunded",
                provider_payment_id=None if obj.get("is_refund") else transaction_id,
                refunded_total_cents=int(obj.get("refunded_amount_cents") or 0),
                provider_refund_id=transaction_id,
                provider_order_id=order_ref,
                stated_reference=stated_ref,
            )
        if obj.get("pending"):
            return PaymentEvent("ignored")
        if obj.get("success") and not obj.get("is_voided"):
            return PaymentEvent(
                "payment_succeeded",
                provider_payment_id=transaction_id,
                amount_cents=_cents(obj.get("amount_cents")),
                currency=None if obj.get("currency") is None else str(obj["currency"]),
                provider_order_id=order_ref,
                stated_reference=stated_ref,
            )
        data = obj.get("data") or {}
        return PaymentEvent(
            "payment_failed",
            provider_payment_id=transaction_id,
            failure_code=str(data.get("txn_response_code") or "declined"),
            failure_message=data.get("message"),
            provider_order_id=order_ref,
            stated_reference=stated_ref,
        )


def _cents(value: object) -> int | None:
    """A signed amount as Paymob writes it (an integer, sometimes as a string)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None
