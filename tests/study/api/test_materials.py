"""Uploads: content-based type detection, limits, processing job, structure kept in chunks."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from studyhall.app import create_app
from studyhall.config import Settings
from studyhall.db.engine import Database, set_current_user
from studyhall.study.models import Material, MaterialChunk
from studyhall.study.routes.materials import MULTIPART_ALLOWANCE
from tests.conftest import run_jobs
from tests.study.api.conftest import API, sign_up, upload
from tests.study.api.docs import (
    PHOTOSYNTHESIS,
    VOLCANOES,
    make_docx,
    make_pdf,
    make_pptx,
    make_zip_bomb_docx,
)


async def _count(owner_db: Database, model: type) -> int:
    async with owner_db.transaction() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def _chunks(owner_db: Database, material_id: str) -> list[MaterialChunk]:
    async with owner_db.transaction() as session:
        rows = await session.scalars(
            select(MaterialChunk)
            .where(MaterialChunk.material_id == material_id)
            .order_by(MaterialChunk.ordinal)
        )
        return list(rows.all())


async def test_markdown_upload_is_processed_into_chunks_with_headings(
    client: httpx.AsyncClient, owner_db: Database, settings: Settings
) -> None:
    alice = await sign_up(client, "alice@example.com")
    body = f"# Plants\n\n{PHOTOSYNTHESIS}\n\n# Earth\n\n{VOLCANOES}\n".encode()
    response = await client.post(
        f"{API}/materials",
        headers=alice.headers,
        files={"file": ("notes.txt", body, "text/plain")},
        data={"origin": "notes"},
    )
    assert response.status_code == 201
    created = response.json()
    assert created["processing_status"] == "pending"
    assert created["search_modes"] == []
    assert created["mime_type"] == "text/markdown"  # detected from the content, not ".txt"
    assert created["size_bytes"] == len(body)
    stored = settings.files_dir / alice.id / created["id"]
    assert stored.read_bytes() == body

    await run_jobs()
    material = (await client.get(f"{API}/materials/{created['id']}", headers=alice.headers)).json()
    assert material["processing_status"] == "completed"
    # No embedding provider: keyword search only, and the material says so.
    assert material["search_modes"] == ["keyword"]
    assert material["processing_error"] is None
    assert material["chunk_count"] == 2
    chunks = await _chunks(owner_db, created["id"])
    assert [c.heading for c in chunks] == ["Plants", "Earth"]
    assert chunks[0].chunk_text == f"Plants\n\n{PHOTOSYNTHESIS}"
    assert (chunks[0].char_start, chunks[0].char_end) == (0, len(PHOTOSYNTHESIS))
    assert all(c.page_number is None and c.embedding is None for c in chunks)


async def test_pdf_docx_pptx_keep_pages_slides_and_headings(
    client: httpx.AsyncClient, owner_db: Database
) -> None:
    alice = await sign_up(client, "alice@example.com")
    pdf = await upload(client, alice, "bio.pdf", make_pdf([PHOTOSYNTHESIS, VOLCANOES]))
    assert (pdf["mime_type"], pdf["processing_status"], pdf["page_count"]) == (
        "application/pdf",
        "completed",
        2,
    )
    assert [c.page_number for c in await _chunks(owner_db, pdf["id"])] == [1, 2]

    docx = await upload(
        client,
        alice,
        "essay",
        make_docx([("Plants", PHOTOSYNTHESIS), ("Earth", VOLCANOES)]),
        "assignment",
    )
    assert docx["mime_type"].endswith("wordprocessingml.document")
    assert docx["origin"] == "assignment"
    assert [c.heading for c in await _chunks(owner_db, docx["id"])] == ["Plants", "Earth"]

    deck = await upload(
        client,
        alice,
        "deck.pptx",
        make_pptx([("Plants", PHOTOSYNTHESIS), ("Earth", VOLCANOES)]),
        "slides",
    )
    assert deck["page_count"] == 2
    slides = await _chunks(owner_db, deck["id"])
    assert [(c.page_number, c.heading) for c in slides] == [(1, "Plants"), (2, "Earth")]

    found = await client.post(
        f"{API}/search",
        headers=alice.headers,
        json={"query": "caldera magma chamber", "material_ids": [deck["id"]]},
    )
    assert found.status_code == 200
    hits = found.json()
    assert [(h["slide"], h["page"], h["file_name"]) for h in hits] == [(2, None, "deck.pptx")]


async def test_bad_uploads_are_refused_with_precise_codes_and_store_nothing(
    client: httpx.AsyncClient, owner_db: Database, settings: Settings
) -> None:
    alice = await sign_up(client, "alice@example.com")
    cases = [
        ("empty.txt", b"", 422, "empty_file"),
        ("blank.md", b"  \n\t\n", 422, "empty_file"),
        ("photo.pdf", b"\x89PNG\r\n\x1a\n" + b"\0" * 100, 415, "unsupported_type"),
        ("old.doc", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100, 415, "unsupported_type"),
        ("bomb.docx", make_zip_bomb_docx(), 422, "zip_bomb"),
        ("big.txt", b"a " * (settings.study_max_upload_bytes // 2 + 1), 413, "file_too_large"),
    ]
    for name, data, status, code in cases:
        response = await client.post(
            f"{API}/materials", headers=alice.headers, files={"file": (name, data)}
        )
        assert response.status_code == status, (name, response.text)
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["code"] == code, name
    bad_origin = await client.post(
        f"{API}/materials",
        headers=alice.headers,
        files={"file": ("a.txt", b"Some text here.")},
        data={"origin": "poster"},
    )
    assert bad_origin.status_code == 422
    assert bad_origin.json()["code"] == "validation_failed"
    assert await _count(owner_db, Material) == 0
    assert not (settings.files_dir / alice.id).exists()
    anonymous = await client.post(f"{API}/materials", files={"file": ("a.txt", b"Text.")})
    assert anonymous.status_code == 401


async def test_upload_limit_is_a_setting(
    settings: Settings, db: Database, owner_db: Database
) -> None:
    small = settings.model_copy(update={"study_max_upload_bytes": 100})
    app = create_app(small, db)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        alice = await sign_up(client, "alice@example.com")
        ok = await client.post(
            f"{API}/materials", headers=alice.headers, files={"file": ("a.txt", b"x" * 100)}
        )
        over = await client.post(
            f"{API}/materials", headers=alice.headers, files={"file": ("a.txt", b"x" * 101)}
        )
    assert ok.status_code == 201
    assert over.status_code == 413
    assert over.json()["code"] == "file_too_large"
    assert await _count(owner_db, Material) == 1


async def test_corrupt_pdf_fails_with_a_readable_error_and_the_worker_goes_on(
    client: httpx.AsyncClient, owner_db: Database
) -> None:
    alice = await sign_up(client, "alice@example.com")
    corrupt = await upload(
        client,
        alice,
        "broken.pdf",
        b"%PDF-1.7\n1 0 obj << /Type /Catalog >>\ngarbage",
        process=False,
    )
    good = await upload(client, alice, "notes.md", PHOTOSYNTHESIS.encode(), process=False)
    await run_jobs()
    broken = (await client.get(f"{API}/materials/{corrupt['id']}", headers=alice.headers)).json()
    assert broken["processing_status"] == "failed"
    assert broken["processing_error_code"] == "corrupt_file"
    assert broken["processing_error"].startswith("the PDF file could not be read")
    fine = (await client.get(f"{API}/materials/{good['id']}", headers=alice.headers)).json()
    assert (fine["processing_status"], fine["chunk_count"]) == ("completed", 1)
    assert len(await _chunks(owner_db, corrupt["id"])) == 0


async def test_materials_are_private_and_soft_deleted(
    client: httpx.AsyncClient, owner_db: Database, db: Database
) -> None:
    alice = await sign_up(client, "alice@example.com")
    bob = await sign_up(client, "bob@example.com")
    material = await upload(client, alice, "bio.md", PHOTOSYNTHESIS.encode())
    for method in ("GET", "DELETE"):
        response = await client.request(
            method, f"{API}/materials/{material['id']}", headers=bob.headers
        )
        assert response.status_code == 404
        assert response.json()["code"] == "material_not_found"
    assert (await client.get(f"{API}/materials", headers=bob.headers)).json()["items"] == []
    # Row level security says the same inside PostgreSQL, for the API's own role.
    async with db.transaction() as session:
        await set_current_user(session, uuid.UUID(str(bob.id)))
        visible = await session.scalar(select(func.count()).select_from(MaterialChunk))
    assert visible == 0

    deleted = await client.delete(f"{API}/materials/{material['id']}", headers=alice.headers)
    assert deleted.status_code == 204
    assert (await client.get(f"{API}/materials", headers=alice.headers)).json()["items"] == []
    async with owner_db.transaction() as session:
        row = await session.get(Material, material["id"])
        assert row is not None and row.deleted_at is not None
    hits = await client.post(f"{API}/search", headers=alice.headers, json={"query": "chlorophyll"})
    assert hits.json() == []


async def test_a_deleted_material_leaves_storage_once_the_deletion_commits(
    client: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    alice = await sign_up(client, "alice@example.com")
    material = await upload(client, alice, "bio.md", PHOTOSYNTHESIS.encode())
    stored = settings.files_dir / alice.id / material["id"]
    assert stored.read_bytes() == PHOTOSYNTHESIS.encode()
    deleted = await client.delete(f"{API}/materials/{material['id']}", headers=alice.headers)
    assert deleted.status_code == 204
    await run_jobs()
    assert not stored.exists()
    assert list(settings.files_dir.rglob("*")) == [settings.files_dir / alice.id]


def test_storage_dir_defaults_under_home(settings: Settings) -> None:
    assert settings.files_dir == Path(settings.home) / "files"


def _small_limit_client(settings: Settings, db: Database, limit: int) -> httpx.AsyncClient:
    app = create_app(settings.model_copy(update={"study_max_upload_bytes": limit}), db)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://test")


class _CountedBody:
    """A streamed multipart body: a file part of ``pieces`` 1 KiB pieces, counting the pulls."""

    BOUNDARY = "studyhall-test-boundary"
    PIECE = b"x" * 1024

    def __init__(self, pieces: int) -> None:
        self.pieces = pieces
        self.pulled = 0

    @property
    def content_type(self) -> str:
        return f"multipart/form-data; boundary={self.BOUNDARY}"

    async def __aiter__(self) -> AsyncIterator[bytes]:
        self.pulled += 1
        yield (
            f'--{self.BOUNDARY}\r\nContent-Disposition: form-data; name="file"; '
            'filename="big.txt"\r\nContent-Type: text/plain\r\n\r\n'
        ).encode()
        for _ in range(self.pieces):
            self.pulled += 1
            yield self.PIECE
        self.pulled += 1
        yield f"\r\n--{self.BOUNDARY}--\r\n".encode()


async def test_an_oversized_content_length_is_refused_before_the_body_is_read(
    settings: Settings, db: Database, owner_db: Database
) -> None:
    async with _small_limit_client(settings, db, 1000) as client:
        alice = await sign_up(client, "alice@example.com")
        body = _CountedBody(pieces=MULTIPART_ALLOWANCE // 1024 + 2)
        declared = 1000 + MULTIPART_ALLOWANCE + 1
        response = await client.post(
            f"{API}/materials",
            headers={
                **alice.headers,
                "Content-Type": body.content_type,
                "Content-Length": str(declared),
            },
            content=body,
        )
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "file_too_large"
    assert response.json()["detail"] == "The file is larger than the 1000-byte upload limit."
    assert body.pulled == 0
    assert await _count(owner_db, Material) == 0
    assert not (settings.files_dir / alice.id).exists()


async def test_a_chunked_body_is_stopped_as_soon_as_it_passes_the_limit(
    settings: Settings, db: Database, owner_db: Database
) -> None:
    async with _small_limit_client(settings, db, 1000) as client:
        alice = await sign_up(client, "alice@example.com")
        body = _CountedBody(pieces=200)
        response = await client.post(
            f"{API}/materials",
            headers={**alice.headers, "Content-Type": body.content_type},
            content=body,
        )
    assert "content-length" not in {k.lower() for k in response.request.headers}
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "file_too_large"
    # The headers part, then 1 KiB pieces until 1000 + the allowance is passed: no more.
    header_part = len(
        (
            f'--{_CountedBody.BOUNDARY}\r\nContent-Disposition: form-data; name="file"; '
            'filename="big.txt"\r\nContent-Type: text/plain\r\n\r\n'
        ).encode()
    )
    pieces_needed = (1000 + MULTIPART_ALLOWANCE + 1 - header_part + 1023) // 1024
    assert body.pulled == 1 + pieces_needed
    assert body.pulled < 1 + 200
    assert await _count(owner_db, Material) == 0
    assert not (settings.files_dir / alice.id).exists()


async def test_a_streamed_file_exactly_at_the_limit_is_accepted(
    settings: Settings, db: Database, owner_db: Database
) -> None:
    async with _small_limit_client(settings, db, 4 * 1024) as client:
        alice = await sign_up(client, "alice@example.com")
        at_limit = _CountedBody(pieces=4)
        accepted = await client.post(
            f"{API}/materials",
            headers={**alice.headers, "Content-Type": at_limit.content_type},
            content=at_limit,
        )
        one_more = _CountedBody(pieces=5)
        refused = await client.post(
            f"{API}/materials",
            headers={**alice.headers, "Content-Type": one_more.content_type},
            content=one_more,
        )
    assert accepted.status_code == 201, accepted.text
    assert accepted.json()["size_bytes"] == 4 * 1024
    assert at_limit.pulled == 6
    # Within the multipart allowance, the file part itself is still held to the exact limit.
    assert refused.status_code == 413
    assert refused.json()["code"] == "file_too_large"
    assert await _count(owner_db, Material) == 1
    stored = settings.files_dir / alice.id / accepted.json()["id"]
    assert stored.read_bytes() == b"x" * 4 * 1024


async def _as_user(db: Database, user_id: str, statement: str, **params: str) -> int:
    async with db.transaction() as session:
        await set_current_user(session, uuid.UUID(user_id) if user_id else None)
        result = await session.execute(text(statement), params)
        return int(result.scalar_one()) if result.returns_rows else int(result.rowcount)  # type: ignore[attr-defined]


async def _chunk_owner_and_tokens(owner_db: Database) -> tuple[str, int]:
    async with owner_db.transaction() as session:
        chunk = (await session.scalars(select(MaterialChunk))).one()
        return str(chunk.user_id), chunk.token_count


async def test_the_searchable_view_keeps_the_row_level_security_rule(
    client: httpx.AsyncClient, owner_db: Database, db: Database
) -> None:
    alice = await sign_up(client, "alice@example.com")
    bob = await sign_up(client, "bob@example.com")
    await upload(client, alice, "bio.md", PHOTOSYNTHESIS.encode())
    before = await _chunk_owner_and_tokens(owner_db)
    count = "SELECT count(*) FROM material_chunks_searchable"
    assert await _as_user(db, alice.id, count) == 1
    assert await _as_user(db, bob.id, count) == 0
    assert await _as_user(db, "", count) == 0
    touch = "UPDATE material_chunks_searchable SET token_count = 0"
    assert await _as_user(db, bob.id, touch) == 0
    with pytest.raises(DBAPIError, match="check option"):
        await _as_user(db, alice.id, "UPDATE material_chunks_searchable SET user_id = :b", b=bob.id)
    assert await _chunk_owner_and_tokens(owner_db) == before
    assert before[0] == alice.id
