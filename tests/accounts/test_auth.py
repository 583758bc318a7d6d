"""Sign-up, sign-in, refresh, sign-out, passwords and emailed links, end to end."""

from __future__ import annotations

import asyncio
import time

import httpx
from argon2 import PasswordHasher

from studyhall.db.engine import Database
from tests.accounts.conftest import (
    PASSWORD,
    Mailbox,
    deliver_mail,
    make_admin,
    owner_exec,
    owner_rows,
    owner_value,
    sign_up,
)

API = "/api/v1"


async def _sign_in(client: httpx.AsyncClient, email: str, password: str) -> httpx.Response:
    return await client.post(f"{API}/auth/sign-in", json={"email": email, "password": password})


async def test_sign_up_creates_user_profile_and_audit_row(
    client: httpx.AsyncClient, owner_db: Database
) -> None:
    actor = await sign_up(client, role="tutor", timezone="Europe/Copenhagen")
    me = (await client.get(f"{API}/me", headers=actor.headers)).json()
    assert (me["role"], me["timezone"], me["status"], me["is_verified"]) == (
        "tutor",
        "Europe/Copenhagen",
        "active",
        False,
    )
    assert (
        await owner_value(
            owner_db, "SELECT count(*) FROM tutor_profiles WHERE user_id = :id", id=actor.id
        )
        == 1
    )
    assert await owner_rows(
        owner_db, "SELECT action FROM audit_log WHERE entity_id = :id", id=str(actor.id)
    ) == [("user.sign_up",)]


async def test_duplicate_email_is_409_case_insensitively(
    client: httpx.AsyncClient, owner_db: Database
) -> None:
    actor = await sign_up(client)
    response = await client.post(
        f"{API}/auth/sign-up",
        json={"email": actor.email.upper(), "password": PASSWORD, "name": "Again"},
    )
    assert (response.status_code, response.json()["code"]) == (409, "email_taken")
    assert response.headers["content-type"] == "application/problem+json"
    assert await owner_value(owner_db, "SELECT count(*) FROM users") == 1


async def test_bad_sign_up_input_is_422_naming_the_field(
    client: httpx.AsyncClient, owner_db: Database
) -> None:
    cases = [
        ({"email": "not-an-email", "password": PASSWORD, "name": "A"}, "body.email"),
        (
            {"email": "a@example.org", "password": PASSWORD, "name": "A", "timezone": "Mars/Base"},
            "body.timezone",
        ),
        ({"email": "a@example.org", "password": PASSWORD, "name": "x" * 201}, "body.name"),
        (
            {"email": "a@example.org", "password": PASSWORD, "name": "A", "role": "admin"},
            "body.role",
        ),
        (
            {"email": "a@example.org", "password": PASSWORD, "name": "A", "status": "active"},
            "body.status",
        ),
    ]
    for body, field in cases:
        response = await client.post(f"{API}/auth/sign-up", json=body)
        assert response.status_code == 422, body
        assert response.json()["code"] == "validation_failed"
        assert [f"{e['in']}.{e['field']}" for e in response.json()["errors"]] == [field]
    for password, message in [
        ("short", "at least 8"),
        ("x" * 129, "at most 128"),
        ("password123", "most common"),
    ]:
        response = await client.post(
            f"{API}/auth/sign-up",
            json={"email": "a@example.org", "password": password, "name": "A"},
        )
        assert (response.status_code, response.json()["code"]) == (422, "weak_password")
        assert message in response.json()["detail"]
    assert await owner_value(owner_db, "SELECT count(*) FROM users") == 0


async def test_unknown_email_and_wrong_password_look_the_same(client: httpx.AsyncClient) -> None:
    actor = await sign_up(client)

    async def timed(email: str) -> tuple[float, httpx.Response]:
        started = time.perf_counter()
        response = await _sign_in(client, email, "wrong password here")
        return time.perf_counter() - started, response

    wrong = [await timed(actor.email) for _ in range(3)]
    unknown = [await timed("nobody@example.org") for _ in range(3)]
    bodies = {(r.status_code, r.json()["code"], r.json()["detail"]) for _, r in wrong + unknown}
    assert bodies == {(401, "bad_credentials", "The email or password is wrong.")}
    median_wrong = sorted(t for t, _ in wrong)[1]
    median_unknown = sorted(t for t, _ in unknown)[1]
    # Both run one argon2 verification; a missing account must not answer measurably faster.
    assert 0.33 < median_unknown / median_wrong < 3.0


