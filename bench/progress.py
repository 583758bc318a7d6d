"""Benchmark for progress: boards and the dashboard over a large ledger, and event ingest.
Prints one JSON line.

    python -m bench.progress [--learners 100000] [--events 10000000] [--iterations 200]
                             [--ingest 500]

Builds the learners and the XP ledger with ``generate_series`` SQL (events spread over eight
UTC weeks; the ledger's keys and indexes are rebuilt after the load), then the board cache and
its per-value counts from the ledger (what the ledger's transactions keep in step in production).

Measures, sequentially in one process, with the 1-minute load average beside each figure:
- "my rank" for the learner in the middle of this week's board, both as the board computes it
  (the per-value counts above my XP plus the ties ahead) and as a plain count of the learners
  ahead (the baseline: half the board): the same answer, each one's EXPLAIN ANALYZE (cold) and
  server-side execution time (warm);
- the board's SQL path directly (``boards.board`` in a transaction, no HTTP) for that learner:
  top-100 with own rank and neighbours, and own rank alone; the dashboard's service query;
- the same through the API in-process (httpx against the ASGI app, auth included) for a fresh
  learner near the top of the board: these include the HTTP stack and the client in the same
  process;
- statements sent per board read, per ``GET /me/progress`` and per ingested event (a figure
  the machine's load does not change);
- ``GET /me/progress`` and the weekly top-100 with rank over HTTP against a real uvicorn server
  process, driven by ``wrk`` (one thread, ``--wrk-clients`` connections; latency percentiles
  from ``progress_wrk.lua``) with wrk's own CPU reported, so the load generator is seen not to
  be the bottleneck (skipped when ``wrk`` is not installed or ``--wrk-seconds 0``);
- the ingest rate of ``progress.record`` (a quiz result: ledger rows, boards and counts, streak,
  achievement check, the recommendation refresh job queued; one transaction each) next to a
  bare single-row ``INSERT INTO xp_logs`` in autocommit and the same insert in the app's own
  transaction (begin, identity, insert, commit), interleaved in rounds in the same run; then
  one compaction of the counts the ingest appended.

Uses DATABASE_URL when set (a scratch database is created on it), else a throwaway embedded
PostgreSQL.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import psutil
import psycopg
from sqlalchemy import event, text

from bench._identity import bench_key, sign
from bench._load import free_port, wait_for
from bench.courses import percentiles, timed
from studyhall.app import create_app
from studyhall.config import Settings
from studyhall.db import embedded, migrate
from studyhall.db.engine import Database, libpq_url
from studyhall.db.identity import Identity
from studyhall.db.rls import cross_users
from studyhall.progress import service as progress
from studyhall.progress.service import boards
from studyhall.progress.service import dashboard as dashboards

APP_ROLE = "studyhall_app"
ZONES = (
    "ARRAY['UTC','Europe/Berlin','America/New_York','Asia/Kolkata','Asia/Tokyo',"
    "'America/Sao_Paulo','Australia/Sydney','Africa/Lagos']"
)


_LEDGER_KEYS = (
    ("pk_xp_logs", "PRIMARY KEY (id)"),
    (
        "uq_xp_logs_user_id_source_type_reference_id_reason",
        "UNIQUE (user_id, source_type, reference_id, reason)",
    ),
    ("fk_xp_logs_user_id_users", "FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE"),
)
_LEDGER_INDEXES = (
    ("ix_xp_logs_created_at", "(created_at)"),
    ("ix_xp_logs_user_id_local_date", "(user_id, local_date)"),
)


def build_data(conn: psycopg.Connection[Any], args: argparse.Namespace) -> None:
    conn.execute(
        f"""
        INSERT INTO users (email, password_hash, name, timezone)
        SELECT 'learner' || n || '@example.com', 'x', 'Learner ' || n,
               ({ZONES})[1 + n %% 8]
        FROM generate_series(1, %(n)s) n
        """,
        {"n": args.learners},
    )
    conn.execute("CREATE TEMP TABLE learner_ids AS SELECT row_number() OVER () AS k, id FROM users")
    conn.execute("CREATE UNIQUE INDEX ON learner_ids (k)")
    conn.execute("ANALYZE learner_ids")
    count = conn.execute("SELECT count(*) FROM learner_ids").fetchone()
    assert count is not None
    # The ledger's keys and indexes are dropped for the load and rebuilt after it: one sort per
    # index instead of ten million random b-tree inserts (the run is about reading, not loading).
    for name, _ in _LEDGER_KEYS:
        conn.execute(f"ALTER TABLE xp_logs DROP CONSTRAINT {name}")
    for name, _ in _LEDGER_INDEXES:
        conn.execute(f"DROP INDEX {name}")
    # In chunks of a million, so one statement's memory stays bounded.
    remaining, chunk = args.events, 1_000_000
    while remaining > 0:
        size = min(chunk, remaining)
        conn.execute(
            """
            INSERT INTO xp_logs (user_id, source_type, reference_id, reason, xp_amount,
                                 local_date, created_at)
            SELECT l.id, (ARRAY['quiz','lesson','review','doubt','study'])[1 + g %% 5],
                   gen_random_uuid(), 'bench', 1 + (g::bigint * 7919) %% 50,
                   (t AT TIME ZONE 'UTC')::date, t
            FROM (SELECT g, now() - (random() * interval '56 days') AS t,
                         1 + (g::bigint * 104729) %% %(learners)s AS k
                  FROM generate_series(1, %(size)s) g) e
            JOIN learner_ids l ON l.k = e.k
            """,
            {"size": size, "learners": count[0]},
        )
        remaining -= size
    conn.execute("SET maintenance_work_mem = '512MB'")
    for name, definition in _LEDGER_KEYS:
        conn.execute(f"ALTER TABLE xp_logs ADD CONSTRAINT {name} {definition}")
    for name, definition in _LEDGER_INDEXES:
        conn.execute(f"CREATE INDEX {name} ON xp_logs {definition}")
    conn.execute(
        """
        INSERT INTO leaderboard_cache (period_type, period_start, user_id, xp_total)
        SELECT 'weekly', date_trunc('week', created_at AT TIME ZONE 'UTC')::date, user_id,
               sum(xp_amount)
        FROM xp_logs WHERE xp_amount > 0 GROUP BY 2, 3
        UNION ALL
        SELECT 'monthly', date_trunc('month', created_at AT TIME ZONE 'UTC')::date, user_id,
               sum(xp_amount)
        FROM xp_logs WHERE xp_amount > 0 GROUP BY 2, 3
        """
    )
    conn.execute(
        """
        INSERT INTO leaderboard_counts (period_type, period_start, xp_total, learners)
        SELECT period_type, period_start, xp_total, count(*)
        FROM leaderboard_cache WHERE listed AND xp_total > 0 GROUP BY 1, 2, 3
        """
    )
    conn.execute(
        "INSERT INTO user_streaks (user_id, current_streak, longest_streak, last_study_date) "
        "SELECT id, 3, 5, current_date FROM users"
    )
    conn.execute(
        "INSERT INTO achievements (code, title, criteria_type, criteria_value) VALUES "
        "('xp_1k', 'A thousand XP', 'total_xp', 1000), "
        "('lessons_50', 'Fifty lessons', 'lessons_completed', 50), "
        "('streak_30', 'Thirty days', 'streak_days', 30)"
    )
    conn.execute("VACUUM ANALYZE")


_THIS_WEEK = (
    "period_type = 'weekly' AND period_start = date_trunc('week', now() AT TIME ZONE 'UTC')::date"
)
_MEDIAN = f"""
    SELECT user_id, xp_total FROM leaderboard_cache WHERE {_THIS_WEEK}
    ORDER BY xp_total DESC, user_id
    OFFSET (SELECT count(*) / 2 FROM leaderboard_cache WHERE {_THIS_WEEK}) LIMIT 1
