"""The balance on the student profile, who may hold credits, and credit expiry (FIFO, give-backs,
the sweep racing with debits)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import text

from studyhall.billing import jobs as billing_jobs
from studyhall.billing.service import expiry, ledger
from studyhall.db.engine import Database
from studyhall.db.rls import cross_users
from studyhall.jobs import enqueue
from studyhall.kit.errors import PaymentRequired
from tests.billing.conftest import (
    Caller,
    create_pack,
    ledger_consistent,
    make_admin,
    scalar,
    sign_up,
    use_billing,
)
from tests.conftest import run_jobs

CREDITS = "/api/v1/billing/credits"


async def _post(
    db: Database,
    user_id: uuid.UUID,
    delta: int,
    reason: str = "manual",
    *,
    expires_at: datetime | None = None,
    booking_id: uuid.UUID | None = None,
) -> ledger.Posted:
    async with db.transaction(user_id) as session:
        return await ledger.post(
            session,
            user_id,
            delta,
            reason,
            source=ledger.Source(booking_id=booking_id),
            expires_at=expires_at,
        )


async def _expire(db: Database, now: datetime) -> int:
    return await expiry.run_expiry(db, now)


async def _expiry_entries(db: Database, user_id: uuid.UUID) -> list[int]:
    async with db.transaction(user_id) as session:
        rows = await session.execute(
            text("SELECT delta FROM credit_ledger WHERE user_id = :u AND reason = 'expiry'"),
            {"u": user_id},
        )
        return [r[0] for r in rows]


async def _buy(client: httpx.AsyncClient, admin: Caller, buyer: Caller, credits: int) -> str:
    pack_id = await create_pack(client, admin, credits=credits, price_cents=500)
    bought = await client.post(
        f"/api/v1/billing/credit-packs/{pack_id}/purchase", json={}, headers=buyer.with_key()
    )
    assert bought.status_code == 201, bought.text
    return str(bought.json()["payment"]["id"])


async def test_the_balance_is_on_the_student_profile_and_the_profile_patch_cannot_move_it(
    client: httpx.AsyncClient, db: Database, owner_db: Database
) -> None:
    admin = await make_admin(client, owner_db)
    student = await sign_up(client)
    granted = await client.post(
        f"/api/v1/billing/admin/users/{student.id}/credits",
        json={"delta": 30, "note": "welcome"},
        headers=admin.with_key(),
    )
    assert granted.status_code == 201, granted.text
    sneaky = await client.patch(
        "/api/v1/me/student-profile",
        json={"school": "Cairo High", "credit_balance": 1000},
        headers=student.headers,
    )
    assert sneaky.status_code == 422
    honest = await client.patch(
        "/api/v1/me/student-profile", json={"school": "Cairo High"}, headers=student.headers
    )
    assert honest.status_code == 200
    assert "credit_balance" not in honest.json()
    assert (
        await scalar(
            db, "SELECT credit_balance FROM student_profiles WHERE user_id = :u", u=student.id
        )
        == 30
    )
    assert await ledger_consistent(db, student.id) == (30, 30)
    assert (await client.get(CREDITS, headers=student.headers)).json()["balance"] == 30


async def test_a_student_without_a_profile_gets_one_with_the_first_entry(
    client: httpx.AsyncClient, db: Database, owner_db: Database
) -> None:
    admin = await make_admin(client, owner_db)
    student = await sign_up(client)
    async with owner_db.transaction() as session:
        await session.execute(
            text("DELETE FROM student_profiles WHERE user_id = :u"), {"u": student.id}
        )
    granted = await client.post(
        f"/api/v1/billing/admin/users/{student.id}/credits",
        json={"delta": 12, "note": "welcome"},
        headers=admin.with_key(),
    )
    assert granted.status_code == 201, granted.text
    assert await ledger_consistent(db, student.id) == (12, 12)
    assert (
        await scalar(db, "SELECT count(*) FROM student_profiles WHERE user_id = :u", u=student.id)
        == 1
    )


async def test_credits_are_for_students_only(
    client: httpx.AsyncClient, db: Database, owner_db: Database
) -> None:
    admin = await make_admin(client, owner_db)
    tutor = await sign_up(client, "tutor")
    pack_id = await create_pack(client, admin, credits=10, price_cents=100)
    granted = await client.post(
        f"/api/v1/billing/admin/users/{tutor.id}/credits",
        json={"delta": 12, "note": "welcome"},
        headers=admin.with_key(),
    )
    assert (granted.status_code, granted.json()["code"]) == (422, "credits_for_students_only")
    bought = await client.post(
        f"/api/v1/billing/credit-packs/{pack_id}/purchase", json={}, headers=tutor.with_key()
    )
    assert (bought.status_code, bought.json()["code"]) == (422, "credits_for_students_only")
    assert await scalar(db, "SELECT count(*) FROM credit_ledger") == 0
    assert await scalar(db, "SELECT count(*) FROM payments") == 0
    assert (
        await scalar(db, "SELECT count(*) FROM student_profiles WHERE user_id = :u", u=tutor.id)
        == 0
    )
    mine = await client.get(CREDITS, headers=tutor.headers)
    entries = await client.get(f"{CREDITS}/entries", headers=tutor.headers)
    assert (mine.json()["balance"], mine.json()["expiring"], entries.json()["items"]) == (0, [], [])


async def test_pack_credits_expire_after_the_validity_on_the_buyers_calendar(
    client: httpx.AsyncClient, db: Database, owner_db: Database
) -> None:
    use_billing(credit_validity_days=200)
    admin = await make_admin(client, owner_db)
    student = await sign_up(client)  # Africa/Cairo, which has summer time
    await _post(db, student.id, 10)  # never expires
    await _buy(client, admin, student, 100)
    created_at, expires_at = await _rows_one(
        db,
        student.id,
        "SELECT created_at, expires_at FROM credit_ledger "
        "WHERE user_id = :u AND reason = 'purchase'",
    )
    cairo = ZoneInfo("Africa/Cairo")
    assert expires_at == (created_at.astimezone(cairo) + timedelta(days=200)).astimezone(UTC)
    await _post(db, student.id, -40, "booking", booking_id=uuid.uuid4())

    seen = (await client.get(CREDITS, headers=student.headers)).json()
    assert seen["balance"] == 70
    upcoming = [(e["amount"], datetime.fromisoformat(e["expires_at"])) for e in seen["expiring"]]
    assert upcoming == [(60, expires_at)]

    assert await _expire(db, expires_at - timedelta(seconds=1)) == 0
    assert await _expire(db, expires_at) == 60
    assert await _expire(db, expires_at + timedelta(days=1)) == 0
    assert await _expiry_entries(db, student.id) == [-60]
    assert await ledger_consistent(db, student.id) == (10, 10)
    seen = (await client.get(CREDITS, headers=student.headers)).json()
    newest = (await client.get(f"{CREDITS}/entries", headers=student.headers)).json()["items"][0]
    assert (seen["balance"], seen["expiring"], newest["reason"]) == (10, [], "expiry")
    assert (
        await scalar(
            db,
            "SELECT credit_next_expiry_at IS NULL FROM student_profiles WHERE user_id = :u",
            u=student.id,
        )
        is True
    )
    reversal = await client.post(
        f"/api/v1/billing/admin/credit-entries/{newest['id']}/reverse",
        json={},
        headers=admin.with_key(),
    )
    assert (reversal.status_code, reversal.json()["code"]) == (409, "cannot_reverse_expiry")
    assert await ledger_consistent(db, student.id) == (10, 10)


async def _rows_one(db: Database, user_id: uuid.UUID, sql: str) -> tuple[datetime, datetime]:
    async with db.transaction(user_id) as session:
        row = (await session.execute(text(sql), {"u": user_id})).one()
        return row[0], row[1]


async def test_a_validity_of_zero_days_means_credits_never_expire(
    client: httpx.AsyncClient, db: Database, owner_db: Database
) -> None:
    use_billing(credit_validity_days=0)
    admin = await make_admin(client, owner_db)
    student = await sign_up(client)
    await _buy(client, admin, student, 25)
    assert await scalar(db, "SELECT expires_at FROM credit_ledger") is None
    assert await _expire(db, datetime.now(UTC) + timedelta(days=10_000)) == 0
    assert await ledger_consistent(db, student.id) == (25, 25)


async def test_plan_credits_expire_when_their_period_ends(
    client: httpx.AsyncClient, db: Database, owner_db: Database
) -> None:
    admin = await make_admin(client, owner_db)
    plan = await client.post(
        "/api/v1/billing/admin/plans",
        json={"key": "pro", "name": "Pro", "billing_cycle": "monthly", "price_cents": 900,
              "currency": "USD", "credits_per_period": 30},
        headers=admin.headers,
    )  # fmt: skip
    student = await sign_up(client)
    subscribed = await client.post(
        "/api/v1/billing/subscriptions",
        json={"plan_id": plan.json()["id"]},
        headers=student.with_key(),
    )
    assert subscribed.status_code == 201, subscribed.text
    period_end = await scalar(db, "SELECT current_period_end FROM subscriptions")
    assert isinstance(period_end, datetime)
    assert await scalar(db, "SELECT expires_at FROM credit_ledger") == period_end
    assert await _expire(db, period_end - timedelta(microseconds=1)) == 0
    assert await _expire(db, period_end) == 30
    assert await ledger_consistent(db, student.id) == (0, 0)


async def test_spending_takes_the_earliest_expiring_credits_and_refunds_give_them_back(
    client: httpx.AsyncClient, db: Database
) -> None:
    student = await sign_up(client)
    now = datetime.now(UTC)
    soon, later = now + timedelta(days=3), now + timedelta(days=9)
    await _post(db, student.id, 10, expires_at=later)
    await _post(db, student.id, 10, expires_at=soon)
    await _post(db, student.id, 10)  # never
    booking = uuid.uuid4()
    debit = await _post(db, student.id, -25, "booking", booking_id=booking)
    assert debit.balance_after == 5
    # Spent: 10 of `soon`, 10 of `later`, 5 of the never-expiring grant. A partial refund gives
    # back the last taken first: 5 never-expiring, then 3 of `later`.
    await _post(db, student.id, 8, "refund", booking_id=booking)
    async with db.transaction(student.id) as session:
        assert await expiry.upcoming(session, student.id) == [(3, later)]
    assert await _expire(db, later) == 3
    assert await ledger_consistent(db, student.id) == (10, 10)

    # A full reversal of a debit returns everything it took, with the same expiry.
    second = await _post(db, student.id, -10, "booking", booking_id=uuid.uuid4())
    async with db.transaction() as session:
        await cross_users(session)
        await ledger.reverse(session, second.id, actor=None, note=None, reason="refund")
    assert await _expire(db, later + timedelta(days=1)) == 0
    assert await ledger_consistent(db, student.id) == (10, 10)


async def test_given_back_credits_of_a_grant_that_expired_meanwhile_expire_at_the_next_run(
    client: httpx.AsyncClient, db: Database
) -> None:
    student = await sign_up(client)
    soon = datetime.now(UTC) + timedelta(days=1)
    await _post(db, student.id, 20, expires_at=soon)
    booking = uuid.uuid4()
    await _post(db, student.id, -20, "booking", booking_id=booking)
    assert await _expire(db, soon) == 0
    await _post(db, student.id, 20, "refund", booking_id=booking)
    assert await _expire(db, soon + timedelta(hours=1)) == 20
    assert await _expiry_entries(db, student.id) == [-20]
    assert await ledger_consistent(db, student.id) == (0, 0)


async def test_the_expiry_sweep_racing_with_debits_expires_only_what_nobody_spent(
    client: httpx.AsyncClient, db: Database
) -> None:
    student = await sign_up(client)
    past = datetime.now(UTC) - timedelta(minutes=1)
    await _post(db, student.id, 200, expires_at=past)
    await _post(db, student.id, 100)  # never
    outcomes: list[str] = []

    async def debit() -> None:
        try:
            await _post(db, student.id, -5, "booking", booking_id=uuid.uuid4())
            outcomes.append("ok")
        except PaymentRequired:
            outcomes.append("refused")

    async def sweeps() -> int:
        total = 0
        for _ in range(5):
            total += await _expire(db, datetime.now(UTC))
            await asyncio.sleep(0.01)
        return total

    results = await asyncio.gather(*(debit() for _ in range(60)), sweeps())
    expired = results[-1]
    assert isinstance(expired, int)
    spent = 5 * outcomes.count("ok")
    async with db.transaction(student.id) as session:
        rows = (
            await session.execute(
                text(
                    "SELECT seq, delta, reason FROM credit_ledger WHERE user_id = :u ORDER BY seq"
                ),
                {"u": student.id},
            )
        ).all()
    expiries = [(seq, -delta) for seq, delta, reason in rows if reason == "expiry"]
    debits = [seq for seq, _, reason in rows if reason == "booking"]
    assert len(debits) == outcomes.count("ok")
    if expiries:
        # One sweep found the expired credits nobody had spent yet; the others found none left.
        [(expiry_seq, amount)] = expiries
        spent_first = sum(1 for seq in debits if seq < expiry_seq)
        assert amount == expired == 200 - 5 * spent_first > 0
        # After the expiry only the 100 credits that never expire were left to spend.
        assert outcomes.count("ok") == spent_first + 20
    else:
        # Every debit came before any sweep had the lock: nothing was left to expire.
        amount = 0
        assert (expired, outcomes.count("ok")) == (0, 60)
    assert await ledger_consistent(db, student.id) == (300 - spent - amount,) * 2
    assert await _expire(db, datetime.now(UTC)) == 0


async def test_the_hourly_sweep_writes_off_expired_credits(
    client: httpx.AsyncClient, db: Database
) -> None:
    student = await sign_up(client)
    await _post(db, student.id, 9, expires_at=datetime.now(UTC) - timedelta(seconds=1))
    await _post(db, student.id, 4)
    await billing_jobs.hourly_sweep(timestamp=0)
    assert await _expiry_entries(db, student.id) == [-9]
    assert await ledger_consistent(db, student.id) == (4, 4)


# A real failure inside one student's expiry transaction: the ledger insert is refused.
REFUSE_EXPIRY_FUNCTION = """
CREATE FUNCTION refuse_expiry() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.reason = 'expiry' AND NEW.user_id = '{user_id}'::uuid THEN
    RAISE EXCEPTION 'ledger write refused for this student';
  END IF;
  RETURN NEW;
