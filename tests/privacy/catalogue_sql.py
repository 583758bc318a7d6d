"""The database's own answers: which columns refer to users, which columns hold text."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

# Columns referring to users, from the catalogue: foreign keys to users(id), and ``user_id``.
# A partition (the audit log's months) is read through its partitioned table, not on its own.
USER_REFERENCES = text(
    """
    SELECT DISTINCT c.relname, a.attname
    FROM pg_constraint k
    JOIN pg_class c ON c.oid = k.conrelid
    JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = ANY(k.conkey)
    WHERE k.contype = 'f' AND k.confrelid = 'public.users'::regclass AND NOT c.relispartition
    UNION
    SELECT table_name, column_name FROM information_schema.columns
    WHERE table_schema = 'public' AND column_name = 'user_id' AND table_name IN
        (SELECT table_name FROM information_schema.tables
         WHERE table_schema = 'public' AND table_type = 'BASE TABLE'
           AND table_name NOT IN (SELECT relname FROM pg_class WHERE relispartition))
    """
)
TEXT_COLUMNS = text(
    """
    SELECT table_name, column_name FROM information_schema.columns
    WHERE table_schema = 'public' AND table_name IN
        (SELECT table_name FROM information_schema.tables
         WHERE table_schema = 'public' AND table_type = 'BASE TABLE'
           AND table_name NOT IN (SELECT relname FROM pg_class WHERE relispartition))
      AND (data_type IN ('text', 'character varying', 'character', 'jsonb', 'json', 'ARRAY')
           OR udt_name = 'citext')
    ORDER BY table_name, column_name
    """
)


async def tables_holding(session: AsyncSession, user_id: object) -> set[str]:
    """Tables with at least one row that refers to ``user_id``."""
    found = set()
    for table, column in (await session.execute(USER_REFERENCES)).all():
        hit = await session.scalar(
            text(f'SELECT EXISTS (SELECT 1 FROM "{table}" WHERE "{column}" = :id)'), {"id": user_id}
        )
        if hit:
            found.add(table)
    return found


async def text_hits(session: AsyncSession, needles: list[str]) -> list[tuple[str, str, str]]:
    """Every (table, column, needle) where a text, varchar, array or JSON value contains one."""
    hits = []
    for table, column in (await session.execute(TEXT_COLUMNS)).all():
        for needle in needles:
            found = await session.scalar(
                text(
                    f'SELECT EXISTS (SELECT 1 FROM "{table}" '
                    f'WHERE strpos(lower("{column}"::text), lower(:needle)) > 0)'
                ),
                {"needle": needle},
            )
            if found:
                hits.append((table, column, needle))
    return hits
