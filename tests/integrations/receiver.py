"""A webhook receiver on a loopback port, as an integrator would run one: it verifies each
message with its own Standard Webhooks implementation (hmac and base64 from the standard
library, nothing from studyhall) and answers what the test scripted."""

from __future__ import annotations

import base64
import hashlib
import hmac
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TOLERANCE_S = 300


def verify(
    secrets: Sequence[str],
    headers: Mapping[str, str],
    body: bytes,
    now: float | None = None,
) -> bool:
    """The receiver's check: a fresh timestamp and one ``v1`` signature by one of ``secrets``
    over ``"{webhook-id}.{webhook-timestamp}.{body}"``."""
    message_id = headers.get("webhook-id", "")
    timestamp = headers.get("webhook-timestamp", "")
    if not message_id or not timestamp.isdigit():
        return False
    if abs((time.time() if now is None else now) - int(timestamp)) > TOLERANCE_S:
        return False
    offered = [
        signature
        for version, _, signature in (
            part.partition(",") for part in headers.get("webhook-signature", "").split()
        )
        if version == "v1"
    ]
    for secret in secrets:
        key = base64.b64decode(secret.split("_", 1)[1])
        signed = message_id.encode() + b"." + timestamp.encode() + b"." + body
        expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
        if any(hmac.compare_digest(expected, candidate) for candidate in offered):
            return True
    return False


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    verified: bool
    answered: int


@dataclass
class Receiver:
    """``answers`` are the status codes of the next requests (then 200); ``delay_s`` is how
    long each answer takes."""

    secrets: list[str] = field(default_factory=list)
    answers: list[int] = field(default_factory=list)
    delay_s: float = 0.0
    reply: bytes | None = None
    received: list[Received] = field(default_factory=list)
    url: str = ""
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self, path: str, headers: dict[str, str], body: bytes) -> int:
        with self.lock:
            verified = verify(self.secrets, headers, body)
            scripted = self.answers.pop(0) if self.answers else 200
            code = scripted if verified else 401
            self.received.append(Received(path, headers, body, verified, code))
        return code


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("content-length", "0"))
            body = self.rfile.read(length)
            headers = {name.lower(): value for name, value in self.headers.items()}
            code = receiver.answer(self.path, headers, body)
            time.sleep(receiver.delay_s)
            try:
                self.send_response(code)
                self.send_header("content-type", "text/plain")
                self.end_headers()
                self.wfile.write(receiver.reply or f"answered {code}".encode())
            except OSError:
                pass  # the sender gave up waiting

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Handler


@contextmanager
def running_receiver() -> Iterator[Receiver]:
    receiver = Receiver()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(receiver))
    server.daemon_threads = True
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/studyhall"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
