"""Local stand-ins for the outside world: an SMTP server and a Twilio-shaped HTTP server."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class FlakySmtp:
    """Answers ``451`` to the first ``refusals`` messages, then accepts."""

    def __init__(self, refusals: int) -> None:
        self.refusals = refusals
        self.attempts = 0
        self.accepted: list[bytes] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.attempts += 1
        if self.attempts <= self.refusals:
            return "451 4.3.0 Mailbox busy, try again later"
        self.accepted.append(envelope.original_content or envelope.content)
        return "250 OK"


@contextmanager
def smtp_server(handler: FlakySmtp) -> Iterator[int]:
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port
    finally:
        controller.stop()


@dataclass
class TwilioRecorder:
    """Answers the first ``failures`` requests with Twilio's 429 body, then 201 with a sid."""

    failures: int
    requests: list[dict[str, Any]] = field(default_factory=list)


@contextmanager
def twilio_server(recorder: TwilioRecorder) -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers["Content-Length"])
            recorder.requests.append(
                {
                    "path": self.path,
                    "content_type": self.headers["Content-Type"],
                    "authorization": self.headers["Authorization"],
                    "body": self.rfile.read(length).decode(),
                }
            )
            if len(recorder.requests) <= recorder.failures:
                status, body = 429, {"code": 20429, "message": "Too Many Requests", "status": 429}
            else:
                status, body = 201, {"sid": f"SM{len(recorder.requests):032d}", "status": "queued"}
            encoded = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(encoded)))
            self.end_headers()
            self.wfile.write(encoded)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
