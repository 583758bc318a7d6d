"""The access check, course progress and purchase history are each one query answered through an
index (EXPLAIN)."""

from __future__ import annotations

import json
import uuid
from typing import Any

from sqlalchemy import Select, text
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.courses.service.catalog import has_access_query
from studyhall.courses.service.learning import progress_query
from studyhall.courses.service.purchases import purchase_history_query
from studyhall.db.engine import Database

BULK = """
INSERT INTO users (id, email, password_hash, name)
SELECT ('00000000-0000-0000-0000-' || lpad(n::text, 12, '0'))::uuid,
       'bulk' || n || '@example.com', 'x', 'Bulk ' || n
FROM generate_series(1, 400) n;
INSERT INTO courses (title, description, created_at)
SELECT 'Course ' || n, 'd', now() - n * interval '1 minute' FROM generate_series(1, 2000) n;
INSERT INTO course_sections (course_id, name, status, position)
SELECT c.id, 'S' || s, 'public', s FROM courses c, generate_series(1, 3) s;
INSERT INTO lessons (section_id, title, status, position)
SELECT cs.id, 'L' || l, CASE WHEN l = 5 THEN 'private' ELSE 'public' END, l
FROM course_sections cs, generate_series(1, 5) l;
INSERT INTO products (name, description, image_url, price_cents, currency, status)
SELECT 'P' || n, 'd', 'https://x/i.png', 100 * n, 'USD', 'public' FROM generate_series(1, 50) n;
INSERT INTO course_products (course_id, product_id)
SELECT DISTINCT ON (p.id) c.id, p.id FROM products p CROSS JOIN LATERAL
  (SELECT id FROM courses ORDER BY md5(p.id::text || id::text) LIMIT 1) c;
INSERT INTO purchases (user_id, product_id, status, price_paid_cents, currency, product_details,
                       paid_at, created_at)
SELECT u.id, p.id, 'paid', p.price_cents, 'USD', '{}'::jsonb, now(),
       now() - random() * interval '90 days'
FROM users u CROSS JOIN LATERAL
  (SELECT id, price_cents FROM products ORDER BY md5(u.id::text || id::text) LIMIT 8) p;
INSERT INTO course_access (user_id, course_id, source, purchase_id)
SELECT pu.user_id, cp.course_id, 'purchase', pu.id
FROM purchases pu JOIN course_products cp ON cp.product_id = pu.product_id;
INSERT INTO lesson_completions (user_id, lesson_id)
SELECT u.id, l.id FROM users u CROSS JOIN LATERAL
  (SELECT id FROM lessons ORDER BY md5(u.id::text || id::text) LIMIT 60) l;
ANALYZE;
"""


def _sql(query: Select[Any]) -> str:
    return str(query.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}))


def _nodes(plan: dict[str, Any]) -> list[dict[str, Any]]:
    found = [plan]
    for child in plan.get("Plans", []):
        found.extend(_nodes(child))
    return found


async def _plan(session: AsyncSession, query: Select[Any]) -> list[dict[str, Any]]:
    raw = (await session.execute(text(f"EXPLAIN (FORMAT JSON) {_sql(query)}"))).scalar_one()
    document = raw if isinstance(raw, list) else json.loads(raw)
    return _nodes(document[0]["Plan"])


def _seq_scans(nodes: list[dict[str, Any]]) -> set[str]:
    return {node["Relation Name"] for node in nodes if node["Node Type"] == "Seq Scan"}


async def test_seed_004_query_patterns_use_their_indexes(owner_db: Database) -> None:
    async with owner_db.transaction() as session:
        for statement in BULK.strip().split(";\n"):
            if statement.strip():
                await session.execute(text(statement))
    user_id = uuid.UUID("00000000-0000-0000-0000-000000000007")
    async with owner_db.transaction() as session:
        course_id = (
            await session.execute(
                text("SELECT course_id FROM course_access WHERE user_id = :u LIMIT 1"),
                {"u": user_id},
            )
        ).scalar_one()

        access = await _plan(session, has_access_query(user_id, course_id))
        assert "ix_course_access_user_id_course_id_live" in {
            node.get("Index Name") for node in access
        }
        assert _seq_scans(access) == set()

        progress = await _plan(session, progress_query(user_id, course_id))
        names = {node.get("Index Name") for node in progress}
        assert "uq_course_sections_course_id_position" in names
        # Either completions index answers the LEFT JOIN, by the planner's estimate.
        assert names & {
            "uq_lesson_completions_user_id_lesson_id",
            "ix_lesson_completions_lesson_id",
        }
        assert _seq_scans(progress) == set()

        history = await _plan(session, purchase_history_query(user_id))
        assert "ix_purchases_user_id_created_at" in {node.get("Index Name") for node in history}
        assert _seq_scans(history) == set()
