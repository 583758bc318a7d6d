"""No network call inside a transaction, for subscriptions: subscribing and paying a period call
the provider with no transaction open and no pooled connection held; an outage answers 503 and a
retry with the same key carries on with the same rows."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
from pydantic import SecretStr

from studyhall.db.engine import Database
from tests.billing.conftest import SECRET, make_admin, scalar, sign_up, use_billing
from tests.billing.fakes import Call, FakeApi
from tests.billing.test_subscriptions import _plan

pytestmark = pytest.mark.filterwarnings("ignore:Use 'content=<...>':DeprecationWarning")

SUBSCRIBE = "/api/v1/billing/subscriptions"
PAY = "/api/v1/billing/subscriptions/current/pay"


def count_busy_on_post(api: FakeApi, busy: Callable[[], int]) -> list[tuple[str, int]]:
    seen: list[tuple[str, int]] = []

    def count_busy(call: Call) -> None:
        seen.append((call.path, busy()))

    api.on_post = count_busy
    return seen


def stripe_at(base: str) -> None:
    use_billing(
        default_provider="stripe",
        stripe_api_key=SecretStr("sk_test_local"),
        stripe_api_base=base,
        stripe_webhook_secrets=[SecretStr(SECRET)],
    )


async def test_a_stripe_subscription_is_created_with_no_transaction_open(
    client: httpx.AsyncClient,
    owner_db: Database,
    db: Database,
    busy_app_connections: Callable[[], int],
    fake_stripe: FakeApi,
) -> None:
    admin = await make_admin(client, owner_db)
    plan_id = await _plan(client, admin, provider_plan_ids={"stripe": "price_pro"})
    student = await sign_up(client)
    seen = count_busy_on_post(fake_stripe, busy_app_connections)
    response = await client.post(
        SUBSCRIBE, json={"plan_id": plan_id, "provider": "stripe"}, headers=student.with_key()
    )
    assert response.status_code == 201, response.text
    assert seen == [("/v1/customers", 0), ("/v1/subscriptions", 0)]
    body = response.json()
    assert body["client_secret"] == "sub_0002_invoice_secret"
    assert (body["subscription"]["status"], body["payment"]) == ("unpaid", None)
    assert await scalar(db, "SELECT provider_subscription_id FROM subscriptions") == "sub_0002"
    assert await scalar(db, "SELECT count(*) FROM payments") == 0


async def test_paying_a_period_opens_the_checkout_with_no_transaction_open(
    client: httpx.AsyncClient,
    owner_db: Database,
    db: Database,
    busy_app_connections: Callable[[], int],
    fake_paymob: FakeApi,
) -> None:
    admin = await make_admin(client, owner_db)
    plan_id = await _plan(client, admin, price_cents=20000, currency="EGP", trial_days=7)
    student = await sign_up(client)
    seen = count_busy_on_post(fake_paymob, busy_app_connections)
    trial = await client.post(SUBSCRIBE, json={"plan_id": plan_id}, headers=student.with_key())
    assert trial.status_code == 201, trial.text
    assert (trial.json()["subscription"]["status"], trial.json()["payment"]) == ("trial", None)
    assert seen == []

    paid = await client.post(PAY, headers=student.with_key())
    assert paid.status_code == 201, paid.text
    assert seen == [("/v1/intention/", 0)]
    body = paid.json()
    assert (body["payment"]["status"], body["payment"]["provider"]) == ("pending", "paymob")
    assert body["payment_key"] is not None
    assert await scalar(db, "SELECT provider_checkout_id IS NOT NULL FROM payments") is True


async def test_subscribing_through_a_stripe_outage_answers_503_and_the_retry_carries_on(
    client: httpx.AsyncClient, owner_db: Database, db: Database, fake_stripe: FakeApi
) -> None:
    admin = await make_admin(client, owner_db)
    plan_id = await _plan(client, admin, provider_plan_ids={"stripe": "price_pro"})
    student = await sign_up(client)
    headers = student.with_key("subscribe-through-an-outage")
    body = {"plan_id": plan_id, "provider": "stripe"}
    stripe_at("http://127.0.0.1:9")  # nothing listens on port 9
    down = await client.post(SUBSCRIBE, json=body, headers=headers)
    assert (down.status_code, down.json()["code"]) == (503, "provider_unavailable")
    assert down.headers["content-type"] == "application/problem+json"
    subscription_id = str(await scalar(db, "SELECT id FROM subscriptions"))
    assert await scalar(db, "SELECT status FROM subscriptions") == "unpaid"
    assert await scalar(db, "SELECT provider_subscription_id FROM subscriptions") is None

    stripe_at(fake_stripe.url)
    retried = await client.post(SUBSCRIBE, json=body, headers=headers)
    assert retried.status_code == 201, retried.text
    assert "Idempotent-Replayed" not in retried.headers
    assert retried.json()["subscription"]["id"] == subscription_id
    assert retried.json()["client_secret"] == "sub_0002_invoice_secret"
    assert [c.idempotency_key for c in fake_stripe.posts("/v1/subscriptions")] == [
        f"subscription-{subscription_id}"
    ]
    assert await scalar(db, "SELECT count(*) FROM subscriptions") == 1
    assert await scalar(db, "SELECT provider_subscription_id FROM subscriptions") == "sub_0002"
    assert await scalar(db, "SELECT count(*) FROM payment_customers") == 1

    again = await client.post(SUBSCRIBE, json=body, headers=headers)
    assert (again.status_code, again.headers["Idempotent-Replayed"]) == (201, "true")
    assert again.json() == retried.json()
    assert len(fake_stripe.posts("/v1/subscriptions")) == 1


async def test_paying_a_period_through_an_outage_answers_503_and_the_retry_carries_on(
    client: httpx.AsyncClient, owner_db: Database, db: Database, fake_paymob: FakeApi
) -> None:
    admin = await make_admin(client, owner_db)
    plan_id = await _plan(client, admin, price_cents=20000, currency="EGP", trial_days=7)
    student = await sign_up(client)
    trial = await client.post(SUBSCRIBE, json={"plan_id": plan_id}, headers=student.with_key())
    assert trial.status_code == 201, trial.text
    headers = student.with_key("pay-through-an-outage")
    fake_paymob.outage = "error"
    down = await client.post(PAY, headers=headers)
    assert (down.status_code, down.json()["code"]) == (503, "provider_unavailable")
    payment_id = str(await scalar(db, "SELECT id FROM payments"))
    assert await scalar(db, "SELECT status FROM payments") == "pending"
    assert await scalar(db, "SELECT provider_checkout_id FROM payments") is None

    fake_paymob.outage = None
    retried = await client.post(PAY, headers=headers)
    assert retried.status_code == 201, retried.text
    assert retried.json()["payment"]["id"] == payment_id
    assert await scalar(db, "SELECT count(*) FROM payments") == 1
    assert await scalar(db, "SELECT status FROM subscriptions") == "trial"
    # Another key meets the payment in progress instead of starting a second one.
    other = await client.post(PAY, headers=student.with_key())
    assert (other.status_code, other.json()["code"]) == (409, "payment_pending")
    assert await scalar(db, "SELECT count(*) FROM payments") == 1


async def test_subscribing_through_an_unconfigured_provider_writes_nothing(
    client: httpx.AsyncClient, owner_db: Database, db: Database
) -> None:
    admin = await make_admin(client, owner_db)
    plan_id = await _plan(client, admin, provider_plan_ids={"stripe": "price_pro"})
    student = await sign_up(client)
    refused = await client.post(
        SUBSCRIBE, json={"plan_id": plan_id, "provider": "stripe"}, headers=student.with_key()
    )
    assert (refused.status_code, refused.json()["code"]) == (422, "provider_not_configured")
    assert refused.headers["content-type"] == "application/problem+json"
    assert await scalar(db, "SELECT count(*) FROM subscriptions") == 0
    assert await scalar(db, "SELECT count(*) FROM payments") == 0


async def test_a_subscription_canceled_before_the_retry_is_not_created_at_stripe(
    client: httpx.AsyncClient, owner_db: Database, db: Database, fake_stripe: FakeApi
) -> None:
    admin = await make_admin(client, owner_db)
    plan_id = await _plan(client, admin, provider_plan_ids={"stripe": "price_pro"})
    student = await sign_up(client)
    headers = student.with_key("canceled-before-the-retry")
    body = {"plan_id": plan_id, "provider": "stripe"}
    stripe_at("http://127.0.0.1:9")
    down = await client.post(SUBSCRIBE, json=body, headers=headers)
    assert (down.status_code, down.json()["code"]) == (503, "provider_unavailable")
    canceled = await client.post(
        "/api/v1/billing/subscriptions/current/cancel", json={}, headers=student.headers
    )
    assert (canceled.status_code, canceled.json()["status"]) == (200, "canceled")

    stripe_at(fake_stripe.url)
    retried = await client.post(SUBSCRIBE, json=body, headers=headers)
    assert retried.status_code == 201, retried.text
    assert retried.json()["subscription"]["status"] == "canceled"
    assert retried.json()["client_secret"] is None
    assert fake_stripe.calls == []
    assert await scalar(db, "SELECT provider_subscription_id FROM subscriptions") is None
