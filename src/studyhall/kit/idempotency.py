"""``Idempotency-Key`` for POSTs that create or move something.

The key row is inserted in the request's own transaction before the work is done. A concurrent
request with the same key blocks on the unique index until the first one commits or rolls back:
after a commit it finds the stored response and replays it; after a rollback it does the work
itself. So a key has at most one effect, whatever the timing.

Work that calls a remote service cannot keep its transaction open that long (no
transaction or pooled connection waits on the network). It commits
the key with a *progress* marker (``note_progress``: a body, no status yet) in its first short
transaction, does the remote call with no transaction open, and stores the response in a second
one. A request that meets a key in progress gets the marker back (``Claim.progress``) and decides
whether to wait for the answer or finish the work itself.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fastapi import Header
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import DateTime, Integer, String, UniqueConstraint, func, select
from sqlalchemy.dialects.postgresql import JSONB, insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from studyhall.kit.errors import Conflict
from studyhall.kit.orm import Base, UUIDPrimaryKey

KEY_RETENTION_HOURS = 24
REPLAYED_HEADER = "Idempotent-Replayed"


class IdempotencyKey(UUIDPrimaryKey, Base):
    __tablename__ = "idempotency_keys"

    user_id: Mapped[uuid.UUID]
    scope: Mapped[str] = mapped_column(String(200))
    key: Mapped[str] = mapped_column(String(255))
    request_hash: Mapped[str] = mapped_column(String(64))
    response_status: Mapped[int | None] = mapped_column(Integer)
    response_body: Mapped[Any] = mapped_column(JSONB, nullable=True)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), index=True
    )

    __table_args__ = (UniqueConstraint("user_id", "scope", "key"),)


async def idempotency_key_header(
    idempotency_key: str | None = Header(
        default=None,
        min_length=1,
        max_length=255,
        pattern=r"^[\x21-\x7e]+$",
        description="Any unique string (a UUID is ideal): retries with it have one effect.",
    ),
) -> str | None:
    return idempotency_key


@dataclass(frozen=True)
class Claim:
    """A key this request owns (``replay`` is None) or one already answered (``replay`` set).

    ``progress`` is set when another request committed the key with a progress marker and has
    not answered yet."""

    key: str | None
    user_id: uuid.UUID
    scope: str
    replay: JSONResponse | None = None
    progress: Any = None


def _fingerprint(payload: Any) -> str:
    canonical = json.dumps(jsonable_encoder(payload), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


async def claim(
    session: AsyncSession, key: str | None, user_id: uuid.UUID, scope: str, payload: Any
) -> Claim:
    """Call before doing the work. ``scope`` names the operation, e.g. ``"POST /bookings"``."""
    if key is None:
        return Claim(key=None, user_id=user_id, scope=scope)
    fingerprint = _fingerprint(payload)
    inserted = await session.scalar(
        insert(IdempotencyKey)
        .values(user_id=user_id, scope=scope, key=key, request_hash=fingerprint)
        .on_conflict_do_nothing(index_elements=["user_id", "scope", "key"])
        .returning(IdempotencyKey.id)
    )
    if inserted is not None:
        return Claim(key=key, user_id=user_id, scope=scope)
    stored = await session.scalar(
        select(IdempotencyKey).where(
            IdempotencyKey.user_id == user_id,
            IdempotencyKey.scope == scope,
            IdempotencyKey.key == key,
        )
    )
    assert stored is not None
    if stored.request_hash != fingerprint:
        raise Conflict(
            "This Idempotency-Key was already used with a different request body; "
            "use a new key for a new request.",
            code="idempotency_key_reused",
        )
    if stored.response_status is None:
        return Claim(key=key, user_id=user_id, scope=scope, progress=stored.response_body)
    return Claim(key=key, user_id=user_id, scope=scope, replay=_replay(stored))


class _StoredJSONResponse(JSONResponse):
    """A JSON answer whose text is already rendered (a replay sends the stored bytes)."""

    def render(self, content: Any) -> bytes:
        return content if isinstance(content, bytes) else super().render(content)


def _replay(stored: IdempotencyKey) -> JSONResponse:
    assert stored.response_status is not None
    headers = {REPLAYED_HEADER: "true"}
    if isinstance(stored.response_body, str):  # the answer's exact text (see ``rendered``)
        return _StoredJSONResponse(
            stored.response_body.encode(), status_code=stored.response_status, headers=headers
        )
    # Stored before answers were kept as text: same JSON, keys in the database's order.
    return JSONResponse(stored.response_body, status_code=stored.response_status, headers=headers)


def rendered(body: Any) -> str:
    """The JSON text the first answer carries, byte for byte: a Pydantic model as FastAPI's
    response model serializes it, anything else as ``JSONResponse`` renders it. Kept as text
    (a JSON string in the JSONB column), because JSONB reorders keys."""
    if isinstance(body, BaseModel):
        return body.model_dump_json(by_alias=True)
    return json.dumps(
        jsonable_encoder(body), ensure_ascii=False, allow_nan=False, separators=(",", ":")
    )


async def remember(session: AsyncSession, claimed: Claim, status: int, body: Any) -> None:
    """Store the response in the same transaction as the work it answers; a replay returns it
    byte for byte."""
    await _store(session, claimed, status, rendered(body))


def first_answer(body: Any, status: int) -> JSONResponse:
    """The first answer to a request with a key, as the same bytes every replay will send."""
    return _StoredJSONResponse(rendered(body).encode(), status_code=status)


async def note_progress(session: AsyncSession, claimed: Claim, progress: Any) -> None:
    """Mark the key as in progress (no response yet) with what a retry needs to carry on."""
    await _store(session, claimed, None, progress)


async def _store(session: AsyncSession, claimed: Claim, status: int | None, body: Any) -> None:
    if claimed.key is None:
        return
    stored = await session.scalar(
        select(IdempotencyKey)
        .where(
            IdempotencyKey.user_id == claimed.user_id,
            IdempotencyKey.scope == claimed.scope,
            IdempotencyKey.key == claimed.key,
        )
        .execution_options(populate_existing=True)
    )
    assert stored is not None
    stored.response_status = status
    stored.response_body = body if isinstance(body, str) else jsonable_encoder(body)
    await session.flush()