END $$
"""
REFUSE_EXPIRY_TRIGGER = (
    "CREATE TRIGGER refuse_expiry BEFORE INSERT ON credit_ledger "
    "FOR EACH ROW EXECUTE FUNCTION refuse_expiry()"
)


async def test_a_student_whose_expiry_fails_is_skipped_and_the_sweep_goes_on(
    client: httpx.AsyncClient,
    db: Database,
    owner_db: Database,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # One student per batch: the sweep must page past the failing one, not meet it again.
    monkeypatch.setattr(expiry, "BATCH", 1)
    broken, first, second = [await sign_up(client) for _ in range(3)]
    now = datetime.now(UTC)
    # The broken student's credits expired first, so they are always first in line.
    await _post(db, broken.id, 7, expires_at=now - timedelta(hours=3))
    await _post(db, first.id, 5, expires_at=now - timedelta(hours=2))
    await _post(db, second.id, 3, expires_at=now - timedelta(hours=1))
    async with owner_db.transaction() as session:
        await session.execute(text(REFUSE_EXPIRY_FUNCTION.format(user_id=broken.id)))
        await session.execute(text(REFUSE_EXPIRY_TRIGGER))

    with pytest.raises(expiry.ExpiryFailed) as failed:
        await expiry.run_expiry(db, datetime.now(UTC))
    assert failed.value.expired == 8
    assert list(failed.value.failures) == [broken.id]
    assert "ledger write refused for this student" in failed.value.failures[broken.id]
    assert await _expiry_entries(db, first.id) == [-5]
    assert await _expiry_entries(db, second.id) == [-3]
    assert await _expiry_entries(db, broken.id) == []
    # Nothing of the broken student's transaction was kept: still due at the next sweep.
    assert await ledger_consistent(db, broken.id) == (7, 7)
    assert await scalar(
        db,
        "SELECT credit_next_expiry_at <= now() FROM student_profiles WHERE user_id = :u",
        u=broken.id,
    )

    # Through the worker, the failure is recorded like any job's, after the others' expiry.
    async with db.transaction() as session:
        await enqueue(session, billing_jobs.hourly_sweep, timestamp=0)
    await run_jobs()
    async with owner_db.transaction() as session:
        recorded = (
            await session.execute(text("SELECT task_name, attempt, error FROM job_errors"))
        ).all()
    assert [(task, attempt) for task, attempt, _ in recorded] == [
        ("studyhall.billing.hourly_sweep", 1)
    ]
    assert recorded[0][2].startswith("ExpiryFailed: credit expiry failed for 1 student(s): ")
    assert str(broken.id) in recorded[0][2]
    assert await _expiry_entries(db, first.id) == [-5]
    assert await ledger_consistent(db, broken.id) == (7, 7)

    # Once the cause is gone, the next sweep expires the skipped student's credits.
    async with owner_db.transaction() as session:
        await session.execute(text("DROP TRIGGER refuse_expiry ON credit_ledger"))
    assert await expiry.run_expiry(db, datetime.now(UTC)) == 7
    assert await ledger_consistent(db, broken.id) == (0, 0)
