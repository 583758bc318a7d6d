"""Tutor payouts: statements from completed bookings, refunds after payout carried, manual
payment by an admin, and Stripe Connect (onboarding, transfers, webhooks once and in any order)
against the local Stripe stand-in, webhooks signed with the SDK's own helper."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import stripe
from pydantic import SecretStr

from studyhall.billing.jobs import transfer_statement
from studyhall.db.engine import Database
from studyhall.scheduling.jobs import complete_finished
from tests.billing.fakes import FakeApi, serve
from tests.conftest import run_jobs
from tests.scheduling.conftest import (
    API,
    Market,
    MarketFactory,
    Person,
    book,
    execute,
    make_admin,
    rows,
    scalar,
    sign_up,
    use_billing,
)
from tests.scheduling.test_earnings import ENDED

SECRET = "whsec_payouts"
pytestmark = pytest.mark.filterwarnings("ignore:Use 'content=<...>':DeprecationWarning")


async def completed(
    client: httpx.AsyncClient, owner_db: Database, m: Market, student: Person, index: int
) -> str:
    booked = await book(client, student, m.open_slots[index]["id"])
    assert booked.json()["status"] == "confirmed", booked.text
    booking_id: str = booked.json()["id"]
    await execute(owner_db, ENDED, id=booking_id, ago=2 * index + 2)
    assert uuid.UUID(booking_id) in await complete_finished()
    return booking_id


async def close(client: httpx.AsyncClient, admin: Person) -> list[dict[str, Any]]:
    answered = await client.post(
        f"{API}/billing/admin/payouts/close",
        json={"period_end": time_now()},
        headers=admin.headers,
    )
    assert answered.status_code == 200, answered.text
    result: list[dict[str, Any]] = answered.json()
    return result


def time_now() -> str:
    return datetime.now(UTC).isoformat()


async def overview(client: httpx.AsyncClient, tutor: Person) -> dict[str, Any]:
    """The tutor's payout balance beside the first page of their statements."""
    balance = await client.get(f"{API}/billing/payouts/balance", headers=tutor.headers)
    statements = await client.get(f"{API}/billing/payouts", headers=tutor.headers)
    assert balance.status_code == statements.status_code == 200, (balance.text, statements.text)
    result: dict[str, Any] = {**balance.json(), **statements.json()}
    return result


async def test_statements_fees_manual_payment_and_a_refund_after_payout_carried(
    client: httpx.AsyncClient, owner_db: Database, market: MarketFactory
) -> None:
    use_billing(manual_auto_succeed=True, platform_fee_rate=0.2)
    m = await market(price_cents=5000)
    student = await sign_up(client)
    admin = await make_admin(client, owner_db)
    first = [await completed(client, owner_db, m, student, i) for i in (0, 1)]
    assert (await overview(client, m.tutor))["unpaid_balance_cents"] == {"USD": 8000}

    [statement] = await close(client, admin)
    assert (statement["amount_cents"], statement["entries_cents"], statement["status"]) == (
        8000,
        8000,
        "due",
    )
    assert await close(client, admin) == []  # nothing new: no second statement
    details = await client.get(
        f"{API}/billing/payouts/statements/{statement['id']}", headers=m.tutor.headers
    )
    assert sorted(e["booking_id"] for e in details.json()["entries"]) == sorted(first)
    other_tutor = await sign_up(client, "tutor")
    hidden = await client.get(
        f"{API}/billing/payouts/statements/{statement['id']}", headers=other_tutor.headers
    )
    assert hidden.status_code == 404

    url = f"{API}/billing/admin/payouts/statements/{statement['id']}/mark-paid"
    assert (await client.post(url, headers=m.tutor.headers)).status_code == 403
    paid = await client.post(url, headers=admin.headers)
    assert (paid.status_code, paid.json()["status"], paid.json()["method"]) == (
        200,
        "paid",
        "manual",
    )
    again = await client.post(url, headers=admin.headers)
    assert (again.status_code, again.json()["code"]) == (409, "statement_not_due")
    assert (
        await scalar(
            owner_db, "SELECT count(*) FROM audit_log WHERE action = 'payout_statement.mark_paid'"
        )
        == 1
    )

    # The whole price of a paid-out session comes back to the student: the tutor owes 4000.
    [payment_id] = [
        r[0]
        for r in await rows(
            owner_db, "SELECT id FROM payments WHERE purpose_id = :b", b=uuid.UUID(first[0])
        )
    ]
    refunded = await client.post(
        f"{API}/billing/admin/payments/{payment_id}/refunds",
        json={},
        headers={**admin.headers, "Idempotency-Key": str(uuid.uuid4())},
    )
    assert refunded.status_code == 201, refunded.text
    await run_jobs()
    assert (await overview(client, m.tutor))["unpaid_balance_cents"] == {"USD": -4000}
    profile = (await client.get(f"{API}/me/tutor-profile", headers=m.tutor.headers)).json()
    assert profile["total_earnings_cents"] == 4000

    [carried] = await close(client, admin)
    assert (carried["amount_cents"], carried["status"]) == (-4000, "carried")
    assert (await overview(client, m.tutor))["unpaid_balance_cents"] == {"USD": -4000}

    for i in (2, 3):
        await completed(client, owner_db, m, student, i)
    [next_one] = await close(client, admin)
    assert (
        next_one["entries_cents"],
        next_one["carried_in_cents"],
        next_one["amount_cents"],
        next_one["status"],
    ) == (8000, -4000, 4000, "due")
    assert (await overview(client, m.tutor))["unpaid_balance_cents"] == {}


