"""Signed one-click unsubscribe tokens (RFC 8058): who, and from which type of email."""

from __future__ import annotations

import base64
import hashlib
import hmac
import uuid
from dataclasses import dataclass

from studyhall.notifications.models import TRANSACTIONAL, TYPES

_PURPOSE = b"studyhall.notifications.unsubscribe.v1"


@dataclass(frozen=True)
class UnsubscribeClaim:
    user_id: uuid.UUID
    type: str


def _signature(secret: str, message: bytes) -> str:
    key = hmac.new(secret.encode(), _PURPOSE, hashlib.sha256).digest()
    digest = hmac.new(key, message, hashlib.sha256).digest()[:20]
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def make_token(secret: str, user_id: uuid.UUID, type_: str) -> str:
    # Tokens do not expire: an unsubscribe link in a year-old email must still work.
    message = f"{user_id.hex}.{type_}"
    return f"{message}.{_signature(secret, message.encode())}"


def read_token(secret: str, token: str) -> UnsubscribeClaim | None:
    parts = token.split(".")
    if len(parts) != 3:
        return None
    user_hex, type_, signature = parts
    expected = _signature(secret, f"{user_hex}.{type_}".encode())
    if not hmac.compare_digest(expected, signature):
        return None
    if type_ not in TYPES or type_ in TRANSACTIONAL:
        return None
    try:
        return UnsubscribeClaim(uuid.UUID(hex=user_hex), type_)
    except ValueError:
        return None


def unsubscribe_url(base_url: str, secret: str, user_id: uuid.UUID, type_: str) -> str:
    """The one-click address of the ``List-Unsubscribe`` header: mail programs post to it."""
    token = make_token(secret, user_id, type_)
    return f"{base_url.rstrip('/')}/api/v1/notifications/unsubscribe?token={token}"


def unsubscribe_page_url(base_url: str, secret: str, user_id: uuid.UUID, type_: str) -> str:
    """The link in the e-mail's text: the web app's page, in the reader's language, whose button
    unsubscribes with the same token."""
    token = make_token(secret, user_id, type_)
    return f"{base_url.rstrip('/')}/unsubscribe?token={token}"
