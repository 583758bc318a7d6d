"""Local HTTP servers standing in for api.stripe.com and accept.paymob.com.

They answer like the real APIs for the calls billing makes (and, like Stripe, return the first
object again for a repeated Idempotency-Key), and record every request so tests can assert on the
exact calls.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

PERIOD_START = 1_798_761_600  # 2027-01-01T00:00:00Z
PERIOD_END = 1_801_440_000  # 2027-02-01T00:00:00Z


@dataclass
class Call:
    method: str
    path: str
    idempotency_key: str | None
    authorization: str | None
    params: dict[str, Any]


@dataclass
class FakeApi:
    url: str = ""
    calls: list[Call] = field(default_factory=list)
    objects: dict[str, dict[str, Any]] = field(default_factory=dict)
    by_key: dict[str, dict[str, Any]] = field(default_factory=dict)
    counter: int = 0
    # Called with each POST before it is answered (a test looks at the database meanwhile).
    on_post: Callable[[Call], None] | None = None
    # Paymob's side: the API key it accepts, bearer tokens it issued, orders and their latest
    # transaction by merchant_order_id, card tokens it declines, and an outage to simulate
    # ("error": 500 on every call, "hang": answer only after ``hang_s``).
    paymob_api_key: str = "paymob_api_key_test"
    paymob_secret_key: str = "egy_sk_test"
    auth_tokens: set[str] = field(default_factory=set)
    orders: dict[str, dict[str, Any]] = field(default_factory=dict)
    transactions: dict[str, dict[str, Any]] = field(default_factory=dict)
    payment_keys: dict[str, dict[str, Any]] = field(default_factory=dict)
    declined_tokens: set[str] = field(default_factory=set)
    outage: str | None = None
    hang_s: float = 2.0
    # Paymob answers one request at a time per order, as its database would.
    lock: threading.Lock = field(default_factory=threading.Lock)

    def next_id(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}_{self.counter:04d}"

    def posts(self, path: str) -> list[Call]:
        return [c for c in self.calls if c.method == "POST" and c.path == path]


def _stripe_object(api: FakeApi, path: str, params: dict[str, Any]) -> dict[str, Any] | None:
    if path == "/v1/customers":
        return {"id": api.next_id("cus"), "object": "customer", "email": params.get("email")}
    if path == "/v1/payment_intents":
        intent_id = api.next_id("pi")
        return {
            "id": intent_id,
            "object": "payment_intent",
            "amount": int(params["amount"]),
            "currency": params["currency"],
            "status": "requires_payment_method",
            "client_secret": f"{intent_id}_secret_test",
            "metadata": {"studyhall_payment_id": params.get("metadata[studyhall_payment_id]")},
            "last_payment_error": None,
        }
    if path == "/v1/checkout/sessions":
        session_id = api.next_id("cs_test")
        return {
            "id": session_id,
            "object": "checkout.session",
            "mode": params["mode"],
            "status": "open",
            "payment_status": "unpaid",
            "amount_total": int(params["line_items[0][price_data][unit_amount]"]),
            "currency": params["line_items[0][price_data][currency]"],
            "client_reference_id": params.get("client_reference_id"),
            "customer": params.get("customer"),
            "payment_intent": None,
            "url": f"https://checkout.stripe.test/c/pay/{session_id}",
            "metadata": {"studyhall_payment_id": params.get("metadata[studyhall_payment_id]")},
        }
    if path == "/v1/subscriptions":
        sub_id = api.next_id("sub")
        return {
            "id": sub_id,
            "object": "subscription",
            "status": "incomplete",
            "cancel_at_period_end": False,
            "customer": params["customer"],
            "items": {
                "object": "list",
                "data": [
                    {
                        "id": api.next_id("si"),
                        "object": "subscription_item",
                        "price": {"id": params["items[0][price]"], "object": "price"},
                        "current_period_start": PERIOD_START,
                        "current_period_end": PERIOD_END,
                    }
                ],
            },
            "latest_invoice": {
                "id": api.next_id("in"),
                "object": "invoice",
                "confirmation_secret": {"client_secret": f"{sub_id}_invoice_secret"},
            },
            "metadata": {
                "studyhall_subscription_id": params.get("metadata[studyhall_subscription_id]")
            },
        }
    if path.startswith("/v1/subscriptions/") and path.split("/")[-1] in api.objects:
        existing = api.objects[path.split("/")[-1]]
        if "cancel_at_period_end" in params:
            existing["cancel_at_period_end"] = params["cancel_at_period_end"] == "true"
        return existing
    if path.startswith("/v1/payment_intents/") and path.endswith("/cancel"):
        intent = api.objects.get(path.split("/")[3])
        if intent is None or intent["status"] in ("succeeded", "canceled"):
            return {
                "error": {
                    "type": "invalid_request_error",
                    "code": "payment_intent_unexpected_state",
                    "message": "This PaymentIntent's status does not allow it to be canceled.",
                }
            }
        intent["status"] = "canceled"
        intent["cancellation_reason"] = params.get("cancellation_reason")
        return intent
    if path == "/v1/accounts":
        return {
            "id": api.next_id("acct"),
            "object": "account",
            "type": params.get("type"),
            "email": params.get("email"),
            "details_submitted": False,
            "payouts_enabled": False,
            "metadata": {"studyhall_user_id": params.get("metadata[studyhall_user_id]")},
        }
    if path == "/v1/account_links":
        if params.get("account") not in api.objects:
            return {"error": {"type": "invalid_request_error", "message": "No such account"}}
        return {
            "id": api.next_id("link"),
            "object": "account_link",
            "url": f"https://connect.stripe.test/setup/e/{params['account']}/{api.counter}",
            "expires_at": int(time.time()) + 300,
            "created": int(time.time()),
        }
    if path == "/v1/transfers":
        if params.get("destination") not in api.objects:
            return {"error": {"type": "invalid_request_error", "message": "No such destination"}}
        return {
            "id": api.next_id("tr"),
            "object": "transfer",
            "amount": int(params["amount"]),
            "currency": params["currency"],
            "destination": params["destination"],
            "transfer_group": params.get("transfer_group"),
            "reversed": False,
            "metadata": {"studyhall_statement_id": params.get("metadata[studyhall_statement_id]")},
        }
    if path == "/v1/refunds":
        if params["payment_intent"] not in api.objects:
            return {"error": {"type": "invalid_request_error", "message": "No such payment_intent"}}
        return {
            "id": api.next_id("re"),
            "object": "refund",
            "amount": int(params["amount"]),
            "payment_intent": params["payment_intent"],
            "status": "succeeded",
        }
    return None


def paymob_transaction(
    transaction_id: int, order_id: int, merchant_order_id: str, **changes: Any
) -> dict[str, Any]:
    """A transaction object as Paymob's callbacks and inquiries carry it."""
    obj: dict[str, Any] = {
        "id": transaction_id,
        "pending": False,
        "amount_cents": 100000,
        "success": True,
        "is_auth": False,
        "is_capture": False,
        "is_standalone_payment": True,
        "is_voided": False,
        "is_refunded": False,
        "is_3d_secure": False,
        "integration_id": 4097558,
        "has_parent_transaction": False,
        "order": {"id": order_id, "merchant_order_id": merchant_order_id},
        "created_at": "2026-11-22T05:00:00.000000",
        "currency": "EGP",
        "source_data": {"pan": "2346", "type": "card", "sub_type": "MasterCard"},
        "error_occured": False,
        "owner": 302852,
        "refunded_amount_cents": 0,
        "data": {},
    }
    obj.update(changes)
    return obj