@pytest.fixture
def connect_stripe() -> Iterator[FakeApi]:
    with serve("stripe") as api:
        use_billing(
            manual_auto_succeed=True,
            platform_fee_rate=0.2,
            stripe_api_key=SecretStr("sk_test_local"),
            stripe_api_base=api.url,
            stripe_webhook_secrets=[SecretStr(SECRET)],
            stripe_connect_refresh_url="https://app.example/payouts/refresh",
            stripe_connect_return_url="https://app.example/payouts/done",
        )
        yield api


def stripe_event(
    event_type: str, obj: dict[str, Any], *, created: int, event_id: str | None = None
) -> str:
    return json.dumps(
        {
            "id": event_id or f"evt_{uuid.uuid4().hex[:16]}",
            "object": "event",
            "type": event_type,
            "api_version": "2024-06-20",
            "created": created,
            "data": {"object": obj},
        }
    )


async def deliver(client: httpx.AsyncClient, payload: str) -> None:
    header = stripe.WebhookSignature.generate_signature_header(payload, SECRET)
    answered = await client.post(
        f"{API}/billing/webhooks/stripe",
        content=payload,
        headers={"Stripe-Signature": header, "Content-Type": "application/json"},
    )
    assert answered.status_code == 200, answered.text


def account(account_id: str, *, enabled: bool) -> dict[str, Any]:
    return {
        "id": account_id,
        "object": "account",
        "details_submitted": enabled,
        "payouts_enabled": enabled,
    }


async def statement_row(owner_db: Database, statement_id: str) -> tuple[Any, ...]:
    [row] = await rows(
        owner_db,
        "SELECT status, method, stripe_transfer_id FROM payout_statements WHERE id = :id",
        id=uuid.UUID(statement_id),
    )
    return tuple(row)