"""


def median_learner(conn: psycopg.Connection[Any]) -> tuple[uuid.UUID, int]:
    """The learner in the middle of this week's board: their rank counts half the board."""
    row = conn.execute(_MEDIAN).fetchone()
    assert row is not None
    return row[0], int(row[1])


# The rank as the board computed it before the per-value counts: every listed learner ahead
# counted on the board index. Measured beside the board's own rank as the baseline.
COUNTED_RANK = (
    "SELECT count(*) + 1 FROM leaderboard_cache b WHERE b.period_type = :period"
    " AND b.period_start = :start AND b.xp_total > 0 AND b.listed"
    " AND b.xp_total >= :xp AND (b.xp_total > :xp OR b.user_id < :me)"
)


def rank_sql(learner: tuple[uuid.UUID, int], statement: str) -> str:
    """A rank statement for ``learner`` with its parameters inlined."""
    for name, value in {
        "period": "'weekly'",
        "start": "date_trunc('week', now() AT TIME ZONE 'UTC')::date",
        "me": f"'{learner[0]}'::uuid",
        "xp": str(learner[1]),
    }.items():
        statement = statement.replace(f":{name}", value)
    return statement


RANKS = {"summed": str(boards.GLOBAL_RANK), "counted": COUNTED_RANK}


