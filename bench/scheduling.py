"""Tutoring marketplace benchmark: materialization, slot listing, booking throughput.

    python -m bench.scheduling [--tutors 10000] [--clients 32] [--bookings 3000]

Builds its own data in a throwaway embedded PostgreSQL (tuned like the test cluster): tutors
with a weekly rule (Mon/Wed/Fri 09:00-12:00 local) spread over 50 IANA zones and a 90-day
horizon. Measures

* materialization: every tutor's slots made by the real service in batches of ``--batch`` tutors
  (one transaction each, ``--workers`` at a time), once into an empty table and once more as the
  daily roll over the full table (per-tutor ms, slowest batch), beside the close statement the
  roll used before, issued directly for one batch (``--roll-only`` stops here);
* listing: GET /api/v1/slots for one tutor over 30 days, p50/p95/p99 over ``--listings`` calls;
* booking: POST /api/v1/bookings on distinct slots from ``--clients`` concurrent clients, next to
  the same SQL transaction (tutor lock, hold expiry, seat update, booking insert, audit row, job
  defer) issued directly through psycopg by as many connections, in the same run.

Prints one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import tempfile
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import psycopg
from sqlalchemy import text

from bench._identity import Statement, bench_key, identity_statement
from studyhall.accounts.service.security import issue_access_token
from studyhall.app import create_app
from studyhall.config import Settings
from studyhall.db import embedded, migrate
from studyhall.db.engine import Database
from studyhall.db.identity import Identity
from studyhall.db.rls import cross_users_transaction
from studyhall.jobs import core as jobs
from studyhall.scheduling.service import materialize_tutors

APP_ROLE = "studyhall_app"
ZONES = (
    "UTC",
    "Europe/London",
    "Europe/Dublin",
    "Europe/Lisbon",
    "Europe/Paris",
    "Europe/Berlin",
    "Europe/Copenhagen",
    "Europe/Madrid",
    "Europe/Rome",
    "Europe/Athens",
    "Europe/Helsinki",
    "Europe/Kyiv",
    "Europe/Istanbul",
    "Europe/Moscow",
    "Africa/Cairo",
    "Africa/Lagos",
    "Africa/Johannesburg",
    "Africa/Nairobi",
    "Asia/Dubai",
    "Asia/Tehran",
    "Asia/Karachi",
    "Asia/Kolkata",
    "Asia/Kathmandu",
    "Asia/Dhaka",
    "Asia/Bangkok",
    "Asia/Jakarta",
    "Asia/Singapore",
    "Asia/Shanghai",
    "Asia/Tokyo",
    "Asia/Seoul",
    "Australia/Perth",
    "Australia/Adelaide",
    "Australia/Sydney",
    "Australia/Lord_Howe",
    "Pacific/Auckland",
    "Pacific/Chatham",
    "Pacific/Kiritimati",
    "Pacific/Honolulu",
    "America/Anchorage",
    "America/Los_Angeles",
    "America/Denver",
    "America/Phoenix",
    "America/Chicago",
    "America/Mexico_City",
    "America/New_York",
    "America/Havana",
    "America/Santiago",
    "America/Sao_Paulo",
    "America/Argentina/Buenos_Aires",
    "America/St_Johns",
)
assert len(ZONES) == 50

SECRET = "bench-secret-bench-secret-bench-secret"


def percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    cuts = statistics.quantiles(ordered, n=100, method="inclusive")
    return {
        "p50_ms": round(cuts[49] * 1000, 2),
        "p95_ms": round(cuts[94] * 1000, 2),
        "p99_ms": round(cuts[98] * 1000, 2),
    }


def seed(owner_url: str, tutors: int, students: int) -> None:
    today = date.today().isoformat()
    with psycopg.connect(owner_url) as conn:
        conn.execute(
            """
            INSERT INTO users (email, password_hash, name, role, timezone, tokens_valid_after)
            SELECT 'tutor-' || g || '@bench.test', 'x', 'Tutor ' || g, 'tutor',
                   (%(zones)s::text[])[1 + g %% 50], now() - interval '1 hour'
            FROM generate_series(0, %(n)s - 1) g
            """,
            {"zones": list(ZONES), "n": tutors},
        )
        conn.execute(
            """
            INSERT INTO users (email, password_hash, name, role, tokens_valid_after)
            SELECT 'student-' || g || '@bench.test', 'x', 'Student ' || g, 'student',
                   now() - interval '1 hour'
            FROM generate_series(0, %(n)s - 1) g
            """,
            {"n": students},
        )
        conn.execute(
            "INSERT INTO tutor_schedule_settings (tutor_id) "
            "SELECT id FROM users WHERE role = 'tutor'"
        )
        # Only verified tutors sell.
        conn.execute(
            "INSERT INTO tutor_profiles (user_id, verification_status) "
            "SELECT id, 'verified' FROM users WHERE role = 'tutor'"
        )
        conn.execute(
            """
            INSERT INTO offerings (tutor_id, title, description, short_description,
                                   duration_minutes, price_cents, currency)
            SELECT id, '1:1 lesson', 'A lesson.', 'A lesson.', 60, 0, 'USD'
            FROM users WHERE role = 'tutor'
            """
        )
        conn.execute(
            """
            INSERT INTO availability_rules (tutor_id, timezone, start_date, start_time, end_time,
                                            rrule)
            SELECT id, timezone, %(today)s, '09:00', '12:00', 'FREQ=WEEKLY;BYDAY=MO,WE,FR'
            FROM users WHERE role = 'tutor'
            """,
            {"today": today},
        )
        conn.execute("ANALYZE")


async def materialize_all(
    database: Database, tutor_ids: list[uuid.UUID], workers: int, batch: int
) -> dict[str, float]:
    """What the daily roll does: batches of tutors, each its own transaction, ``workers``
    batches at a time. Returns the wall time and the slowest batch."""
    now = datetime.now(UTC)
    pending = [tutor_ids[i : i + batch] for i in range(0, len(tutor_ids), batch)]
    slowest = 0.0

    async def worker() -> None:
        nonlocal slowest
        while pending:
            chunk = pending.pop()
            began = time.perf_counter()
            async with cross_users_transaction(database) as session:
                await materialize_tutors(session, chunk, now)
            slowest = max(slowest, time.perf_counter() - began)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(workers)))
    seconds = time.perf_counter() - started
    return {
        "s": round(seconds, 2),
        "per_tutor_ms": round(seconds * 1000 / max(len(tutor_ids), 1), 3),
        "slowest_batch_s": round(slowest, 2),
    }


# The close of stale slots the roll used before: an anti-join of the batch's slots against the
# wanted (offering, start) pairs as unnested arrays. Issued directly for one batch and one chunk
# of 2,000 wanted starts, under a bounded statement timeout, as the baseline.
OLD_CLOSE_STALE = """
    UPDATE slots s SET status = 'closed'
    WHERE s.tutor_id = ANY(%(tutor_ids)s::uuid[])
      AND s.start_at >= %(low)s AND s.start_at < %(high)s
      AND s.status = 'open' AND s.seats_taken = 0
      AND NOT EXISTS (
        SELECT 1 FROM unnest(%(offering_ids)s::uuid[], %(starts)s::timestamptz[])
             AS u(offering_id, start_at)
        WHERE u.offering_id = s.offering_id AND u.start_at = s.start_at)
