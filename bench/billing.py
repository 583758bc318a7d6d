"""Billing benchmark: credit debits/s on one hot account and across 1,000 accounts with 32
clients, each next to the same SQL issued directly on raw psycopg connections in the same run;
and Stripe webhook ingest requests/s through the app (signature check, insert, enqueue).

Usage: python -m bench.billing [--debits N] [--webhooks N]   (prints one JSON line)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import re
import statistics
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import psycopg
import stripe
from pydantic import SecretStr
from sqlalchemy import text
from tests.pg import build_template, fresh_database, start_test_server

from bench._identity import bench_key, sign
from studyhall.app import create_app
from studyhall.billing.config import BillingSettings, configure_billing
from studyhall.billing.service import ledger
from studyhall.config import Settings
from studyhall.db.engine import Database
from studyhall.db.identity import Identity
from studyhall.db.rls import cross_users
from studyhall.kit.errors import PaymentRequired

REPO = Path(__file__).resolve().parents[1]

CLIENTS = 32
ACCOUNTS = 1_000
START_BALANCE = 1_000_000
SECRET = "whsec_bench"

# The service's own statement, sent with psycopg and no ORM: the ratio is what the service layer
# (SQLAlchemy, sessions, Python) costs on top of the SQL itself.
RAW_DEBIT = re.sub(r"(?<!:):(\w+)", r"%(\1)s", str(ledger._APPEND))


def percentiles(samples: list[float]) -> dict[str, float]:
    cuts = statistics.quantiles(samples, n=100, method="inclusive")
    return {
        "p50_ms": round(cuts[49] * 1000, 2),
        "p95_ms": round(cuts[94] * 1000, 2),
        "p99_ms": round(cuts[98] * 1000, 2),
    }


async def drive(total: int, one: Callable[[int], Awaitable[None]]) -> dict[str, float]:
    """``total`` operations spread over CLIENTS concurrent clients."""
    latencies: list[float] = []

    async def client(index: int) -> None:
        for n in range(index, total, CLIENTS):
            began = time.perf_counter()
            await one(n)
            latencies.append(time.perf_counter() - began)

    began = time.perf_counter()
    await asyncio.gather(*(client(i) for i in range(CLIENTS)))
    elapsed = time.perf_counter() - began
    return {"ops": total, "per_s": round(total / elapsed, 1), **percentiles(latencies)}


async def seed_users(owner_url: str) -> list[uuid.UUID]:
    async with await psycopg.AsyncConnection.connect(owner_url) as conn:
        ids = [uuid.uuid4() for _ in range(ACCOUNTS)]
        async with conn.cursor() as cur:
            await cur.executemany(
                "INSERT INTO users (id, email, name, password_hash) VALUES (%s, %s, 'b', 'x')",
                [(i, f"{i.hex}@bench.local") for i in ids],
            )
            await cur.executemany(
                "INSERT INTO student_profiles (user_id, credit_balance, credit_ledger_seq) "
                "VALUES (%s, %s, 1)",
                [(i, START_BALANCE) for i in ids],
            )
            await cur.executemany(
                "INSERT INTO credit_ledger (user_id, seq, delta, reason, balance_after) "
                "VALUES (%s, 1, %s, 'manual', %s)",
                [(i, START_BALANCE, START_BALANCE) for i in ids],
            )
        await conn.commit()
    return ids


async def service_debits(
    database: Database, pick: Callable[[int], uuid.UUID], total: int
) -> dict[str, float]:
    async def one(n: int) -> None:
        user = pick(n)
        # As in a request: the transaction is the user's (row level security applies).
        async with database.transaction(user) as session:
            await ledger.post(
                session, user, -1, "booking", source=ledger.Source(booking_id=uuid.uuid4())
            )

    return await drive(total, one)


async def raw_debits(
    app_url: str, key: bytes, pick: Callable[[int], uuid.UUID], total: int
) -> dict[str, float]:
    pool = [await psycopg.AsyncConnection.connect(app_url) for _ in range(CLIENTS)]
    free: asyncio.Queue[psycopg.AsyncConnection[Any]] = asyncio.Queue()
    for conn in pool:
        free.put_nowait(conn)

    async def one(n: int) -> None:
        conn = await free.get()
        try:
            async with conn.transaction():
                user = pick(n)
                await sign(conn, Identity(user_id=user), key)
                params = {
                    "user_id": user,
                    "delta": -1,
                    "reason": "booking",
                    "booking_id": uuid.uuid4(),
                    "payment_id": None,
                    "subscription_id": None,
                    "period_start": None,
                    "reverses_id": None,
                    "actor": None,
                    "note": None,
                    "expires_at": None,
                    "next_expiry_at": None,
                    "request_id": None,
                }
                row = await (await conn.execute(RAW_DEBIT, params)).fetchone()
                if row is None:
                    raise PaymentRequired("no credits")
        finally:
            free.put_nowait(conn)

    try:
        return await drive(total, one)
    finally:
        for conn in pool:
            await conn.close()


async def webhook_ingest(settings: Settings, database: Database, total: int) -> dict[str, float]:
    app = create_app(settings, database)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as http:

        async def one(n: int) -> None:
            payload = json.dumps(
                {
                    "id": f"evt_bench_{n}",
                    "object": "event",
                    "type": "payment_intent.created",
                    "data": {"object": {"id": f"pi_{n}", "object": "payment_intent"}},
                }
            )
            header = stripe.WebhookSignature.generate_signature_header(payload, SECRET)
            response = await http.post(
                "/api/v1/billing/webhooks/stripe",
                content=payload,
                headers={"Stripe-Signature": header},
            )
            assert response.status_code == 200, response.text

        return await drive(total, one)


async def main(debits: int, webhooks: int) -> dict[str, Any]:
    server = start_test_server()
    build_template(server)
    _, urls = fresh_database(server)
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        environment="test",
        database_url=urls.owner,
        app_database_url=urls.app,
        home=Path(tempfile.mkdtemp(prefix="studyhall-bench-")),
        db_pool_size=CLIENTS,
        db_max_overflow=0,
        in_process_worker=False,
        log_json=False,
    )
    configure_billing(
        BillingSettings(_env_file=None, stripe_webhook_secrets=[SecretStr(SECRET)])  # type: ignore[call-arg]
    )
    users = await seed_users(urls.owner)
    hot = users[0]
    rng = random.Random(7)
    spread = [rng.choice(users) for _ in range(debits)]
    database = Database.connect(urls.app, settings)
    try:
        figures: dict[str, Any] = {"clients": CLIENTS, "accounts": ACCOUNTS}
        for name, pick in (("hot_account", lambda n: hot), ("1000_accounts", lambda n: spread[n])):
            service = await service_debits(database, pick, debits)
            raw = await raw_debits(urls.app, bench_key(settings), pick, debits)
            figures[name] = {
                "service": service,
                "direct_sql": raw,
                "ratio_service_to_direct": round(service["per_s"] / raw["per_s"], 3),
            }
        figures["webhook_ingest"] = await webhook_ingest(settings, database, webhooks)
        async with database.transaction() as session:
            await cross_users(session)
            bad = await session.scalar(
                text(
                    "SELECT count(*) FROM student_profiles p WHERE p.credit_balance <> "
                    "(SELECT sum(delta) FROM credit_ledger l WHERE l.user_id = p.user_id)"
                )
            )
        figures["ledger_mismatches"] = int(bad or 0)
        return figures
    finally:
        await database.dispose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--debits", type=int, default=5_000, help="debits per scenario and side")
    parser.add_argument("--webhooks", type=int, default=3_000, help="webhook deliveries")
    args = parser.parse_args()
    print(json.dumps(asyncio.run(main(args.debits, args.webhooks))))
