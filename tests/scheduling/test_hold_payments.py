"""A hold that ends unpaid cancels its pending provider payment, from a job, at the local Stripe
stand-in; a payment Stripe had already taken is refunded instead."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from studyhall.db.engine import Database
from studyhall.scheduling.jobs import release_expired_holds
from tests.billing.conftest import SECRET
from tests.billing.fakes import FakeApi, serve
from tests.conftest import run_jobs
from tests.scheduling.conftest import API, MarketFactory, book, rows, sign_up, use_billing

pytestmark = pytest.mark.filterwarnings("ignore:Use 'content=<...>':DeprecationWarning")

PRICE = 2500


@pytest.fixture
def stripe_api() -> Iterator[FakeApi]:
    with serve("stripe") as api:
        use_billing(
            default_provider="stripe",
            stripe_api_key=SecretStr("sk_test_local"),
            stripe_api_base=api.url,
            stripe_webhook_secrets=[SecretStr(SECRET)],
        )
        yield api


async def _payment(owner_db: Database, payment_id: str) -> tuple[Any, ...]:
    found = await rows(
        owner_db,
        "SELECT status, failure_code, failure_message, amount_refunded_cents, provider_payment_id "
        "FROM payments WHERE id = :id",
        id=payment_id,
    )
    return tuple(found[0])


async def _booking(owner_db: Database, booking_id: str) -> tuple[Any, ...]:
    found = await rows(
        owner_db,
        "SELECT status, cancellation_reason, payment_status, amount_captured_cents, "
        "amount_refunded_cents, refund_due_cents FROM bookings WHERE id = :id",
        id=booking_id,
    )
    return tuple(found[0])


async def _expire(owner_db: Database, booking_id: str) -> None:
    await rows(
        owner_db,
        "UPDATE bookings SET hold_expires_at = now() - interval '1 second' WHERE id = :id "
        "RETURNING id",
        id=booking_id,
    )


async def test_an_expired_or_canceled_hold_cancels_its_payment_intent(
    client: httpx.AsyncClient, owner_db: Database, market: MarketFactory, stripe_api: FakeApi
) -> None:
    m = await market(price_cents=PRICE)
    student = await sign_up(client)
    expiring = (await book(client, student, m.open_slots[0]["id"])).json()
    canceled = (await book(client, student, m.open_slots[1]["id"])).json()
    expiring_payment = expiring["payment"]["payment_id"]
    canceled_payment = canceled["payment"]["payment_id"]
    first_intent = (await _payment(owner_db, expiring_payment))[4]
    second_intent = (await _payment(owner_db, canceled_payment))[4]

    await _expire(owner_db, expiring["id"])
    await release_expired_holds()
    answer = await client.post(
        f"{API}/bookings/{canceled['id']}/cancel", json={}, headers=student.headers
    )
    assert answer.status_code == 200, answer.text
    # Nothing is canceled at Stripe inside those transactions: billing's job does it.
    assert [c.path for c in stripe_api.calls if c.path.endswith("/cancel")] == []
    await run_jobs()

    cancels = [c for c in stripe_api.calls if c.path.endswith("/cancel")]
    assert sorted((c.path, c.idempotency_key, c.params) for c in cancels) == sorted(
        [
            (
                f"/v1/payment_intents/{first_intent}/cancel",
                f"cancel-payment-{expiring_payment}",
                {"cancellation_reason": "abandoned"},
            ),
            (
                f"/v1/payment_intents/{second_intent}/cancel",
                f"cancel-payment-{canceled_payment}",
                {"cancellation_reason": "abandoned"},
            ),
        ]
    )
    assert await _payment(owner_db, expiring_payment) == (
        "failed",
        "hold_expired",
        "The booking's hold expired before it was paid.",
        0,
        first_intent,
    )
    assert await _payment(owner_db, canceled_payment) == (
        "failed",
        "booking_canceled",
        "The booking was canceled before it was paid.",
        0,
        second_intent,
    )
    assert await _booking(owner_db, expiring["id"]) == (
        "canceled",
        "hold_expired",
        "canceled",
        0,
        0,
        0,
    )
    assert (await _booking(owner_db, canceled["id"]))[0] == "canceled"
    assert await rows(owner_db, "SELECT count(*) FROM refunds") == [(0,)]
    assert await rows(
        owner_db,
        "SELECT count(*) FROM slots WHERE id IN (:a, :b) AND seats_taken = 0",
        a=m.open_slots[0]["id"],
        b=m.open_slots[1]["id"],
    ) == [(2,)]

    await run_jobs()  # a second run finds nothing pending and calls Stripe no more
    assert len([c for c in stripe_api.calls if c.path.endswith("/cancel")]) == 2


async def test_a_payment_stripe_took_before_the_cancel_is_refunded(
    client: httpx.AsyncClient, owner_db: Database, market: MarketFactory, stripe_api: FakeApi
) -> None:
    m = await market(price_cents=PRICE)
    student = await sign_up(client)
    body = (await book(client, student, m.open_slots[0]["id"])).json()
    payment_id = body["payment"]["payment_id"]
    intent = (await _payment(owner_db, payment_id))[4]
    # The student paid at the last moment; the webhook has not arrived yet.
    stripe_api.objects[intent]["status"] = "succeeded"

    await _expire(owner_db, body["id"])
    await release_expired_holds()
    await run_jobs()

    assert await _payment(owner_db, payment_id) == ("refunded", None, None, PRICE, intent)
    assert await _booking(owner_db, body["id"]) == (
        "canceled",
        "hold_expired",
        "refunded",
        PRICE,
        PRICE,
        0,
    )
    assert await rows(
        owner_db,
        "SELECT amount_cents, status, reason FROM refunds WHERE payment_id = :p",
        p=payment_id,
    ) == [(PRICE, "succeeded", "hold_expired")]
    refunds = stripe_api.posts("/v1/refunds")
    assert [(c.params["payment_intent"], c.params["amount"]) for c in refunds] == [
        (intent, str(PRICE))
    ]


async def test_an_expired_paymob_hold_fails_its_payment_without_a_call(
    client: httpx.AsyncClient, owner_db: Database, market: MarketFactory
) -> None:
    with serve("paymob") as api:
        use_billing(
            default_provider="paymob",
            paymob_secret_key=SecretStr("egy_sk_test"),
            paymob_public_key="egy_pk_test",
            paymob_integration_id=4097558,
            paymob_api_base=api.url,
            paymob_hmac_secrets=[SecretStr("paymob_hmac")],
        )
        m = await market(price_cents=PRICE, currency="EGP")
        student = await sign_up(client)
        body = (await book(client, student, m.open_slots[0]["id"])).json()
        assert body["payment"]["payment_key"] is not None
        calls_after_booking = len(api.calls)

        await _expire(owner_db, body["id"])
        await release_expired_holds()
        await run_jobs()

        # An unpaid Paymob key has nothing to cancel: only our payment changes.
        assert len(api.calls) == calls_after_booking
        payment = await _payment(owner_db, body["payment"]["payment_id"])
        assert payment[:4] == (
            "failed",
            "hold_expired",
            "The booking's hold expired before it was paid.",
            0,
        )
        assert (await _booking(owner_db, body["id"]))[:3] == (
            "canceled",
            "hold_expired",
            "canceled",
        )
