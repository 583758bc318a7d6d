"""Local HTTP servers standing in for api.stripe.com and accept.paymob.com.

They answer like the real APIs for the calls billing makes (and, like Stripe, return the first
object again for a repeated Idempotency-Key), and record every request so tests can assert on the
exact calls.
"""

from __future__ import annotations

import json
import threading
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


def _paymob_object(api: FakeApi, path: str, params: dict[str, Any]) -> dict[str, Any] | None:
    if path == "/v1/intention/":
        intention_id = api.next_id("pi_paymob")
        return {"id": intention_id, "client_secret": f"egy_csk_{intention_id}"}
    if path == "/api/acceptance/void_refund/refund":
        return {"id": int(api.counter) + 900000, "success": True, "pending": False}
    return None


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
            if call.idempotency_key and call.idempotency_key in api.by_key:
                self._answer(200, api.by_key[call.idempotency_key])
                return
            build = _paymob_object if kind == "paymob" else _stripe_object
            obj = build(api, call.path, params)
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