async def test_sign_in_rehashes_a_password_stored_with_old_parameters(
    client: httpx.AsyncClient, owner_db: Database
) -> None:
    actor = await sign_up(client)
    weak = PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1).hash(PASSWORD)
    await owner_exec(
        owner_db, "UPDATE users SET password_hash = :h WHERE id = :id", h=weak, id=actor.id
    )
    assert (await _sign_in(client, actor.email, PASSWORD)).status_code == 200
    stored = await owner_value(
        owner_db, "SELECT password_hash FROM users WHERE id = :id", id=actor.id
    )
    assert stored != weak
    assert stored.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert (await _sign_in(client, actor.email, PASSWORD)).status_code == 200
    assert (
        await owner_value(owner_db, "SELECT password_hash FROM users WHERE id = :id", id=actor.id)
        == stored
    )


async def test_refresh_rotates_and_reuse_revokes_the_family(
    client: httpx.AsyncClient, owner_db: Database
) -> None:
    actor = await sign_up(client)
    first = await client.post(f"{API}/auth/refresh", json={"refresh_token": actor.refresh_token})
    assert first.status_code == 200
    second = first.json()["refresh_token"]
    reuse = await client.post(f"{API}/auth/refresh", json={"refresh_token": actor.refresh_token})
    assert (reuse.status_code, reuse.json()["code"]) == (401, "invalid_refresh_token")
    # The thief's reuse also kills the legitimate holder's newer token.
    after = await client.post(f"{API}/auth/refresh", json={"refresh_token": second})
    assert after.status_code == 401
    assert (
        await owner_value(
            owner_db,
            "SELECT count(*) FROM refresh_tokens WHERE user_id = :id AND revoked_at IS NULL",
            id=actor.id,
        )
        == 0
    )
    assert (
        await owner_value(
            owner_db, "SELECT count(*) FROM audit_log WHERE action = 'auth.refresh_reuse'"
        )
        == 1
    )


async def test_concurrent_refresh_of_one_token_rotates_exactly_once(
    client: httpx.AsyncClient,
) -> None:
    actor = await sign_up(client)
    responses = await asyncio.gather(
        *(
            client.post(f"{API}/auth/refresh", json={"refresh_token": actor.refresh_token})
            for _ in range(8)
        )
    )
    assert sorted(r.status_code for r in responses) == [200] + [401] * 7


async def test_sign_out_and_sign_out_everywhere(
    client: httpx.AsyncClient, owner_db: Database
) -> None:
    actor = await sign_up(client)
    other = await _sign_in(client, actor.email, PASSWORD)
    out = await client.post(
        f"{API}/auth/sign-out", json={"refresh_token": actor.refresh_token}, headers=actor.headers
    )
    assert out.status_code == 204
    refused = await client.post(f"{API}/auth/refresh", json={"refresh_token": actor.refresh_token})
    assert refused.status_code == 401
    other_headers = {"Authorization": f"Bearer {other.json()['access_token']}"}
    assert (await client.get(f"{API}/me", headers=other_headers)).status_code == 200
    everywhere = await client.post(f"{API}/auth/sign-out-everywhere", headers=other_headers)
    assert everywhere.status_code == 204
    assert await owner_rows(
        owner_db, "SELECT action FROM audit_log WHERE action LIKE 'auth.sign_out%' ORDER BY 1"
    ) == [("auth.sign_out",), ("auth.sign_out_everywhere",)]
    for headers in (actor.headers, other_headers):
        response = await client.get(f"{API}/me", headers=headers)
        assert (response.status_code, response.json()["code"]) == (401, "invalid_token")
    refused = await client.post(
        f"{API}/auth/refresh", json={"refresh_token": other.json()["refresh_token"]}
    )
    assert refused.status_code == 401
    fresh = await _sign_in(client, actor.email, PASSWORD)
    fresh_headers = {"Authorization": f"Bearer {fresh.json()['access_token']}"}
    assert (await client.get(f"{API}/me", headers=fresh_headers)).status_code == 200


