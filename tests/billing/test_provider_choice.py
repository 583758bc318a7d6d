"""Which provider a purchase goes through: only one the deployment enables, and in production a
manual payment (bank transfer, cash) waits until an admin marks it paid. A setting that would let
manual payments succeed by themselves in production stops the app from starting."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr, ValidationError

from studyhall.app import create_app
from studyhall.billing import config as billing_config_module
from studyhall.billing.config import BillingSettings, billing_settings, configure_billing
from studyhall.config import Settings
from studyhall.db.engine import Database
from tests.billing.conftest import (
    Caller,
    create_pack,
    ledger_consistent,
    make_admin,
    scalar,
    sign_up,
    use_billing,
)
from tests.courses.helpers import Actor, course_tree, product
from tests.foundation.test_cli import _studyhall
from tests.scheduling.conftest import MarketFactory, market  # noqa: F401  (fixture)

API = "/api/v1"
PRICE = 2500
PRODUCTION_SECRET = SecretStr("p" * 48)


@pytest.fixture
def production_settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={"environment": "production", "secret_key": PRODUCTION_SECRET}
    )


@pytest.fixture
async def production(
    production_settings: Settings, db: Database
) -> AsyncIterator[httpx.AsyncClient]:
    """The API built with production settings; the test configures billing before using it."""
    app = create_app(production_settings, db)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield http


@pytest.fixture
def environment_settings() -> Iterator[None]:
    """Billing settings read from the process environment (no override), cache cleared."""
    configure_billing(None)
    billing_config_module._from_environment.cache_clear()
    yield
    billing_config_module._from_environment.cache_clear()


class Shop:
    """One thing to buy on every purchase path, and a student to buy them."""

    def __init__(self, client: httpx.AsyncClient, admin: Caller, student: Caller) -> None:
        self.client, self.admin, self.student = client, admin, student
        self.pack_id = self.product_id = self.plan_id = self.slot_id = ""

    async def stock(self, build_market: MarketFactory) -> None:
        self.pack_id = await create_pack(
            self.client, self.admin, credits=150, price_cents=15000, currency="EGP"
        )
        actor = Actor(self.admin.id, self.admin.headers)
        tree = await course_tree(self.client, actor)
        self.product_id = (await product(self.client, actor, [tree["course_id"]]))["id"]
        plan = await self.client.post(
            f"{API}/billing/admin/plans",
            json={"key": "pro", "name": "Pro", "billing_cycle": "monthly", "price_cents": 1200,
                  "currency": "USD", "credits_per_period": 30},
            headers=self.admin.headers,
        )  # fmt: skip
        assert plan.status_code == 201, plan.text
        self.plan_id = plan.json()["id"]
        self.slot_id = (await build_market(price_cents=PRICE)).open_slots[0]["id"]

    async def buy_everything(self, provider: str) -> dict[str, httpx.Response]:
        """Each purchase path, the client asking for ``provider``."""
        body = {"provider": provider}
        headers = self.student.with_key
        return {
            "credit_pack": await self.client.post(
                f"{API}/billing/credit-packs/{self.pack_id}/purchase", json=body, headers=headers()
            ),
            "course": await self.client.post(
                f"{API}/products/{self.product_id}/checkout", json=body, headers=headers()
            ),
            "subscription": await self.client.post(
                f"{API}/billing/subscriptions",
                json={"plan_id": self.plan_id, **body},
                headers=headers(),
            ),
            "booking": await self.client.post(
                f"{API}/bookings", json={"slot_id": self.slot_id, **body}, headers=headers()
            ),
        }


async def _shop(
    production: httpx.AsyncClient, owner_db: Database, build_market: MarketFactory
) -> Shop:
    shop = Shop(production, await make_admin(production, owner_db), await sign_up(production))
    await shop.stock(build_market)
    return shop


def _payment_of(path: str, answer: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = {
        "credit_pack": lambda: answer["payment"],
        "course": lambda: answer["payment"]["payment"],
        "subscription": lambda: answer["payment"]["payment"],
        "booking": lambda: answer["payment"],
    }[path]()
    return found


async def test_in_production_a_manual_purchase_waits_for_an_admin_on_every_path(
    production: httpx.AsyncClient,
    owner_db: Database,
    db: Database,
    market: MarketFactory,  # noqa: F811
) -> None:
    use_billing(
        environment="production", default_provider="stripe", enabled_providers=["stripe", "manual"]
    )
    assert billing_settings().manual_settles_at_once is False
    shop = await _shop(production, owner_db, market)

    answers = await shop.buy_everything("manual")
    for path, response in answers.items():
        assert response.status_code == 201, (path, response.text)
        payment = _payment_of(path, response.json())
        # The response says which provider took the purchase, and that nothing is paid yet.
        assert (payment["provider"], payment["status"]) == ("manual", "pending"), path
    assert answers["course"].json()["purchase"]["status"] == "pending"
    assert answers["subscription"].json()["subscription"]["status"] == "unpaid"
    assert answers["booking"].json()["status"] == "pending_payment"
    assert await ledger_consistent(db, shop.student.id) == (0, 0)
    rights = await production.get(f"{API}/billing/entitlements", headers=shop.student.headers)
    assert rights.json()["entitled"] is False
    assert await scalar(db, "SELECT count(*) FROM payments WHERE status <> 'pending'") == 0

    # Bank transfer arrived: the admin marks the pack's payment paid, and only then it counts.
    pack_payment = answers["credit_pack"].json()["payment"]["id"]
    marked = await production.post(
        f"{API}/billing/admin/payments/{pack_payment}/mark-paid",
        json={"note": "transfer 2026-12-07"},
        headers=shop.admin.headers,
    )
    assert (marked.status_code, marked.json()["status"]) == (200, "succeeded")
    assert await ledger_consistent(db, shop.student.id) == (150, 150)


async def test_a_provider_that_is_not_enabled_is_refused_and_nothing_is_written(
    production: httpx.AsyncClient,
    owner_db: Database,
    db: Database,
    market: MarketFactory,  # noqa: F811
) -> None:
    use_billing(
        environment="production",
        default_provider="stripe",
        enabled_providers=["stripe"],
        stripe_api_key=SecretStr("sk_test_local"),
    )
    shop = await _shop(production, owner_db, market)
    before = await _written(db)

    for path, response in (await shop.buy_everything("manual")).items():
        assert response.status_code == 422, (path, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.json()["code"] == "provider_not_enabled", path
    paymob = await shop.buy_everything("paymob")
    assert {r.json()["code"] for r in paymob.values()} == {"provider_not_enabled"}

    assert await _written(db) == before
    assert await ledger_consistent(db, shop.student.id) == (0, 0)


async def _written(db: Database) -> tuple[object, ...]:
    return (
        await scalar(db, "SELECT count(*) FROM payments"),
        await scalar(db, "SELECT count(*) FROM bookings"),
        await scalar(db, "SELECT count(*) FROM purchases"),
        await scalar(db, "SELECT count(*) FROM subscriptions"),
        await scalar(db, "SELECT count(*) FROM idempotency_keys"),
    )


async def test_in_development_the_default_manual_provider_still_pays_at_once(
    client: httpx.AsyncClient, owner_db: Database, db: Database
) -> None:
    configure_billing(BillingSettings(_env_file=None))  # type: ignore[call-arg]
    admin = await make_admin(client, owner_db)
    pack_id = await create_pack(client, admin, credits=20)
    student = await sign_up(client)
    bought = await client.post(
        f"{API}/billing/credit-packs/{pack_id}/purchase", json={}, headers=student.with_key()
    )
    payment = bought.json()["payment"]
    assert (payment["provider"], payment["status"]) == ("manual", "succeeded")
    assert await ledger_consistent(db, student.id) == (20, 20)


def test_instant_manual_payments_are_a_settings_error_in_production() -> None:
    with pytest.raises(ValidationError, match="STUDYHALL_BILLING_MANUAL_AUTO_SUCCEED"):
        BillingSettings(  # type: ignore[call-arg]
            _env_file=None, environment="production", manual_auto_succeed=True
        )
    quiet = BillingSettings(_env_file=None, environment="production")  # type: ignore[call-arg]
    assert quiet.manual_settles_at_once is False
    development = BillingSettings(_env_file=None)  # type: ignore[call-arg]
    assert development.manual_settles_at_once is True


def test_the_default_provider_must_be_enabled() -> None:
    with pytest.raises(ValidationError, match="STUDYHALL_BILLING_ENABLED_PROVIDERS"):
        BillingSettings(  # type: ignore[call-arg]
            _env_file=None, default_provider="manual", enabled_providers=["stripe"]
        )


def test_startup_refuses_instant_manual_payments_in_production(
    production_settings: Settings, monkeypatch: pytest.MonkeyPatch, environment_settings: None
) -> None:
    monkeypatch.setenv("STUDYHALL_ENVIRONMENT", "production")
    monkeypatch.setenv("STUDYHALL_BILLING_MANUAL_AUTO_SUCCEED", "true")
    with pytest.raises(ValidationError, match="STUDYHALL_BILLING_MANUAL_AUTO_SUCCEED"):
        create_app(production_settings)


def test_a_production_app_does_not_inherit_developments_instant_payments(
    production_settings: Settings,
) -> None:
    # Billing configured for development (e.g. an embedding application's defaults) with
    # instant manual payments: an app built with production settings refuses to start.
    use_billing(manual_auto_succeed=True)
    with pytest.raises(ValidationError, match="STUDYHALL_BILLING_MANUAL_AUTO_SUCCEED"):
        create_app(production_settings)
    # Left unset, production's rule applies to billing too: manual payments wait for an admin.
    use_billing()
    create_app(production_settings)
    assert billing_settings().environment == "production"
    assert billing_settings().manual_settles_at_once is False


@pytest.mark.parametrize("command", ["serve", "worker"])
def test_the_command_line_refuses_to_start_with_instant_manual_payments_in_production(
    tmp_path: Path, command: str
) -> None:
    result = _studyhall(
        command,
        cwd=tmp_path,
        STUDYHALL_ENVIRONMENT="production",
        STUDYHALL_SECRET_KEY="s" * 48,
        STUDYHALL_BILLING_MANUAL_AUTO_SUCCEED="true",
    )
    assert result.returncode == 2, result.stderr
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("studyhall: invalid settings: ")
    assert "STUDYHALL_BILLING_MANUAL_AUTO_SUCCEED must not be true in production" in line
    assert not (tmp_path / ".studyhall").exists()  # refused before any database was started