def _paymob_answer(
    api: FakeApi, path: str, params: dict[str, Any], authorization: str | None
) -> tuple[int, dict[str, Any]]:
    if path == "/v1/intention/":
        if authorization != f"Token {api.paymob_secret_key}":
            return 401, {"detail": "Invalid secret key."}
        intention_id = api.next_id("pi_paymob")
        order_id = 217500000 + api.counter
        return 200, {
            "id": intention_id,
            "client_secret": f"egy_csk_{intention_id}",
            "intention_order_id": order_id,
        }
    if path == "/api/acceptance/void_refund/refund":
        return 200, {"id": int(api.counter) + 900000, "success": True, "pending": False}
    if path == "/api/auth/tokens":
        if params.get("api_key") != api.paymob_api_key:
            return 403, {"detail": "Incorrect authentication credentials."}
        token = api.next_id("auth")
        api.auth_tokens.add(token)
        return 201, {"token": token, "profile": {"id": 302852}}
    if path == "/api/acceptance/payments/pay":
        return _paymob_pay(api, params)
    # The legacy API takes its token in the body (orders, payment keys) or as a bearer header.
    supplied = params.get("auth_token") or (authorization or "").removeprefix("Bearer ")
    if supplied not in api.auth_tokens:
        return 401, {"detail": "Authentication credentials were not provided."}
    if path == "/api/ecommerce/orders/transaction_inquiry":
        found = api.transactions.get(str(params.get("merchant_order_id")))
        return (404, {"detail": "Not found."}) if found is None else (200, found)
    if path == "/api/ecommerce/orders":
        merchant_order_id = str(params["merchant_order_id"])
        if merchant_order_id in api.orders:
            return 422, {"message": "duplicate"}
        api.counter += 1
        order = {
            "id": 217600000 + api.counter,
            "merchant_order_id": merchant_order_id,
            "amount_cents": params["amount_cents"],
            "currency": params["currency"],
        }
        api.orders[merchant_order_id] = order
        return 201, order
    if path == "/api/acceptance/payment_keys":
        key = api.next_id("payment_key")
        api.payment_keys[key] = params
        return 201, {"token": key}
    return 404, {"detail": "unknown path"}