def explain_rank(conn: psycopg.Connection[Any], statement: str) -> list[str]:
    """The plan of one rank statement (its first, cold execution)."""
    plan = conn.execute(f"EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) {statement}").fetchall()
    return [row[0] for row in plan]


def execution_ms(conn: psycopg.Connection[Any], statement: str, runs: int) -> dict[str, float]:
    """The server's own execution time of ``statement``, warm, over ``runs`` executions: the
    database's share of the latency, without the client or the machine's scheduling of the
    round trips."""
    times = []
    for _ in range(runs):
        document = conn.execute(f"EXPLAIN (ANALYZE, FORMAT JSON) {statement}").fetchone()
        assert document is not None
        times.append(float(document[0][0]["Execution Time"]) / 1000)
    return percentiles(times)


def ranks_measured(
    conn: psycopg.Connection[Any], learner: tuple[uuid.UUID, int], runs: int
) -> dict[str, Any]:
    """Both rank statements for the median learner: the same answer, plans and server times."""
    found: dict[str, Any] = {}
    for name, statement in RANKS.items():
        inlined = rank_sql(learner, statement)
        answer = conn.execute(inlined).fetchone()
        assert answer is not None
        found[f"{name}_rank"] = int(answer[0])
        found[f"{name}_plan"] = explain_rank(conn, inlined)
        found[f"{name}_server_execution"] = execution_ms(conn, inlined, runs)
    assert found["summed_rank"] == found["counted_rank"], found
    return found


class Statements:
    """Counts the statements the app's engine sends while active (a load-independent figure)."""

    def __init__(self, database: Database) -> None:
        self.engine = database.engine.sync_engine
        self.count = 0

    def _seen(self, *args: Any) -> None:
        self.count += 1

    async def of(self, fn: Any) -> int:
        self.count = 0
        event.listen(self.engine, "before_cursor_execute", self._seen)
        try:
            await fn()
        finally:
            event.remove(self.engine, "before_cursor_execute", self._seen)
        return self.count


def load() -> float:
    return round(os.getloadavg()[0], 1)


BARE_INSERT = (
    "INSERT INTO xp_logs (user_id, source_type, reference_id, reason, xp_amount, local_date)"
    " VALUES (%s, 'quiz', gen_random_uuid(), 'bench', 10, current_date)"
)
WRK_SCRIPT = Path(__file__).with_name("progress_wrk.lua")
BENCH_EMAIL, BENCH_PASSWORD = "bench-user@example.com", "bench password 12345"


