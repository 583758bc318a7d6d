"""A Hypothesis state machine over the real services: buy, spend, grant, refund, reverse, and
advance the clock and expire.

After every step the ledger must be an unbroken chain whose running sum equals every
``balance_after`` and the cached balance, never negative, and equal to a plain Python model. The
model holds credits one by one, each with its expiry: spending takes the earliest-expiring first,
undoing a grant takes that grant's credits first, giving a debit back returns the last credits it
took first, and the clock expires every credit whose moment has passed. What the ledger expired
must equal what the model expired, and never exceed what was granted with an expiry minus what
of it is spent.
"""

from __future__ import annotations

import asyncio
import math
import uuid
from collections.abc import Coroutine
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import text

from studyhall.accounts.models import User
from studyhall.billing.config import BillingSettings, configure_billing
from studyhall.billing.service import credit_packs, expiry, ledger, refunds
from studyhall.billing.service.payments import open_checkout
from studyhall.bootstrap import DatabaseUrls
from studyhall.config import Settings
from studyhall.db.engine import Database
from studyhall.db.rls import cross_users
from studyhall.kit.errors import DomainError

T = TypeVar("T")
PACKS = ((100, 1000), (30, 700), (7, 333))
VALIDITY_DAYS = 30
NEVER = datetime.max.replace(tzinfo=UTC)


@dataclass
class PaymentModel:
    id: uuid.UUID
    price: int
    credits: int
    grant_id: uuid.UUID
    refunded: int = 0
    removed: int = 0


@dataclass
class EntryModel:
    id: uuid.UUID
    delta: int
    reversed: bool = False


@dataclass(frozen=True)
class Credit:
    expires_at: datetime  # NEVER for credits that do not expire
    grant_seq: int
    grant_id: uuid.UUID


@dataclass
class Wallet:
    """The reference model: every unspent credit, and what each debit took, in order."""

    credits: list[Credit] = field(default_factory=list)
    taken: dict[uuid.UUID, list[Credit]] = field(default_factory=dict)
    grants: int = 0
    expired: int = 0
    granted_expiring: int = 0

    def grant(self, grant_id: uuid.UUID, amount: int, expires_at: datetime | None) -> None:
        self.grants += 1
        when = expires_at or NEVER
        self.credits += [Credit(when, self.grants, grant_id)] * amount
        if expires_at is not None:
            self.granted_expiring += amount

    def debit(self, debit_id: uuid.UUID, amount: int, undoes: uuid.UUID | None = None) -> None:
        self.credits.sort(key=lambda c: (c.grant_id != undoes, c.expires_at, c.grant_seq))
        self.taken[debit_id] = self.credits[:amount]
        del self.credits[:amount]

    def give_back(self, debit_id: uuid.UUID, amount: int) -> None:
        taken = self.taken[debit_id]
        self.credits += taken[len(taken) - amount :]
        del taken[len(taken) - amount :]

    def expire(self, now: datetime) -> None:
        kept = [c for c in self.credits if c.expires_at > now]
        self.expired += len(self.credits) - len(kept)
        self.credits = kept

    def expiring_out(self) -> int:
        """Credits with an expiry that debits hold (spent and not given back)."""
        return sum(c.expires_at < NEVER for took in self.taken.values() for c in took)

    def upcoming(self) -> list[tuple[int, datetime]]:
        totals: dict[datetime, int] = {}
        for c in self.credits:
            if c.expires_at < NEVER:
                totals[c.expires_at] = totals.get(c.expires_at, 0) + 1
        return [(totals[when], when) for when in sorted(totals)[: expiry.UPCOMING]]


