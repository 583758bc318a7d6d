from __future__ import annotations

import httpx

from studyhall.db.engine import Database
from tests.scheduling.conftest import API, create_offering, offering_body, scalar, sign_up


async def test_tutor_creates_an_offering_with_a_derived_short_description(
    client: httpx.AsyncClient, owner_db: Database
) -> None:
    tutor = await sign_up(client, "tutor")
    description = ("Word " * 150).strip()  # 749 characters
    created = await create_offering(
        client,
        tutor,
        description=description,
        topic_tags=["Math", " math ", "Algebra"],
        price_cents=25000,
        currency="DKK",
        level="beginner",
        max_participants=4,
    )
    assert created["tutor_id"] == str(tutor.id)
    assert created["short_description"].endswith("…")
    assert len(created["short_description"]) == 495
    assert created["short_description"] == ("Word " * 99).strip() + "…"
    assert created["topic_tags"] == ["math", "algebra"]
    assert (created["price_cents"], created["currency"], created["max_participants"]) == (
        25000,
        "DKK",
        4,
    )
    assert (
        await scalar(owner_db, "SELECT count(*) FROM audit_log WHERE action = 'offering.create'")
        == 1
    )
    listed = await client.get(f"{API}/offerings", params={"tag": "algebra"})
    assert [o["id"] for o in listed.json()["items"]] == [created["id"]]


async def test_duration_must_be_a_multiple_of_15(
    client: httpx.AsyncClient, owner_db: Database
) -> None:
    tutor = await sign_up(client, "tutor")
    response = await client.post(
        f"{API}/offerings", json=offering_body(duration_minutes=50), headers=tutor.headers
    )
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "duration_not_multiple_of_15"
    assert await scalar(owner_db, "SELECT count(*) FROM offerings") == 0


async def test_students_cannot_create_offerings(
    client: httpx.AsyncClient, owner_db: Database
) -> None:
    student = await sign_up(client, "student")
    response = await client.post(f"{API}/offerings", json=offering_body(), headers=student.headers)
    assert response.status_code == 403
    assert response.json()["code"] == "role_required"
    assert await scalar(owner_db, "SELECT count(*) FROM offerings") == 0


async def test_only_the_owning_tutor_edits(client: httpx.AsyncClient, owner_db: Database) -> None:
    owner = await sign_up(client, "tutor")
    other = await sign_up(client, "tutor")
    created = await create_offering(client, owner)
    denied = await client.patch(
        f"{API}/offerings/{created['id']}", json={"title": "Mine now"}, headers=other.headers
    )
    assert denied.status_code == 403
    assert denied.json()["code"] == "not_owner"
    assert (
        await scalar(owner_db, "SELECT title FROM offerings WHERE id = :id", id=created["id"])
        == "Algebra 1:1"
    )
    allowed = await client.patch(
        f"{API}/offerings/{created['id']}",
        json={"title": "Algebra II", "description": "Quadratics."},
        headers=owner.headers,
    )
    assert allowed.status_code == 200
    assert (allowed.json()["title"], allowed.json()["short_description"]) == (
        "Algebra II",
        "Quadratics.",
    )
    bad = await client.patch(
        f"{API}/offerings/{created['id']}", json={"duration_minutes": 20}, headers=owner.headers
    )
    assert bad.status_code == 422
    assert bad.json()["code"] == "duration_not_multiple_of_15"
    assert (
        await scalar(
            owner_db, "SELECT duration_minutes FROM offerings WHERE id = :id", id=created["id"]
        )
        == 60
    )


async def test_deleted_offering_disappears(client: httpx.AsyncClient) -> None:
    tutor = await sign_up(client, "tutor")
    created = await create_offering(client, tutor)
    assert (
        await client.delete(f"{API}/offerings/{created['id']}", headers=tutor.headers)
    ).status_code == 204
    missing = await client.get(f"{API}/offerings/{created['id']}")
    assert missing.status_code == 404
    assert missing.json()["code"] == "offering_not_found"


async def test_openapi_documents_the_scheduling_routes(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    expected = {
        "/api/v1/offerings",
        "/api/v1/slots",
        "/api/v1/bookings",
        "/api/v1/bookings/{booking_id}/reschedule",
        "/api/v1/calendar/feeds/{token}.ics",
    }
    assert expected <= set(spec["paths"])
    create = spec["paths"]["/api/v1/bookings"]["post"]
    assert "idempotency-key" in {p["name"] for p in create["parameters"]}
    assert create["responses"]["201"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/BookingCreated"
    }
