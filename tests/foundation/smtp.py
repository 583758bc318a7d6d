"""A real SMTP server (aiosmtpd) on a loopback port, for tests that deliver mail."""

from __future__ import annotations

import email
import socket
from email.message import Message
from typing import Any

from aiosmtpd.controller import Controller


class Inbox:
    """Collects every message the server accepts; can refuse the first ``refuse`` attempts."""

    def __init__(self, refuse: int = 0) -> None:
        self.messages: list[Message] = []
        self.refuse = refuse
        self.attempts = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.attempts += 1
        if self.attempts <= self.refuse:
            return "451 4.3.0 Try again later"
        self.messages.append(email.message_from_bytes(envelope.content))
        return "250 OK"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class SmtpServer:
    def __init__(self, inbox: Inbox) -> None:
        self.inbox = inbox
        self.port = free_port()
        self.controller = Controller(inbox, hostname="127.0.0.1", port=self.port)

    def __enter__(self) -> SmtpServer:
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.controller.stop()
