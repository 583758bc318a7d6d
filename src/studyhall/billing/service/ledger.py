"""The credit ledger: an append-only chain per user, its balance cached on the student profile.

Every write locks the user's ``student_profiles`` row first: the lock serializes writers,
the CHECK constraints make a negative balance impossible even for a buggy caller, and UNIQUE
(``user_id``, ``seq``) turns any writer that skipped the lock into a constraint error instead of a
forked chain. Credits are a student thing: a student without a profile row gets one on the first
entry (as accounts does on first read); anyone else is refused (422 ``credits_for_students_only``).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import ColumnElement, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.accounts import service as accounts_profiles
from studyhall.accounts.models import StudentProfile, User
from studyhall.billing.models import CreditLedgerEntry
from studyhall.kit.errors import Conflict, NotFound, PaymentRequired, Unprocessable
from studyhall.kit.logging import request_id_var
from studyhall.kit.paging import PageRequest, after
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
    """``(balance, ledger seq)`` with the profile row locked until the transaction ends."""
    row = await _lock_profile(session, user_id)
    if row is None:
        await _create_student_profile(session, user_id)
        row = await _lock_profile(session, user_id)
    if row is None:
        raise RuntimeError(
            f"row-level security hides the student profile of {user_id} from this transaction: "
            "code that writes another user's credits must trust its session (billing.rls)."
        )
    return row


async def _lock_profile(session: AsyncSession, user_id: uuid.UUID) -> tuple[int, int] | None:
    row = (
        await session.execute(
            select(StudentProfile.credit_balance, StudentProfile.credit_ledger_seq)
            .where(StudentProfile.user_id == user_id)
            .with_for_update()
        )
    ).first()
    return None if row is None else (int(row[0]), int(row[1]))


async def holds_credits(session: AsyncSession, user_id: uuid.UUID) -> bool:
    """A student, or anyone who already has a student profile (a student who became a tutor)."""
    has_profile = await session.scalar(
        select(StudentProfile.id).where(StudentProfile.user_id == user_id)
    )
    if has_profile is not None:
        return True
    return await session.scalar(select(User.role).where(User.id == user_id)) == "student"


async def require_holder(session: AsyncSession, user_id: uuid.UUID) -> None:
    if not await holds_credits(session, user_id):
        raise Unprocessable(
            "Credits are for students: this account has no student profile to hold them.",
            code="credits_for_students_only",
        )


async def _create_student_profile(session: AsyncSession, user_id: uuid.UUID) -> None:
    user = await session.get(User, user_id)
    if user is None:
        raise NotFound("No such user.", code="user_not_found")
    await require_holder(session, user_id)
    await accounts_profiles.ensure_profile(session, user)


async def balance(session: AsyncSession, user_id: uuid.UUID) -> int:
    value = await session.scalar(
        select(StudentProfile.credit_balance).where(StudentProfile.user_id == user_id)
    )
    return int(value or 0)


# One statement moves the balance, appends the entry and writes its audit row, so the row lock
# taken by the UPDATE is held for a single round trip plus the commit: on a hot account the
# lock, not the work, is what limits throughput.
_APPEND = text(
    """
    WITH moved AS (
        UPDATE student_profiles
        SET credit_balance = credit_balance + :delta, credit_ledger_seq = credit_ledger_seq + 1,
            credit_next_expiry_at = LEAST(credit_next_expiry_at,
                CAST(:next_expiry_at AS timestamptz))
        WHERE user_id = :user_id AND credit_balance + :delta >= 0
        RETURNING credit_balance, credit_ledger_seq
    ), entry AS (
        INSERT INTO credit_ledger (user_id, seq, delta, reason, booking_id, payment_id,
            subscription_id, period_start, reverses_id, balance_after, actor_user_id, note,
            expires_at)
        SELECT :user_id, moved.credit_ledger_seq, :delta, CAST(:reason AS varchar),
            CAST(:booking_id AS uuid), CAST(:payment_id AS uuid), CAST(:subscription_id AS uuid),
            CAST(:period_start AS date), CAST(:reverses_id AS uuid), moved.credit_balance,
            CAST(:actor AS uuid), CAST(:note AS varchar), CAST(:expires_at AS timestamptz)
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
    expires_at: datetime | None = None,
) -> Posted:
    """Append one entry. A debit the balance cannot cover raises 402 and writes nothing.

    ``expires_at`` makes a grant's credits expire unspent at that moment (``expiry``).
    """
    if delta == 0 or abs(delta) > MAX_DELTA:
        raise Unprocessable(
            f"A credit change must be non-zero and at most {MAX_DELTA} in size.",
            code="invalid_credit_delta",
        )
    if expires_at is not None and delta < 0:
        raise Unprocessable("Only a grant of credits can expire.", code="invalid_credit_expiry")
    entry = _Entry(user_id, delta, reason, source or Source(), actor, note, expires_at)
    posted = await _append(session, entry)
    if posted is None:
        # No profile row yet (first entry), or not enough credits: tell them apart under lock.
        current, _ = await lock_balance(session, user_id)
        if current + delta >= 0:
            posted = await _append(session, entry)
    if posted is None:
        current = await balance(session, user_id)
        raise PaymentRequired(
            f"Not enough credits: the balance is {current} and this needs {-delta}.",
            code="insufficient_credits",
            balance=current,
            required=-delta,
        )
    # In the posting transaction: the notice exists exactly when the debit does.
    await notifications.credit_low(session, user_id, posted.balance_after, rearm_only=delta > 0)
    return posted


