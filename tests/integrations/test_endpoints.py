"""The admin API of webhook endpoints: who may use it, the secret shown once and kept
encrypted, rotation with two signatures, paging, and where production refuses to send."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import text

from studyhall.app import create_app
from studyhall.bootstrap import DatabaseUrls
from studyhall.config import Settings
from studyhall.db.engine import Database
from studyhall.integrations.cli import rotate_keys
from studyhall.jobs import core as jobs
from tests.courses.helpers import make_admin, sign_up
from tests.integrations.conftest import (
    API,
    booking_created,
    emit_as,
    owner_value,
    register,
    settle,
)
from tests.integrations.receiver import Receiver, verify


async def owner_rows(owner_db: Database, sql: str) -> list[tuple[object, ...]]:
    async with owner_db.transaction() as session:
        return [tuple(row) for row in await session.execute(text(sql))]


PRODUCTION_SECRET = "p" * 40


@pytest.fixture
def production(settings: Settings) -> Settings:
    return settings.model_copy(
        update={"environment": "production", "secret_key": SecretStr(PRODUCTION_SECRET)}
    )


@pytest.fixture
async def production_client(production: Settings, db: Database) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(production, db)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield http


async def test_only_admins_reach_the_webhook_api(
    client: httpx.AsyncClient, owner_db: Database, receiver: Receiver
) -> None:
    admin = await make_admin(client, owner_db)
    endpoint = await register(client, admin, receiver)
    student = await sign_up(client)
    tutor = await sign_up(client, "tutor")
    base = f"{API}/{endpoint['id']}"
    calls = [
        ("GET", API, None),
        ("POST", API, {"url": receiver.url, "event_types": ["booking.created"]}),
        ("GET", base, None),
        ("PATCH", base, {"enabled": False}),
        ("DELETE", base, None),
        ("POST", f"{base}/rotate-secret", None),
        ("GET", f"{base}/deliveries", None),
    ]
    for method, url, body in calls:
        for caller in (student, tutor):
            answer = await client.request(method, url, json=body, headers=caller.headers)
            assert answer.status_code == 403, (method, url, answer.text)
            assert answer.json()["code"] == "role_required"
        anonymous = await client.request(method, url, json=body)
        assert anonymous.status_code == 401, (method, url)
    assert await owner_value(owner_db, "SELECT count(*) FROM webhook_endpoints") == 1
    assert await owner_value(owner_db, "SELECT enabled FROM webhook_endpoints") is True


async def test_a_student_session_cannot_read_the_tables_either(
    client: httpx.AsyncClient, db: Database, owner_db: Database, receiver: Receiver
) -> None:
    admin = await make_admin(client, owner_db)
    await register(client, admin, receiver)
    student = await sign_up(client)
    await emit_as(db, student.id, booking_created(student.id))
    async with db.transaction(student.id) as session:
        for table in ("webhook_endpoints", "webhook_deliveries"):
            seen = await session.scalar(text(f"SELECT count(*) FROM {table}"))
            assert seen == 0, table
    assert await owner_value(owner_db, "SELECT count(*) FROM webhook_deliveries") == 1


async def test_the_secret_is_shown_once_and_stored_encrypted(
    client: httpx.AsyncClient, owner_db: Database, receiver: Receiver
) -> None:
    admin = await make_admin(client, owner_db)
    created = await register(client, admin, receiver, ["booking.created", "payment.succeeded"])
    secret = created["secret"]
    assert secret.startswith("whsec_") and len(secret) == len("whsec_") + 44
    assert created["event_types"] == ["booking.created", "payment.succeeded"]
    assert created["enabled"] is True

    read = await client.get(f"{API}/{created['id']}", headers=admin.headers)
    listed = await client.get(API, headers=admin.headers)
    for answer in (read.text, listed.text):
        assert secret not in answer and '"secret"' not in answer
    stored = await owner_value(
        owner_db, "SELECT secret_encrypted FROM webhook_endpoints WHERE id = :id", id=created["id"]
    )
    assert secret.encode() not in stored
    assert secret.removeprefix("whsec_").encode() not in stored


async def test_rotation_signs_with_both_secrets_until_the_old_one_expires(
    client: httpx.AsyncClient, db: Database, owner_db: Database, receiver: Receiver
) -> None:
    admin = await make_admin(client, owner_db)
    created = await register(client, admin, receiver)
    old = created["secret"]
    rotated = await client.post(f"{API}/{created['id']}/rotate-secret", headers=admin.headers)
    assert rotated.status_code == 200, rotated.text
    new = rotated.json()["secret"]
    assert new != old and new.startswith("whsec_")
    assert rotated.json()["previous_secret_expires_at"] is not None

    await emit_as(db, admin.id, booking_created())
    await settle()
    [message] = receiver.received
    signatures = message.headers["webhook-signature"].split(" ")
    assert len(signatures) == 2 and all(s.startswith("v1,") for s in signatures)
    assert verify([new], message.headers, message.body)
    assert verify([old], message.headers, message.body)

    # Once the grace period is over, only the new secret signs.
    await owner_value(
        owner_db,
        "UPDATE webhook_endpoints SET previous_secret_expires_at = now() - interval '1 second' "
        "RETURNING 1",
    )
    await emit_as(db, admin.id, booking_created())
    await settle()
    latest = receiver.received[-1]
    assert len(latest.headers["webhook-signature"].split(" ")) == 1
    assert verify([new], latest.headers, latest.body)
    assert not verify([old], latest.headers, latest.body)


async def test_endpoints_are_listed_a_page_at_a_time_and_can_be_changed_and_removed(
    client: httpx.AsyncClient, owner_db: Database, receiver: Receiver
) -> None:
    admin = await make_admin(client, owner_db)
    ids = [(await register(client, admin, receiver))["id"] for _ in range(3)]
    first = (await client.get(API, params={"limit": 2}, headers=admin.headers)).json()
    assert [e["id"] for e in first["items"]] == ids[:2]
    second = (
        await client.get(
            API, params={"limit": 2, "cursor": first["next_cursor"]}, headers=admin.headers
        )
    ).json()
    assert [e["id"] for e in second["items"]] == ids[2:]
    assert second["next_cursor"] is None

    changed = await client.patch(
        f"{API}/{ids[0]}",
        json={"description": "CRM", "event_types": ["course.completed", "course.completed"]},
        headers=admin.headers,
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["event_types"] == ["course.completed"]
    assert changed.json()["description"] == "CRM"
    assert (await client.delete(f"{API}/{ids[0]}", headers=admin.headers)).status_code == 204
    gone = await client.get(f"{API}/{ids[0]}", headers=admin.headers)
    assert gone.status_code == 404
    assert gone.json()["code"] == "webhook_endpoint_not_found"
    actions = await owner_value(
        owner_db,
        "SELECT string_agg(action, ',' ORDER BY created_at) FROM audit_log "
        "WHERE entity = 'webhook_endpoint' AND entity_id = :id",
        id=ids[0],
    )
    assert actions == "webhook_endpoint.create,webhook_endpoint.update,webhook_endpoint.delete"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"url": "http://example.com/x", "event_types": ["no.such"]}, "event_types.0"),
        ({"url": "http://example.com/x", "event_types": []}, "event_types"),
        ({"url": "ftp://example.com/x", "event_types": ["booking.created"]}, "url"),
        ({"url": "http://user:pw@example.com/", "event_types": ["booking.created"]}, "url"),
    ],
)
async def test_bad_endpoints_are_refused_with_the_field_named(
    client: httpx.AsyncClient, owner_db: Database, body: dict[str, object], field: str
) -> None:
    admin = await make_admin(client, owner_db)
    answer = await client.post(API, json=body, headers=admin.headers)
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    assert [e["field"] for e in answer.json()["errors"]] == [field]
    assert await owner_value(owner_db, "SELECT count(*) FROM webhook_endpoints") == 0


@pytest.mark.parametrize(
    "url",
    [
        "http://example.com/hooks",
        "https://127.0.0.1/hooks",
        "https://localhost:8443/hooks",
        "https://10.1.2.3/hooks",
        "https://192.168.0.10/hooks",
        "https://169.254.169.254/latest/meta-data",
        "https://[::1]/hooks",
        "https://[::ffff:127.0.0.1]/hooks",
        "https://0.0.0.0/hooks",
    ],
)
async def test_production_refuses_plain_http_and_internal_targets(
    production_client: httpx.AsyncClient, owner_db: Database, url: str
) -> None:
    admin = await make_admin(production_client, owner_db)
    answer = await production_client.post(
        API, json={"url": url, "event_types": ["booking.created"]}, headers=admin.headers
    )
    assert answer.status_code == 422, answer.text
    assert answer.json()["code"] == "webhook_url_refused"
    assert [e["field"] for e in answer.json()["errors"]] == ["url"]
    assert await owner_value(owner_db, "SELECT count(*) FROM webhook_endpoints") == 0


async def test_production_does_not_send_to_an_internal_address_even_if_one_was_saved(
    client: httpx.AsyncClient,
    db: Database,
    owner_db: Database,
    receiver: Receiver,
    production: Settings,
) -> None:
    """Saved while the platform ran in development, or pointed at by a name that now resolves
    inside: each attempt checks again and connects nowhere."""
    admin = await make_admin(client, owner_db)
    plain = await register(client, admin, receiver)
    local = await register(client, admin, receiver)
    port = receiver.url.split(":")[2].split("/")[0]
    await owner_value(
        owner_db,
        "UPDATE webhook_endpoints SET url = :url WHERE id = :id RETURNING 1",
        url=f"https://localhost:{port}/hooks",
        id=local["id"],
    )
    jobs.configure_runtime(jobs.Runtime(settings=production, database=db))

    await emit_as(db, admin.id, booking_created())
    await settle(rounds=1)

    assert receiver.received == []
    errors = {
        str(row[0]): row[1]
        for row in await owner_rows(
            owner_db,
            "SELECT d.endpoint_id, a.error FROM webhook_attempts a "
            "JOIN webhook_deliveries d ON d.id = a.delivery_id",
        )
    }
    assert errors[plain["id"]] == "refused: the URL must use https"
    assert errors[local["id"]].startswith(
        "refused: the host 'localhost' resolves to an internal address"
    )


async def test_rotating_encryption_keys_reseals_secrets_that_keep_signing(
    client: httpx.AsyncClient,
    db: Database,
    owner_db: Database,
    receiver: Receiver,
    settings: Settings,
    database_urls: DatabaseUrls,
) -> None:
    admin = await make_admin(client, owner_db)
    endpoint = await register(client, admin, receiver)
    await client.post(f"{API}/{endpoint['id']}/rotate-secret", headers=admin.headers)
    old_ring = settings.encryption_keys
    assert old_ring is not None
    both = SecretStr(f"k2:{base64.b64encode(b'n' * 32).decode()},{old_ring.get_secret_value()}")
    rotated = settings.model_copy(update={"encryption_keys": both})

    assert await rotate_keys(rotated, database_urls) == 1
    assert await rotate_keys(rotated, database_urls) == 0
    assert await owner_value(owner_db, "SELECT encryption_key_id FROM webhook_endpoints") == "k2"

    # The old key is gone from the ring; both secrets still sign.
    only_new = SecretStr(both.get_secret_value().split(",")[0])
    jobs.configure_runtime(
        jobs.Runtime(
            settings=settings.model_copy(update={"encryption_keys": only_new}), database=db
        )
    )
    await emit_as(db, admin.id, booking_created())
    await settle()
    [message] = receiver.received
    assert message.verified
    assert len(message.headers["webhook-signature"].split()) == 2
    assert (
        await owner_value(
            owner_db, "SELECT count(*) FROM audit_log WHERE action = 'webhook_endpoint.rotate_keys'"
        )
        == 1
    )
