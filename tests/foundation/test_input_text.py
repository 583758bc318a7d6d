"""Text PostgreSQL cannot store (NUL, unpaired surrogates) is a 422 everywhere, never a 500.

And when a value the API let through still does not fit its column, the database's refusal
is a 422 problem too.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import Depends
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.app import create_app
from studyhall.config import Settings
from studyhall.db.deps import get_session
from studyhall.db.engine import Database
from tests.accounts.conftest import make_admin, make_tutor, owner_value, sign_up
from tests.foundation.openapi_walk import OpenApi, ascii_json, nest

API = "/api/v1"
NUL = "a\x00b"
LONE_SURROGATE = "a\ud800b"
JSON = {"content-type": "application/json"}


def _refused(response: httpx.Response, field: str) -> None:
    assert response.status_code == 422, (field, response.status_code, response.text)
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["code"] == "validation_failed"
    assert field in [f"{e['in']}.{e['field']}" for e in problem["errors"]], problem
    assert {error["type"] for error in problem["errors"]} == {"unstorable_text"}


@pytest.mark.parametrize("bad", [NUL, LONE_SURROGATE], ids=["nul", "lone-surrogate"])
async def test_bad_text_in_fields_of_several_domains_is_422_and_writes_nothing(
    client: httpx.AsyncClient, owner_db: Database, bad: str
) -> None:
    admin = await make_admin(client, owner_db)
    tutor = await make_tutor(client, owner_db)
    users_before = await owner_value(owner_db, "SELECT count(*) FROM users")
    cases: list[tuple[str, str, dict[str, str], Any, str]] = [
        (
            "POST",
            f"{API}/auth/sign-up",
            {},
            {"email": "x@example.org", "password": "a long password here", "name": bad},
            "body.name",
        ),
        ("PATCH", f"{API}/me", tutor.headers, {"first_name": bad}, "body.first_name"),
        ("POST", f"{API}/subjects", admin.headers, {"name": bad}, "body.name"),
        (
            "POST",
            f"{API}/offerings",
            tutor.headers,
            {"title": bad, "description": "d", "duration_minutes": 60, "price_cents": 0},
            "body.title",
        ),
        ("POST", f"{API}/chat/threads", tutor.headers, {"title": bad}, "body.title"),
        (
            "PATCH",
            f"{API}/me/tutor-profile",
            tutor.headers,
            {"subjects": ["x", bad]},
            "body.subjects.1",
        ),
    ]
    for method, url, headers, body, field in cases:
        response = await client.request(
            method, url, content=ascii_json(body), headers={**headers, **JSON}
        )
        _refused(response, field)
    assert await owner_value(owner_db, "SELECT count(*) FROM users") == users_before
    assert await owner_value(owner_db, "SELECT count(*) FROM subjects") == 0
    assert await owner_value(owner_db, "SELECT count(*) FROM offerings") == 0


async def test_bad_text_in_query_path_and_free_form_keys_is_422(
    client: httpx.AsyncClient,
) -> None:
    # Query strings are percent-decoded as UTF-8 with replacement, so only NUL gets through.
    _refused(await client.get(f"{API}/tutors", params={"subject": NUL}), "query.subject")
    _refused(await client.get(f"{API}/offerings", params={"q": NUL}), "query.q")
    _refused(await client.get(f"{API}/subjects", params={NUL: "1"}), "query.a\\u0000b")
    # A key of a free-form object, which no model field describes.
    body = {"email": "x@example.org", "password": "a long password here", "name": "n"}
    response = await client.post(
        f"{API}/auth/sign-up", content=ascii_json(body | {LONE_SURROGATE: 1}), headers=JSON
    )
    _refused(response, "body.a\\ud800b")


async def test_bad_text_in_multipart_fields_and_file_names_is_422(
    client: httpx.AsyncClient, owner_db: Database
) -> None:
    student = await sign_up(client)
    # Written by hand: an HTTP client would percent-encode the NUL in the file name.
    body = (
        b"--B0undary\r\n"
        b'Content-Disposition: form-data; name="file"; filename="notes\x00.txt"\r\n'
        b"Content-Type: text/plain\r\n\r\n# Notes\n\nPlants grow.\n\r\n--B0undary--\r\n"
    )
    response = await client.post(
        f"{API}/materials",
        content=body,
        headers={**student.headers, "content-type": "multipart/form-data; boundary=B0undary"},
    )
    _refused(response, "body.file.filename")
    files = {"file": ("notes.txt", b"# Notes\n\nPlants grow.\n", "text/plain")}
    response = await client.post(
        f"{API}/materials", files=files, data={"origin": NUL}, headers=student.headers
    )
    _refused(response, "body.origin")
    assert await owner_value(owner_db, "SELECT count(*) FROM materials") == 0


@pytest.mark.parametrize("bad", [NUL, LONE_SURROGATE], ids=["nul", "lone-surrogate"])
async def test_every_string_of_every_json_body_refuses_bad_text(
    client: httpx.AsyncClient, owner_db: Database, bad: str
) -> None:
    """Walks the OpenAPI document: each string property of each JSON body, one at a time."""
    admin = await make_admin(client, owner_db)
    openapi = OpenApi.of_app()
    checked = 0
    for operation in openapi.operations():
        schema = operation.json_body_schema()
        if schema is None:
            continue
        for path in openapi.string_paths(schema):
            body = nest(path, bad)
            response = await client.request(
                operation.method,
                operation.url(),
                content=ascii_json(body),
                headers={**admin.headers, **JSON},
            )
            field = ".".join(str(part) for part in ("body", *path))
            assert response.status_code == 422, (operation.method, operation.path, field)
            _refused(response, field)
            checked += 1
    assert checked > 100  # the walk reached the whole API, not a corner of it


async def test_every_string_query_parameter_refuses_nul(client: httpx.AsyncClient) -> None:
    openapi = OpenApi.of_app()
    checked = 0
    for operation in openapi.operations():
        for param in operation.parameters:
            if param["in"] != "query":
                continue
            if not any(v.get("type") == "string" for v in openapi.variants(param["schema"])):
                continue
            response = await client.request(
                operation.method, operation.url(), params={param["name"]: NUL}
            )
            _refused(response, f"query.{param['name']}")
            checked += 1
    assert checked > 5


def _database_refusal_app(settings: Settings, db: Database) -> httpx.AsyncClient:
    """The app plus two routes whose SQL the database refuses, as a missed bound would be."""
    app = create_app(settings, db)

    @app.get("/overflow")
    async def overflow(session: AsyncSession = Depends(get_session)) -> None:
        await session.execute(text("SELECT 9223372036854775807::bigint + 1"))

    @app.get("/not-null")
    async def not_null(session: AsyncSession = Depends(get_session)) -> None:
        await session.execute(text("CREATE TEMP TABLE t (x integer NOT NULL)"))
        await session.execute(text("INSERT INTO t VALUES (NULL)"))

    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://test")


async def test_database_refusing_a_value_is_a_422_problem(settings: Settings, db: Database) -> None:
    async with _database_refusal_app(settings, db) as http:
        overflow = await http.get("/overflow")
        not_null = await http.get("/not-null")
    for response in (overflow, not_null):
        assert response.status_code == 422, response.text
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["code"] == "value_not_storable"
    assert not_null.json()["field"] == "x"
