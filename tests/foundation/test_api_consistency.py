"""One way to say each thing (docs/api.md): field names in errors, malformed JSON, times with Z,
deprecation headers."""

from __future__ import annotations

import re
import typing
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
import pytest
from fastapi import APIRouter
from fastapi.routing import APIRoute, iter_route_contexts
from pydantic import BaseModel
from sqlalchemy import text

from studyhall.app import create_app
from studyhall.config import Settings
from studyhall.db.engine import Database
from studyhall.kit.deprecation import deprecated
from studyhall.kit.errors import NotFound
from studyhall.kit.times import json_default, rfc3339
from tests.scheduling.conftest import API, MarketFactory, book, make_admin, rows, sign_up
from tests.scheduling.conftest import market as market  # the fixture, shared

RFC3339_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")
SIGN_UP = {"email": "ada@example.org", "password": "correct horse battery", "name": "Ada"}


async def test_malformed_json_says_so_with_its_own_code(client: httpx.AsyncClient) -> None:
    response = await client.post(
        f"{API}/auth/sign-up",
        content=b'{"email": "ada@example.org", "password": ',
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["code"] == "malformed_json"
    assert problem["detail"].startswith("The body is not valid JSON: ")
    assert "at character 41" in problem["detail"]
    assert [(e["in"], e["field"], e["type"]) for e in problem["errors"]] == [
        ("body", None, "json_invalid")
    ]
    assert "field" not in problem


async def test_one_bad_body_field_is_named_without_a_prefix(client: httpx.AsyncClient) -> None:
    response = await client.post(f"{API}/auth/sign-up", json={**SIGN_UP, "email": "nope"})
    assert response.status_code == 422
    problem = response.json()
    assert (problem["code"], problem["field"]) == ("validation_failed", "email")
    assert [(e["in"], e["field"]) for e in problem["errors"]] == [("body", "email")]
    assert problem["detail"] == "Invalid request: check email."


async def test_a_bad_query_parameter_is_named_the_same_way(client: httpx.AsyncClient) -> None:
    response = await client.get(f"{API}/tutors", params={"limit": 0})
    assert response.status_code == 422
    problem = response.json()
    assert problem["field"] == "limit"
    assert [(e["in"], e["field"]) for e in problem["errors"]] == [("query", "limit")]


async def test_a_missing_body_is_the_body_not_a_field(client: httpx.AsyncClient) -> None:
    response = await client.post(f"{API}/auth/sign-in")
    assert response.status_code == 422
    problem = response.json()
    assert [(e["in"], e["field"], e["type"]) for e in problem["errors"]] == [
        ("body", None, "missing")
    ]
    assert problem["detail"] == "Invalid request: check the body."
    assert "field" not in problem


async def test_a_rule_about_one_field_names_it_like_validation_does(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post(
        f"{API}/auth/sign-up", json={**SIGN_UP, "password": "q1w2e3r4t5y6"}
    )
    assert response.status_code == 422
    problem = response.json()
    assert (problem["code"], problem["field"]) == ("weak_password", "password")


def test_rfc3339_writes_utc_with_z() -> None:
    berlin = timezone(timedelta(hours=1))
    assert rfc3339(datetime(2027, 3, 1, 10, 30, tzinfo=berlin)) == "2027-03-01T09:30:00Z"
    assert rfc3339(datetime(2027, 3, 1, 9, 30, 0, 5, tzinfo=UTC)) == "2027-03-01T09:30:00.000005Z"
    assert json_default(date(2027, 3, 1)) == "2027-03-01"
    with pytest.raises(ValueError, match="naive"):
        rfc3339(datetime(2027, 3, 1, 9, 30))


async def test_connections_read_times_in_utc(db: Database) -> None:
    async with db.transaction() as session:
        assert await session.scalar(text("SHOW TimeZone")) == "UTC"


async def test_times_in_responses_and_notification_payloads_end_in_z(
    client: httpx.AsyncClient, owner_db: Database, market: MarketFactory
) -> None:
    m = await market()
    student = await sign_up(client, name="Sam Student")
    slot = m.open_slots[0]
    created = await book(client, student, slot["id"])
    assert created.status_code == 201, created.text
    booking = created.json()
    assert RFC3339_Z.match(booking["start_at"]), booking["start_at"]
    assert RFC3339_Z.match(booking["end_at"]), booking["end_at"]
    sent = await rows(
        owner_db,
        "SELECT payload->>'starts_at', payload->>'ends_at' FROM notifications "
        "WHERE type = 'booking_confirmation' AND entity_id = :id",
        id=booking["id"],
    )
    assert sent
    for starts_at, ends_at in sent:
        assert (starts_at, ends_at) == (booking["start_at"], booking["end_at"])
        assert RFC3339_Z.match(starts_at) and RFC3339_Z.match(ends_at)
    inbox = await client.get(f"{API}/notifications", headers=student.headers)
    assert inbox.status_code == 200
    assert "+00:00" not in inbox.text


async def test_an_idempotent_replay_is_the_first_answer_byte_for_byte(
    client: httpx.AsyncClient, owner_db: Database
) -> None:
    """A model answer (its keys in the model's order, times with Z) comes back identical, not
    re-read from JSONB with its keys reordered and its text re-encoded."""
    admin = await make_admin(client, owner_db)
    headers = {**admin.headers, "Idempotency-Key": f"notice-{uuid.uuid4()}"}
    body = {"title": "Maintenance ✓", "body": "Tonight, 22:00 to 23:00", "channels": ["inapp"]}
    url = f"{API}/admin/notifications/broadcast"
    first = await client.post(url, json=body, headers=headers)
    again = await client.post(url, json=body, headers=headers)
    assert (first.status_code, again.status_code) == (202, 202), first.text
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.content == first.content
    assert again.headers["content-type"] == first.headers["content-type"]


def _decimal_fields(model: Any, seen: set[Any]) -> Iterator[str]:
    """Fields of ``model`` (and the models it holds) that Pydantic writes as JSON strings."""
    if model in seen:
        return
    seen.add(model)
    if isinstance(model, type) and issubclass(model, BaseModel):
        for name, field in model.model_fields.items():
            if Decimal in _flatten(field.annotation):
                yield f"{model.__name__}.{name}"
            for inner in _flatten(field.annotation):
                yield from _decimal_fields(inner, seen)
    for inner in typing.get_args(model):
        yield from _decimal_fields(inner, seen)


def _flatten(annotation: Any) -> set[Any]:
    found = {annotation}
    for inner in typing.get_args(annotation):
        found |= _flatten(inner)
    return found


def test_numbers_in_answers_are_json_numbers(settings: Settings) -> None:
    """A Decimal is written as a string ("40.00"): answers use float or int instead."""
    app = create_app(settings)
    seen: set[Any] = set()
    found = sorted(
        {
            field
            for context in iter_route_contexts(app.routes)
            if isinstance(context.original_route, APIRoute)
            for field in _decimal_fields(typing.cast(APIRoute, context).response_model, seen)
        }
    )
    assert not found, found


deprecated_routes = APIRouter()


@deprecated_routes.get(
    "/test/old-thing/{thing_id}",
    summary="An old way to read a thing",
    **deprecated(since=date(2027, 1, 4), sunset=date(2027, 7, 1), successor="/api/v1/things"),
)
async def old_thing_get(thing_id: uuid.UUID) -> dict[str, str]:
    """Replaced by the things list."""
    if thing_id.int == 0:
        raise NotFound("No such thing.", code="thing_not_found")
    return {"id": str(thing_id)}


async def test_a_deprecated_route_says_so_and_until_when(settings: Settings, db: Database) -> None:
    app = create_app(settings, db)
    app.include_router(deprecated_routes)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
        ok = await http.get(f"/test/old-thing/{uuid.uuid4()}")
        missing = await http.get(f"/test/old-thing/{uuid.UUID(int=0)}")
        current = await http.get("/healthz")
        spec = (await http.get("/openapi.json")).json()
    for response in (ok, missing):
        since = datetime(2027, 1, 4, tzinfo=UTC).timestamp()
        assert response.headers["deprecation"] == f"@{int(since)}"
        assert parsedate_to_datetime(response.headers["sunset"]) == datetime(2027, 7, 1, tzinfo=UTC)
        assert response.headers["sunset"] == "Thu, 01 Jul 2027 00:00:00 GMT"
        assert response.headers["link"] == '</api/v1/things>; rel="successor-version"'
    assert (ok.status_code, missing.status_code) == (200, 404)
    assert "deprecation" not in current.headers and "sunset" not in current.headers
    operation = spec["paths"]["/test/old-thing/{thing_id}"]["get"]
    assert operation["deprecated"] is True
    assert (operation["x-deprecated-since"], operation["x-sunset"]) == ("2027-01-04", "2027-07-01")


def test_a_sunset_must_follow_the_deprecation() -> None:
    with pytest.raises(ValueError, match="must come after"):
        deprecated(since=date(2027, 7, 1), sunset=date(2027, 7, 1))