async def adjust(
    session: AsyncSession, user_id: uuid.UUID, delta: int, *, actor: uuid.UUID, note: str
) -> Posted:
    """An admin's manual entry (positive grants, negative takes back) on a live account; audited
    with the entry like every other."""
    await accounts_profiles.get_user(session, user_id)
    return await post(session, user_id, delta, "manual", actor=actor, note=note)


@dataclass(frozen=True)
class _Entry:
    user_id: uuid.UUID
    delta: int
    reason: str
    source: Source
    actor: uuid.UUID | None
    note: str | None
    expires_at: datetime | None

    def gives_back(self) -> bool:
        """Credits returned from a debit (a reversal, a booking refund) go back to the grants
        the debit spent, with their expiry: the expiry job must look at this student again."""
        return self.delta > 0 and (
            self.source.reverses_id is not None
            or (self.reason == "refund" and self.source.booking_id is not None)
        )


async def _append(session: AsyncSession, entry: _Entry) -> Posted | None:
    src = entry.source
    next_expiry_at = entry.expires_at or (datetime.now(UTC) if entry.gives_back() else None)
    row = (
        await session.execute(
            _APPEND,
            {
                "user_id": entry.user_id,
                "delta": entry.delta,
                "reason": entry.reason,
                "booking_id": src.booking_id,
                "payment_id": src.payment_id,
                "subscription_id": src.subscription_id,
                "period_start": src.period_start,
                "reverses_id": src.reverses_id,
                "actor": entry.actor,
                "note": entry.note,
                "expires_at": entry.expires_at,
                "next_expiry_at": next_expiry_at,
                "request_id": request_id_var.get(),
            },
        )
    ).first()
    if row is None:
        return None
    return Posted(id=row.id, seq=row.seq, delta=entry.delta, balance_after=row.balance_after)


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
    if entry.reason == "expiry":
        # Giving expired credits back with their old expiry would only expire them again.
        raise Conflict(
            "Expired credits are not restored by reversal; grant a manual entry instead.",
            code="cannot_reverse_expiry",
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
    reversal = _Entry(
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
        None,
    )
    posted = await _append(session, reversal)
    assert posted is not None, "the balance was checked under the lock"
    return posted


async def entries(
    session: AsyncSession, user_id: uuid.UUID, page: PageRequest
) -> tuple[list[CreditLedgerEntry], str | None]:
    """One page of the user's ledger, newest first, and the cursor of the next."""
    query = select(CreditLedgerEntry).where(CreditLedgerEntry.user_id == user_id)
    order: list[ColumnElement[Any]] = [CreditLedgerEntry.seq.expression]
    beyond = after(order, page.key(int), descending=True)
    if beyond is not None:
        query = query.where(beyond)
    query = query.order_by(CreditLedgerEntry.seq.desc()).limit(page.limit + 1)
    return page.of(list(await session.scalars(query)), lambda entry: (entry.seq,))
