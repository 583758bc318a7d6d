"""Paymob reconciliation: a payment whose callback never came is settled by asking Paymob
(transaction inquiry by our merchant order id), through the same path a verified callback takes."""

from __future__ import annotations

import uuid

import httpx
from sqlalchemy import text

from studyhall.billing.config import billing_settings, configure_billing
from studyhall.billing.jobs import reconcile_payment, reconcile_pending
from studyhall.db.engine import Database
from studyhall.db.rls import cross_users
from tests.billing.conftest import create_pack, ledger_consistent, make_admin, scalar, sign_up
from tests.billing.fakes import FakeApi, paymob_transaction
from tests.billing.test_paymob import callback
from tests.conftest import run_jobs

INQUIRY = "/api/ecommerce/orders/transaction_inquiry"


async def _buy(
    client: httpx.AsyncClient, owner_db: Database, db: Database
) -> tuple[uuid.UUID, str, int]:
    """A student's pending Paymob purchase of 80 credits, started an hour ago."""
    admin = await make_admin(client, owner_db)
    pack_id = await create_pack(client, admin, credits=80, price_cents=100000, currency="EGP")
    student = await sign_up(client)
    bought = await client.post(
        f"/api/v1/billing/credit-packs/{pack_id}/purchase", json={}, headers=student.with_key()
    )
    assert bought.status_code == 201, bought.text
    payment_id = str(bought.json()["payment"]["id"])
    async with owner_db.transaction() as session:
        await session.execute(
            text("UPDATE payments SET created_at = now() - interval '1 hour' WHERE id = :id"),
            {"id": uuid.UUID(payment_id)},
        )
    order_id = await scalar(db, "SELECT provider_checkout_id FROM payments")
    return student.id, payment_id, int(str(order_id))


async def _payment(db: Database, payment_id: str) -> tuple[object, ...]:
    async with db.transaction() as session:
        await cross_users(session)
        row = (
            await session.execute(
                text(
                    "SELECT status, provider_payment_id, failure_code FROM payments WHERE id = :id"
                ),
                {"id": uuid.UUID(payment_id)},
            )
        ).one()
    return tuple(row)


async def _reconcile_attempts(owner_db: Database, payment_id: str) -> list[int]:
    async with owner_db.transaction() as session:
        rows = await session.scalars(
            text(
                "SELECT (args->>'attempt')::int FROM procrastinate_jobs "
                "WHERE task_name = 'studyhall.billing.reconcile_payment' "
                "AND args->>'payment_id' = :p ORDER BY id"
            ),
            {"p": payment_id},
        )
        return list(rows)


async def test_a_missed_callback_is_settled_by_inquiry_and_the_late_callback_is_a_duplicate(
    client: httpx.AsyncClient, owner_db: Database, db: Database, fake_paymob: FakeApi
) -> None:
    student_id, payment_id, order_id = await _buy(client, owner_db, db)
    assert order_id == 217500001  # the intention's order, as Paymob's callbacks name it
    paid = paymob_transaction(192036465, order_id, payment_id)
    fake_paymob.transactions[payment_id] = paid

    assert await reconcile_pending() == 1
    assert await _payment(db, payment_id) == ("succeeded", "192036465", None)
    assert await ledger_consistent(db, student_id) == (80, 80)
    [auth] = fake_paymob.posts("/api/auth/tokens")
    assert auth.params == {"api_key": "paymob_api_key_test"}
    [inquiry] = fake_paymob.posts(INQUIRY)
    assert inquiry.params == {"merchant_order_id": payment_id}
    assert inquiry.authorization == "Bearer auth_0002"
    assert await scalar(db, "SELECT event_id FROM webhook_events") == "192036465"

    late = await callback(client, paid)
    assert late.json() == {"received": True, "duplicate": True, "event_id": "192036465"}
    await run_jobs()
    assert await ledger_consistent(db, student_id) == (80, 80)
    assert await scalar(db, "SELECT count(*) FROM webhook_events") == 1
    assert await scalar(db, "SELECT count(*) FROM audit_log WHERE action = 'payment.succeed'") == 1
    assert await reconcile_pending() == 0
    assert len(fake_paymob.posts(INQUIRY)) == 1


async def test_a_callback_applied_first_leaves_nothing_for_the_inquiry_to_do(
    client: httpx.AsyncClient, owner_db: Database, db: Database, fake_paymob: FakeApi
) -> None:
    student_id, payment_id, order_id = await _buy(client, owner_db, db)
    paid = paymob_transaction(192036465, order_id, payment_id)
    fake_paymob.transactions[payment_id] = paid
    await callback(client, paid)
    # The stored callback has not been applied yet when the job asks Paymob.
    await reconcile_payment(payment_id=payment_id, attempt=1)
    assert await _payment(db, payment_id) == ("succeeded", "192036465", None)
    await run_jobs()
    assert await ledger_consistent(db, student_id) == (80, 80)
    assert await scalar(db, "SELECT count(*) FROM webhook_events") == 1
    assert await _reconcile_attempts(owner_db, payment_id) == [1]


