"""The admin's shop pages over HTTP (no browser): who may open them, the billing rules and the
idempotency they share with the API, the audit entries they leave, and the audit log's pages.
Users, payments and statements are set up through the API on the same app."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from studyhall.audit import service as audit
from studyhall.billing.config import BillingSettings
from studyhall.db.engine import Database
from studyhall.db.rls import cross_users_transaction
from tests.scheduling.conftest import (
    API,
    MarketFactory,
    Person,
    billing_config,
    execute,
    make_admin,
    market,
    rows,
    sign_up,
    use_billing,
)
from tests.scheduling.test_payouts import completed
from tests.web.test_pages import csrf_of
from tests.web.test_pages_marketplace import as_person, post_form

# The scheduling tests' fixtures, reused.
__all__ = ["billing_config", "market"]

PAGES = (
    "/admin/payments",
    "/admin/prices",
    "/admin/catalogue",
    "/admin/reviews",
    "/admin/payouts",
    "/admin/audit-log",
)
KEY = re.compile(r'name="idempotency_key" value="([0-9a-f-]+)"')


async def _pending_pack_payment(client: httpx.AsyncClient, admin: Person, student: Person) -> str:
    pack = await client.post(
        f"{API}/billing/admin/credit-packs",
        json={"name": "Ten", "credits": 10, "price_cents": 1000, "currency": "USD"},
        headers=admin.headers,
    )
    assert pack.status_code == 201, pack.text
    bought = await client.post(
        f"{API}/billing/credit-packs/{pack.json()['id']}/purchase", headers=student.headers
    )
    assert bought.status_code == 201, bought.text
    assert bought.json()["payment"]["status"] == "pending"
    payment_id: str = bought.json()["payment"]["id"]
    return payment_id


async def _signed_form(client: httpx.AsyncClient, page: str) -> dict[str, str]:
    shown = await client.get(page)
    assert shown.status_code == 200, shown.text
    keys = KEY.findall(shown.text) or [str(uuid.uuid4())]  # as a form drawn anew would carry
    return {"csrf_token": csrf_of(shown.text), "idempotency_key": keys[0]}


async def test_the_admin_pages_refuse_everyone_but_admins(client: httpx.AsyncClient) -> None:
    for path in PAGES:
        visitor = await client.get(path)
        assert (visitor.status_code, visitor.headers["location"]) == (
            303,
            f"/sign-in?next={path.replace('/', '%2F')}",
        ), path
    student = await sign_up(client, "student")
    as_person(client, student)
    for path in PAGES:
        refused = await client.get(path)
        assert refused.status_code == 403, path
        assert "not available to your kind of account" in refused.text
    home = await client.get("/home")
    token = csrf_of(home.text)
    actions = (
        f"/admin/payments/{uuid.uuid4()}/refunds",
        f"/admin/payments/{uuid.uuid4()}/mark-paid",
        "/admin/credit-packs",
        f"/admin/plans/{uuid.uuid4()}",
        f"/admin/catalogue/{uuid.uuid4()}/publish",
        f"/admin/reviews/{uuid.uuid4()}/hide",
        f"/admin/payouts/{uuid.uuid4()}/mark-paid",
        "/admin/payouts/close",
    )
    for action in actions:
        refused = await client.post(action, data={"csrf_token": token})
        assert refused.status_code == 403, action
    forged = await client.post("/admin/credit-packs", data={"csrf_token": "forged"})
    assert forged.status_code == 403


async def test_a_manual_payment_is_settled_once_and_refunded_within_what_is_left(
    client: httpx.AsyncClient, owner_db: Database, billing_config: BillingSettings
) -> None:
    admin = await make_admin(client, owner_db)
    student = await sign_up(client, "student", name="Rami Payer")
    payment_id = await _pending_pack_payment(client, admin, student)
    page = f"/admin/payments/{payment_id}"
    as_person(client, admin)

    listed = await client.get("/admin/payments", params={"q": "Rami", "status": "pending"})
    assert f'href="{page}"' in listed.text and "Rami Payer" in listed.text
    form = await _signed_form(client, page)
    assert "Mark as paid" in (await client.get(page)).text
    first = await client.post(f"{page}/mark-paid", data=form)
    assert (first.status_code, first.headers["location"]) == (
        303,
        f"{page}?notice=payment_marked_paid",
    )
    # The same drawn form sent again (a double click) replays; a fresh one is refused.
    again = await client.post(f"{page}/mark-paid", data=form)
    assert again.status_code == 303
    fresh = await client.post(f"{page}/mark-paid", data=await _signed_form(client, page))
    assert fresh.status_code == 409
    assert "This payment is no longer waiting" in fresh.text
    [(status, credits)] = await rows(
        owner_db,
        "SELECT p.status, (SELECT coalesce(sum(delta), 0) FROM credit_ledger l "
        "WHERE l.user_id = p.user_id) FROM payments p WHERE p.id = :id",
        id=payment_id,
    )
    assert (status, credits) == ("succeeded", 10)

    refund_form = await _signed_form(client, page)
    too_much = await client.post(f"{page}/refunds", data={**refund_form, "amount": "10.01"})
    assert too_much.status_code == 422 and "more than can still be refunded" in too_much.text
    bad = await client.post(f"{page}/refunds", data={**refund_form, "amount": "1.005"})
    assert bad.status_code == 422 and "no more decimals than the currency has" in bad.text
    refund_form = await _signed_form(client, page)
    for _ in range(2):
        made = await client.post(f"{page}/refunds", data={**refund_form, "amount": "4"})
        assert made.headers["location"] == f"{page}?notice=refund_requested"
    everything = await client.post(f"{page}/refunds", data=await _signed_form(client, page))
    assert everything.status_code == 303
    refunds = await rows(
        owner_db,
        "SELECT amount_cents, status, reason FROM refunds WHERE payment_id = :id "
        "ORDER BY amount_cents",
        id=payment_id,
    )
    assert refunds == [(400, "succeeded", "admin"), (600, "succeeded", "admin")]
    done = await client.get(page)
    assert "Refund</button>" not in done.text  # nothing is left to refund
    audited = await rows(
        owner_db,
        "SELECT action, count(*) FROM audit_log WHERE actor_user_id = :a "
        "AND action IN ('payment.succeed', 'refund.request') GROUP BY action ORDER BY action",
        a=admin.id,
    )
    assert audited == [("payment.succeed", 1), ("refund.request", 2)]


async def test_a_statement_is_marked_paid_once_and_a_plan_retired(
    client: httpx.AsyncClient,
    owner_db: Database,
    market: MarketFactory,
    billing_config: BillingSettings,
) -> None:
    use_billing(manual_auto_succeed=True)  # the lesson is paid at once; reset after the test
    m = await market(price_cents=5000)
    admin = await make_admin(client, owner_db)
    student = await sign_up(client, name="Tamer Totals")
    await completed(client, owner_db, m, student, 0)
    as_person(client, admin)
    # The users page shows a student's learner totals, as GET /me/learner-totals computes them.
    users = await client.get("/admin", params={"q": "Tamer Totals", "role": "student"})
    assert re.search(r"Sessions booked</dt><dd>1</dd>", users.text)
    assert "$50.00" in users.text
    # The page closes a period at the start of a day: the lesson was earned the day before.
    await execute(
        owner_db,
        "UPDATE tutor_earning_entries SET created_at = created_at - interval '2 days' "
        "WHERE tutor_id = :t",
        t=m.tutor.id,
    )
    today = datetime.now(UTC).date().isoformat()  # the admin's zone is UTC
    closed = await post_form(client, "/admin/payouts", "/admin/payouts/close", period_end=today)
    assert closed.headers["location"] == "/admin/payouts?notice=period_closed"
    again = await post_form(client, "/admin/payouts", "/admin/payouts/close", period_end=today)
    assert again.headers["location"] == "/admin/payouts?notice=period_closed_empty"
    later = await post_form(
        client,
        "/admin/payouts",
        "/admin/payouts/close",
        period_end=(datetime.now(UTC).date() + timedelta(days=2)).isoformat(),
    )
    assert later.status_code == 422 and "only be closed once it has ended" in later.text
    listed = await client.get(
        f"{API}/billing/admin/payouts/statements", params={"status": "due"}, headers=admin.headers
    )
    [statement] = listed.json()["items"]
    listed = await client.get("/admin/payouts")
    assert f"/admin/payouts/{statement['id']}/mark-paid" in listed.text
    form = await _signed_form(client, "/admin/payouts")
    action = f"/admin/payouts/{statement['id']}/mark-paid"
    for _ in range(2):
        paid = await client.post(action, data=form)
        assert paid.headers["location"] == "/admin/payouts?notice=statement_paid"
    again = await client.post(action, data=await _signed_form(client, "/admin/payouts"))
    assert again.status_code == 409 and "Only a due statement can be marked paid." in again.text
    read = await client.get(
        f"{API}/billing/payouts/statements/{statement['id']}", headers=m.tutor.headers
    )
    assert (read.json()["status"], read.json()["method"]) == ("paid", "manual")
    [(count,)] = await rows(
        owner_db,
        "SELECT count(*) FROM audit_log WHERE action = 'payout_statement.mark_paid' "
        "AND entity_id = :id",
        id=statement["id"],
    )
    assert count == 1

    made = await post_form(
        client,
        "/admin/prices",
        "/admin/plans",
        key="tutor-plus",
        name="Tutor plus",
        billing_cycle="monthly",
        price="12.5",
        currency="usd",
        credits_per_period="4",
    )
    assert made.headers["location"] == "/admin/prices?notice=plan_created"
    [(plan_id, price)] = await rows(
        owner_db, "SELECT id, price_cents FROM plans WHERE key = 'tutor-plus'"
    )
    assert price == 1250
    refused = await post_form(
        client, "/admin/prices", "/admin/plans", key="Bad Key", name="x", price="1"
    )
    assert refused.status_code == 422 and "Check the form" in refused.text
    retired = await post_form(client, "/admin/prices", f"/admin/plans/{plan_id}", on_sale="no")
    assert retired.status_code == 303
    on_sale = await client.get(f"{API}/billing/plans")
    assert "tutor-plus" not in on_sale.text
    [(diff,)] = await rows(
        owner_db,
        "SELECT diff FROM audit_log WHERE action = 'plan.update' AND entity_id = :id",
        id=str(plan_id),
    )
    assert diff == {"is_active": [True, False]}


async def test_the_audit_log_filters_and_pages_with_a_cursor(
    client: httpx.AsyncClient, db: Database, owner_db: Database
) -> None:
    admin = await make_admin(client, owner_db)
    subject = uuid.uuid4()
    # Rows naming the admin as actor: written as a unit of work that crosses users (a request
    # may write audit rows only as its own signed person).
    async with cross_users_transaction(db) as session:
        for number in range(35):
            await audit.record(
                session, admin.id, "test.step", "thing", subject, {"n": number, "token": "s3cr3t"}
            )
    as_person(client, admin)
    first = await client.get(
        "/admin/audit-log", params={"actor": "", "entity": "thing", "entity_id": str(subject)}
    )
    assert first.text.count("<article") == 30
    assert "s3cr3t" not in first.text and "[redacted]" in first.text
    [more] = re.findall(r'href="/admin/audit-log\?([^"]+)">Older entries', first.text)
    second = await client.get("/admin/audit-log?" + more.replace("&amp;", "&"))
    assert second.text.count("<article") == 5
    assert "Older entries" not in second.text
    shown: list[Any] = re.findall(r"&#34;n&#34;: (\d+)", first.text + second.text)
    assert sorted(int(n) for n in shown) == list(range(35))
    by_email = await client.get(
        "/admin/audit-log", params={"actor": "nobody@example.com", "action": "test.step"}
    )
    assert by_email.status_code == 422 and "No user has this email address." in by_email.text
    reversed_days = await client.get(
        "/admin/audit-log", params={"since": "2026-05-02", "until": "2026-05-01"}
    )
    assert reversed_days.status_code == 422
    assert "The first day must not be after the last." in reversed_days.text


@pytest.mark.parametrize("path", PAGES)
async def test_each_admin_page_draws_for_an_admin(
    client: httpx.AsyncClient, owner_db: Database, path: str
) -> None:
    admin = await make_admin(client, owner_db)
    as_person(client, admin)
    shown = await client.get(path)
    assert shown.status_code == 200
    assert 'aria-label="Administration pages"' in shown.text