def _server(owner_url: str, app_url: str, port: int) -> subprocess.Popen[bytes]:
    env = os.environ | {
        "DATABASE_URL": owner_url,
        "STUDYHALL_APP_DATABASE_URL": app_url,
        "STUDYHALL_IN_PROCESS_WORKER": "false",
        "STUDYHALL_LOG_LEVEL": "WARNING",
        "STUDYHALL_HOME": tempfile.mkdtemp(prefix="studyhall-bench-home-"),
        "PYTHONPATH": str(Path(__file__).resolve().parents[1] / "src"),
    }
    command = [sys.executable, "-m", "uvicorn", "studyhall.app:create_app", "--factory"]
    command += ["--host", "127.0.0.1", "--port", str(port), "--no-access-log"]
    return subprocess.Popen([*command, "--log-level", "warning"], env=env)


def _cpu_seconds(processes: list[psutil.Process]) -> float:
    total = 0.0
    for process in processes:
        try:
            times = process.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system
    return total


def _database_processes(owner_url: str) -> list[psutil.Process]:
    """The PostgreSQL server's processes (postmaster and backends) when it runs on this machine:
    the parent of this connection's backend and its children; else none (figure left out).
    Short-lived processes (an autovacuum worker) may vanish while listed: then listed again."""
    for _ in range(5):
        try:
            with psycopg.connect(libpq_url(owner_url)) as conn:
                row = conn.execute("SELECT pg_backend_pid()").fetchone()
            assert row is not None
            postmaster = psutil.Process(int(row[0])).parent()
            if postmaster is None:
                return []
            others = [p for p in postmaster.children(recursive=True) if p.pid != row[0]]
            return [postmaster, *others]
        except psutil.NoSuchProcess:
            continue
        except (psycopg.Error, psutil.Error):
            return []
    return []


def _wrk(
    url: str, token: str, seconds: int, connections: int, server: psutil.Process, db: str
) -> dict[str, Any]:
    """One wrk run (its own process, C, one thread) against ``url``; with wrk's CPU seconds and
    the CPU the server process and the database spent per request (figures the machine's load
    changes little, unlike latency)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    database = _database_processes(db)
    server_before, db_before = _cpu_seconds([server]), _cpu_seconds(database)
    command = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "-s", str(WRK_SCRIPT)]
    done = subprocess.run(
        [*command, "-H", f"Authorization: Bearer {token}", url],
        capture_output=True,
        text=True,
        check=True,
    )
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    figures: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    requests = max(1, figures["requests"])
    figures["rps"] = round(figures["requests"] / seconds, 1)
    figures["wrk_cpu_share_of_one_core"] = round(cpu / seconds, 3)
    figures["server_cpu_ms_per_request"] = round(
        (_cpu_seconds([server]) - server_before) * 1000 / requests, 2
    )
    if database:
        figures["database_cpu_ms_per_request"] = round(
            (_cpu_seconds(database) - db_before) * 1000 / requests, 2
        )
    figures["load_1m"] = load()
    return figures


def over_http(owner_url: str, app_url: str, args: argparse.Namespace) -> dict[str, Any]:
    """The API measured with wrk against a real uvicorn server process, as the bench learner."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = _server(owner_url, app_url, port)
    try:
        wait_for(f"{base}/healthz")
        signed = httpx.post(
            f"{base}/api/v1/auth/sign-in", json={"email": BENCH_EMAIL, "password": BENCH_PASSWORD}
        )
        signed.raise_for_status()
        token = signed.json()["access_token"]
        process = psutil.Process(server.pid)
        clients = args.wrk_clients

        def run_wrk(path: str, seconds: int) -> dict[str, Any]:
            return _wrk(f"{base}/api/v1{path}", token, seconds, clients, process, owner_url)

        run_wrk("/me/progress", 3)  # warm-up, not counted
        return {
            f"wrk_{name}": run_wrk(path, args.wrk_seconds)
            for name, path in (
                ("me_progress", "/me/progress"),
                ("weekly_top100_and_rank", "/leaderboards/weekly?limit=100"),
            )
        }
    finally:
        server.terminate()
        server.wait(timeout=60)


