"""Arabic and mixed Arabic/English materials: language per chunk, Arabic stemming in search,
right-to-left PDF text in reading order, English materials searched as before."""

from __future__ import annotations

import httpx
import psycopg
from sqlalchemy import select

from studyhall.db import migrate
from studyhall.db.engine import Database
from studyhall.study.models import MaterialChunk
from tests.pg import APP_ROLE, PgServer, fresh_database
from tests.study.api.conftest import API, Member, sign_up, upload
from tests.study.api.docs import PHOTOSYNTHESIS, make_docx, make_rtl_pdf

LIBRARIES = (
    "تأسست المكتبات العامة في المدن الكبرى لتكون مفتوحة لجميع القرّاء. "
    "تُعير المكتبات الكتب مجانًا، وتنظّم أمسيات للقراءة للأطفال."
)
MIXED_LINES = [
    "تعلم الآلة Machine Learning فرع من الذكاء الاصطناعي.",
    "تتعلم النماذج من البيانات دون برمجة صريحة لكل حالة.",
    "تأسست الجامعة في عام 1990 في القاهرة.",
    "Supervised learning fits a model to labelled examples.",
    "Unsupervised learning finds structure in data without labels.",
]


async def _languages(owner_db: Database, material_id: str) -> set[str | None]:
    async with owner_db.transaction() as session:
        rows = await session.scalars(
            select(MaterialChunk.language).where(MaterialChunk.material_id == material_id)
        )
        return set(rows.all())


async def _search(client: httpx.AsyncClient, member: Member, query: str) -> list[str]:
    found = await client.post(f"{API}/search", headers=member.headers, json={"query": query})
    assert found.status_code == 200, found.text
    return [hit["file_name"] for hit in found.json()]


async def test_arabic_materials_are_indexed_and_searched_in_arabic(
    client: httpx.AsyncClient, owner_db: Database
) -> None:
    alice = await sign_up(client, "alice@example.com")
    notes = await upload(client, alice, "libraries.docx", make_docx([("المكتبات", LIBRARIES)]))
    lecture = await upload(client, alice, "lecture.pdf", make_rtl_pdf(MIXED_LINES))
    english = await upload(client, alice, "bio.md", PHOTOSYNTHESIS.encode())
    assert {m["processing_status"] for m in (notes, lecture, english)} == {"completed"}
    assert await _languages(owner_db, notes["id"]) == {"ar"}
    assert await _languages(owner_db, lecture["id"]) == {"mixed"}
    assert await _languages(owner_db, english["id"]) == {"en"}

    # Another form of the word than the text's (singular, no article; "المكتبات" in the notes),
    # a diacritic and a tatweel, a hamza left off: all reach the Arabic notes.
    assert await _search(client, alice, "مكتبة") == ["libraries.docx"]
    assert await _search(client, alice, "الكُتـب") == ["libraries.docx"]
    # "تأسست" is in both; the lecture also has the university.
    assert await _search(client, alice, "متى تاسست الجامعة؟") == ["lecture.pdf", "libraries.docx"]
    # The English term inside the Arabic lecture stems as in English notes.
    assert await _search(client, alice, "machine learns") == ["lecture.pdf"]
    assert await _search(client, alice, "chlorophyll") == ["bio.md"]

    # The lecture's PDF is read in reading order, the mixed line included.
    found = await client.post(
        f"{API}/search", headers=alice.headers, json={"query": "الذكاء الاصطناعي"}
    )
    (hit,) = found.json()
    for line in MIXED_LINES:
        assert line in hit["text"]


STORED_BEFORE = """
WITH u AS (
    INSERT INTO users (email, password_hash, name) VALUES ('old@example.com', 'x', 'old')
    RETURNING id
), m AS (
    INSERT INTO materials (user_id, file_name, storage_key, mime_type, size_bytes, sha256,
                           processing_status, chunk_count)
    SELECT id, 'old.docx', 'k', 'docx', 1, repeat('0', 64), 'completed', 2 FROM u
    RETURNING id, user_id
)
INSERT INTO material_chunks (material_id, user_id, ordinal, char_start, char_end, token_count,
                             chunk_text)
SELECT m.id, m.user_id, n, 0, 1, 10, t FROM m,
    (VALUES (0, %(arabic)s), (1, 'Public libraries lend books.')) AS v(n, t)
"""
COUNT_LEXEMES = """
INSERT INTO material_lexemes (lexeme, material_id, user_id, chunks)
SELECT l, c.material_id, c.user_id, count(*)
FROM material_chunks c, unnest(tsvector_to_array(c.search_vector)) AS l
GROUP BY l, c.material_id, c.user_id
"""


def _lexemes(url: str) -> set[str]:
    with psycopg.connect(url) as conn:
        return {row[0] for row in conn.execute("SELECT lexeme FROM material_lexemes")}


def _stored(url: str) -> tuple[list[tuple[str | None, str]], set[str]]:
    with psycopg.connect(url) as conn:
        chunks = conn.execute(
            "SELECT language, search_vector::text FROM material_chunks ORDER BY ordinal"
        ).fetchall()
    return [(language, vector) for language, vector in chunks], _lexemes(url)


def test_the_migration_indexes_chunks_stored_before_in_their_language(
    pg_server: PgServer,
) -> None:
    name, urls = fresh_database(pg_server, empty=True)
    try:
        migrate.upgrade(urls.owner, APP_ROLE, "0019_audit_partitions")
        with psycopg.connect(urls.owner) as conn:
            conn.execute(STORED_BEFORE, {"arabic": LIBRARIES})
            conn.execute(COUNT_LEXEMES)
        lexemes = _lexemes(urls.owner)
        assert "المكتبات" in lexemes and "مكتب" not in lexemes

        migrate.upgrade(urls.owner, APP_ROLE)
        (arabic, english), lexemes = _stored(urls.owner)
        assert arabic[0] == "ar" and "'مكتب'" in arabic[1]
        assert english == (None, "'book':4 'lend':3 'librari':2 'public':1")
        assert "مكتب" in lexemes and "المكتبات" not in lexemes and "librari" in lexemes

        migrate.downgrade(urls.owner, "0019_audit_partitions")
        with psycopg.connect(urls.owner) as conn:
            vectors = [
                row[0]
                for row in conn.execute(
                    "SELECT search_vector::text FROM material_chunks ORDER BY ordinal"
                )
            ]
            generated = conn.execute(
                "SELECT attgenerated FROM pg_attribute "
                "WHERE attrelid = 'material_chunks'::regclass AND attname = 'search_vector'"
            ).fetchone()
        assert "'المكتبات'" in vectors[0] and generated == ("s",)
    finally:
        pg_server.drop_database(name)