def test_ledger_invariants_hold_after_every_step(
    settings: Settings, database_urls: DatabaseUrls
) -> None:
    loop = asyncio.new_event_loop()
    database = Database.connect(database_urls.app, settings)
    configure_billing(
        BillingSettings(_env_file=None, credit_validity_days=VALIDITY_DAYS)  # type: ignore[call-arg]
    )

    def run(coro: Coroutine[Any, Any, T]) -> T:
        return loop.run_until_complete(coro)

    async def setup() -> list[uuid.UUID]:
        async with database.transaction() as session:
            ids = []
            for credits, price in PACKS:
                ids.append(
                    await session.scalar(
                        text(
                            "INSERT INTO credit_packs (name, credits, price_cents, currency) "
                            "VALUES ('p', :c, :p, 'USD') RETURNING id"
                        ),
                        {"c": credits, "p": price},
                    )
                )
            return ids

    pack_ids = run(setup())

    class LedgerMachine(RuleBasedStateMachine):
        payments = Bundle("payments")
        entries = Bundle("entries")

        @initialize()
        def new_user(self) -> None:
            self.wallet = Wallet()
            self.now = datetime.now(UTC)
            self.user_id = run(self._new_user())

        @property
        def balance(self) -> int:
            return len(self.wallet.credits)

        async def _new_user(self) -> uuid.UUID:
            async with database.transaction() as session:
                user = User(email=f"{uuid.uuid4().hex}@example.org", name="M", password_hash="x")
                session.add(user)
                await session.flush()
                return user.id

        async def _attempt(self, work: Any, *, crossing: bool = False) -> DomainError | Any:
            try:
                async with database.transaction(self.user_id) as session:
                    if crossing:  # an admin's or the system's unit of work
                        await cross_users(session)
                    user = await session.get(User, self.user_id)
                    return await work(session, user)
            except DomainError as exc:
                return exc

        @rule(target=payments, pack=st.integers(0, len(PACKS) - 1))
        def buy(self, pack: int) -> PaymentModel:
            pending = run(
                self._attempt(lambda s, u: credit_packs.purchase(s, u, pack_ids[pack], None))
            )
            started = run(open_checkout(database, pending.id))
            assert started.payment.status == "succeeded"
            credits, price = PACKS[pack]
            grant_id, created_at, expires_at = run(self._purchase_entry(started.payment.id))
            assert expires_at == created_at + timedelta(days=VALIDITY_DAYS)  # the zone is UTC
            self.wallet.grant(grant_id, credits, expires_at)
            return PaymentModel(started.payment.id, price, credits, grant_id)

        async def _purchase_entry(self, payment_id: uuid.UUID) -> tuple[uuid.UUID, Any, Any]:
            async with database.transaction(self.user_id) as session:
                row = (
                    await session.execute(
                        text(
                            "SELECT id, created_at, expires_at FROM credit_ledger "
                            "WHERE payment_id = :p AND reason = 'purchase'"
                        ),
                        {"p": payment_id},
                    )
                ).one()
                return row[0], row[1], row[2]

        @rule(target=entries, amount=st.integers(1, 60))
        def spend(self, amount: int) -> EntryModel:
            result = run(
                self._attempt(
                    lambda s, u: ledger.post(
                        s, u.id, -amount, "booking", source=ledger.Source(booking_id=uuid.uuid4())
                    )
                )
            )
            if amount > self.balance:
                assert isinstance(result, DomainError) and result.code == "insufficient_credits"
                return EntryModel(uuid.uuid4(), 0, reversed=True)
            self.wallet.debit(result.id, amount)
            return EntryModel(result.id, -amount)

        @rule(
            target=entries,
            amount=st.integers(1, 40),
            days=st.one_of(st.none(), st.integers(0, 40)),
        )
        def grant(self, amount: int, days: int | None) -> EntryModel:
            expires_at = None if days is None else self.now + timedelta(days=days, hours=1)
            result = run(
                self._attempt(
                    lambda s, u: ledger.post(s, u.id, amount, "manual", expires_at=expires_at)
                )
            )
            self.wallet.grant(result.id, amount, expires_at)
            return EntryModel(result.id, amount)

        @rule(days=st.integers(0, 20))
        def advance_the_clock_and_expire(self, days: int) -> None:
            self.now += timedelta(days=days)
            run(expiry.run_expiry(database, self.now))
            self.wallet.expire(self.now)

        @rule(payment=payments, amount=st.integers(1, 1200))
        def refund(self, payment: PaymentModel, amount: int) -> None:
            result = run(
                self._attempt(
                    lambda s, u: refunds.request(
                        s,
                        payment.id,
                        amount_cents=amount,
                        currency=None,
                        reason="admin",
                        actor=None,
                    ),
                    # Refunds are written only by units of work that cross users (admin routes,
                    # cancellations, provider callbacks), never in the payer's own name.
                    crossing=True,
                )
            )
            refundable = payment.price - payment.refunded
            needed = (
                math.ceil(payment.credits * (payment.refunded + amount) / payment.price)
                - payment.removed
            )
            if refundable == 0:
                assert isinstance(result, DomainError) and result.code == "already_refunded"
            elif amount > refundable:
                assert isinstance(result, DomainError) and result.code == "refund_exceeds_captured"
            elif needed > self.balance:
                assert isinstance(result, DomainError) and result.code == "credits_already_spent"
            else:
                assert not isinstance(result, DomainError), result
                payment.refunded += amount
                payment.removed += needed
                if needed > 0:
                    self.wallet.debit(uuid.uuid4(), needed, undoes=payment.grant_id)

        @rule(entry=entries)
        def reverse(self, entry: EntryModel) -> None:
            if entry.delta == 0:
                return
            result = run(
                self._attempt(lambda s, u: ledger.reverse(s, entry.id, actor=None, note=None))
            )
            if entry.reversed:
                assert isinstance(result, DomainError) and result.code == "already_reversed"
            elif self.balance - entry.delta < 0:
                assert isinstance(result, DomainError) and result.code == "credits_already_spent"
            else:
                assert not isinstance(result, DomainError), result
                entry.reversed = True
                if entry.delta > 0:
                    self.wallet.debit(result.id, entry.delta, undoes=entry.id)
                else:
                    self.wallet.give_back(entry.id, -entry.delta)

        @invariant()
        def ledger_is_consistent(self) -> None:
            cached, hint, rows, upcoming = run(self._read())
            running = expired = 0
            for expected_seq, (seq, delta, balance_after, reason) in enumerate(rows, start=1):
                assert seq == expected_seq
                running += delta
                assert balance_after == running >= 0
                expired -= delta if reason == "expiry" else 0
            assert cached == running == self.balance
            wallet = self.wallet
            assert expired == wallet.expired
            assert expired <= wallet.granted_expiring - wallet.expiring_out()
            assert upcoming == wallet.upcoming()
            # The sweep's hint is never later than the first credit due to expire.
            if upcoming:
                assert hint is not None and hint <= upcoming[0][1]

        async def _read(self) -> tuple[int, Any, list[tuple[int, int, int, str]], Any]:
            async with database.transaction(self.user_id) as session:
                profile = (
                    await session.execute(
                        text(
                            "SELECT credit_balance, credit_next_expiry_at FROM student_profiles "
                            "WHERE user_id = :u"
                        ),
                        {"u": self.user_id},
                    )
                ).first()
                rows = await session.execute(
                    text(
                        "SELECT seq, delta, balance_after, reason FROM credit_ledger "
                        "WHERE user_id = :u ORDER BY seq"
                    ),
                    {"u": self.user_id},
                )
                entries = [(r[0], r[1], r[2], r[3]) for r in rows]
                upcoming = await expiry.upcoming(session, self.user_id)
                cached, hint = (0, None) if profile is None else (profile[0], profile[1])
                return int(cached), hint, entries, upcoming

    try:
        run_state_machine_as_test(
            LedgerMachine,
            settings=hypothesis_settings(
                max_examples=25,
                stateful_step_count=20,
                deadline=None,
                suppress_health_check=[HealthCheck.too_slow],
            ),
        )
    finally:
        configure_billing(None)
        run(database.dispose())
        loop.close()
