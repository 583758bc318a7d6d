"""Webhook endpoints, managed by admins: the URL, its event filter, and the signing secret.

A secret is shown once, in the answer that made it (creation or rotation), and kept encrypted
(``accounts.encryption``, associated with the row and the secret's role). Rotation keeps the
previous secret signing beside the new one for ``rotation_grace_hours``, so a receiver can swap
its copy without dropping a message.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.accounts.service import EncryptionKeyError, KeyRing
from studyhall.audit import service as audit
from studyhall.config import Settings
from studyhall.integrations.config import IntegrationsConfig
from studyhall.integrations.models import WebhookEndpoint
from studyhall.integrations.service.signing import new_secret
from studyhall.integrations.service.targets import check as check_target
from studyhall.kit.cursors import CursorValue
from studyhall.kit.errors import NotFound, ServiceUnavailable
from studyhall.kit.paging import after

ENTITY = "webhook_endpoint"


def key_ring(settings: Settings) -> KeyRing:
    """The keys that seal secrets; a 503 naming the setting when there are none."""
    try:
        return KeyRing.from_settings(settings)
    except EncryptionKeyError as exc:
        raise ServiceUnavailable(
            "Webhook secrets are stored encrypted: set STUDYHALL_ENCRYPTION_KEYS to "
            "'kid:<base64 of 32 random bytes>' (e.g. from 'openssl rand -base64 32').",
            code="encryption_not_configured",
        ) from exc


def _associated(endpoint_id: uuid.UUID, role: str) -> bytes:
    return f"webhook_endpoints:{endpoint_id}:{role}".encode()


def _seal(endpoint: WebhookEndpoint, keys: KeyRing, current: str, previous: str | None) -> None:
    endpoint.secret_encrypted = keys.encrypt(current, _associated(endpoint.id, "current"))
    endpoint.previous_secret_encrypted = (
        None if previous is None else keys.encrypt(previous, _associated(endpoint.id, "previous"))
    )
    endpoint.encryption_key_id = keys.current


def _previous_secret(endpoint: WebhookEndpoint, keys: KeyRing) -> str | None:
    if endpoint.previous_secret_encrypted is None:
        return None
    return keys.decrypt(
        endpoint.encryption_key_id,
        endpoint.previous_secret_encrypted,
        _associated(endpoint.id, "previous"),
    )


def current_secret(endpoint: WebhookEndpoint, keys: KeyRing) -> str:
    return keys.decrypt(
        endpoint.encryption_key_id, endpoint.secret_encrypted, _associated(endpoint.id, "current")
    )


def secrets_in_force(endpoint: WebhookEndpoint, keys: KeyRing, now: datetime) -> list[str]:
    """The secrets that sign a message sent ``now``: the current one, then the previous one
    while its grace period lasts."""
    found = [current_secret(endpoint, keys)]
    expires = endpoint.previous_secret_expires_at
    previous = _previous_secret(endpoint, keys)
    if previous is not None and expires is not None and expires > now:
        found.append(previous)
    return found


async def create(
    session: AsyncSession, settings: Settings, actor: uuid.UUID, fields: dict[str, Any]
) -> tuple[WebhookEndpoint, str]:
    """A new endpoint and its secret (the only time the secret is given out)."""
    await check_target(fields["url"], production=settings.environment == "production")
    keys = key_ring(settings)
    secret = new_secret()
    endpoint = WebhookEndpoint(id=uuid.uuid4(), **fields)
    _seal(endpoint, keys, secret, None)
    session.add(endpoint)
    await session.flush()
    await session.refresh(endpoint)
    await audit.record(session, actor, f"{ENTITY}.create", ENTITY, endpoint.id, fields)
    return endpoint, secret


async def get(session: AsyncSession, endpoint_id: uuid.UUID) -> WebhookEndpoint:
    endpoint = await session.get(WebhookEndpoint, endpoint_id)
    if endpoint is None:
        raise NotFound("No such webhook endpoint.", code="webhook_endpoint_not_found")
    return endpoint


async def listed(
    session: AsyncSession, key: Sequence[CursorValue] | None, limit: int
) -> list[WebhookEndpoint]:
    """Endpoints in the order they were made, up to ``limit`` after the cursor's ``key``."""
    order = (WebhookEndpoint.created_at.expression, WebhookEndpoint.id.expression)
    query = select(WebhookEndpoint).order_by(*order).limit(limit)
    condition = after(order, key)
    if condition is not None:
        query = query.where(condition)
    return list(await session.scalars(query))


async def update(
    session: AsyncSession,
    settings: Settings,
    actor: uuid.UUID,
    endpoint_id: uuid.UUID,
    changes: dict[str, Any],
) -> WebhookEndpoint:
    """Change an endpoint; enabling it again forgets the failures that disabled it."""
    endpoint = await get(session, endpoint_id)
    if "url" in changes:
        await check_target(changes["url"], production=settings.environment == "production")
    before = {name: getattr(endpoint, name) for name in changes}
    for name, value in changes.items():
        setattr(endpoint, name, value)
    if changes.get("enabled") is True:
        endpoint.consecutive_failures = 0
        endpoint.disabled_at = None
        endpoint.disabled_reason = None
    await session.flush()
    await session.refresh(endpoint)
    await audit.record(
        session, actor, f"{ENTITY}.update", ENTITY, endpoint.id, audit.changes(before, changes)
    )
    return endpoint


async def delete(session: AsyncSession, actor: uuid.UUID, endpoint_id: uuid.UUID) -> None:
    """Remove an endpoint with its delivery log; nothing more is sent to it."""
    endpoint = await get(session, endpoint_id)
    await session.delete(endpoint)
    await session.flush()
    await audit.record(
        session, actor, f"{ENTITY}.delete", ENTITY, endpoint_id, {"url": endpoint.url}
    )


async def rotate_secret(
    session: AsyncSession,
    settings: Settings,
    config: IntegrationsConfig,
    actor: uuid.UUID,
    endpoint_id: uuid.UUID,
) -> tuple[WebhookEndpoint, str]:
    """A new current secret; the old one keeps signing beside it for the grace period."""
    endpoint = await get(session, endpoint_id)
    keys = key_ring(settings)
    previous = current_secret(endpoint, keys)
    secret = new_secret()
    _seal(endpoint, keys, secret, previous)
    expires = datetime.now(UTC) + timedelta(hours=config.rotation_grace_hours)
    endpoint.previous_secret_expires_at = expires
    await session.flush()
    await session.refresh(endpoint)
    await audit.record(
        session,
        actor,
        f"{ENTITY}.rotate_secret",
        ENTITY,
        endpoint.id,
        {"previous_secret_expires_at": expires},
    )
    return endpoint, secret


async def reseal_all(session: AsyncSession, keys: KeyRing) -> int:
    """Re-encrypt every endpoint's secrets that are not under the current key (``studyhall
    admin rotate-keys``); audited as ``webhook_endpoint.rotate_keys``. How many were rewritten."""
    stale = list(
        await session.scalars(
            select(WebhookEndpoint)
            .where(WebhookEndpoint.encryption_key_id != keys.current)
            .with_for_update()
        )
    )
    for endpoint in stale:
        _seal(endpoint, keys, current_secret(endpoint, keys), _previous_secret(endpoint, keys))
    await session.flush()
    if stale:
        await audit.record(
            session,
            None,
            f"{ENTITY}.rotate_keys",
            ENTITY,
            None,
            {"rows": len(stale), "key_id": keys.current},
        )
    return len(stale)