async def run(args: argparse.Namespace, owner_url: str, app_url: str) -> dict[str, Any]:
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        environment="test",
        database_url=owner_url,
        app_database_url=app_url,
        home=Path(tempfile.mkdtemp(prefix="studyhall-bench-home-")),
        in_process_worker=False,
        log_json=False,
        log_level="WARNING",
    )
    migrate.upgrade(owner_url, APP_ROLE, rls_key=bench_key(settings))
    started = time.perf_counter()
    load_at_start = round(os.getloadavg()[0], 1)
    with psycopg.connect(libpq_url(owner_url), autocommit=True) as conn:
        build_data(conn, args)
        counts = conn.execute(
            "SELECT (SELECT count(*) FROM users), (SELECT count(*) FROM xp_logs),"
            " (SELECT count(*) FROM leaderboard_cache)"
        ).fetchone()
        assert counts is not None
        median = median_learner(conn)
        ranks = ranks_measured(conn, median, args.iterations)
    build_s = time.perf_counter() - started

    database = Database.connect(app_url, settings)
    app = create_app(settings, database)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
        signed = await client.post(
            "/api/v1/auth/sign-up",
            json={
                "email": BENCH_EMAIL,
                "password": BENCH_PASSWORD,
                "name": "Bench",
                "role": "student",
                "timezone": "Asia/Kathmandu",
            },
        )
        signed.raise_for_status()
        headers = {"Authorization": f"Bearer {signed.json()['access_token']}"}
        user_id = uuid.UUID((await client.get("/api/v1/me", headers=headers)).json()["id"])
        async with database.transaction(user_id) as session:
            for _ in range(20):
                await progress.record(
                    session,
                    progress.QuizCompleted(user_id, uuid.uuid4(), uuid.uuid4(), Decimal(90)),
                )

        async def top_100() -> None:
            response = await client.get("/api/v1/leaderboards/weekly?limit=100", headers=headers)
            assert response.status_code == 200 and len(response.json()["top"]) == 100

        async def own_rank() -> None:
            response = await client.get("/api/v1/leaderboards/weekly?limit=1", headers=headers)
            assert response.status_code == 200 and response.json()["me"] is not None

        async def dashboard() -> None:
            response = await client.get("/api/v1/me/progress", headers=headers)
            assert response.status_code == 200

        async def top_100_sql() -> None:
            async with database.transaction(median[0]) as session:
                found = await boards.board(
                    session, median[0], "weekly", "global", datetime.now(UTC), 100
                )
            assert len(found.top) == 100 and found.me is not None

        async def own_rank_sql() -> None:
            async with database.transaction(median[0]) as session:
                found = await boards.board(
                    session, median[0], "weekly", "global", datetime.now(UTC), 1
                )
            assert found.me is not None

        async def dashboard_sql() -> None:
            async with database.transaction(median[0]) as session:
                await dashboards.dashboard(session, median[0], datetime.now(UTC))

        measured: dict[str, tuple[list[float], float]] = {}

        async def measure(name: str, fn: Any, iterations: int) -> None:
            samples = await timed(fn, iterations)
            measured[name] = (samples, load())

        await measure("weekly_top100_and_median_rank_sql", top_100_sql, args.iterations)
        await measure("weekly_median_own_rank_sql", own_rank_sql, args.iterations)
        await measure("me_progress_service_median_learner", dashboard_sql, args.iterations)
        await measure("weekly_top100_and_rank_api", top_100, args.iterations)
        await measure("weekly_own_rank_api", own_rank, args.iterations)
        await measure("me_progress_api", dashboard, args.iterations)

        async def ingest_one() -> None:
            async with database.transaction(user_id) as session:
                await progress.record(
                    session,
                    progress.QuizCompleted(user_id, uuid.uuid4(), uuid.uuid4(), Decimal(80)),
                )

        async def bare_in_app_transaction() -> None:
            async with database.transaction(user_id) as session:
                await session.execute(text(BARE_INSERT.replace("%s", ":u")), {"u": user_id})

        raw = await psycopg.AsyncConnection.connect(libpq_url(app_url), autocommit=True)
        key = bench_key(settings)

        async def bare_insert() -> None:
            # Signed per transaction, as the app's are: a signature lapses after a few minutes.
            async with raw.transaction():
                await sign(raw, Identity(user_id=user_id), key)
                written = (await raw.execute(BARE_INSERT, (user_id,))).rowcount
            if written != 1:
                raise RuntimeError("the bare insert wrote no row: was its identity refused?")

        statements = Statements(database)
        per_request = {
            "weekly_top100_and_rank_sql": await statements.of(top_100_sql),
            "me_progress_api": await statements.of(dashboard),
            "ingest_quiz_event": await statements.of(ingest_one),
        }
        # The three ingest figures interleaved in rounds, so a change of the machine's load hits
        # them alike.
        rounds = 5
        for name in ("ingest_quiz_event", "ingest_bare_sql_insert", "ingest_bare_app_transaction"):
            measured[name] = ([], 0.0)
        for _ in range(rounds):
            for name, fn in (
                ("ingest_quiz_event", ingest_one),
                ("ingest_bare_sql_insert", bare_insert),
                ("ingest_bare_app_transaction", bare_in_app_transaction),
            ):
                samples = await timed(fn, max(1, args.ingest // rounds))
                measured[name] = (measured[name][0] + samples, load())
        await raw.close()
        async with database.transaction() as session:
            await cross_users(session)
            started_compaction = time.perf_counter()
            compacted = await boards.compact_counts(session)
            compaction_ms = round((time.perf_counter() - started_compaction) * 1000, 1)
    await database.dispose()
    result: dict[str, Any] = {
        "bench": "progress",
        "scale": {
            "learners": counts[0],
            "xp_events": counts[1],
            "board_rows": counts[2],
            "iterations": args.iterations,
            "build_s": round(build_s, 1),
            "median_learner_weekly_xp": median[1],
        },
        "own_rank": ranks,
        "statements_per_request": per_request,
        "compaction_after_ingest": {"ms": compaction_ms, "count_rows": compacted},
        "load_average_1m_at_start_and_end": [load_at_start, load()],
    }
    for name, (samples, load_1m) in measured.items():
        result[name] = percentiles(samples) | {"load_1m": load_1m}
    result["ingest_events_per_s"] = result["ingest_quiz_event"]["per_s"]
    result["ingest_bare_inserts_per_s"] = result["ingest_bare_sql_insert"]["per_s"]
    result["ingest_bare_app_transactions_per_s"] = result["ingest_bare_app_transaction"]["per_s"]
    if args.wrk_seconds > 0 and shutil.which("wrk"):
        result |= over_http(owner_url, app_url, args)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--learners", type=int, default=100_000)
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--iterations", type=int, default=200)
    parser.add_argument("--ingest", type=int, default=500)
    parser.add_argument("--wrk-seconds", type=int, default=20, help="0 skips the wrk runs")
    parser.add_argument("--wrk-clients", type=int, default=2)
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL")
    if url:
        name = f"bench_progress_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(libpq_url(url), autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}")
        owner = url.rsplit("/", 1)[0] + f"/{name}"
        print(json.dumps(asyncio.run(run(args, owner, owner))))
        return
    home = Path(tempfile.mkdtemp(prefix="studyhall-bench-"))
    cluster = embedded.start(home, db_name="bench", app_role=APP_ROLE, cleanup_mode="delete")
    print(json.dumps(asyncio.run(run(args, cluster.owner_url, cluster.app_url))))


if __name__ == "__main__":
    main()