async def test_change_password_ends_other_sessions(
    client: httpx.AsyncClient, owner_db: Database
) -> None:
    actor = await sign_up(client)
    wrong = await client.post(
        f"{API}/auth/change-password",
        json={"current_password": "not the password", "new_password": "a new long passphrase"},
        headers=actor.headers,
    )
    assert (wrong.status_code, wrong.json()["code"]) == (401, "bad_credentials")
    weak = await client.post(
        f"{API}/auth/change-password",
        json={"current_password": PASSWORD, "new_password": "qwerty123"},
        headers=actor.headers,
    )
    assert (weak.status_code, weak.json()["code"]) == (422, "weak_password")
    assert (await _sign_in(client, actor.email, PASSWORD)).status_code == 200
    changed = await client.post(
        f"{API}/auth/change-password",
        json={"current_password": PASSWORD, "new_password": "a new long passphrase"},
        headers=actor.headers,
    )
    assert changed.status_code == 200
    assert (await client.get(f"{API}/me", headers=actor.headers)).status_code == 401
    new_headers = {"Authorization": f"Bearer {changed.json()['access_token']}"}
    assert (await client.get(f"{API}/me", headers=new_headers)).status_code == 200
    assert (await _sign_in(client, actor.email, PASSWORD)).status_code == 401
    assert (await _sign_in(client, actor.email, "a new long passphrase")).status_code == 200
    assert (
        await owner_value(
            owner_db, "SELECT count(*) FROM audit_log WHERE action = 'user.change_password'"
        )
        == 1
    )


async def test_password_reset_by_emailed_single_use_token(
    client: httpx.AsyncClient, owner_db: Database, mailbox: Mailbox
) -> None:
    actor = await sign_up(client)
    for email in (actor.email, "nobody@example.org"):
        response = await client.post(f"{API}/auth/password-reset", json={"email": email})
        assert response.status_code == 202
        assert response.json()["detail"].startswith("If an account uses this address")
    await deliver_mail()
    assert [m["To"] for m in mailbox.messages] == [actor.email]
    token = mailbox.token(actor.email, "Reset token")
    confirm = await client.post(
        f"{API}/auth/password-reset/confirm",
        json={"token": token, "new_password": "brand new passphrase"},
    )
    assert confirm.status_code == 204
    again = await client.post(
        f"{API}/auth/password-reset/confirm",
        json={"token": token, "new_password": "another new passphrase"},
    )
    assert (again.status_code, again.json()["code"]) == (422, "invalid_token")
    assert (await client.get(f"{API}/me", headers=actor.headers)).status_code == 401
    assert (await _sign_in(client, actor.email, PASSWORD)).status_code == 401
    assert (await _sign_in(client, actor.email, "brand new passphrase")).status_code == 200


async def test_expired_or_superseded_reset_tokens_are_refused(
    client: httpx.AsyncClient, owner_db: Database, mailbox: Mailbox
) -> None:
    actor = await sign_up(client)
    await client.post(f"{API}/auth/password-reset", json={"email": actor.email})
    await deliver_mail()
    first = mailbox.token(actor.email, "Reset token")
    await client.post(f"{API}/auth/password-reset", json={"email": actor.email})
    await deliver_mail()
    second = mailbox.token(actor.email, "Reset token")
    body = {"token": first, "new_password": "brand new passphrase"}
    superseded = await client.post(f"{API}/auth/password-reset/confirm", json=body)
    assert (superseded.status_code, superseded.json()["code"]) == (422, "invalid_token")
    await owner_exec(owner_db, "UPDATE auth_tokens SET expires_at = now() - interval '1 second'")
    body = {"token": second, "new_password": "brand new passphrase"}
    expired = await client.post(f"{API}/auth/password-reset/confirm", json=body)
    assert (expired.status_code, expired.json()["code"]) == (422, "invalid_token")
    assert (await _sign_in(client, actor.email, PASSWORD)).status_code == 200


async def test_email_verification_by_emailed_token(
    client: httpx.AsyncClient, owner_db: Database, mailbox: Mailbox
) -> None:
    actor = await sign_up(client)
    assert (await client.post(f"{API}/auth/verify-email", headers=actor.headers)).status_code == 202
    await deliver_mail()
    token = mailbox.token(actor.email, "Verification token")
    bad = await client.post(f"{API}/auth/verify-email/confirm", json={"token": "x" * 43})
    assert (bad.status_code, bad.json()["code"]) == (422, "invalid_token")
    assert await owner_value(owner_db, "SELECT is_verified FROM users") is False
    confirmed = await client.post(f"{API}/auth/verify-email/confirm", json={"token": token})
    assert (confirmed.status_code, confirmed.json()["is_verified"]) == (200, True)
    again = await client.post(f"{API}/auth/verify-email", headers=actor.headers)
    assert (again.status_code, again.json()["code"]) == (409, "already_verified")


