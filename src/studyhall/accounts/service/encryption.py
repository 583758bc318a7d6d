"""AES-GCM for secrets at rest (OAuth tokens), with named keys so keys can be rotated.

A ciphertext is ``nonce (12 bytes) || AES-GCM(ciphertext + tag)``; the caller passes associated
data (the row id) so a ciphertext copied onto another row fails to decrypt.
"""

from __future__ import annotations

import base64
import binascii
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.audit import service as audit
from studyhall.config import Settings

NONCE_BYTES = 12


class EncryptionKeyError(Exception):
    """Keys are missing, malformed, or a ciphertext names a key we do not have."""


@dataclass(frozen=True)
class KeyRing:
    """Keys by id; ``current`` encrypts, every key decrypts."""

    keys: dict[str, bytes]
    current: str

    @classmethod
    def parse(cls, spec: str) -> KeyRing:
        keys: dict[str, bytes] = {}
        order: list[str] = []
        for item in (part.strip() for part in spec.split(",")):
            if not item:
                continue
            kid, sep, encoded = item.partition(":")
            if not sep or not kid:
                raise EncryptionKeyError("each key must be written as kid:base64key")
            try:
                key = base64.b64decode(encoded, validate=True)
            except (binascii.Error, ValueError) as exc:
                raise EncryptionKeyError(f"key {kid!r} is not valid base64") from exc
            if len(key) not in (16, 24, 32):
                raise EncryptionKeyError(f"key {kid!r} must be 16, 24 or 32 bytes, not {len(key)}")
            if kid in keys:
                raise EncryptionKeyError(f"key id {kid!r} appears twice")
            keys[kid] = key
            order.append(kid)
        if not order:
            raise EncryptionKeyError("no encryption keys configured (STUDYHALL_ENCRYPTION_KEYS)")
        return cls(keys=keys, current=order[0])

    @classmethod
    def from_settings(cls, settings: Settings) -> KeyRing:
        if settings.encryption_keys is None:
            raise EncryptionKeyError("no encryption keys configured (STUDYHALL_ENCRYPTION_KEYS)")
        return cls.parse(settings.encryption_keys.get_secret_value())

    def encrypt(self, plaintext: str, associated_data: bytes) -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        aead = AESGCM(self.keys[self.current])
        return nonce + aead.encrypt(nonce, plaintext.encode(), associated_data)

    def decrypt(self, kid: str, blob: bytes, associated_data: bytes) -> str:
        key = self.keys.get(kid)
        if key is None:
            raise EncryptionKeyError(f"no key {kid!r} in STUDYHALL_ENCRYPTION_KEYS")
        try:
            plain = AESGCM(key).decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], associated_data)
        except InvalidTag as exc:
            raise EncryptionKeyError(
                "ciphertext does not authenticate under its key and row"
            ) from exc
        return plain.decode()


def new_key() -> str:
    """A fresh 256-bit key, base64, for ``STUDYHALL_ENCRYPTION_KEYS``."""
    return base64.b64encode(AESGCM.generate_key(bit_length=256)).decode()


async def reencrypt_rows(
    session: AsyncSession,
    keys: KeyRing,
    model: Any,
    reseal: Callable[[Any], None],
    entity: str,
    batch: int = 500,
) -> int:
    """Re-encrypt every live ``model`` row (it has ``encryption_key_id`` and ``deleted_at``) not
    under the current key, ``reseal`` rewriting one row's secrets; audited as
    ``<entity>.rotate_keys``. Returns how many rows were rewritten."""
    done = 0
    while True:
        rows = list(
            await session.scalars(
                select(model)
                .where(model.encryption_key_id != keys.current, model.deleted_at.is_(None))
                .limit(batch)
                .with_for_update(skip_locked=True)
            )
        )
        if not rows:
            break
        for row in rows:
            reseal(row)
        await session.flush()
        done += len(rows)
    if done:
        await audit.record(
            session,
            None,
            f"{entity}.rotate_keys",
            entity,
            None,
            {"rows": done, "key_id": keys.current},
        )
    return done
