"""Benchmark: an admin broadcast of a system update to N users (default 100,000).

Measures, in one run against a fresh database on the test PostgreSQL:

- enqueue: from the broadcast request until every batch job has written its rows and deferred
  their delivery jobs (email + in-app per user), against a baseline of the same rows written by
  one plain ``INSERT ... SELECT`` with no jobs, no preferences and no quiet hours;
- delivery: emails delivered to the outbox per second by a worker over a time box, against a
  baseline that renders and writes the same emails to the outbox in a loop with no queue and no
  database; with p50/p95/p99 of the delivery jobs' run time.

Usage: python -m bench.notifications [--users 100000] [--deliver-seconds 60] [--concurrency 4]
Prints one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import text
from tests.pg import build_template, fresh_database, start_test_server

from studyhall.accounts.models import User
from studyhall.config import Settings
from studyhall.db.engine import Database
from studyhall.jobs import core as jobs
from studyhall.kit.mail import Mail, _deliver_outbox, build_message
from studyhall.notifications.config import get_config
from studyhall.notifications.schemas import BroadcastCreate
from studyhall.notifications.service import broadcast
from studyhall.notifications.service.queueing import BROADCAST_QUEUE, QUEUE
from studyhall.notifications.service.render import render
from studyhall.notifications.service.timing import zone_of

ROOT = Path(__file__).resolve().parents[1]

ZONES = ("UTC", "Europe/Berlin", "America/New_York", "Asia/Tokyo", "Africa/Cairo")


async def _make_users(owner: Database, count: int) -> User:
    async with owner.transaction() as session:
        await session.execute(
            text(
                "INSERT INTO users (email, password_hash, name, role, timezone) "
                "SELECT 'user' || g || '@bench.test', 'not-a-hash', 'User ' || g, "
                "CASE WHEN g % 10 = 0 THEN 'tutor' ELSE 'student' END, "
                "(CAST(:zones AS text[]))[1 + g % 5] FROM generate_series(1, :n) g"
            ),
            {"n": count, "zones": list(ZONES)},
        )
        admin_id = await session.scalar(
            text(
                "INSERT INTO users (email, password_hash, name, role) "
                "VALUES ('admin@bench.test', 'not-a-hash', 'Admin', 'admin') RETURNING id"
            )
        )
        admin = await session.get(User, admin_id)
        assert admin is not None
        return admin


async def _worker(queues: list[str], concurrency: int, wait: bool) -> None:
    await jobs.queue.run_worker_async(
        queues=queues,
        concurrency=concurrency,
        wait=wait,
        install_signal_handlers=False,
        listen_notify=wait,
        fetch_job_polling_interval=0.5,
        update_heartbeat_interval=10.0,
    )


async def _scalar(db: Database, sql: str, **params: Any) -> Any:
    async with db.transaction() as session:
        return await session.scalar(text(sql), params)


async def _enqueue(db: Database, owner: Database, admin: User) -> dict[str, Any]:
    started = time.perf_counter()
    async with db.transaction() as session:
        await broadcast.start(
            session, admin, BroadcastCreate(title="Maintenance", body="Sunday 02:00 UTC.")
        )
    await _worker([BROADCAST_QUEUE], concurrency=1, wait=False)
    enqueue_s = time.perf_counter() - started
    rows = await _scalar(owner, "SELECT count(*) FROM notifications")
    async with owner.transaction() as session:
        jobs_deferred, queued = (
            await session.execute(
                text(
                    "SELECT count(*), sum(jsonb_array_length(args->'notification_ids')) "
                    "FROM procrastinate_jobs WHERE queue_name = :q"
                ),
                {"q": QUEUE},
            )
        ).one()
    # Baseline: the same rows by one statement, no jobs, no preferences, no quiet hours.
    started = time.perf_counter()
    async with owner.transaction() as session:
        await session.execute(
            text(
                "INSERT INTO notifications (user_id, type, channel, status, payload, dedupe_key) "
                "SELECT u.id, 'system_update', c.channel, 'pending', "
                "jsonb_build_object('title', 'Baseline', 'body', '...'), 'baseline:' || c.channel "
                "FROM users u CROSS JOIN (VALUES ('email'), ('inapp')) AS c(channel) "
                "WHERE u.deleted_at IS NULL AND u.status = 'active'"
            )
        )
    baseline_s = time.perf_counter() - started
    async with owner.transaction() as session:
        await session.execute(text("DELETE FROM notifications WHERE dedupe_key LIKE 'baseline:%'"))
    return {
        "enqueue_s": round(enqueue_s, 2),
        "rows_created": rows,
        "emails_queued": int(queued),
        "delivery_jobs_deferred": jobs_deferred,
        "enqueue_rows_per_s": round(rows / enqueue_s),
        "baseline_plain_insert_s": round(baseline_s, 2),
        "enqueue_vs_baseline": round(enqueue_s / baseline_s, 2),
    }


async def _deliver(
    owner: Database, seconds: float, concurrency: int, outbox: Path
) -> dict[str, Any]:
    started = time.perf_counter()
    worker = asyncio.create_task(_worker([QUEUE], concurrency=concurrency, wait=True))
    await asyncio.sleep(seconds)
    worker.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await worker
    elapsed = time.perf_counter() - started
    delivered = await _scalar(
        owner, "SELECT count(*) FROM notifications WHERE channel = 'email' AND status = 'sent'"
    )
    files = len(await asyncio.to_thread(lambda: list(outbox.glob("*.eml"))))
    async with owner.transaction() as session:
        durations = [
            float(row[0])
            for row in await session.execute(
                text(
                    "SELECT extract(epoch FROM max(e.at) FILTER (WHERE e.type = 'succeeded') "
                    "- max(e.at) FILTER (WHERE e.type = 'started')) * 1000 "
                    "FROM procrastinate_events e JOIN procrastinate_jobs j ON j.id = e.job_id "
                    "WHERE j.queue_name = :q GROUP BY e.job_id "
                    "HAVING bool_or(e.type = 'succeeded') AND bool_or(e.type = 'started')"
                ),
                {"q": QUEUE},
            )
        ]
    cuts = statistics.quantiles(durations, n=100) if len(durations) > 1 else [0.0] * 99
    return {
        "deliver_seconds": round(elapsed, 1),
        "emails_delivered": delivered,
        "outbox_files": files,
        "deliveries_per_s": round(delivered / elapsed, 1),
        # A delivery job carries up to 50 emails due at the same instant.
        "delivery_job_ms_p50": round(cuts[49], 1),
        "delivery_job_ms_p95": round(cuts[94], 1),
        "delivery_job_ms_p99": round(cuts[98], 1),
    }


def _baseline_outbox(settings: Settings, count: int) -> float:
    """Render and write ``count`` emails straight to a scratch outbox: no queue, no database."""
    scratch = Path(tempfile.mkdtemp(prefix="bench-outbox-"))
    payload = {"title": "Maintenance", "body": "Sunday 02:00 UTC."}
    started = time.perf_counter()
    for index in range(count):
        rendered = render(
            "system_update",
            payload,
            name=f"User {index}",
            zone=zone_of(ZONES[index % 5]),
            unsubscribe_url="https://studyhall.test/api/v1/notifications/unsubscribe?token=x",
        )
        mail = Mail(
            to=f"user{index}@bench.test",
            subject=rendered.subject,
            text=rendered.text,
            html=rendered.html,
        )
        _deliver_outbox(build_message(mail, settings), scratch)
    return count / (time.perf_counter() - started)


async def main(args: argparse.Namespace) -> None:
    server = await asyncio.to_thread(start_test_server)
    await asyncio.to_thread(build_template, server)
    name, urls = await asyncio.to_thread(fresh_database, server)
    home = Path(tempfile.mkdtemp(prefix="bench-notifications-"))
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        environment="test",
        database_url=urls.owner,
        app_database_url=urls.app,
        home=home,
        mail_outbox_dir=home / "outbox",
        in_process_worker=False,
        log_json=False,
        log_level="ERROR",
    )
    db = Database.connect(urls.app, settings)
    owner = Database.connect(urls.owner, settings)
    jobs.configure_runtime(jobs.Runtime(settings=settings, database=db))
    jobs.load_tasks()
    await jobs.open_queue(urls.app, settings, max_size=args.concurrency + 2)
    try:
        admin = await _make_users(owner, args.users)
        figures: dict[str, Any] = {
            "bench": "notifications.broadcast",
            "users": args.users + 1,
            "batch_size": get_config().broadcast_batch_size,
        }
        figures |= await _enqueue(db, owner, admin)
        figures |= await _deliver(
            owner, args.deliver_seconds, args.concurrency, settings.outbox_dir
        )
        baseline = _baseline_outbox(settings, min(figures["emails_delivered"] or 100, 5000))
        figures["baseline_direct_outbox_per_s"] = round(baseline, 1)
        figures["deliveries_vs_baseline"] = round(figures["deliveries_per_s"] / baseline, 3)
        figures["worker_concurrency"] = args.concurrency
        print(json.dumps(figures))
    finally:
        await jobs.close_queue()
        await db.dispose()
        await owner.dispose()
        await asyncio.to_thread(server.drop_database, name)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--deliver-seconds", type=float, default=60.0)
    parser.add_argument("--concurrency", type=int, default=4)
    asyncio.run(main(parser.parse_args()))
