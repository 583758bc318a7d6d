"""One delivery attempt: claim the delivery, POST it signed, record what happened.

No transaction is held while the receiver is called. The claim (a short transaction) leases the
delivery by moving its ``next_attempt_at`` past the attempt's longest duration, so a second job
or the sweep leaves it alone; recording the answer (another short transaction) settles it:
delivered on a 2xx, else the next attempt is scheduled from ``retry_schedule_s`` until the
schedule runs out. Failed attempts in a row count on the endpoint; reaching
``disable_after_failures`` disables it and e-mails the admins.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.accounts.models import User
from studyhall.audit import service as audit
from studyhall.config import Settings
from studyhall.db.engine import Database
from studyhall.db.rls import cross_users
from studyhall.integrations.config import IntegrationsConfig
from studyhall.integrations.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from studyhall.integrations.service.endpoints import ENTITY, key_ring, secrets_in_force
from studyhall.integrations.service.signing import headers as signed_headers
from studyhall.integrations.service.targets import Target, TargetRefused, resolve
from studyhall.jobs.mail import Mail, send_mail

# Schedules the next attempt of a delivery at a time, in the given transaction (the job queue).
ScheduleAttempt = Callable[[AsyncSession, uuid.UUID, datetime], Awaitable[object]]

USER_AGENT = "Studyhall-Webhooks/1"
EXCERPT_CHARS = 1000
READ_LIMIT_BYTES = 4096
LEASE_MARGIN_S = 60


@dataclass(frozen=True)
class Claim:
    delivery_id: uuid.UUID
    endpoint_id: uuid.UUID
    url: str
    message_id: str
    body: str
    secrets: list[str]
    number: int


@dataclass(frozen=True)
class Outcome:
    started_at: datetime
    duration_ms: int
    status_code: int | None
    error: str | None
    excerpt: str | None

    @property
    def delivered(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


async def deliver(
    database: Database,
    settings: Settings,
    config: IntegrationsConfig,
    delivery_id: uuid.UUID,
    schedule: ScheduleAttempt,
) -> Outcome | None:
    """Make the attempt that is due for ``delivery_id``; None when none is (already delivered,
    given up, leased by another attempt, or not yet due)."""
    claim = await _claim(database, settings, config, delivery_id)
    if claim is None:
        return None
    outcome = await _post(claim, settings, config)
    await _record(database, config, claim, outcome, schedule)
    return outcome


async def _claim(
    database: Database, settings: Settings, config: IntegrationsConfig, delivery_id: uuid.UUID
) -> Claim | None:
    now = datetime.now(UTC)
    async with database.transaction() as session:
        await cross_users(session)
        delivery = await session.scalar(
            select(WebhookDelivery).where(WebhookDelivery.id == delivery_id).with_for_update()
        )
        if delivery is None or delivery.status != "pending":
            return None
        if delivery.next_attempt_at is not None and delivery.next_attempt_at > now:
            return None
        endpoint = await session.get(WebhookEndpoint, delivery.endpoint_id)
        assert endpoint is not None  # the foreign key cascades
        if not endpoint.enabled:
            delivery.status = "failed"
            delivery.next_attempt_at = None
            delivery.last_error = "the endpoint is disabled"
            return None
        lease = timedelta(seconds=config.timeout_s + LEASE_MARGIN_S)
        delivery.next_attempt_at = now + lease
        delivery.attempt_count += 1
        return Claim(
            delivery_id=delivery.id,
            endpoint_id=endpoint.id,
            url=endpoint.url,
            message_id=delivery.message_id,
            body=delivery.body,
            secrets=secrets_in_force(endpoint, key_ring(settings), now),
            number=delivery.attempt_count,
        )


async def _post(claim: Claim, settings: Settings, config: IntegrationsConfig) -> Outcome:
    started_at = datetime.now(UTC)
    clock = time.monotonic()
    status_code: int | None = None
    excerpt: str | None = None
    error: str | None = None
    try:
        target = await resolve(claim.url, production=settings.environment == "production")
        async with asyncio.timeout(config.timeout_s):
            status_code, excerpt = await _exchange(claim, target, config)
    except TargetRefused as exc:
        error = f"refused: {exc}"
    except TimeoutError:
        error = f"timed out after {config.timeout_s:g} s"
    except Exception as exc:  # whatever went wrong on the way, the attempt failed: record it
        error = _storable(f"{type(exc).__name__}: {exc}")[:500]
    if error is None and status_code is not None and not 200 <= status_code < 300:
        error = f"answered HTTP {status_code}"
    duration_ms = int((time.monotonic() - clock) * 1000)
    return Outcome(started_at, duration_ms, status_code, error, excerpt)


async def _exchange(claim: Claim, target: Target, config: IntegrationsConfig) -> tuple[int, str]:
    timestamp = int(time.time())
    headers = {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        **signed_headers(claim.secrets, claim.message_id, timestamp, claim.body),
    }
    extensions = {}
    if target.pinned:
        headers["host"] = target.host_header
        extensions["sni_hostname"] = target.host
    async with (
        httpx.AsyncClient(
            timeout=config.timeout_s, follow_redirects=False, trust_env=False
        ) as client,
        client.stream(
            "POST",
            target.url,
            content=claim.body.encode(),
            headers=headers,
            extensions=extensions,
        ) as response,
    ):
        received = b""
        async for chunk in response.aiter_bytes():
            received += chunk
            if len(received) >= READ_LIMIT_BYTES:
                break
        return response.status_code, _storable(received.decode(errors="replace"))[:EXCERPT_CHARS]


def _storable(answer: str) -> str:
    """A receiver's answer as text PostgreSQL can keep (it refuses NUL characters)."""
    return answer.replace("\x00", "\ufffd")


