"""Benchmark for the course store: one user's progress across 50 enrolled courses of 100 lessons,
and catalogue browsing over 10,000 courses. Prints one JSON line.

Each figure is measured through the API (httpx against the ASGI app, one transaction per request,
auth included) and, as the baseline, as the same SQL issued directly with psycopg in the same run.

    python -m bench.courses [--courses 10000] [--enrolled 50] [--lessons 100]
                                            [--iterations 200]

Uses DATABASE_URL when set (a scratch database is created on it), else a throwaway embedded
PostgreSQL.
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
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import psycopg
from sqlalchemy import Select
from sqlalchemy.dialects import postgresql

from bench._identity import bench_key, sign
from studyhall.app import create_app
from studyhall.config import Settings
from studyhall.courses.service.catalog import has_access_query
from studyhall.courses.service.learning import progress_query, summaries_query
from studyhall.courses.service.purchases import purchase_history_query
from studyhall.db import embedded, migrate
from studyhall.db.engine import Database, libpq_url
from studyhall.db.identity import Identity

APP_ROLE = "studyhall_app"


def build_data(conn: psycopg.Connection[Any], args: argparse.Namespace, user_id: uuid.UUID) -> None:
    """Enrolled courses get ``lessons`` lessons in 5 sections; the rest of the catalogue gets 2
    sections of 5 lessons. The user has completed about 40 % of the enrolled lessons; 200 other
    users add completions, grants and purchases so the tables are not trivially small."""
    per_section = max(1, args.lessons // 5)
    conn.execute(
        """
        INSERT INTO courses (title, description, created_at)
        SELECT 'Course ' || n, 'Bench course ' || n, now() - n * interval '1 second'
        FROM generate_series(1, %(n)s) n
        """,
        {"n": args.courses},
    )
    conn.execute(
        """
        CREATE TEMP TABLE enrolled AS
        SELECT id FROM courses ORDER BY md5(id::text) LIMIT %(k)s
        """,
        {"k": args.enrolled},
    )
    conn.execute(
        """
        INSERT INTO course_sections (course_id, name, status, position)
        SELECT c.id, 'Section ' || s, 'public', s
        FROM courses c, generate_series(1, 5) s
        WHERE c.id IN (SELECT id FROM enrolled) OR s <= 2
        """
    )
    conn.execute(
        """
        INSERT INTO lessons (section_id, title, status, position, content)
        SELECT cs.id, 'Lesson ' || l, CASE WHEN l %% 10 = 0 THEN 'private' ELSE 'public' END, l,
               'Body'
        FROM course_sections cs
        CROSS JOIN LATERAL generate_series(
            1, CASE WHEN cs.course_id IN (SELECT id FROM enrolled) THEN %(per)s ELSE 5 END) l
        """,
        {"per": per_section},
    )
    conn.execute(
        """
        INSERT INTO course_access (user_id, course_id, source, granted_by_user_id)
        SELECT %(u)s, id, 'grant', NULL FROM enrolled
        """,
        {"u": user_id},
    )
    conn.execute(
        """
        INSERT INTO lesson_completions (user_id, lesson_id)
        SELECT %(u)s, l.id FROM lessons l JOIN course_sections cs ON cs.id = l.section_id
        WHERE cs.course_id IN (SELECT id FROM enrolled) AND random() < 0.4
        """,
        {"u": user_id},
    )
    conn.execute(
        """
        INSERT INTO users (email, password_hash, name)
        SELECT 'load' || n || '@example.com', 'x', 'Bench ' || n FROM generate_series(1, 200) n
        """
    )
    conn.execute(
        """
        INSERT INTO lesson_completions (user_id, lesson_id)
        SELECT u.id, l.id FROM users u JOIN lessons l ON random() < 0.002
        WHERE u.email LIKE 'load%%'
        """
    )
    conn.execute(
        """
        INSERT INTO course_access (user_id, course_id, source)
        SELECT u.id, c.id, 'grant' FROM users u JOIN courses c ON random() < 0.002
        WHERE u.email LIKE 'load%%'
        """
    )
    conn.execute(
        """
        INSERT INTO products (name, description, image_url, price_cents, currency, status)
        SELECT 'Product ' || n, 'd', 'https://x/i.png', 100 * n, 'USD', 'public'
        FROM generate_series(1, 20) n
        """
    )
    conn.execute(
        """
        INSERT INTO purchases (user_id, product_id, status, price_paid_cents, currency,
                               product_details, paid_at)
        SELECT u.id, p.id, 'paid', p.price_cents, 'USD', '{}'::jsonb, now()
        FROM users u CROSS JOIN products p
        WHERE u.id = %(u)s OR u.email LIKE 'load%%'
        """,
        {"u": user_id},
    )
    conn.execute("VACUUM ANALYZE")


def sql(query: Select[Any]) -> str:
    compiled = query.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True})
    return str(compiled)


def percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)

    def at(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000, 3)

    return {
        "p50_ms": at(0.50),
        "p95_ms": at(0.95),
        "p99_ms": at(0.99),
        "per_s": round(len(samples) / sum(samples), 1),
    }


async def timed(fn: Callable[[], Awaitable[Any]], iterations: int) -> list[float]:
    for _ in range(min(10, iterations)):
        await fn()
    samples = []
    for _ in range(iterations):
        start = time.perf_counter()
        await fn()
        samples.append(time.perf_counter() - start)
    return samples


def plan_indexes(conn: psycopg.Connection[Any], statement: str) -> list[str]:
    document = conn.execute(f"EXPLAIN (FORMAT JSON) {statement}").fetchone()
    assert document is not None

    def walk(node: dict[str, Any]) -> list[str]:
        own = [node["Index Name"]] if "Index Name" in node else []
        if node["Node Type"] == "Seq Scan":
            own.append(f"SEQ SCAN {node['Relation Name']}")
        return own + [name for child in node.get("Plans", []) for name in walk(child)]

    return sorted(set(walk(document[0][0]["Plan"])))


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
    database = Database.connect(app_url, settings)
    app = create_app(settings, database)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
        signed = await client.post(
            "/api/v1/auth/sign-up",
            json={
                "email": "bench-user@example.com",
                "password": "bench password 12345",
                "name": "Bench",
                "role": "student",
                "timezone": "UTC",
            },
        )
        signed.raise_for_status()
        headers = {"Authorization": f"Bearer {signed.json()['access_token']}"}
        me = (await client.get("/api/v1/me", headers=headers)).json()
        user_id = uuid.UUID(me["id"])

        started = time.perf_counter()
        with psycopg.connect(libpq_url(owner_url), autocommit=True) as conn:
            build_data(conn, args, user_id)
            one_course = conn.execute(
                "SELECT course_id FROM course_access WHERE user_id = %s LIMIT 1", (user_id,)
            ).fetchone()
            assert one_course is not None
            course_id = one_course[0]
            counts = conn.execute(
                "SELECT (SELECT count(*) FROM courses), (SELECT count(*) FROM lessons),"
                " (SELECT count(*) FROM lesson_completions)"
            ).fetchone()
            assert counts is not None
            plans = {
                "access_check": plan_indexes(conn, sql(has_access_query(user_id, course_id))),
                "course_progress": plan_indexes(conn, sql(progress_query(user_id, course_id))),
                "purchase_history": plan_indexes(conn, sql(purchase_history_query(user_id))),
            }
        build_s = time.perf_counter() - started

        summary_sql = sql(summaries_query(user_id))
        progress_sql = sql(progress_query(user_id, course_id))
        first_page_sql = (
            "SELECT id, title, description, author_id, created_at FROM courses"
            " ORDER BY created_at DESC, id DESC LIMIT 21"
        )

        async def api_my_courses() -> None:
            # One page of the paged list (at most 200 courses).
            params = {"limit": min(args.enrolled, 200)}
            response = await client.get("/api/v1/me/courses", params=params, headers=headers)
            assert response.status_code == 200
            assert len(response.json()["items"]) == min(args.enrolled, 200)

        async def api_course_progress() -> None:
            response = await client.get(f"/api/v1/courses/{course_id}/progress", headers=headers)
            assert response.status_code == 200

        cursors: list[str | None] = [None]

        async def api_browse() -> None:
            # Walks the catalogue page by page, wrapping around, so deep pages are measured too.
            params: dict[str, Any] = {"limit": 20}
            if cursors[-1] is not None:
                params["cursor"] = cursors[-1]
            response = await client.get("/api/v1/courses", params=params)
            assert response.status_code == 200
            cursors.append(response.json()["next_cursor"])

        raw = await psycopg.AsyncConnection.connect(libpq_url(app_url), autocommit=True)
        key = bench_key(settings)

        def raw_query(statement: str) -> Callable[[], Awaitable[None]]:
            # One transaction per query, signed as it starts, as a request's is: a signature
            # lapses after a few minutes, so one per connection would not outlast a long run.
            async def go() -> None:
                async with raw.transaction():
                    await sign(raw, Identity(user_id=user_id), key)
                    rows = await (await raw.execute(statement)).fetchall()
                if not rows:
                    raise RuntimeError(f"the SQL baseline read no rows: {statement[:60]}")

            return go

        async def api_floor() -> None:
            # The cheapest public route: what any request costs before domain work.
            response = await client.get("/api/v1/subjects")
            assert response.status_code == 200

        figures = {
            "api_floor_empty_list": await timed(api_floor, args.iterations),
            "my_courses_progress_api": await timed(api_my_courses, args.iterations),
            "my_courses_progress_sql": await timed(raw_query(summary_sql), args.iterations),
            "course_progress_api": await timed(api_course_progress, args.iterations),
            "course_progress_sql": await timed(raw_query(progress_sql), args.iterations),
            "catalogue_page_api": await timed(api_browse, args.iterations),
            "catalogue_page_sql": await timed(raw_query(first_page_sql), args.iterations),
        }
        await raw.close()
    await database.dispose()
    result: dict[str, Any] = {
        "bench": "courses",
        "scale": {
            "courses": counts[0],
            "lessons": counts[1],
            "completions": counts[2],
            "enrolled_courses": args.enrolled,
            "lessons_per_enrolled_course": (args.lessons // 5) * 5,
            "iterations": args.iterations,
            "build_s": round(build_s, 1),
        },
    }
    for name, samples in figures.items():
        result[name] = percentiles(samples)
    for name in ("my_courses_progress", "course_progress", "catalogue_page"):
        result[f"{name}_api_over_sql_p50"] = round(
            statistics.median(figures[f"{name}_api"]) / statistics.median(figures[f"{name}_sql"]), 2
        )
    result["catalogue_pages_walked"] = len(cursors) - 1
    result["plans"] = plans
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--courses", type=int, default=10_000)
    parser.add_argument("--enrolled", type=int, default=50)
    parser.add_argument("--lessons", type=int, default=100)
    parser.add_argument("--iterations", type=int, default=200)
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL")
    if url:
        name = f"bench_courses_{uuid.uuid4().hex[:8]}"
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