async def test_a_declined_transaction_found_by_inquiry_fails_the_payment(
    client: httpx.AsyncClient, owner_db: Database, db: Database, fake_paymob: FakeApi
) -> None:
    student_id, payment_id, order_id = await _buy(client, owner_db, db)
    fake_paymob.transactions[payment_id] = paymob_transaction(
        555, order_id, payment_id, success=False, data={"txn_response_code": "DECLINED"}
    )
    await reconcile_payment(payment_id=payment_id, attempt=1)
    assert await _payment(db, payment_id) == ("failed", None, "DECLINED")
    assert await ledger_consistent(db, student_id) == (0, 0)
    # Settled: no further inquiry is scheduled.
    assert await _reconcile_attempts(owner_db, payment_id) == [1]


async def test_an_order_not_paid_yet_stays_pending_and_is_asked_about_again(
    client: httpx.AsyncClient, owner_db: Database, db: Database, fake_paymob: FakeApi
) -> None:
    _, payment_id, _ = await _buy(client, owner_db, db)
    await reconcile_payment(payment_id=payment_id, attempt=1)
    assert await _payment(db, payment_id) == ("pending", None, None)
    assert len(fake_paymob.posts(INQUIRY)) == 1
    assert await _reconcile_attempts(owner_db, payment_id) == [1, 2]


async def test_an_unreachable_paymob_leaves_the_payment_pending_until_it_answers(
    client: httpx.AsyncClient, owner_db: Database, db: Database, fake_paymob: FakeApi
) -> None:
    student_id, payment_id, order_id = await _buy(client, owner_db, db)
    fake_paymob.transactions[payment_id] = paymob_transaction(192036465, order_id, payment_id)

    fake_paymob.outage = "error"
    assert await reconcile_pending() == 0
    await reconcile_payment(payment_id=payment_id, attempt=1)
    assert await _payment(db, payment_id) == ("pending", None, None)
    assert await _reconcile_attempts(owner_db, payment_id) == [1, 2]

    fake_paymob.outage, fake_paymob.hang_s = "hang", 1.0
    configure_billing(billing_settings().model_copy(update={"paymob_timeout_s": 0.2}))
    await reconcile_payment(payment_id=payment_id, attempt=2)
    assert await _payment(db, payment_id) == ("pending", None, None)
    assert await _reconcile_attempts(owner_db, payment_id) == [1, 2, 3]
    assert await ledger_consistent(db, student_id) == (0, 0)

    fake_paymob.outage = None
    await reconcile_payment(payment_id=payment_id, attempt=3)
    assert await _payment(db, payment_id) == ("succeeded", "192036465", None)
    assert await ledger_consistent(db, student_id) == (80, 80)
    assert await _reconcile_attempts(owner_db, payment_id) == [1, 2, 3]


async def test_a_pending_report_does_not_swallow_the_final_callback(
    client: httpx.AsyncClient, owner_db: Database, db: Database, fake_paymob: FakeApi
) -> None:
    student_id, payment_id, order_id = await _buy(client, owner_db, db)
    waiting = paymob_transaction(777, order_id, payment_id, pending=True, success=False)
    assert (await callback(client, waiting)).json()["event_id"] == "777:pending"
    await run_jobs()
    assert await _payment(db, payment_id) == ("pending", None, None)
    settled = paymob_transaction(777, order_id, payment_id)
    assert (await callback(client, settled)).json() == {
        "received": True,
        "duplicate": False,
        "event_id": "777",
    }
    await run_jobs()
    assert await _payment(db, payment_id) == ("succeeded", "777", None)
    assert await ledger_consistent(db, student_id) == (80, 80)


async def test_without_an_api_key_the_sweep_leaves_paymob_payments_to_their_callbacks(
    client: httpx.AsyncClient, owner_db: Database, db: Database, fake_paymob: FakeApi
) -> None:
    _, payment_id, _ = await _buy(client, owner_db, db)
    configure_billing(billing_settings().model_copy(update={"paymob_api_key": None}))
    assert await reconcile_pending() == 0
    await reconcile_payment(payment_id=payment_id, attempt=1)
    assert await _payment(db, payment_id) == ("pending", None, None)
    assert fake_paymob.posts("/api/auth/tokens") == []
    assert await _reconcile_attempts(owner_db, payment_id) == [1, 2]
