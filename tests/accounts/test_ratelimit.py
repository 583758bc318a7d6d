"""Brute-force limits in PostgreSQL: exact under concurrency, 429 with Retry-After."""

from __future__ import annotations

import asyncio

import httpx

from studyhall.accounts.service.housekeeping import purge
from studyhall.config import Settings
from studyhall.db.engine import Database
from studyhall.db.rls import cross_users_transaction
from tests.accounts.conftest import PASSWORD, owner_exec, owner_rows, owner_value, sign_up

API = "/api/v1"


async def test_concurrent_guesses_hit_the_account_limit_exactly(
    client: httpx.AsyncClient, settings: Settings, owner_db: Database
) -> None:
    settings.signin_limit_per_account = 5
    actor = await sign_up(client)
    responses = await asyncio.gather(
        *(
            client.post(
                f"{API}/auth/sign-in", json={"email": actor.email, "password": f"guess{i}xx"}
            )
            for i in range(20)
        )
    )
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [401] * 5 + [429] * 15
    limited = next(r for r in responses if r.status_code == 429)
    assert limited.json()["code"] == "too_many_attempts"
    retry_after = int(limited.headers["retry-after"])
    assert 1 <= retry_after <= settings.signin_window_s + 1
    # The right password is refused too while the account is locked.
    right = await client.post(
        f"{API}/auth/sign-in", json={"email": actor.email, "password": PASSWORD}
    )
    assert right.status_code == 429
    # The counters hold no email address, only its hash.
    buckets = [row[0] for row in await owner_rows(owner_db, "SELECT bucket FROM auth_rate_limits")]
    assert all(actor.email not in bucket for bucket in buckets)
    assert (
        await owner_value(
            owner_db, "SELECT attempts FROM auth_rate_limits WHERE bucket LIKE 'signin:account:%'"
        )
        == 21
    )
    assert (
        await owner_value(owner_db, "SELECT count(*) FROM users WHERE last_login_at IS NOT NULL")
        == 0
    )


async def test_successful_sign_ins_do_not_count(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    settings.signin_limit_per_account = 2
    actor = await sign_up(client)
    for _ in range(5):
        ok = await client.post(
            f"{API}/auth/sign-in", json={"email": actor.email, "password": PASSWORD}
        )
        assert ok.status_code == 200
    bad = {"email": actor.email, "password": "wrong password"}
    assert [(await client.post(f"{API}/auth/sign-in", json=bad)).status_code for _ in range(3)] == [
        401,
        401,
        429,
    ]


async def test_ip_limit_spans_accounts(client: httpx.AsyncClient, settings: Settings) -> None:
    settings.signin_limit_per_ip = 3
    codes = []
    for i in range(5):
        body = {"email": f"nobody{i}@example.org", "password": "wrong password"}
        codes.append((await client.post(f"{API}/auth/sign-in", json=body)).status_code)
    assert codes == [401, 401, 401, 429, 429]


async def test_password_reset_requests_are_limited(
    client: httpx.AsyncClient, settings: Settings, owner_db: Database
) -> None:
    settings.reset_limit_per_account = 2
    actor = await sign_up(client)
    codes = [
        (await client.post(f"{API}/auth/password-reset", json={"email": actor.email})).status_code
        for _ in range(4)
    ]
    assert codes == [202, 202, 429, 429]
    # Two mails queued (the second replaced the first token), none for the refused requests.
    assert (
        await owner_value(
            owner_db,
            "SELECT count(*) FROM procrastinate_jobs WHERE task_name = 'studyhall.send_mail'",
        )
        == 2
    )
    assert (
        await owner_value(
            owner_db, "SELECT count(*) FROM auth_tokens WHERE purpose = 'password_reset'"
        )
        == 2
    )


async def test_many_concurrent_sign_ins_do_not_starve_the_pool(
    client: httpx.AsyncClient, settings: Settings, owner_db: Database
) -> None:
    """Regression: the limiter once took a second pooled connection while the request held
    one, so more concurrent sign-ins than pool slots waited on each other until timeout."""
    settings.signin_limit_per_account = 1000
    actor = await sign_up(client)
    slots = settings.db_pool_size + settings.db_max_overflow
    responses = await asyncio.gather(
        *(
            client.post(f"{API}/auth/sign-in", json={"email": actor.email, "password": PASSWORD})
            for _ in range(3 * slots)
        )
    )
    assert [r.status_code for r in responses] == [200] * (3 * slots)
    assert (
        await owner_value(
            owner_db, "SELECT attempts FROM auth_rate_limits WHERE bucket LIKE 'signin:account:%'"
        )
        == 0
    )


async def test_housekeeping_purges_only_expired_rows(
    client: httpx.AsyncClient, owner_db: Database, db: Database
) -> None:
    actor = await sign_up(client)
    await client.post(f"{API}/auth/sign-in", json={"email": actor.email, "password": "nope nope"})
    await client.post(f"{API}/auth/password-reset", json={"email": actor.email})
    await sign_up(client)
    await owner_exec(
        owner_db,
        "UPDATE refresh_tokens SET expires_at = now() - interval '8 days' WHERE user_id = :id",
        id=actor.id,
    )
    await owner_exec(owner_db, "UPDATE auth_tokens SET expires_at = now() - interval '8 days'")
    await owner_exec(
        owner_db,
        "UPDATE auth_rate_limits SET window_start = now() - interval '2 days' "
        "WHERE bucket LIKE 'signin:%'",
    )
    async with cross_users_transaction(db) as session:  # as the daily job does
        counts = await purge(session)
    assert counts == {"auth_tokens": 1, "refresh_tokens": 1, "auth_rate_limits": 2}
    assert await owner_value(owner_db, "SELECT count(*) FROM refresh_tokens") == 1
    assert await owner_value(owner_db, "SELECT count(*) FROM auth_rate_limits") == 2
