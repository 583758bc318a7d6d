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

from sqlalchemy import select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.billing.models import CreditBalance, CreditLedgerEntry
from studyhall.kit.errors import Conflict, NotFound, PaymentRequired, Unprocessable
from studyhall.kit.logging import request_id_var
from studyhall.notifications import service as notifications

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


# One statement moves the balance, appends the entry and writes its audit row, so the row lock
# taken by the UPDATE is held for a single round trip plus the commit: on a hot account the
# lock, not the work, is what limits throughput.
_APPEND = text(
    """
    WITH moved AS (
        UPDATE credit_balances
        SET balance = balance + :delta, last_seq = last_seq + 1, updated_at = now()
        WHERE user_id = :user_id AND balance + :delta >= 0
        RETURNING balance, last_seq
    ), entry AS (
        INSERT INTO credit_ledger (user_id, seq, delta, reason, booking_id, payment_id,
            subscription_id, period_start, reverses_id, balance_after, actor_user_id, note)
        SELECT :user_id, moved.last_seq, :delta, CAST(:reason AS varchar),
            CAST(:booking_id AS uuid), CAST(:payment_id AS uuid), CAST(:subscription_id AS uuid),
            CAST(:period_start AS date), CAST(:reverses_id AS uuid), moved.balance,
            CAST(:actor AS uuid), CAST(:note AS varchar)
        FROM moved
        RETURNING id, seq, balance_after
    ), audited AS (
        INSERT INTO audit_log (actor_user_id, action, entity, entity_id, diff, request_id)
        SELECT CAST(:actor AS uuid), 'credits.' || CAST(:reason AS varchar), 'credit_ledger',
            entry.id::text,
            jsonb_build_object('user_id', CAST(:user_id AS uuid), 'delta', :delta,
                'balance_after', entry.balance_after, 'seq', entry.seq),
            CAST(:request_id AS varchar)
        FROM entry
    )
    SELECT id, seq, balance_after FROM entry
    """
)


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
    posted = await _append(session, user_id, delta, reason, source, actor, note)
    if posted is None:
        # No balance row yet (first entry), or not enough credits: tell them apart under lock.
        current, _ = await lock_balance(session, user_id)
        if current + delta >= 0:
            posted = await _append(session, user_id, delta, reason, source, actor, note)
    if posted is None:
        current = await balance(session, user_id)
        raise PaymentRequired(
            f"Not enough credits: the balance is {current} and this needs {-delta}.",
            code="insufficient_credits",
            balance=current,
            required=-delta,
        )
    # In the posting transaction (rule 3): the notice exists exactly when the debit does.
    await notifications.credit_low(session, user_id, posted.balance_after, rearm_only=delta > 0)
    return posted


async def _append(
    session: AsyncSession,
    user_id: uuid.UUID,
    delta: int,
    reason: str,
    source: Source | None,
    actor: uuid.UUID | None,
    note: str | None,
) -> Posted | None:
    src = source or Source()
    row = (
        await session.execute(
            _APPEND,
            {
                "user_id": user_id,
                "delta": delta,
                "reason": reason,
                "booking_id": src.booking_id,
                "payment_id": src.payment_id,
                "subscription_id": src.subscription_id,
                "period_start": src.period_start,
                "reverses_id": src.reverses_id,
                "actor": actor,
                "note": note,
                "request_id": request_id_var.get(),
            },
        )
    ).first()
    if row is None:
        return None
    return Posted(id=row.id, seq=row.seq, delta=delta, balance_after=row.balance_after)


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
    current, _ = await lock_balance(session, entry.user_id)
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
    posted = await _append(
        session,
        entry.user_id,
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
    assert posted is not None, "the balance was checked under the lock"
    return posted


async def entries(
    session: AsyncSession, user_id: uuid.UUID, *, limit: int, before_seq: int | None
) -> list[CreditLedgerEntry]:
    query = select(CreditLedgerEntry).where(CreditLedgerEntry.user_id == user_id)
    if before_seq is not None:
        query = query.where(CreditLedgerEntry.seq < before_seq)
    rows = await session.scalars(query.order_by(CreditLedgerEntry.seq.desc()).limit(limit))
    return list(rows)
