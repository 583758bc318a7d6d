"""Admin endpoints: search, suspension, tutor verification, new admins; all audited."""

from __future__ import annotations

import httpx

from studyhall.db.engine import Database
from tests.accounts.conftest import PASSWORD, make_admin, make_tutor, owner_rows, sign_up

API = "/api/v1"


async def test_list_and_search_users_with_keyset_pages(
    client: httpx.AsyncClient, owner_db: Database
) -> None:
    admin = await make_admin(client, owner_db)
    made = [await sign_up(client, email=f"pupil{i}@school.example") for i in range(5)]
    tutor = await make_tutor(client, owner_db)
    everyone = await client.get(f"{API}/admin/users", headers=admin.headers)
    assert len(everyone.json()["items"]) == 7
    found = await client.get(
        f"{API}/admin/users", params={"q": "SCHOOL.example"}, headers=admin.headers
    )
    assert sorted(u["email"] for u in found.json()["items"]) == sorted(a.email for a in made)
    tutors = await client.get(f"{API}/admin/users", params={"role": "tutor"}, headers=admin.headers)
    assert [u["id"] for u in tutors.json()["items"]] == [str(tutor.id)]
    wildcard = await client.get(f"{API}/admin/users", params={"q": "%"}, headers=admin.headers)
    assert wildcard.json()["items"] == []
    pages, cursor = [], None
    while True:
        params: dict[str, object] = {"limit": 2, "q": "pupil"}
        if cursor:
            params["cursor"] = cursor
        page = (await client.get(f"{API}/admin/users", params=params, headers=admin.headers)).json()
        pages.append([u["email"] for u in page["items"]])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert [len(p) for p in pages] == [2, 2, 1]
    assert sorted(email for page in pages for email in page) == sorted(a.email for a in made)


async def test_suspend_restore_and_their_conflicts(
    client: httpx.AsyncClient, owner_db: Database
) -> None:
    admin = await make_admin(client, owner_db)
    student = await sign_up(client)
    itself = await client.post(
        f"{API}/admin/users/{admin.id}/suspend", json={"reason": "x"}, headers=admin.headers
    )
    assert (itself.status_code, itself.json()["code"]) == (409, "cannot_suspend_self")
    restore_active = await client.post(
        f"{API}/admin/users/{student.id}/restore", headers=admin.headers
    )
    assert (restore_active.status_code, restore_active.json()["code"]) == (409, "not_suspended")
    missing = await client.post(
        f"{API}/admin/users/00000000-0000-0000-0000-000000000000/suspend",
        json={"reason": "x"},
        headers=admin.headers,
    )
    assert (missing.status_code, missing.json()["code"]) == (404, "user_not_found")
    no_reason = await client.post(
        f"{API}/admin/users/{student.id}/suspend", json={}, headers=admin.headers
    )
    assert no_reason.status_code == 422
    ok = await client.post(
        f"{API}/admin/users/{student.id}/suspend", json={"reason": "spam"}, headers=admin.headers
    )
    assert ok.status_code == 200
    twice = await client.post(
        f"{API}/admin/users/{student.id}/suspend", json={"reason": "spam"}, headers=admin.headers
    )
    assert (twice.status_code, twice.json()["code"]) == (409, "already_suspended")
    assert await owner_rows(
        owner_db,
        "SELECT actor_user_id, action, diff->>'reason' FROM audit_log "
        "WHERE entity = 'user' AND entity_id = :id AND action IN ('user.suspend', 'user.restore')",
        id=str(student.id),
    ) == [(admin.id, "user.suspend", "spam")]


async def test_verify_and_reject_tutors(client: httpx.AsyncClient, owner_db: Database) -> None:
    admin = await make_admin(client, owner_db)
    tutor = await make_tutor(client, owner_db, subjects=["math"])
    student = await sign_up(client)
    assert (await client.get(f"{API}/tutors")).json()["items"] == []
    verified = await client.post(f"{API}/admin/tutors/{tutor.id}/verify", headers=admin.headers)
    assert (verified.status_code, verified.json()["verification_status"]) == (200, "verified")
    assert [t["user_id"] for t in (await client.get(f"{API}/tutors")).json()["items"]] == [
        str(tutor.id)
    ]
    again = await client.post(f"{API}/admin/tutors/{tutor.id}/verify", headers=admin.headers)
    assert (again.status_code, again.json()["code"]) == (409, "already_verified")
    rejected = await client.post(
        f"{API}/admin/tutors/{tutor.id}/reject",
        json={"reason": "no diploma"},
        headers=admin.headers,
    )
    assert (rejected.status_code, rejected.json()["verification_status"]) == (200, "rejected")
    assert (await client.get(f"{API}/tutors")).json()["items"] == []
    not_tutor = await client.post(f"{API}/admin/tutors/{student.id}/verify", headers=admin.headers)
    assert (not_tutor.status_code, not_tutor.json()["code"]) == (404, "tutor_not_found")
    assert await owner_rows(
        owner_db,
        "SELECT action, diff->'verification_status', diff->>'reason' FROM audit_log "
        "WHERE entity = 'tutor_profile' AND action <> 'tutor_profile.update' ORDER BY created_at",
    ) == [
        ("tutor_profile.verify", ["pending", "verified"], None),
        ("tutor_profile.reject", ["verified", "rejected"], "no diploma"),
    ]


async def test_admins_create_admins(client: httpx.AsyncClient, owner_db: Database) -> None:
    admin = await make_admin(client, owner_db)
    body = {"email": "second@example.org", "password": PASSWORD, "name": "Second"}
    created = await client.post(f"{API}/admin/admins", json=body, headers=admin.headers)
    assert (created.status_code, created.json()["role"]) == (201, "admin")
    duplicate = await client.post(f"{API}/admin/admins", json=body, headers=admin.headers)
    assert (duplicate.status_code, duplicate.json()["code"]) == (409, "email_taken")
    assert await owner_rows(
        owner_db,
        "SELECT actor_user_id, diff->>'email' FROM audit_log WHERE action = 'user.create_admin'",
    ) == [(admin.id, "second@example.org")]
