"""Who may call which accounts route: anonymous, a student, another student, a tutor, an admin.

Every denied call must leave the database exactly as it was.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from studyhall.accounts.service import consent, oauth
from studyhall.accounts.service.encryption import KeyRing, new_key
from studyhall.db.engine import Database
from tests.accounts.conftest import PASSWORD, Actor, make_admin, make_tutor, owner_value, sign_up

API = "/api/v1"
ACTORS = ("anonymous", "student", "other_student", "tutor", "admin")
TABLES = (
    "users",
    "student_profiles",
    "tutor_profiles",
    "refresh_tokens",
    "auth_tokens",
    "guardian_consents",
    "oauth_accounts",
    "audit_log",
    "procrastinate_jobs",
)


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    expected: dict[str, int]
    body: dict[str, Any] | None = None


def _everyone(status: int) -> dict[str, int]:
    return {"anonymous": 401} | {actor: status for actor in ACTORS[1:]}


def _only(allowed: dict[str, int]) -> dict[str, int]:
    return {"anonymous": 401} | {actor: allowed.get(actor, 403) for actor in ACTORS[1:]}


def _public(status: int) -> dict[str, int]:
    """Public routes answer the same whoever calls (and a bogus credential changes nothing)."""
    return dict.fromkeys(ACTORS, status)


BOGUS = {"token": "x" * 43}
NEW_PASSWORD = {"current_password": PASSWORD, "new_password": "another long passphrase"}
ROUTES = [
    Route("GET", "/tutors", _public(200)),
    Route("GET", "/tutors/{tutor_id}", _public(404)),  # pending tutors are not listed
    Route("POST", "/auth/refresh", _public(401), {"refresh_token": "x" * 43}),
    Route("POST", "/auth/oidc", _public(503), {"id_token": "x" * 43}),
    Route(
        "POST",
        "/auth/password-reset/confirm",
        _public(422),
        BOGUS | {"new_password": "a long new passphrase"},
    ),
    Route("POST", "/auth/verify-email/confirm", _public(422), BOGUS),
    Route("GET", "/guardian-consent?token=" + "x" * 43, _public(422)),
    Route(
        "POST",
        "/guardian-consent",
        _public(422),
        BOGUS | {"consent_given": True, "legal_text_hash": consent.LEGAL_TEXT_HASH},
    ),
    Route("POST", "/guardian-consent/withdraw", _public(422), BOGUS),
    Route("POST", "/auth/sign-out", _everyone(204)),
    Route("POST", "/auth/sign-out-everywhere", _everyone(204)),
    Route("POST", "/auth/change-password", _everyone(200), NEW_PASSWORD),
    Route("POST", "/auth/verify-email", _everyone(202)),
    Route("GET", "/me", _everyone(200)),
    Route("PATCH", "/me", _everyone(200), {"name": "Renamed"}),
    Route("DELETE", "/me", _everyone(204)),
    Route("GET", "/me/guardian-consent", _everyone(200)),
    Route("POST", "/me/guardian-consent", _everyone(409), {"guardian_email": "g@example.org"}),
    Route("GET", "/me/oauth-accounts", _everyone(200)),
    Route(
        "DELETE",
        "/me/oauth-accounts/{oauth_id}",
        {"anonymous": 401, "student": 204, "other_student": 404, "tutor": 404, "admin": 404},
    ),
    Route("GET", "/me/student-profile", _only({"student": 200, "other_student": 200})),
    Route(
        "PATCH",
        "/me/student-profile",
        _only({"student": 200, "other_student": 200}),
        {"school": "Elsewhere"},
    ),
    Route("GET", "/me/tutor-profile", _only({"tutor": 200})),
    Route("PATCH", "/me/tutor-profile", _only({"tutor": 200}), {"bio": "Hello"}),
    Route("GET", "/admin/users", _only({"admin": 200})),
    Route("POST", "/admin/users/{student_id}/suspend", _only({"admin": 200}), {"reason": "x"}),
    Route("POST", "/admin/users/{student_id}/restore", _only({"admin": 409})),
    Route("POST", "/admin/tutors/{tutor_id}/verify", _only({"admin": 200})),
    Route("POST", "/admin/tutors/{tutor_id}/reject", _only({"admin": 200})),
    Route(
        "POST",
        "/admin/admins",
        _only({"admin": 201}),
        {"email": "new-admin@example.org", "password": PASSWORD, "name": "New"},
    ),
]


async def _snapshot(owner_db: Database) -> list[str | None]:
    return [
        await owner_value(
            owner_db,
            f"SELECT md5(coalesce(string_agg(t::text, ',' ORDER BY t::text), '')) FROM {table} t",
        )
        for table in TABLES
    ]


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: f"{r.method} {r.path}")
async def test_authorization_matrix(
    route: Route, client: httpx.AsyncClient, owner_db: Database, db: Database
) -> None:
    actors: dict[str, Actor | None] = {
        "anonymous": None,
        "student": await sign_up(client),
        "other_student": await sign_up(client),
        "tutor": await make_tutor(client, owner_db),
        "admin": await make_admin(client, owner_db),
    }
    student, tutor = actors["student"], actors["tutor"]
    assert student is not None and tutor is not None
    async with db.transaction(student.id) as session:  # the student links their own
        account = await oauth.link(
            session,
            KeyRing.parse(f"k:{new_key()}"),
            student.id,
            provider="google",
            provider_account_id="g-1",
            access_token="secret-access",
        )
    path = API + route.path.format(student_id=student.id, tutor_id=tutor.id, oauth_id=account.id)
    allowed = {200, 201, 202, 204, 409}
    # Denied calls first, so a permitted call cannot change what a later denial is checked against.
    order = sorted(ACTORS, key=lambda name: route.expected[name] in allowed)
    for name in order:
        actor = actors[name]
        headers = actor.headers if actor else {}
        before = await _snapshot(owner_db)
        response = await client.request(route.method, path, json=route.body, headers=headers)
        expected = route.expected[name]
        assert response.status_code == expected, (name, response.text)
        if expected not in allowed:
            assert response.headers["content-type"] == "application/problem+json"
            assert await _snapshot(owner_db) == before, f"{name} was denied but changed data"
