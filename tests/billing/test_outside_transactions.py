"""No network call inside a transaction: a payment is opened at the provider with no transaction
open and no pooled connection held; a provider outage leaves it pending, and a retry with the
same key carries on with it."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
from pydantic import SecretStr

from studyhall.db.engine import Database
from tests.billing.conftest import SECRET, create_pack, make_admin, scalar, sign_up, use_billing
from tests.billing.fakes import Call, FakeApi

pytestmark = pytest.mark.filterwarnings("ignore:Use 'content=<...>':DeprecationWarning")


async def test_the_provider_is_called_with_no_transaction_open(
    client: httpx.AsyncClient,
    owner_db: Database,
    db: Database,
    busy_app_connections: Callable[[], int],
    fake_stripe: FakeApi,
) -> None:
    admin = await make_admin(client, owner_db)
    pack_id = await create_pack(client, admin, credits=40, price_cents=900)
    student = await sign_up(client)
    seen: list[tuple[str, int]] = []

    def count_busy(call: Call) -> None:
        seen.append((call.path, busy_app_connections()))

    fake_stripe.on_post = count_busy
    response = await client.post(
        f"/api/v1/billing/credit-packs/{pack_id}/purchase",
        json={},
        headers=student.with_key(),
    )
    assert response.status_code == 201, response.text
    # Customer and PaymentIntent were created while no Studyhall connection was in a transaction.
    assert seen == [("/v1/customers", 0), ("/v1/payment_intents", 0)]
    payment = response.json()["payment"]
    assert response.json()["client_secret"] == f"{payment['provider_payment_id']}_secret_test"
    assert await scalar(db, "SELECT status FROM payments") == "pending"


async def test_a_provider_outage_answers_503_and_a_retry_with_the_key_carries_on(
    client: httpx.AsyncClient, owner_db: Database, db: Database, fake_stripe: FakeApi
) -> None:
    admin = await make_admin(client, owner_db)
    pack_id = await create_pack(client, admin, credits=40, price_cents=900)
    student = await sign_up(client)
    url = f"/api/v1/billing/credit-packs/{pack_id}/purchase"
    headers = student.with_key("through-an-outage")
    # Nothing listens on port 9: every call to "Stripe" fails to connect.
    use_billing(
        default_provider="stripe",
        stripe_api_key=SecretStr("sk_test_local"),
        stripe_api_base="http://127.0.0.1:9",
        stripe_webhook_secrets=[SecretStr(SECRET)],
    )
    down = await client.post(url, json={}, headers=headers)
    assert (down.status_code, down.json()["code"]) == (503, "provider_unavailable")
    assert down.headers["content-type"] == "application/problem+json"
    payment_id = str(await scalar(db, "SELECT id FROM payments"))
    assert await scalar(db, "SELECT status FROM payments") == "pending"
    assert await scalar(db, "SELECT provider_payment_id FROM payments") is None
    # The reconciliation job was scheduled with the row, for a payment nobody retries.
    assert (
        await scalar(
            db,
            "SELECT count(*) FROM procrastinate_jobs "
            "WHERE task_name = 'studyhall.billing.reconcile_payment'",
        )
        == 1
    )

    use_billing(
        default_provider="stripe",
        stripe_api_key=SecretStr("sk_test_local"),
        stripe_api_base=fake_stripe.url,
        stripe_webhook_secrets=[SecretStr(SECRET)],
    )
    retried = await client.post(url, json={}, headers=headers)
    assert retried.status_code == 201, retried.text
    assert retried.json()["payment"]["id"] == payment_id
    assert "Idempotent-Replayed" not in retried.headers
    intents = fake_stripe.posts("/v1/payment_intents")
    assert [c.idempotency_key for c in intents] == [f"payment-{payment_id}"]
    assert await scalar(db, "SELECT count(*) FROM payments") == 1
    assert await scalar(db, "SELECT provider_payment_id FROM payments") == "pi_0002"

    again = await client.post(url, json={}, headers=headers)
    assert (again.status_code, again.headers["Idempotent-Replayed"]) == (201, "true")
    assert again.json() == retried.json()
    assert len(fake_stripe.posts("/v1/payment_intents")) == 1


async def test_a_provider_that_refuses_fails_the_payment(
    client: httpx.AsyncClient, owner_db: Database, db: Database, fake_paymob: FakeApi
) -> None:
    admin = await make_admin(client, owner_db)
    pack_id = await create_pack(client, admin, credits=40, price_cents=900)
    student = await sign_up(client)
    fake_paymob.paymob_secret_key = "egy_sk_rotated"  # ours is no longer accepted: 401
    refused = await client.post(
        f"/api/v1/billing/credit-packs/{pack_id}/purchase", json={}, headers=student.with_key()
    )
    assert (refused.status_code, refused.json()["code"]) == (422, "provider_rejected")
    assert await scalar(db, "SELECT status || ':' || failure_code FROM payments") == (
        "failed:provider_rejected"
    )
    assert await scalar(db, "SELECT count(*) FROM credit_ledger") == 0


async def test_a_provider_missing_its_settings_is_refused_before_anything_is_written(
    client: httpx.AsyncClient, owner_db: Database, db: Database
) -> None:
    admin = await make_admin(client, owner_db)
    pack_id = await create_pack(client, admin, credits=40, price_cents=900)
    student = await sign_up(client)
    use_billing(default_provider="paymob")  # no keys: Paymob is not configured
    refused = await client.post(
        f"/api/v1/billing/credit-packs/{pack_id}/purchase", json={}, headers=student.with_key()
    )
    assert (refused.status_code, refused.json()["code"]) == (422, "provider_not_configured")
    assert refused.headers["content-type"] == "application/problem+json"
    assert await scalar(db, "SELECT count(*) FROM payments") == 0
    assert await scalar(db, "SELECT count(*) FROM credit_ledger") == 0
