"""The credit ledger: an append-only chain per user, with its balance cached in ``credit_balances``.

Every write locks the user's ``credit_balances`` row first (rule 2): the lock serializes writers,
the CHECK constraints make a negative balance impossible even for a buggy caller, and UNIQUE
(``user_id``, ``seq``) turns any writer that skipped the lock into a constraint error instead of a
forked chain.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.audit import service as audit
from studyhall.billing.models import CreditBalance, CreditLedgerEntry
from studyhall.kit.errors import Conflict, NotFound, PaymentRequired, Unprocessable

MAX_DELTA = 1_000_000


@dataclass(frozen=True)
class Posted:
    id: uuid.UUID
    seq: int
    delta: int
    balance_after: int


@dataclass(frozen=True)
class Source:
    """What an entry is about; each field maps to a ledger column of the same name."""

    booking_id: uuid.UUID | None = None
    payment_id: uuid.UUID | None = None
    subscription_id: uuid.UUID | None = None
    period_start: date | None = None
    reverses_id: uuid.UUID | None = None


async def lock_balance(session: AsyncSession, user_id: uuid.UUID) -> tuple[int, int]:
    """``(balance, last_seq)`` with the row locked until the transaction ends."""
    query = (
        select(CreditBalance.balance, CreditBalance.last_seq)
        .where(CreditBalance.user_id == user_id)
        .with_for_update()
    )
    row = (await session.execute(query)).first()
    if row is None:
        await session.execute(
            pg_insert(CreditBalance).values(user_id=user_id).on_conflict_do_nothing()
        )
        row = (await session.execute(query)).one()
    return int(row[0]), int(row[1])


async def balance(session: AsyncSession, user_id: uuid.UUID) -> int:
    value = await session.scalar(
        select(CreditBalance.balance).where(CreditBalance.user_id == user_id)
    )
    return int(value or 0)


async def post(
    session: AsyncSession,
    user_id: uuid.UUID,
    delta: int,
    reason: str,
    *,
    source: Source | None = None,
    actor: uuid.UUID | None = None,
    note: str | None = None,
) -> Posted:
    """Append one entry. A debit the balance cannot cover raises 402 and writes nothing."""
    if delta == 0 or abs(delta) > MAX_DELTA:
        raise Unprocessable(
            f"A credit change must be non-zero and at most {MAX_DELTA} in size.",
            code="invalid_credit_delta",
        )
    current, last_seq = await lock_balance(session, user_id)
    return await _append(session, user_id, current, last_seq, delta, reason, source, actor, note)


async def _append(
    session: AsyncSession,
    user_id: uuid.UUID,
    current: int,
    last_seq: int,
    delta: int,
    reason: str,
    source: Source | None,
    actor: uuid.UUID | None,
    note: str | None,
) -> Posted:
    after = current + delta
    if after < 0:
        raise PaymentRequired(
            f"Not enough credits: the balance is {current} and this needs {-delta}.",
            code="insufficient_credits",
            balance=current,
            required=-delta,
        )
    seq = last_seq + 1
    await session.execute(
        update(CreditBalance)
        .where(CreditBalance.user_id == user_id)
        .values(balance=after, last_seq=seq, updated_at=func.now())
    )
    src = source or Source()
    entry_id = await session.scalar(
        insert(CreditLedgerEntry)
        .values(
            user_id=user_id,
            seq=seq,
            delta=delta,
            reason=reason,
            booking_id=src.booking_id,
            payment_id=src.payment_id,
            subscription_id=src.subscription_id,
            period_start=src.period_start,
            reverses_id=src.reverses_id,
            balance_after=after,
            actor_user_id=actor,
            note=note,
        )
        .returning(CreditLedgerEntry.id)
    )
    assert entry_id is not None
    await audit.record(
        session,
        actor,
        f"credits.{reason}",
        "credit_ledger",
        entry_id,
        {"user_id": str(user_id), "delta": delta, "balance_after": after, "seq": seq},
    )
    return Posted(id=entry_id, seq=seq, delta=delta, balance_after=after)


async def reverse(
    session: AsyncSession,
    entry_id: uuid.UUID,
    *,
    actor: uuid.UUID | None,
    note: str | None,
    reason: str = "manual",
) -> Posted:
    """Cancel one entry with an equal and opposite one; an entry is reversed at most once.

    The reversal keeps the original's links but not its reason, so the once-only indexes on
    purchases and period grants never see it (a booking refund passes ``reason="refund"``).
    """
    entry = await session.get(CreditLedgerEntry, entry_id)
    if entry is None:
        raise NotFound("No such ledger entry.", code="ledger_entry_not_found")
    if entry.reverses_id is not None:
        raise Conflict(
            "This entry is itself a reversal; post a new entry instead.",
            code="cannot_reverse_reversal",
        )
    current, last_seq = await lock_balance(session, entry.user_id)
    already = await session.scalar(
        select(CreditLedgerEntry.id).where(CreditLedgerEntry.reverses_id == entry_id)
    )
    if already is not None:
        raise Conflict("This entry has already been reversed.", code="already_reversed")
    if current - entry.delta < 0:
        raise Conflict(
            f"Reversing this entry needs {entry.delta} credits but the balance is {current}.",
            code="credits_already_spent",
        )
    return await _append(
        session,
        entry.user_id,
        current,
        last_seq,
        -entry.delta,
        reason,
        Source(
            booking_id=entry.booking_id,
            payment_id=entry.payment_id,
            subscription_id=entry.subscription_id,
            reverses_id=entry.id,
        ),
        actor,
        note or f"reversal of entry {entry.seq}",
    )


async def entries(
    session: AsyncSession, user_id: uuid.UUID, *, limit: int, before_seq: int | None
) -> list[CreditLedgerEntry]:
    query = select(CreditLedgerEntry).where(CreditLedgerEntry.user_id == user_id)
    if before_seq is not None:
        query = query.where(CreditLedgerEntry.seq < before_seq)
    rows = await session.scalars(query.order_by(CreditLedgerEntry.seq.desc()).limit(limit))
    return list(rows)
