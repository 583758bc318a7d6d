"""Connected provider accounts (a Google calendar, say): provider tokens encrypted at rest.

Each token is AES-GCM encrypted with the current key; the row id is the associated data and the
key id is stored next to it, so old keys keep decrypting until ``rotate_keys`` re-encrypts.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.accounts.models import OAuthAccount
from studyhall.accounts.service.encryption import KeyRing, reencrypt_rows
from studyhall.audit import service as audit
from studyhall.kit.cursors import CursorValue
from studyhall.kit.errors import Conflict, NotFound
from studyhall.kit.paging import after


@dataclass(frozen=True)
class ProviderTokens:
    access_token: str
    refresh_token: str | None
    expires_at: datetime | None


def _aad(account_id: uuid.UUID) -> bytes:
    return account_id.bytes


def _seal(account: OAuthAccount, keys: KeyRing, access: str, refresh: str | None) -> None:
    account.access_token_encrypted = keys.encrypt(access, _aad(account.id))
    account.refresh_token_encrypted = (
        None if refresh is None else keys.encrypt(refresh, _aad(account.id))
    )
    account.encryption_key_id = keys.current


async def link(
    session: AsyncSession,
    keys: KeyRing,
    user_id: uuid.UUID,
    *,
    provider: str,
    provider_account_id: str,
    access_token: str,
    refresh_token: str | None = None,
    expires_at: datetime | None = None,
    scopes: list[str] | None = None,
    calendar_id: str | None = None,
) -> OAuthAccount:
    """Store (or refresh) a user's provider tokens; one provider account belongs to one user."""
    account = await session.scalar(
        select(OAuthAccount)
        .where(
            OAuthAccount.provider == provider,
            OAuthAccount.provider_account_id == provider_account_id,
        )
        .with_for_update()
    )
    if account is not None and account.user_id != user_id and account.deleted_at is None:
        raise Conflict(
            "This provider account is connected to another user.", code="oauth_account_taken"
        )
    created = account is None
    if account is None:
        # The id is chosen here because it is the ciphertext's associated data.
        account = OAuthAccount(
            id=uuid.uuid4(), provider=provider, provider_account_id=provider_account_id
        )
        session.add(account)
    account.user_id = user_id
    account.deleted_at = None
    account.token_expires_at = expires_at
    account.scopes = scopes or []
    account.calendar_id = calendar_id
    _seal(account, keys, access_token, refresh_token)
    await session.flush()
    await audit.record(
        session,
        user_id,
        "oauth_account.link" if created else "oauth_account.refresh",
        "oauth_account",
        account.id,
        {"provider": provider, "scopes": account.scopes},
    )
    return account


async def tokens(session: AsyncSession, keys: KeyRing, account_id: uuid.UUID) -> ProviderTokens:
    account = await session.get(OAuthAccount, account_id)
    if account is None or account.deleted_at is not None:
        raise NotFound("No such connected account.", code="oauth_account_not_found")
    return _open(account, keys)


def _open(account: OAuthAccount, keys: KeyRing) -> ProviderTokens:
    kid = account.encryption_key_id
    refresh = account.refresh_token_encrypted
    return ProviderTokens(
        access_token=keys.decrypt(kid, account.access_token_encrypted, _aad(account.id)),
        refresh_token=None if refresh is None else keys.decrypt(kid, refresh, _aad(account.id)),
        expires_at=account.token_expires_at,
    )


async def for_user(session: AsyncSession, user_id: uuid.UUID) -> list[OAuthAccount]:
    rows = await session.scalars(
        select(OAuthAccount)
        .where(OAuthAccount.user_id == user_id, OAuthAccount.deleted_at.is_(None))
        .order_by(OAuthAccount.created_at, OAuthAccount.id)
    )
    return list(rows)


async def page_for_user(
    session: AsyncSession,
    user_id: uuid.UUID,
    limit: int,
    after_key: tuple[CursorValue, ...] | None,
) -> list[OAuthAccount]:
    """Up to ``limit`` of ``for_user``'s accounts after the keyset ``after_key`` (created, id)."""
    query = select(OAuthAccount).where(
        OAuthAccount.user_id == user_id, OAuthAccount.deleted_at.is_(None)
    )
    condition = after([OAuthAccount.created_at.expression, OAuthAccount.id.expression], after_key)
    if condition is not None:
        query = query.where(condition)
    rows = await session.scalars(
        query.order_by(OAuthAccount.created_at, OAuthAccount.id).limit(limit)
    )
    return list(rows)


async def disconnect(session: AsyncSession, user_id: uuid.UUID, account_id: uuid.UUID) -> None:
    """Soft delete, and the tokens are overwritten: a disconnected account keeps no secret."""
    account = await session.get(OAuthAccount, account_id, with_for_update=True)
    if account is None or account.user_id != user_id or account.deleted_at is not None:
        raise NotFound("No such connected account.", code="oauth_account_not_found")
    account.deleted_at = datetime.now(UTC)
    account.access_token_encrypted = b""
    account.refresh_token_encrypted = None
    await audit.record(session, user_id, "oauth_account.disconnect", "oauth_account", account.id)


async def rotate_keys(session: AsyncSession, keys: KeyRing, batch: int = 500) -> int:
    """Re-encrypt every live row not under the current key; returns how many were rewritten."""

    def reseal(account: OAuthAccount) -> None:
        plain = _open(account, keys)
        _seal(account, keys, plain.access_token, plain.refresh_token)

    return await reencrypt_rows(session, keys, OAuthAccount, reseal, "oauth_account", batch)