"""


def old_close_one_batch(owner_url: str, tutor_ids: list[uuid.UUID], timeout_s: int) -> Any:
    """Milliseconds of the old statement for the first batch's first 2,000 slots (rolled back:
    it changes nothing), or "timeout" when it outlives ``timeout_s``."""
    with psycopg.connect(owner_url) as conn:
        wanted = conn.execute(
            "SELECT offering_id, start_at FROM slots WHERE tutor_id = ANY(%(t)s) "
            "ORDER BY start_at LIMIT 2000",
            {"t": tutor_ids},
        ).fetchall()
        params = {
            "tutor_ids": tutor_ids,
            "offering_ids": [row[0] for row in wanted],
            "starts": [row[1] for row in wanted],
            "low": wanted[0][1],
            "high": wanted[-1][1],
        }
        conn.execute(f"SET statement_timeout = '{timeout_s}s'")
        began = time.perf_counter()
        try:
            conn.execute(OLD_CLOSE_STALE, params)
        except psycopg.errors.QueryCanceled:
            return f"timeout after {timeout_s} s"
        finally:
            conn.rollback()
        return round((time.perf_counter() - began) * 1000, 1)


async def roll_figures(
    database: Database, owner_url: str, tutor_ids: list[uuid.UUID], args: argparse.Namespace
) -> dict[str, Any]:
    """The first materialization (empty table), then the daily roll over the full table, then
    the old close statement for one batch as the baseline."""
    first = await materialize_all(database, tutor_ids, args.workers, args.batch)
    with psycopg.connect(owner_url, autocommit=True) as conn:
        conn.execute("ANALYZE slots")
    again = await materialize_all(database, tutor_ids, args.workers, args.batch)
    return {
        "roll_batch_tutors": args.batch,
        "statement_timeout_s": 60,
        "materialize_first": first,
        "roll_daily": again,
        "baseline_old_close_one_batch_ms": old_close_one_batch(
            owner_url, tutor_ids[: args.batch], args.baseline_timeout
        ),
    }


async def time_listings(http: httpx.AsyncClient, tutor_id: uuid.UUID, calls: int) -> list[float]:
    start = datetime.now(UTC)
    params = {
        "tutor_id": str(tutor_id),
        "from": start.isoformat(),
        "to": (start + timedelta(days=30)).isoformat(),
        "tz": "Europe/Copenhagen",
    }
    samples = []
    for _ in range(calls):
        began = time.perf_counter()
        response = await http.get("/api/v1/slots", params=params)
        samples.append(time.perf_counter() - began)
        assert response.status_code == 200 and response.json()["items"], response.text
    return samples


async def closed_loop(clients: int, work: list[Any], one: Any) -> tuple[float, list[float], int]:
    """``clients`` loops take items from ``work`` until it is empty; returns (s, latencies, ok)."""
    queue = list(work)
    latencies: list[float] = []
    ok = 0

    async def client() -> None:
        nonlocal ok
        while queue:
            item = queue.pop()
            began = time.perf_counter()
            if await one(item):
                ok += 1
            latencies.append(time.perf_counter() - began)

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    return time.perf_counter() - started, latencies, ok


# After the student's signed identity (``booking_transaction``).
DIRECT_SQL = (
    ("INSERT INTO tutor_schedule_settings (tutor_id) VALUES (%(tutor)s) ON CONFLICT DO NOTHING"),
    ("SELECT * FROM tutor_schedule_settings WHERE tutor_id = %(tutor)s FOR UPDATE"),
    (
        "UPDATE bookings SET status = 'canceled', canceled_by = 'system' "
        "WHERE status IN ('pending_payment', 'pending_approval') AND hold_expires_at <= now() "
        "AND (tutor_id = %(tutor)s OR student_id = %(student)s) RETURNING id, slot_id"
    ),
    ("SELECT * FROM slots WHERE id = %(slot)s"),
    (
        "UPDATE slots SET seats_taken = seats_taken + 1, status = CASE WHEN seats_taken + 1 "
        ">= capacity THEN 'booked' ELSE 'open' END WHERE id = %(slot)s AND status = 'open' "
        "AND seats_taken < capacity RETURNING id"
    ),
    (
        "INSERT INTO bookings (student_id, tutor_id, offering_id, slot_id, start_at, end_at, "
        "blocked_range, status, price_cents, currency) SELECT %(student)s, tutor_id, offering_id, "
        "id, start_at, end_at, tstzrange(start_at, end_at), 'confirmed', 0, 'USD' FROM slots "
        "WHERE id = %(slot)s RETURNING id"
    ),
    (
        "INSERT INTO audit_log (actor_user_id, action, entity, entity_id, diff) "
        "VALUES (%(student)s, 'booking.create', 'booking', %(slot)s::text, '{}')"
    ),
    (
        "SELECT procrastinate_defer_jobs_v1(ARRAY[ROW('default', "
        "'studyhall.scheduling.sync_calendar_events', 0, NULL, NULL, "
        "jsonb_build_object('booking_id', %(slot)s::text), NULL)"
        "::procrastinate_job_to_defer_v1])"
    ),
)


def booking_transaction(
    student: uuid.UUID, tutor: uuid.UUID, slot: uuid.UUID, key: bytes
) -> list[Statement]:
    """One booking as direct SQL. It crosses users from its start (the tutor's slot, other
    students' lapsed holds), as the service's booking does; sign it as it starts."""
    params = {"student": student, "tutor": tutor, "slot": slot}
    claim = identity_statement(Identity(user_id=student, crosses_users=True), key)
    return [claim, *((sql, params) for sql in DIRECT_SQL)]


async def direct_bookings(
    app_url: str, clients: int, work: list[tuple[uuid.UUID, uuid.UUID, uuid.UUID]], key: bytes
) -> tuple[float, list[float], int]:
    conns = [await psycopg.AsyncConnection.connect(app_url) for _ in range(clients)]
    free = list(conns)

    async def one(item: tuple[uuid.UUID, uuid.UUID, uuid.UUID]) -> bool:
        conn = free.pop()
        try:
            booked = None
            async with conn.transaction():
                for statement, params in booking_transaction(*item, key):
                    cursor = await conn.execute(statement, params)
                    if statement.startswith("INSERT INTO bookings"):
                        booked = await cursor.fetchone()
            # A booking row or nothing: an identity the database refused books nothing.
            return booked is not None
        finally:
            free.append(conn)

    try:
        return await closed_loop(clients, work, one)
    finally:
        for conn in conns:
            await conn.close()


def start_cluster(home: Path, **overrides: Any) -> tuple[embedded.EmbeddedDatabase, Settings]:
    """A fresh embedded cluster migrated at head, with the settings of the server to bench (its
    key signs the row level security identities of every baseline)."""
    cluster = embedded.start(
        home, db_name="bench", app_role=APP_ROLE, cleanup_mode="delete", tune_for_tests=True
    )
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        environment="test",
        secret_key=SECRET,
        database_url=cluster.owner_url,
        app_database_url=cluster.app_url,
        home=home / "home",
        in_process_worker=False,
        log_json=False,
        log_level="WARNING",
        **overrides,
    )
    migrate.upgrade(cluster.owner_url, APP_ROLE, rls_key=bench_key(settings))
    return cluster, settings


async def run(args: argparse.Namespace) -> dict[str, Any]:
    home = Path(tempfile.mkdtemp(prefix="studyhall-bench-sched-"))
    cluster, settings = start_cluster(home, db_pool_size=args.clients, db_max_overflow=0)
    students = args.bookings * 2
    seeded = time.perf_counter()
    seed(cluster.owner_url, args.tutors, students)
    seed_s = time.perf_counter() - seeded
    database = Database.connect(cluster.app_url, settings)
    jobs.configure_runtime(jobs.Runtime(settings=settings, database=database))
    # The in-process app defers the domains' tasks (a booking's calendar sync): they must be known.
    jobs.load_tasks()
    figures: dict[str, Any] = {
        "tutors": args.tutors,
        "zones": len(ZONES),
        "horizon_days": 90,
        "clients": args.clients,
        "seed_s": round(seed_s, 2),
    }
    try:
        async with cross_users_transaction(database) as session:
            tutor_ids = list(
                (await session.scalars(text("SELECT id FROM users WHERE role = 'tutor'"))).all()
            )
            student_ids = list(
                (await session.scalars(text("SELECT id FROM users WHERE role = 'student'"))).all()
            )
        figures["roll"] = await roll_figures(database, cluster.owner_url, tutor_ids, args)
        async with cross_users_transaction(database) as session:
            slot_count = await session.scalar(text("SELECT count(*) FROM slots"))
        figures["slots"] = slot_count
        figures["load_average"] = [round(x, 2) for x in os.getloadavg()]
        if args.roll_only:
            return figures
        figures["materialize_s"] = figures["roll"]["materialize_first"]["s"]
        figures["materialize_slots_per_s"] = round((slot_count or 0) / figures["materialize_s"])
        app = create_app(settings, database)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as http:
            listing = await time_listings(http, tutor_ids[0], args.listings)
            figures["listing_30d_one_tutor"] = percentiles(listing)
            figures["listing_slots_returned"] = len(
                (
                    await http.get(
                        "/api/v1/slots",
                        params={
                            "tutor_id": str(tutor_ids[0]),
                            "from": datetime.now(UTC).isoformat(),
                            "to": (datetime.now(UTC) + timedelta(days=30)).isoformat(),
                            "limit": 200,
                        },
                    )
                ).json()["items"]
            )
            api_work, direct_work = await booking_work(database, tutor_ids, student_ids, args)
            tokens = {s: issue_access_token(s, "student", SECRET) for s, _, _ in api_work}

            async def api_one(item: tuple[uuid.UUID, uuid.UUID, uuid.UUID]) -> bool:
                student, _, slot = item
                response = await http.post(
                    "/api/v1/bookings",
                    json={"slot_id": str(slot)},
                    headers={"Authorization": f"Bearer {tokens[student]}"},
                )
                return response.status_code == 201

            api_s, api_lat, api_ok = await closed_loop(args.clients, api_work, api_one)
        direct_s, direct_lat, direct_ok = await direct_bookings(
            cluster.app_url, args.clients, direct_work, bench_key(settings)
        )
        if not direct_ok:
            raise RuntimeError("the direct bookings booked nothing: was their identity refused?")
        figures["booking_api"] = {
            "bookings": api_ok,
            "per_s": round(api_ok / api_s, 1),
            **percentiles(api_lat),
        }
        figures["booking_direct_psycopg"] = {
            "bookings": direct_ok,
            "per_s": round(direct_ok / direct_s, 1),
            **percentiles(direct_lat),
        }
        figures["booking_api_vs_direct_ratio"] = round((api_ok / api_s) / (direct_ok / direct_s), 3)
        async with cross_users_transaction(database) as session:
            figures["overlaps_after"] = await session.scalar(
                text(
                    "SELECT count(*) FROM bookings a JOIN bookings b ON a.tutor_id = b.tutor_id "
                    "AND a.id < b.id AND a.blocked_range && b.blocked_range "
                    "AND a.slot_id <> b.slot_id"
                )
            )
    finally:
        await database.dispose()
        jobs.configure_runtime(None)
    return figures


async def booking_work(
    database: Database,
    tutor_ids: list[uuid.UUID],
    student_ids: list[uuid.UUID],
    args: argparse.Namespace,
) -> tuple[list[Any], list[Any]]:
    """Distinct slots two days out or later, spread over tutors; one student per booking."""
    async with cross_users_transaction(database) as session:
        rows = (
            await session.execute(
                text(
                    "SELECT tutor_id, id FROM ("
                    " SELECT DISTINCT ON (tutor_id, start_at::date) tutor_id, id, start_at,"
                    "  dense_rank() OVER (PARTITION BY tutor_id ORDER BY start_at::date) AS day_no"
                    " FROM slots WHERE start_at > now() + interval '2 days' AND status = 'open'"
                    " ORDER BY tutor_id, start_at::date, start_at) per_day "
                    "ORDER BY day_no, tutor_id LIMIT :n"
                ),
                {"n": args.bookings * 2},
            )
        ).all()
    # One slot per tutor-day keeps the bookings apart in time, so every one can succeed, and
    # round-robin over tutors spreads them the way real traffic does.
    pairs = [(student, row[0], row[1]) for student, row in zip(student_ids, rows, strict=False)]
    half = len(pairs) // 2
    return pairs[:half], pairs[half:]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tutors", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--batch", type=int, default=200)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--bookings", type=int, default=3000)
    parser.add_argument("--listings", type=int, default=300)
    parser.add_argument("--roll-only", action="store_true", help="only the materialization")
    parser.add_argument("--baseline-timeout", type=int, default=20)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(run(args))))


if __name__ == "__main__":
    main()
