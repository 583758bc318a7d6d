"""Materialization never stalls the event loop that serves requests.

A real uvicorn server on this test's event loop, with jobs run on the same loop (what the
in-process worker does): while a tutor holding a pathological rule (first day in year one,
a billion daily occurrences, stored before start dates were bounded) is materialized,
``/healthz`` keeps answering quickly.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import uuid

import httpx
from sqlalchemy import text

from studyhall.app import create_app
from studyhall.config import Settings
from studyhall.db.engine import Database
from studyhall.db.rls import cross_users_transaction
from studyhall.scheduling.service.clock import utcnow
from studyhall.scheduling.service.materialize import materialize_tutor
from tests.scheduling.conftest import (
    API,
    create_offering,
    scalar,
    serving,
    set_settings,
    sign_up,
)

AVAILABILITY_INSERT = text(
    "INSERT INTO availability_rules (tutor_id, timezone, start_date, start_time, end_time, rrule)"
    " VALUES (:tutor_id, 'America/New_York', DATE '0001-01-01', TIME '00:00', TIME '23:45',"
    " :rrule)"
)


async def _store_pathological_rule(owner_db: Database, tutor_id: uuid.UUID) -> None:
    async with owner_db.transaction() as session:
        await session.execute(
            AVAILABILITY_INSERT, {"tutor_id": tutor_id, "rrule": "FREQ=DAILY;COUNT=1000000000"}
        )


# Runs in its own process, as a real client does: asks every 10 ms on a fixed schedule and
# counts each request's latency from when it was due, so a stall also delays every request
# that should have been sent during it. Prints the latencies when its stdin closes.
PROBE = """
import json, sys, threading, time
import httpx

stop = threading.Event()
threading.Thread(target=lambda: (sys.stdin.read(), stop.set()), daemon=True).start()
latencies = []
with httpx.Client(base_url=sys.argv[1], timeout=30) as http:
    due = time.perf_counter()
    while not stop.is_set():
        time.sleep(max(0.0, due - time.perf_counter()))
        assert http.get("/healthz").status_code == 200
        latencies.append(time.perf_counter() - due)
        due += 0.01
        while due + 0.01 < time.perf_counter():
            latencies.append(time.perf_counter() - due)
            due += 0.01
print(json.dumps(latencies))
"""


async def test_healthz_stays_fast_while_a_pathological_rule_materializes(
    settings: Settings, db: Database, owner_db: Database
) -> None:
    app = create_app(settings, db)
    async with serving(app) as base, httpx.AsyncClient(base_url=base, timeout=30) as http:
        tutor = await sign_up(http, "tutor", timezone="America/New_York")
        await create_offering(http, tutor, duration_minutes=15)
        await set_settings(http, tutor, booking_horizon_days=150)
        # The API refuses such a start date now; an old row can still hold one.
        refused = await http.post(
            f"{API}/availability-rules",
            json={
                "start_date": "0001-01-01",
                "start_time": "00:00",
                "end_time": "23:45",
                "rrule": "FREQ=DAILY;COUNT=1000000000",
            },
            headers=tutor.headers,
        )
        assert refused.status_code == 422, refused.text
        assert refused.headers["content-type"] == "application/problem+json"
        assert refused.json()["code"] == "start_date_too_early"
        await _store_pathological_rule(owner_db, tutor.id)

        async def materialize() -> None:
            async with cross_users_transaction(db) as session:  # as the daily roll does
                await materialize_tutor(session, tutor.id, utcnow())

        probe = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            PROBE,
            base,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        await asyncio.sleep(1.0)  # the probe's interpreter starts and settles
        await materialize()
        await asyncio.sleep(0.3)
        output, _ = await probe.communicate(b"")
        latencies: list[float] = json.loads(output)

    # About 150 days x 95 quarter hours of slots came out of the year-one rule.
    made = await scalar(owner_db, "SELECT count(*) FROM slots WHERE tutor_id = :t", t=tutor.id)
    assert made > 140 * 95
    assert len(latencies) > 40
    p99 = statistics.quantiles(latencies, n=100)[98]
    worst = max(latencies)
    assert p99 < 0.1, f"/healthz p99 {p99 * 1000:.0f} ms (worst {worst * 1000:.0f} ms)"
