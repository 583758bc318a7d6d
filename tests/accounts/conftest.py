"""Accounts test helpers: users made through the API, a real local SMTP server."""

from __future__ import annotations

import asyncio
import itertools
import re
import socket
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from typing import Any

import httpx
import jwt
import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import text

from studyhall.config import Settings
from studyhall.db.engine import Database
from tests.conftest import run_jobs

PASSWORD = "correct horse battery staple"
_counter = itertools.count()


@dataclass
class Actor:
    id: uuid.UUID
    email: str
    password: str
    access_token: str
    refresh_token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access_token}"}


async def sign_up(
    client: httpx.AsyncClient,
    *,
    role: str = "student",
    email: str | None = None,
    password: str = PASSWORD,
    **extra: Any,
) -> Actor:
    email = email or f"user{next(_counter)}-{uuid.uuid4().hex[:6]}@example.org"
    body = {"email": email, "password": password, "name": f"{role} {email[:8]}", "role": role}
    response = await client.post("/api/v1/auth/sign-up", json=body | extra)
    assert response.status_code == 201, response.text
    tokens = response.json()
    me = await client.get(
        "/api/v1/me", headers={"Authorization": f"Bearer {tokens['access_token']}"}
    )
    assert me.status_code in (200, 403), me.text
    user_id = me.json()["id"] if me.status_code == 200 else await _id_by_token(tokens)
    return Actor(
        id=uuid.UUID(user_id),
        email=email,
        password=password,
        access_token=tokens["access_token"],
        refresh_token=tokens["refresh_token"],
    )


async def _id_by_token(tokens: dict[str, Any]) -> str:
    return str(jwt.decode(tokens["access_token"], options={"verify_signature": False})["sub"])


async def make_admin(client: httpx.AsyncClient, owner_db: Database) -> Actor:
    actor = await sign_up(client)
    await owner_exec(owner_db, "UPDATE users SET role = 'admin' WHERE id = :id", id=actor.id)
    return actor


async def make_tutor(
    client: httpx.AsyncClient, owner_db: Database, *, verified: bool = False, **profile: Any
) -> Actor:
    actor = await sign_up(client, role="tutor")
    if profile:
        response = await client.patch(
            "/api/v1/me/tutor-profile", json=profile, headers=actor.headers
        )
        assert response.status_code == 200, response.text
    if verified:
        await owner_exec(
            owner_db,
            "UPDATE tutor_profiles SET verification_status = 'verified' WHERE user_id = :id",
            id=actor.id,
        )
    return actor


async def owner_exec(owner_db: Database, sql: str, **params: Any) -> None:
    async with owner_db.transaction() as session:
        await session.execute(text(sql), params)


async def owner_rows(owner_db: Database, sql: str, **params: Any) -> list[tuple[Any, ...]]:
    async with owner_db.transaction() as session:
        return [tuple(row) for row in (await session.execute(text(sql), params)).all()]


async def owner_value(owner_db: Database, sql: str, **params: Any) -> Any:
    async with owner_db.transaction() as session:
        return (await session.execute(text(sql), params)).scalar()


# --- a real SMTP server -----------------------------------------------------------------------


@dataclass
class Mailbox:
    messages: list[Message] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(message_from_bytes(envelope.content))
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[Message]:
        return [m for m in self.messages if m["To"] == address]

    @staticmethod
    def body(message: Message) -> str:
        part = message.get_payload(0) if message.is_multipart() else message
        assert isinstance(part, Message)
        payload = part.get_payload(decode=True)
        assert isinstance(payload, bytes)
        return payload.decode()

    def token(self, address: str, label: str) -> str:
        """The token printed after ``label`` in the newest mail to ``address``."""
        found = re.search(rf"{label}: (\S+)", self.body(self.to(address)[-1]))
        assert found, f"no {label!r} in mail to {address}"
        return found.group(1)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def mailbox(settings: Settings) -> Iterator[Mailbox]:
    box = Mailbox()
    controller = Controller(box, hostname="127.0.0.1", port=_free_port())
    controller.start()
    settings.mail_backend = "smtp"
    settings.smtp_host = "127.0.0.1"
    settings.smtp_port = controller.port
    settings.smtp_tls = "none"
    yield box
    controller.stop()


async def deliver_mail() -> None:
    await run_jobs()
    # aiosmtpd hands messages to the handler on its own thread; let it finish.
    await asyncio.sleep(0.05)