async def _record(
    database: Database,
    config: IntegrationsConfig,
    claim: Claim,
    outcome: Outcome,
    schedule: ScheduleAttempt,
) -> None:
    async with database.transaction() as session:
        await cross_users(session)
        delivery = await session.get(WebhookDelivery, claim.delivery_id, with_for_update=True)
        if delivery is None:  # the endpoint was deleted meanwhile, with its log
            return
        session.add(
            WebhookAttempt(
                delivery_id=claim.delivery_id,
                number=claim.number,
                started_at=outcome.started_at,
                duration_ms=outcome.duration_ms,
                status_code=outcome.status_code,
                error=outcome.error,
                response_excerpt=outcome.excerpt,
            )
        )
        delivery.last_status_code = outcome.status_code
        delivery.last_error = outcome.error
        if outcome.delivered:
            await _delivered(session, delivery)
        else:
            await _failed(session, config, delivery, outcome, schedule)


async def _delivered(session: AsyncSession, delivery: WebhookDelivery) -> None:
    delivery.status = "delivered"
    delivery.delivered_at = datetime.now(UTC)
    delivery.next_attempt_at = None
    await session.execute(
        update(WebhookEndpoint)
        .where(WebhookEndpoint.id == delivery.endpoint_id)
        .values(consecutive_failures=0)
    )


async def _failed(
    session: AsyncSession,
    config: IntegrationsConfig,
    delivery: WebhookDelivery,
    outcome: Outcome,
    schedule: ScheduleAttempt,
) -> None:
    delivery.failed_attempts += 1
    waits = config.retry_schedule_s
    if delivery.failed_attempts <= len(waits):
        due = datetime.now(UTC) + timedelta(seconds=waits[delivery.failed_attempts - 1])
        delivery.next_attempt_at = due
        await schedule(session, delivery.id, due)
    else:
        delivery.status = "failed"
        delivery.next_attempt_at = None
    failures = await session.scalar(
        update(WebhookEndpoint)
        .where(WebhookEndpoint.id == delivery.endpoint_id)
        .values(consecutive_failures=WebhookEndpoint.consecutive_failures + 1)
        .returning(WebhookEndpoint.consecutive_failures)
    )
    if failures is not None and failures >= config.disable_after_failures:
        await _disable(session, delivery.endpoint_id, failures, outcome)


async def _disable(
    session: AsyncSession, endpoint_id: uuid.UUID, failures: int, outcome: Outcome
) -> None:
    """Turn the endpoint off (once) and tell every admin by e-mail."""
    reason = f"{failures} failed attempts in a row; the last: {outcome.error}"[:200]
    endpoint = await session.scalar(
        update(WebhookEndpoint)
        .where(WebhookEndpoint.id == endpoint_id, WebhookEndpoint.enabled.is_(True))
        .values(enabled=False, disabled_at=datetime.now(UTC), disabled_reason=reason)
        .returning(WebhookEndpoint)
    )
    if endpoint is None:
        return
    await audit.record(session, None, f"{ENTITY}.disable", ENTITY, endpoint_id, {"reason": reason})
    for address in await _admin_addresses(session):
        await send_mail(session, _disabled_mail(address, endpoint, reason))


async def _admin_addresses(session: AsyncSession) -> list[str]:
    return list(
        await session.scalars(
            select(User.email)
            .where(User.role == "admin", User.status == "active", User.deleted_at.is_(None))
            .order_by(User.email)
        )
    )


def _disabled_mail(address: str, endpoint: WebhookEndpoint, reason: str) -> Mail:
    return Mail(
        to=address,
        subject="A webhook endpoint was disabled",
        text=(
            f"The webhook endpoint {endpoint.url} (id {endpoint.id}) was disabled: {reason}.\n\n"
            "Nothing more is sent to it. Its delivery log shows each attempt's answer. Once "
            "the receiver works again, enable it with PATCH "
            f'/api/v1/admin/webhook-endpoints/{endpoint.id} and {{"enabled": true}}, then '
            "redeliver the messages it missed.\n"
        ),
        headers={"X-Studyhall-Type": "webhook_endpoint_disabled"},
    )
