"""Standard Webhooks signing (https://www.standardwebhooks.com): secrets, and the three headers.

A secret is ``whsec_`` followed by base64 of random bytes; the HMAC key is those decoded bytes.
The signed content is ``"{webhook-id}.{webhook-timestamp}.{body}"``; ``webhook-signature`` holds
one or more space-separated ``v1,<base64 HMAC-SHA256>``, one per secret in force, so a receiver
that knows either the old or the new secret accepts a message during a rotation.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Sequence

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def _key(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix(SECRET_PREFIX))


def signature(secret: str, message_id: str, timestamp: int, body: str) -> str:
    signed = f"{message_id}.{timestamp}.{body}".encode()
    digest = hmac.new(_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def headers(
    secrets_in_force: Sequence[str], message_id: str, timestamp: int, body: str
) -> dict[str, str]:
    """The ``webhook-id``, ``webhook-timestamp`` and ``webhook-signature`` headers."""
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": " ".join(
            signature(secret, message_id, timestamp, body) for secret in secrets_in_force
        ),
    }
