"""Every server benchmark in one run, each API figure beside its baselines from the same run.

    python -m bench [--quick] [--out bench/report.json]

``--quick`` (a few minutes): 1,000 tutors, 5 s per measurement. The default is the scale the
targets are stated at: 10,000 tutors (about 1,000,000 slots), 15 s per measurement.

Load comes from ``wrk`` (``apt-get install -y wrk``) with 32 connections against a real
``studyhall serve`` in its own process; the framework baseline is a bare FastAPI ``/healthz``
(bench/bare_app.py) under the same uvicorn; the database baseline is the SQL the route issues
(captured from one real request, bench/_capture.py) sent directly through psycopg by a
multi-process driver with as many connections. Each figure carries the generator's CPU
(``client_cpu_pct``, 100 = one core), the server's and PostgreSQL's, and the load average before
and after. Writes the report to ``--out`` and prints it as one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import psutil
import psycopg

from bench import scheduling
from bench._capture import capture, substitute
from bench._identity import bench_key
from bench._wrk import (
    Request,
    Transaction,
    load_average,
    postgres_pids,
    ratio,
    run_sql,
    run_wrk,
    serve,
)
from studyhall.accounts.service.security import issue_access_token
from studyhall.config import Settings
from studyhall.db import embedded
from studyhall.db.engine import Database
from studyhall.jobs import core as jobs

APP_ROLE = "studyhall_app"
SECRET = scheduling.SECRET
CONNECTIONS = 32
DEBIT_ACCOUNTS = 1_000
SCALES = {
    "quick": {"tutors": 1_000, "seconds": 5, "bookings": 2_500},
    "issue": {"tutors": 10_000, "seconds": 15, "bookings": 6_000},
}


@dataclass
class World:
    """The data the measurements run on, and the tokens that reach it."""

    owner_url: str
    app_url: str
    settings: Settings
    database: Database
    tutors: list[uuid.UUID]
    students: list[uuid.UUID]
    sessions: dict[uuid.UUID, uuid.UUID]
    admin: uuid.UUID
    tokens: dict[uuid.UUID, str] = field(default_factory=dict)

    def token(self, user: uuid.UUID, role: str = "student") -> str:
        if user not in self.tokens:
            self.tokens[user] = issue_access_token(
                user, role, SECRET, session_id=self.sessions[user]
            )
        return self.tokens[user]


def seed_sessions_and_credits(owner_url: str) -> None:
    """A live sign-in (a refresh token row) for every user, an admin, and credits for the first
    ``DEBIT_ACCOUNTS`` students."""
    with psycopg.connect(owner_url) as conn:
        conn.execute(
            "INSERT INTO users (email, password_hash, name, role, tokens_valid_after) "
            "VALUES ('admin@bench.test', 'x', 'Admin', 'admin', now() - interval '1 hour')"
        )
        conn.execute(
            """
            INSERT INTO refresh_tokens (user_id, family_id, token_hash, expires_at)
            SELECT id, gen_random_uuid(), encode(sha256(id::text::bytea), 'hex'),
                   now() + interval '30 days'
            FROM users
            """
        )
        conn.execute(
            """
            WITH chosen AS (
                SELECT id FROM users WHERE role = 'student' ORDER BY email LIMIT %(n)s
            ), profiles AS (
                INSERT INTO student_profiles (user_id, credit_balance, credit_ledger_seq)
                SELECT id, 1000000, 1 FROM chosen RETURNING user_id
            )
            INSERT INTO credit_ledger (user_id, seq, delta, reason, balance_after)
            SELECT user_id, 1, 1000000, 'manual', 1000000 FROM profiles
            """,
            {"n": DEBIT_ACCOUNTS},
        )
        conn.execute("ANALYZE")


def build_world(home: Path, scale: dict[str, int]) -> tuple[World, dict[str, Any]]:
    began = time.perf_counter()
    cluster, settings = scheduling.start_cluster(home)
    scheduling.seed(cluster.owner_url, scale["tutors"], scale["bookings"] * 2)
    seed_sessions_and_credits(cluster.owner_url)
    database = Database.connect(cluster.app_url, settings)
    jobs.configure_runtime(jobs.Runtime(settings=settings, database=database))
    # A captured booking defers its jobs in this process (the served app loads them itself).
    jobs.load_tasks()
    with psycopg.connect(cluster.owner_url) as conn:
        ids = conn.execute(
            "SELECT id, role FROM users WHERE role <> 'admin' ORDER BY email"
        ).fetchall()
        sessions = dict(conn.execute("SELECT user_id, family_id FROM refresh_tokens").fetchall())
        admin = conn.execute("SELECT id FROM users WHERE role = 'admin'").fetchone()
    assert admin is not None
    tutors = [i for i, role in ids if role == "tutor"]
    world = World(
        owner_url=cluster.owner_url,
        app_url=cluster.app_url,
        settings=settings,
        database=database,
        tutors=tutors,
        students=[i for i, role in ids if role == "student"],
        sessions=sessions,
        admin=admin[0],
    )
    roll = asyncio.run(scheduling.materialize_all(database, tutors, workers=2, batch=200))
    with psycopg.connect(cluster.owner_url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
        slots = conn.execute("SELECT count(*) FROM slots").fetchone()
    built = {
        "tutors": len(tutors),
        "students": len(world.students),
        "slots": slots[0] if slots else 0,
        "materialize": roll,
        "build_s": round(time.perf_counter() - began, 1),
    }
    return world, built


def server_env(world: World) -> dict[str, str]:
    return {
        "DATABASE_URL": world.owner_url,
        "STUDYHALL_APP_DATABASE_URL": world.app_url,
        "STUDYHALL_SECRET_KEY": SECRET,
        "STUDYHALL_ENVIRONMENT": "test",
        "STUDYHALL_IN_PROCESS_WORKER": "false",
        "STUDYHALL_LOG_LEVEL": "WARNING",
        "STUDYHALL_HOME": str(Path(tempfile.mkdtemp(prefix="studyhall-bench-home-"))),
    }


def watch_pids(server_pid: int, world: World) -> dict[str, int]:
    """The server's process tree and PostgreSQL's, whose CPU each figure reports."""
    trees = {"server": server_pid}
    for pid in postgres_pids(world.owner_url):
        trees["db"] = pid
    return trees


def me_requests(world: World) -> list[Request]:
    return [Request("GET", "/api/v1/me", world.token(s)) for s in world.students[:CONNECTIONS]]


def listing_request(tutor: uuid.UUID) -> Request:
    start = datetime.now(UTC).replace(microsecond=0)
    query = urlencode(
        {
            "tutor_id": str(tutor),
            "from": start.isoformat(),
            "to": (start + timedelta(days=30)).isoformat(),
            "tz": "Europe/Copenhagen",
        }
    )
    return Request("GET", f"/api/v1/slots?{query}")


def debit_requests(world: World) -> list[Request]:
    token = world.token(world.admin, "admin")
    body = json.dumps({"delta": -1, "note": "bench debit"})
    return [
        Request("POST", f"/api/v1/billing/admin/users/{s}/credits", token, body)
        for s in world.students[:DEBIT_ACCOUNTS]
    ]


def booking_work(world: World, bookings: int) -> tuple[list[Request], list[Transaction]]:
    """Distinct slots (one per tutor and day, two days out or later), one student each: half
    for the API, half for the direct transaction."""
    with psycopg.connect(world.owner_url) as conn:
        rows = conn.execute(
            "SELECT tutor_id, id FROM ("
            " SELECT DISTINCT ON (tutor_id, start_at::date) tutor_id, id, start_at,"
            "  dense_rank() OVER (PARTITION BY tutor_id ORDER BY start_at::date) AS day_no"
            " FROM slots WHERE start_at > now() + interval '2 days' AND status = 'open'"
            " ORDER BY tutor_id, start_at::date, start_at) per_day "
            "ORDER BY day_no, tutor_id LIMIT %(n)s",
            {"n": bookings * 2},
        ).fetchall()
    pairs = list(zip(world.students, rows, strict=False))
    half = len(pairs) // 2
    api = [
        Request("POST", "/api/v1/bookings", world.token(s), json.dumps({"slot_id": str(slot)}))
        for s, (_, slot) in pairs[:half]
    ]
    key = bench_key(world.settings)
    direct = [
        scheduling.booking_transaction(s, tutor, slot, key) for s, (tutor, slot) in pairs[half:]
    ]
    return api, direct


def overlaps(world: World) -> int:
    with psycopg.connect(world.owner_url) as conn:
        row = conn.execute(
            "SELECT count(*) FROM bookings a JOIN bookings b ON a.tutor_id = b.tutor_id "
            "AND a.id < b.id AND a.blocked_range && b.blocked_range AND a.slot_id <> b.slot_id"
        ).fetchone()
    return int(row[0]) if row else -1


def compare(api: dict[str, Any], sql: dict[str, Any]) -> dict[str, Any]:
    return {"api": api, "direct_sql": sql, "api_vs_sql": ratio(api, sql, "ok_rps")}


def measure_api(world: World, seconds: float, bookings: int) -> dict[str, Any]:
    """One ``studyhall serve`` process: every route and its SQL baseline."""
    out: dict[str, Any] = {}
    me = me_requests(world)
    listing = listing_request(world.tutors[0])
    debits = debit_requests(world)
    booking_api, booking_direct = booking_work(world, bookings)
    me_sql = asyncio.run(capture(world.settings, world.database, me[0]))
    me_sql_all = [
        substitute(
            me_sql, {world.students[0]: s, world.sessions[world.students[0]]: world.sessions[s]}
        )
        for s in world.students[:CONNECTIONS]
    ]
    listing_sql = asyncio.run(capture(world.settings, world.database, listing))
    first = world.students[0]
    debit_sql = asyncio.run(capture(world.settings, world.database, debits[0]))
    debit_sql_all = [substitute(debit_sql, {first: s}) for s in world.students[1:DEBIT_ACCOUNTS]]
    # One booking's statements, counted on a slot of its own (taken out of the load's share).
    booking_sql = asyncio.run(capture(world.settings, world.database, booking_api.pop()))
    out["statements_per_request"] = {
        "me": len(me_sql),
        "slots_30d": len(listing_sql),
        "debit": len(debit_sql),
        "booking": len(booking_sql),
    }
    with serve(server_env(world)) as server:
        watch = watch_pids(server.process.pid, world)
        for warm in (me, [listing], debits[:50]):
            run_wrk(server.base_url, warm, connections=4, seconds=1, once=warm is debits[:50])
        health = run_wrk(
            server.base_url,
            [Request("GET", "/healthz")],
            connections=CONNECTIONS,
            seconds=seconds,
            watch=watch,
        )
        me_api = run_wrk(server.base_url, me, connections=CONNECTIONS, seconds=seconds, watch=watch)
        out["healthz"] = health
        out["me"] = compare(me_api, sql_run(world, me_sql_all, seconds, watch))
        out["me"]["me_vs_healthz"] = ratio(me_api, health, "ok_rps")
        one = run_wrk(server.base_url, [listing], connections=1, seconds=seconds, watch=watch)
        many = run_wrk(
            server.base_url, [listing], connections=CONNECTIONS, seconds=seconds, watch=watch
        )
        out["slots_30d_one_client"] = compare(one, sql_run(world, [listing_sql], seconds, watch, 1))
        out["slots_30d"] = compare(many, sql_run(world, [listing_sql], seconds, watch))
        out["debit_1000_accounts"] = compare(
            run_wrk(
                server.base_url, debits[1:], connections=CONNECTIONS, seconds=seconds, watch=watch
            ),
            sql_run(world, debit_sql_all, seconds, watch),
        )
        out["booking"] = compare(
            run_wrk(
                server.base_url,
                booking_api,
                connections=CONNECTIONS,
                seconds=seconds,
                once=True,
                watch=watch,
            ),
            sql_run(world, booking_direct, seconds, watch, once=True),
        )
        out["booking"]["overlapping_bookings_after"] = overlaps(world)
    return out


def sql_run(
    world: World,
    work: list[Transaction],
    seconds: float,
    watch: dict[str, int],
    connections: int = CONNECTIONS,
    once: bool = False,
) -> dict[str, Any]:
    figures = run_sql(
        world.app_url,
        work,
        connections=connections,
        seconds=seconds,
        processes=min(2, connections),
        once=once,
        watch={"db": watch["db"]} if "db" in watch else None,
        # The captured identity statements are signed afresh per transaction: the captured
        # signatures lapse within minutes and the substituted user ids were never signed.
        key=bench_key(world.settings),
    )
    figures["ok_rps"] = figures["rps"]
    return figures


def measure_framework(world: World, seconds: float) -> dict[str, Any]:
    """Bare FastAPI's /healthz beside Studyhall's, and /me with 1 and 2 workers."""
    health = [Request("GET", "/healthz")]
    with serve({}, bare=True) as bare:
        bare_figures = run_wrk(
            bare.base_url,
            health,
            connections=CONNECTIONS,
            seconds=seconds,
            watch={"server": bare.process.pid},
        )
    workers: dict[str, Any] = {}
    for count in (1, 2):
        with serve(server_env(world), workers=count) as server:
            watch = watch_pids(server.process.pid, world)
            run_wrk(server.base_url, me_requests(world), connections=4, seconds=1)
            workers[str(count)] = {
                "healthz": run_wrk(
                    server.base_url, health, connections=CONNECTIONS, seconds=seconds, watch=watch
                ),
                "me": run_wrk(
                    server.base_url,
                    me_requests(world),
                    connections=CONNECTIONS,
                    seconds=seconds,
                    watch=watch,
                ),
            }
    one, two = workers["1"], workers["2"]
    return {
        "bare_fastapi_healthz": bare_figures,
        "workers": workers,
        "healthz_vs_bare": ratio(one["healthz"], bare_figures, "ok_rps"),
        "me_2_workers_vs_1": ratio(two["me"], one["me"], "ok_rps"),
        "healthz_2_workers_vs_1": ratio(two["healthz"], one["healthz"], "ok_rps"),
        "connections_per_process": world.settings.connections_per_process,
    }


def targets(report: dict[str, Any]) -> dict[str, Any]:
    api = report["api"]
    if "error" in api or "error" in report["framework"]:
        return {"error": "a phase failed; see its error"}
    return {
        "me_vs_healthz >= 0.5": api["me"]["me_vs_healthz"],
        "slots_one_client_p95_ms < 10": api["slots_30d_one_client"]["api"]["p95_ms"],
        "slots_32_clients_vs_sql >= 0.3": api["slots_30d"]["api_vs_sql"],
        "booking_vs_sql >= 0.4": api["booking"]["api_vs_sql"],
        "booking_overlaps == 0": api["booking"]["overlapping_bookings_after"],
        "debit_vs_sql >= 0.4": api["debit_1000_accounts"]["api_vs_sql"],
        "me_2_workers_vs_1": report["framework"]["me_2_workers_vs_1"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="1,000 tutors, 5 s per figure")
    parser.add_argument("--out", type=Path, default=Path("bench/report.json"))
    parser.add_argument("--tutors", type=int, help="override the scale's tutors")
    parser.add_argument("--seconds", type=int, help="override the scale's seconds per figure")
    args = parser.parse_args()
    scale_name = "quick" if args.quick else "issue"
    scale = dict(SCALES[scale_name])
    for name in ("tutors", "seconds"):
        if getattr(args, name):
            scale[name] = getattr(args, name)
            scale_name += f", {name}={scale[name]}"
    home = Path(tempfile.mkdtemp(prefix="studyhall-bench-"))
    report: dict[str, Any] = {
        "bench": "server",
        "scale": scale_name,
        "connections": CONNECTIONS,
        "seconds_per_figure": scale["seconds"],
        "machine": {
            "cpus": psutil.cpu_count(),
            "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
        "load_average_start": load_average(),
    }
    world, built = build_world(home, scale)
    report["data"] = built
    try:
        # A phase that fails is reported as such; the other's figures still count.
        for name, phase in (
            ("api", lambda: measure_api(world, scale["seconds"], scale["bookings"])),
            ("framework", lambda: measure_framework(world, scale["seconds"])),
        ):
            try:
                report[name] = phase()
            except Exception as exc:
                report[name] = {"error": repr(exc)}
            args.out.write_text(json.dumps(report, indent=2) + "\n")
    finally:
        asyncio.run(world.database.dispose())
        jobs.configure_runtime(None)
        embedded.stop(home)
    report["load_average_end"] = load_average()
    report["targets"] = targets(report)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report))


if __name__ == "__main__":
    main()
