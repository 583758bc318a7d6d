"""PATCH: ``null`` clears a field that may be empty and is a 422 for any other, on every route."""

from __future__ import annotations

import httpx

from studyhall.db.engine import Database
from tests.accounts.conftest import make_admin, make_tutor, owner_rows, sign_up
from tests.foundation.openapi_walk import OpenApi

API = "/api/v1"


async def test_null_for_a_field_that_cannot_be_empty_is_422_on_every_patch_route(
    client: httpx.AsyncClient, owner_db: Database
) -> None:
    """Walks the OpenAPI document: each non-nullable property of each PATCH body, as null."""
    roles = [
        (await sign_up(client)).headers,
        (await make_tutor(client, owner_db)).headers,
        (await make_admin(client, owner_db)).headers,
    ]
    openapi = OpenApi.of_app()
    checked = 0
    for operation in openapi.operations():
        schema = operation.json_body_schema()
        if operation.method != "PATCH" or schema is None:
            continue
        for name, prop in openapi.properties(schema).items():
            if openapi.nullable(prop):
                continue
            answers = []
            for headers in roles:  # whichever role the route admits reaches body validation
                response = await client.patch(operation.url(), json={name: None}, headers=headers)
                assert response.status_code != 500, (operation.path, name, response.text)
                answers.append(response)
            refused = [
                r
                for r in answers
                if r.status_code == 422
                and [f"{e['in']}.{e['field']}" for e in r.json().get("errors", [])]
                == [f"body.{name}"]
            ]
            assert refused, (operation.path, name, [r.status_code for r in answers])
            checked += 1
    assert checked > 30


async def test_subject_and_topic_names_cannot_be_nulled_and_descriptions_can(
    client: httpx.AsyncClient, owner_db: Database
) -> None:
    admin = await make_admin(client, owner_db)
    subject = await client.post(
        f"{API}/subjects", json={"name": "Maths", "description": "Numbers"}, headers=admin.headers
    )
    assert subject.status_code == 201, subject.text
    subject_id = subject.json()["id"]
    topic = await client.post(
        f"{API}/subjects/{subject_id}/topics",
        json={"name": "Algebra", "description": "Letters"},
        headers=admin.headers,
    )
    assert topic.status_code == 201, topic.text
    topic_id = topic.json()["id"]
    for url in (f"{API}/subjects/{subject_id}", f"{API}/topics/{topic_id}"):
        response = await client.patch(url, json={"name": None}, headers=admin.headers)
        assert response.status_code == 422, response.text
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["errors"][0]["type"] == "null_not_allowed"
        cleared = await client.patch(url, json={"description": None}, headers=admin.headers)
        assert cleared.status_code == 200, cleared.text
        assert cleared.json()["description"] is None
    assert await owner_rows(owner_db, "SELECT name, description FROM subjects") == [("Maths", None)]
    assert await owner_rows(owner_db, "SELECT name, description FROM topics") == [("Algebra", None)]


def test_the_openapi_document_marks_only_clearable_patch_fields_nullable() -> None:
    openapi = OpenApi.of_app()
    subject = openapi.components["SubjectUpdate"]["properties"]
    assert not openapi.nullable(subject["name"])
    assert openapi.nullable(subject["description"])
