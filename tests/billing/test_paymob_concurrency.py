"""Paymob under real concurrency: a callback racing reconciliations, renewal sweeps racing each
other and charge jobs racing each other still settle one payment once and charge once."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import httpx
from dateutil.relativedelta import relativedelta

from studyhall.billing.jobs import charge_saved_card, reconcile_payment, reconcile_pending
from studyhall.billing.providers.paymob import PaymobRejected
from studyhall.billing.service import subscriptions
from studyhall.db.engine import Database
from tests.billing.conftest import ledger_consistent, scalar
from tests.billing.fakes import FakeApi, paymob_transaction
from tests.billing.test_paymob import callback
from tests.billing.test_paymob_reconciliation import _buy
from tests.billing.test_paymob_saved_cards import (  # noqa: F401  (fixtures)
    cards,
    paymob,
    settings,
    subscribed_with_card,
)
from tests.billing.test_subscriptions import _end_period_at
from tests.conftest import run_jobs


async def test_a_callback_racing_reconciliations_is_applied_once(
    client: httpx.AsyncClient, owner_db: Database, db: Database, fake_paymob: FakeApi
) -> None:
    student_id, payment_id, order_id = await _buy(client, owner_db, db)
    paid = paymob_transaction(192036465, order_id, payment_id)
    fake_paymob.transactions[payment_id] = paid
    results = await asyncio.gather(
        reconcile_payment(payment_id=payment_id, attempt=1),
        reconcile_payment(payment_id=payment_id, attempt=1),
        reconcile_pending(),
        callback(client, paid),
    )
    assert results[3].status_code == 200
    await run_jobs()
    assert await scalar(db, "SELECT status FROM payments") == "succeeded"
    assert await ledger_consistent(db, student_id) == (80, 80)
    assert await scalar(db, "SELECT count(*) FROM webhook_events") == 1
    assert await scalar(db, "SELECT count(*) FROM audit_log WHERE action = 'payment.succeed'") == 1
    told = await scalar(
        db,
        "SELECT string_agg(channel, ',' ORDER BY channel) FROM notifications "
        "WHERE type = 'payment_success'",
    )
    assert told == "email,inapp"  # once per channel


async def test_racing_renewal_sweeps_and_charge_jobs_charge_one_period_once(
    client: httpx.AsyncClient,
    owner_db: Database,
    db: Database,
    paymob: FakeApi,  # noqa: F811
) -> None:
    member = await subscribed_with_card(client, owner_db, db)
    [card] = await cards(client, member.caller)
    end = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    await _end_period_at(owner_db, member.subscription_id, end)
    now = datetime.now(UTC)
    await asyncio.gather(*(subscriptions.run_renewals(db, now) for _ in range(3)))
    renewal_id = subscriptions.renewal_payment_id(uuid.UUID(member.subscription_id), end)
    outcomes = await asyncio.gather(
        *(
            charge_saved_card(payment_id=str(renewal_id), payment_method_id=card["id"])
            for _ in range(3)
        ),
        return_exceptions=True,
    )
    # A loser either found the winner's transaction or was refused by Paymob (order exists /
    # already paid): a job retry then finds the transaction by inquiry.
    assert all(o is None or isinstance(o, PaymobRejected) for o in outcomes), outcomes
    await run_jobs()
    assert len(paymob.posts("/api/acceptance/payments/pay")) == 1
    assert len(paymob.orders) == 1
    assert await scalar(db, "SELECT count(*) FROM payments") == 2
    assert await scalar(db, "SELECT status FROM payments WHERE id = :id", id=renewal_id) == (
        "succeeded"
    )
    current = (
        await client.get("/api/v1/billing/subscriptions/current", headers=member.caller.headers)
    ).json()
    assert current["status"] == "active"
    assert datetime.fromisoformat(current["current_period_end"]) == end + relativedelta(months=1)
    assert await ledger_consistent(db, member.caller.id) == (60, 60)