async def test_connect_onboarding_transfer_and_webhooks_once_in_any_order(
    client: httpx.AsyncClient,
    owner_db: Database,
    market: MarketFactory,
    connect_stripe: FakeApi,
) -> None:
    m = await market(price_cents=5000)
    student = await sign_up(client)
    admin = await make_admin(client, owner_db)

    refused = await client.post(f"{API}/billing/payouts/onboarding", headers=student.headers)
    assert refused.status_code == 403
    onboarding = await client.post(f"{API}/billing/payouts/onboarding", headers=m.tutor.headers)
    assert onboarding.status_code == 200, onboarding.text
    account_id = onboarding.json()["stripe_account_id"]
    assert onboarding.json()["url"].startswith("https://connect.stripe.test/setup/")
    again = await client.post(f"{API}/billing/payouts/onboarding", headers=m.tutor.headers)
    assert again.json()["stripe_account_id"] == account_id
    [created] = connect_stripe.posts("/v1/accounts")
    assert (created.idempotency_key, created.params["type"]) == (
        f"connect-account-{m.tutor.id}",
        "express",
    )
    assert len(connect_stripe.posts("/v1/account_links")) == 2

    await completed(client, owner_db, m, student, 0)
    [statement] = await close(client, admin)
    await run_jobs()
    assert connect_stripe.posts("/v1/transfers") == []  # the account cannot receive payouts yet

    now = int(time.time())
    await deliver(
        client, stripe_event("account.updated", account(account_id, enabled=True), created=now)
    )
    # An older update arriving late changes nothing.
    await deliver(
        client,
        stripe_event("account.updated", account(account_id, enabled=False), created=now - 60),
    )
    await run_jobs()
    me = (await client.get(f"{API}/billing/payouts/account", headers=m.tutor.headers)).json()
    assert me["payouts_enabled"] is True
    [transfer] = connect_stripe.posts("/v1/transfers")
    assert transfer.idempotency_key == f"payout-{statement['id']}"
    assert (transfer.params["amount"], transfer.params["destination"]) == ("4000", account_id)
    transfer_id = str(connect_stripe.by_key[f"payout-{statement['id']}"]["id"])
    assert await statement_row(owner_db, statement["id"]) == ("transferring", "stripe", transfer_id)
    # A second run of the transfer job finds the statement claimed and calls Stripe no more.
    await transfer_statement(statement_id=statement["id"])
    assert len(connect_stripe.posts("/v1/transfers")) == 1
    marked = await client.post(
        f"{API}/billing/admin/payouts/statements/{statement['id']}/mark-paid",
        headers=admin.headers,
    )
    assert (marked.status_code, marked.json()["code"]) == (409, "statement_not_due")

    obj = dict(connect_stripe.by_key[f"payout-{statement['id']}"])
    paid_event = stripe_event("transfer.created", obj, created=now + 1, event_id="evt_tr_created")
    reversed_obj = {**obj, "reversed": True}
    await deliver(client, paid_event)
    await deliver(client, paid_event)  # a replay: stored once, applied once
    await run_jobs()
    assert await statement_row(owner_db, statement["id"]) == ("paid", "stripe", transfer_id)
    await deliver(client, stripe_event("transfer.reversed", reversed_obj, created=now + 3))
    # An update written before the reversal, delivered after it, does not undo it.
    await deliver(client, stripe_event("transfer.updated", obj, created=now + 2))
    await run_jobs()
    assert await statement_row(owner_db, statement["id"]) == ("reversed", "stripe", transfer_id)
    assert (
        await scalar(
            owner_db, "SELECT count(*) FROM webhook_events WHERE event_id = 'evt_tr_created'"
        )
        == 1
    )
    assert (
        await scalar(
            owner_db,
            "SELECT count(*) FROM webhook_events "
            "WHERE provider = 'stripe' AND processed_at IS NULL",
        )
        == 0
    )
    assert (
        await scalar(
            owner_db, "SELECT count(*) FROM audit_log WHERE action = 'payout_statement.paid'"
        )
        == 1
    )
    seen = (await overview(client, m.tutor))["items"]
    assert [(s["status"], s["stripe_transfer_id"]) for s in seen] == [("reversed", transfer_id)]


async def test_a_transfer_event_before_the_statement_is_known_is_retried_not_lost(
    client: httpx.AsyncClient, owner_db: Database, connect_stripe: FakeApi
) -> None:
    unknown = str(uuid.uuid4())
    obj = {
        "id": "tr_early",
        "object": "transfer",
        "reversed": False,
        "metadata": {"studyhall_statement_id": unknown},
    }
    await deliver(client, stripe_event("transfer.created", obj, created=int(time.time())))
    await run_jobs()
    assert await rows(
        owner_db,
        "SELECT processed_at IS NULL, last_error IS NOT NULL FROM webhook_events "
        "WHERE event_type = 'transfer.created'",
    ) == [(True, True)]


async def test_onboarding_without_connect_settings_is_a_precise_422(
    client: httpx.AsyncClient, market: MarketFactory
) -> None:
    m = await market()
    answered = await client.post(f"{API}/billing/payouts/onboarding", headers=m.tutor.headers)
    assert (answered.status_code, answered.json()["code"]) == (422, "provider_not_configured")