async def test_own_update_cannot_touch_privileged_fields(
    client: httpx.AsyncClient, owner_db: Database
) -> None:
    actor = await sign_up(client)
    other = await sign_up(client)
    before = await owner_rows(owner_db, "SELECT * FROM users ORDER BY id")
    for body in (
        {"role": "admin"},
        {"status": "suspended"},
        {"is_verified": True},
        {"verification_status": "verified"},
        {"id": str(other.id), "name": "Hijack"},
        {"timezone": "Nowhere/Land"},
        {"name": "y" * 201},
    ):
        response = await client.patch(f"{API}/me", json=body, headers=actor.headers)
        assert response.status_code == 422, body
    assert await owner_rows(owner_db, "SELECT * FROM users ORDER BY id") == before
    ok = await client.patch(
        f"{API}/me", json={"name": "Ada", "timezone": "Asia/Tokyo"}, headers=actor.headers
    )
    assert (ok.status_code, ok.json()["name"], ok.json()["timezone"]) == (200, "Ada", "Asia/Tokyo")


async def test_suspension_ends_sessions_at_once(
    client: httpx.AsyncClient, owner_db: Database
) -> None:
    admin = await make_admin(client, owner_db)
    actor = await sign_up(client)
    suspended = await client.post(
        f"{API}/admin/users/{actor.id}/suspend", json={"reason": "abuse"}, headers=admin.headers
    )
    assert (suspended.status_code, suspended.json()["status"]) == (200, "suspended")
    assert (await client.get(f"{API}/me", headers=actor.headers)).status_code == 401
    refresh = await client.post(f"{API}/auth/refresh", json={"refresh_token": actor.refresh_token})
    assert refresh.status_code == 401
    assert (await _sign_in(client, actor.email, PASSWORD)).status_code == 401
    restored = await client.post(f"{API}/admin/users/{actor.id}/restore", headers=admin.headers)
    assert (restored.status_code, restored.json()["status"]) == (200, "active")
    assert (await _sign_in(client, actor.email, PASSWORD)).status_code == 200
    assert (await client.get(f"{API}/me", headers=actor.headers)).status_code == 401


async def test_delete_account_needs_a_recent_sign_in_and_ends_everything(
    client: httpx.AsyncClient, owner_db: Database
) -> None:
    actor = await sign_up(client)
    # The sign-up's session began 16 minutes ago; rotating its refresh token keeps that start.
    await owner_exec(
        owner_db, "UPDATE refresh_tokens SET created_at = now() - interval '16 minutes'"
    )
    rotated = await client.post(f"{API}/auth/refresh", json={"refresh_token": actor.refresh_token})
    assert rotated.status_code == 200
    for headers in (actor.headers, {"Authorization": f"Bearer {rotated.json()['access_token']}"}):
        stale = await client.delete(f"{API}/me", headers=headers)
        assert stale.status_code == 403
        assert stale.headers["content-type"] == "application/problem+json"
        assert stale.json()["code"] == "reauthentication_required"
    assert await owner_rows(owner_db, "SELECT status, deleted_at FROM users") == [("active", None)]

    signed_in = await _sign_in(client, actor.email, PASSWORD)
    fresh = {"Authorization": f"Bearer {signed_in.json()['access_token']}"}
    gone = await client.delete(f"{API}/me", headers=fresh)
    assert gone.status_code == 204
    assert await owner_value(owner_db, "SELECT status FROM users") == "deleted"
    assert (await client.get(f"{API}/me", headers=fresh)).status_code == 401
    assert (await _sign_in(client, actor.email, PASSWORD)).status_code == 401
    refresh = await client.post(
        f"{API}/auth/refresh", json={"refresh_token": signed_in.json()["refresh_token"]}
    )
    assert refresh.status_code == 401
    assert (
        await owner_value(owner_db, "SELECT count(*) FROM audit_log WHERE action = 'user.delete'")
        == 1
    )


async def test_the_delete_account_route_takes_no_body(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    delete_me = spec["paths"][f"{API}/me"]["delete"]
    assert "requestBody" not in delete_me
    assert delete_me["operationId"] == "me_delete"


async def test_concurrent_sign_ups_with_one_email_create_one_account(
    client: httpx.AsyncClient, owner_db: Database
) -> None:
    body = {"email": "race@example.org", "password": PASSWORD, "name": "Racer"}
    responses = await asyncio.gather(
        *(client.post(f"{API}/auth/sign-up", json=body) for _ in range(12))
    )
    assert sorted(r.status_code for r in responses) == [201] + [409] * 11
    assert await owner_rows(
        owner_db,
        "SELECT (SELECT count(*) FROM users), (SELECT count(*) FROM student_profiles), "
        "(SELECT count(*) FROM audit_log WHERE action = 'user.sign_up')",
    ) == [(1, 1, 1)]
