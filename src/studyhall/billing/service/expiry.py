"""Credit expiry: which unspent credits expire when, derived from the append-only ledger.

Every grant (a positive entry that gives nothing back) is a *lot*; ``expires_at`` NULL = never.
Replaying a user's entries in ``seq`` order tells what is left of each lot:

- a debit spends the earliest-expiring lots first (never-expiring last, then oldest first); a
  debit that undoes a grant (its reversal, or a pack refund taking the pack's credits back)
  spends that grant first;
- credits given back from a debit (its reversal, or a refund of a booking paid with credits)
  return to the lots the debit spent, last out first back, and keep those lots' expiry;
- an ``expiry`` entry is a debit like any other: the job writes one for exactly what is left of
  the lots whose moment has passed, which FIFO order spends first.

So nothing about lots is stored but ``expires_at`` on grants: the ledger stays append-only and a
debit stays one conditional UPDATE. ``student_profiles.credit_next_expiry_at`` is only a hint of
when to look (never later than the truth), kept by grants and give-backs and reset by the job.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.accounts.models import StudentProfile, User
from studyhall.billing.config import billing_settings
from studyhall.billing.models import CreditLedgerEntry
from studyhall.billing.service import ledger
from studyhall.db.engine import Database
from studyhall.db.rls import cross_users

BATCH = 100
log = logging.getLogger(__name__)
UPCOMING = 5
_NEVER = datetime.max.replace(tzinfo=UTC)


@dataclass
class Lot:
    entry_id: uuid.UUID
    seq: int
    expires_at: datetime | None
    remaining: int

    def order(self) -> datetime:
        return self.expires_at or _NEVER

    def spending_order(self) -> tuple[datetime, int]:
        return self.order(), self.seq


@dataclass
class _Portion:
    """Credits a debit took from one lot (less what has been given back since)."""

    lot: Lot
    credits: int


@dataclass
class _Replay:
    # Only lots with credits left, so a long history replays in about linear time.
    lots: dict[uuid.UUID, Lot] = field(default_factory=dict)
    taken: dict[uuid.UUID, list[_Portion]] = field(default_factory=dict)
    booking_debits: dict[uuid.UUID, uuid.UUID] = field(default_factory=dict)
    pack_grants: dict[uuid.UUID, uuid.UUID] = field(default_factory=dict)

    def apply(self, entry: CreditLedgerEntry) -> None:
        if entry.delta > 0:
            self._credit(entry)
        else:
            self._debit(entry)

    def _credit(self, entry: CreditLedgerEntry) -> None:
        left = entry.delta
        debit = self._debit_given_back(entry)
        if debit is not None:
            for portion in reversed(self.taken[debit]):
                back = min(left, portion.credits)
                if back > 0:
                    portion.lot.remaining += back
                    portion.credits -= back
                    self.lots[portion.lot.entry_id] = portion.lot
                    left -= back
        if left > 0:
            self.lots[entry.id] = Lot(entry.id, entry.seq, entry.expires_at, left)
        if entry.reason == "purchase" and entry.payment_id is not None:
            self.pack_grants[entry.payment_id] = entry.id

    def _debit_given_back(self, entry: CreditLedgerEntry) -> uuid.UUID | None:
        if entry.reverses_id is not None and entry.reverses_id in self.taken:
            return entry.reverses_id
        if entry.reason == "refund" and entry.booking_id is not None:
            return self.booking_debits.get(entry.booking_id)
        return None

    def _debit(self, entry: CreditLedgerEntry) -> None:
        first = self._grant_undone(entry)
        lots = sorted(
            (lot for lot in self.lots.values() if lot is not first), key=Lot.spending_order
        )
        if first is not None:
            lots.insert(0, first)
        need = -entry.delta
        taken: list[_Portion] = []
        for lot in lots:
            if need == 0:
                break
            take = min(need, lot.remaining)
            lot.remaining -= take
            taken.append(_Portion(lot, take))
            need -= take
            if lot.remaining == 0:
                del self.lots[lot.entry_id]
        self.taken[entry.id] = taken
        if entry.reason == "booking" and entry.booking_id is not None:
            self.booking_debits[entry.booking_id] = entry.id

    def _grant_undone(self, entry: CreditLedgerEntry) -> Lot | None:
        if entry.reverses_id is not None:
            return self.lots.get(entry.reverses_id)
        if entry.reason == "refund" and entry.payment_id is not None:
            grant = self.pack_grants.get(entry.payment_id)
            return None if grant is None else self.lots.get(grant)
        return None


def unspent_lots(entries: list[CreditLedgerEntry]) -> list[Lot]:
    """What is left of each grant after ``entries`` (all of one user's, in ``seq`` order)."""
    replay = _Replay()
    for entry in entries:
        replay.apply(entry)
    return list(replay.lots.values())


async def _entries(session: AsyncSession, user_id: uuid.UUID) -> list[CreditLedgerEntry]:
    rows = await session.scalars(
        select(CreditLedgerEntry)
        .where(CreditLedgerEntry.user_id == user_id)
        .order_by(CreditLedgerEntry.seq)
    )
    return list(rows)


async def upcoming(session: AsyncSession, user_id: uuid.UUID) -> list[tuple[int, datetime]]:
    """The next few moments when unspent credits expire, with how many: ``(credits, when)``."""
    totals: dict[datetime, int] = {}
    for lot in unspent_lots(await _entries(session, user_id)):
        if lot.expires_at is not None:
            totals[lot.expires_at] = totals.get(lot.expires_at, 0) + lot.remaining
    return [(totals[when], when) for when in sorted(totals)[:UPCOMING]]


async def expire_user(session: AsyncSession, user_id: uuid.UUID, now: datetime) -> int:
    """Write the ``expiry`` entry for ``user_id``'s credits expired by ``now``; return how many.

    Takes the same row lock as every ledger write, so a debit racing with it either spends the
    credits first (and nothing of them is left to expire) or finds them gone.
    """
    balance, _ = await ledger.lock_balance(session, user_id)
    lots = unspent_lots(await _entries(session, user_id))
    due = min(balance, sum(lot.remaining for lot in lots if lot.order() <= now))
    if due > 0:
        await ledger.post(session, user_id, -due, "expiry", note=f"{due} credits expired unused")
    later = [lot.order() for lot in lots if now < lot.order() < _NEVER]
    await session.execute(
        update(StudentProfile)
        .where(StudentProfile.user_id == user_id)
        .values(credit_next_expiry_at=min(later, default=None))
    )
    return due


class ExpiryFailed(Exception):
    """Some students' credits could not be expired; every other student's were. Raised at the
    end of the sweep so the job's failure (and its error) is recorded like any job's, while one
    bad student never holds back the rest: they are all tried again at the next sweep."""

    def __init__(self, expired: int, failures: dict[uuid.UUID, str]) -> None:
        self.expired = expired
        self.failures = failures
        listed = "; ".join(f"{user_id}: {error}" for user_id, error in failures.items())
        super().__init__(f"credit expiry failed for {len(failures)} student(s): {listed}")


async def run_expiry(database: Database, now: datetime) -> int:
    """Expire what is due for every student, one small transaction per student.

    A student whose expiry fails is logged and skipped; the sweep goes on (in order of due
    time, then user id, so it moves past them) and raises ``ExpiryFailed`` at the end.
    """
    expired = 0
    failures: dict[uuid.UUID, str] = {}
    after: tuple[datetime, uuid.UUID] | None = None
    while True:
        due = await _due_batch(database, now, after)
        for when, user_id in due:
            try:
                async with database.transaction() as session:
                    await cross_users(session)
                    expired += await expire_user(session, user_id, now)
            except Exception as exc:
                log.exception("credit expiry failed", extra={"user_id": str(user_id)})
                failures[user_id] = f"{type(exc).__name__}: {exc}"[:500]
            after = (when, user_id)
        if len(due) < BATCH:
            break
    if failures:
        raise ExpiryFailed(expired, failures)
    return expired


async def _due_batch(
    database: Database, now: datetime, after: tuple[datetime, uuid.UUID] | None
) -> list[tuple[datetime, uuid.UUID]]:
    due_at = StudentProfile.credit_next_expiry_at
    query = (
        select(due_at, StudentProfile.user_id)
        .where(due_at <= now)
        .order_by(due_at, StudentProfile.user_id)
        .limit(BATCH)
    )
    if after is not None:
        # Students already visited moved on (their next expiry is ahead) unless they failed.
        query = query.where(tuple_(due_at, StudentProfile.user_id) > tuple_(*after))
    async with database.transaction() as session:
        await cross_users(session)
        rows = (await session.execute(query)).all()
    return [(when, user_id) for when, user_id in rows if when is not None]


async def pack_expiry(session: AsyncSession, user_id: uuid.UUID) -> datetime | None:
    """When credits bought now expire: ``credit_validity_days`` later on the buyer's local
    calendar, at the same wall-clock time (not a fixed number of hours), or never when the
    validity is 0."""
    days = billing_settings().credit_validity_days
    if days == 0:
        return None
    now, zone = (
        await session.execute(select(func.now(), User.timezone).where(User.id == user_id))
    ).one()
    local = now.astimezone(ZoneInfo(zone))
    return (local + timedelta(days=days)).astimezone(UTC)


def plan_credits_expiry(period_end: datetime) -> datetime | None:
    """Plan credits are for their period: they expire when it ends (never, if expiry is off)."""
    return None if billing_settings().credit_validity_days == 0 else period_end
