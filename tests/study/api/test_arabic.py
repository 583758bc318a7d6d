"""Arabic and mixed Arabic/English materials: language per chunk, Arabic stemming in search,
right-to-left PDF text in reading order, English materials searched as before."""

from __future__ import annotations

import httpx
from sqlalchemy import select

from studyhall.db.engine import Database
from studyhall.study.models import MaterialChunk
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
