"""A Hypothesis state machine over the real services: buy, spend, grant, refund, reverse.

After every step the ledger must be an unbroken chain whose running sum equals every
``balance_after`` and the cached balance, never negative, and equal to a plain Python model.
"""

from __future__ import annotations

import asyncio
import math
import uuid
from collections.abc import Coroutine
from dataclasses import dataclass
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
from studyhall.billing import credit_packs, ledger, refunds
from studyhall.billing.payments import open_checkout
from studyhall.bootstrap import DatabaseUrls
from studyhall.config import Settings
from studyhall.db.engine import Database
from studyhall.kit.errors import DomainError

T = TypeVar("T")
PACKS = ((100, 1000), (30, 700), (7, 333))


@dataclass
class PaymentModel:
    id: uuid.UUID
    price: int
    credits: int
    refunded: int = 0
    removed: int = 0


@dataclass
class EntryModel:
    id: uuid.UUID
    delta: int
    reversed: bool = False


def test_ledger_invariants_hold_after_every_step(
    settings: Settings, database_urls: DatabaseUrls
) -> None:
    loop = asyncio.new_event_loop()
    database = Database.connect(database_urls.app, settings)

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
            self.balance = 0
            self.user_id = run(self._new_user())

        async def _new_user(self) -> uuid.UUID:
            async with database.transaction() as session:
                user = User(email=f"{uuid.uuid4().hex}@example.org", name="M", password_hash="x")
                session.add(user)
                await session.flush()
                return user.id

        async def _attempt(self, work: Any) -> DomainError | Any:
            try:
                async with database.transaction(self.user_id) as session:
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
            self.balance += credits
            return PaymentModel(started.payment.id, price, credits)

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
            self.balance -= amount
            return EntryModel(result.id, -amount)

        @rule(target=entries, amount=st.integers(1, 40))
        def grant(self, amount: int) -> EntryModel:
            result = run(self._attempt(lambda s, u: ledger.post(s, u.id, amount, "manual")))
            self.balance += amount
            return EntryModel(result.id, amount)

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
                    )
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
                self.balance -= needed

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
                self.balance -= entry.delta

        @invariant()
        def ledger_is_consistent(self) -> None:
            cached, rows = run(self._read())
            running = 0
            for expected_seq, (seq, delta, balance_after) in enumerate(rows, start=1):
                assert seq == expected_seq
                running += delta
                assert balance_after == running >= 0
            assert cached == running == self.balance

        async def _read(self) -> tuple[int, list[tuple[int, int, int]]]:
            async with database.transaction(self.user_id) as session:
                cached = await session.scalar(
                    text(
                        "SELECT coalesce(max(balance), 0) FROM credit_balances WHERE user_id = :u"
                    ),
                    {"u": self.user_id},
                )
                rows = await session.execute(
                    text(
                        "SELECT seq, delta, balance_after FROM credit_ledger "
                        "WHERE user_id = :u ORDER BY seq"
                    ),
                    {"u": self.user_id},
                )
                return int(cached or 0), [(r[0], r[1], r[2]) for r in rows]

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
        run(database.dispose())
        loop.close()