def _paymob_pay(api: FakeApi, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """A saved-card (MOTO) payment of the order the payment key was issued for."""
    key_params = api.payment_keys.get(str(params.get("payment_token")))
    if key_params is None:
        return 401, {"detail": "invalid payment token"}
    order = next(o for o in api.orders.values() if o["id"] == key_params["order_id"])
    previous = api.transactions.get(order["merchant_order_id"])
    if previous is not None and previous["success"]:
        return 400, {"detail": "This order is already paid."}
    declined = params["source"]["identifier"] in api.declined_tokens
    api.counter += 1
    transaction = paymob_transaction(
        300000000 + api.counter,
        order["id"],
        order["merchant_order_id"],
        amount_cents=order["amount_cents"],
        currency=order["currency"],
        integration_id=key_params["integration_id"],
        success=not declined,
        source_data={"pan": "2346", "type": "card", "sub_type": "TOKEN"},
        data={"txn_response_code": "DECLINED", "message": "Do not honour"} if declined else {},
    )
    api.transactions[order["merchant_order_id"]] = transaction
    return 200, {"type": "TRANSACTION", "obj": transaction}


def _handler(api: FakeApi, kind: str) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            return None

        def _answer(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _record(self, params: dict[str, Any]) -> Call:
            call = Call(
                self.command,
                self.path.split("?")[0],
                self.headers.get("Idempotency-Key"),
                self.headers.get("Authorization"),
                params,
            )
            api.calls.append(call)
            return call

        def do_GET(self) -> None:
            call = self._record({})
            obj = api.objects.get(call.path.rsplit("/", 1)[-1])
            if obj is None:
                self._answer(
                    404, {"error": {"message": "No such object", "type": "invalid_request_error"}}
                )
            else:
                self._answer(200, obj)

        def do_DELETE(self) -> None:
            call = self._record({})
            obj = api.objects.get(call.path.rsplit("/", 1)[-1])
            if obj is None:
                self._answer(404, {"error": {"message": "No such object"}})
                return
            obj["status"] = "canceled"
            self._answer(200, obj)

        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
            params = json.loads(raw) if kind == "paymob" else dict(parse_qsl(raw))
            call = self._record(params)
            if api.on_post is not None:
                api.on_post(call)
            if kind == "paymob":
                self._paymob(call)
                return
            if call.idempotency_key and call.idempotency_key in api.by_key:
                self._answer(200, api.by_key[call.idempotency_key])
                return
            obj = _stripe_object(api, call.path, params)
            if obj is None:
                self._answer(
                    404, {"error": {"message": "unknown path", "type": "invalid_request_error"}}
                )
                return
            if "error" in obj:
                self._answer(400, obj)
                return
            api.objects[str(obj["id"])] = obj
            if call.idempotency_key:
                api.by_key[call.idempotency_key] = obj
            self._answer(200, obj)

        def _paymob(self, call: Call) -> None:
            if api.outage == "hang":
                time.sleep(api.hang_s)  # the client has given up by now
                return
            if api.outage is not None:
                self._answer(500, {"detail": "Internal Server Error"})
                return
            with api.lock:
                status, body = _paymob_answer(api, call.path, call.params, call.authorization)
            self._answer(status, body)

    return Handler


@contextmanager
def serve(kind: str) -> Iterator[FakeApi]:
    api = FakeApi()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(api, kind))
    api.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield api
    finally:
        server.shutdown()
        server.server_close()
