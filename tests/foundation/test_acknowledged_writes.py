"""A 2xx means committed: over a real socket, a read right after an acknowledged write sees it,
and a write refused at commit is answered with an error, never a 2xx."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Annotated

import httpx
import pytest
from fastapi import Depends, FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.app import create_app
from studyhall.bootstrap import DatabaseUrls
from studyhall.config import Settings
from studyhall.db.deps import Session, check_sessions_commit_before_responding, get_session
from studyhall.db.engine import Database
from tests.accounts.conftest import owner_exec
from tests.live import live_server, slow_commits

API = "/api/v1"
PASSWORD = "correct horse battery staple 9"

Pair = Callable[[int], Awaitable[bool]]


async def _sign_up(http: httpx.AsyncClient, role: str = "student") -> dict[str, str]:
    email = f"{role}-{uuid.uuid4().hex[:10]}@example.org"
    response = await http.post(
        f"{API}/auth/sign-up",
        json={"email": email, "password": PASSWORD, "name": "Edge", "role": role},
    )
    assert response.status_code == 201, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def _pairs(
    http: httpx.AsyncClient, student: dict[str, str], tutor: dict[str, str]
) -> dict[str, Pair]:
    """Each pair writes, then reads what it wrote; True when the read saw the write."""

    async def sign_up_then_me(i: int) -> bool:
        headers = await _sign_up(http)
        return (await http.get(f"{API}/me", headers=headers)).status_code == 200

    async def patch_me_then_me(i: int) -> bool:
        name = f"Name {i}"
        patched = await http.patch(f"{API}/me", json={"name": name}, headers=student)
        assert patched.status_code == 200, patched.text
        me = await http.get(f"{API}/me", headers=student)
        return me.status_code == 200 and me.json()["name"] == name

    async def offering_then_read(i: int) -> bool:
        body = {
            "title": f"Algebra {i}",
            "description": "Linear equations, step by step.",
            "duration_minutes": 60,
            "price_cents": 0,
        }
        created = await http.post(f"{API}/offerings", json=body, headers=tutor)
        assert created.status_code == 201, created.text
        read = await http.get(f"{API}/offerings/{created.json()['id']}", headers=tutor)
        return read.status_code == 200

    async def material_then_read(i: int) -> bool:
        created = await http.post(
            f"{API}/materials",
            headers=student,
            files={"file": (f"notes-{i}.txt", f"Photosynthesis, part {i}.".encode(), "text/plain")},
            data={"origin": "notes"},
        )
        assert created.status_code == 201, created.text
        read = await http.get(f"{API}/materials/{created.json()['id']}", headers=student)
        return read.status_code == 200

    async def thread_then_read(i: int) -> bool:
        created = await http.post(f"{API}/chat/threads", json={"title": f"T{i}"}, headers=student)
        assert created.status_code == 201, created.text
        thread_id = created.json()["id"]
        read = await http.get(f"{API}/chat/threads/{thread_id}/messages", headers=student)
        return read.status_code == 200

    return {
        "sign-up → GET /me": sign_up_then_me,
        "PATCH /me → GET /me": patch_me_then_me,
        "POST /offerings → GET": offering_then_read,
        "POST /materials → GET": material_then_read,
        "POST /chat/threads → GET": thread_then_read,
    }


ROUNDS = {
    "sign-up → GET /me": 60,
    "PATCH /me → GET /me": 200,
    "POST /offerings → GET": 80,
    "POST /materials → GET": 80,
    "POST /chat/threads → GET": 80,
}


async def test_every_acknowledged_write_is_read_back_at_once_over_a_socket(
    settings: Settings, database_urls: DatabaseUrls, owner_db: Database
) -> None:
    assert sum(ROUNDS.values()) >= 500
    await slow_commits(owner_db, ["users", "offerings", "materials", "chat_threads"])
    stale: Counter[str] = Counter()
    with live_server(settings, database_urls.app) as base:
        async with httpx.AsyncClient(base_url=base, timeout=30) as http:
            student = await _sign_up(http)
            tutor = await _sign_up(http, "tutor")
            await owner_exec(owner_db, "UPDATE tutor_profiles SET verification_status = 'verified'")
            pairs = _pairs(http, student, tutor)
            for name, rounds in ROUNDS.items():
                for i in range(rounds):
                    if not await pairs[name](i):
                        stale[name] += 1
    assert stale == Counter(), f"stale reads after a 2xx: {dict(stale)}"


# A deferred constraint on users that the test can trip on purpose.
REFUSE_AT_COMMIT = (
    """
    CREATE FUNCTION refuse_marked_name() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF NEW.name = 'Refused at commit' THEN
            RAISE EXCEPTION 'marked name' USING ERRCODE = 'check_violation';
        END IF;
        RETURN NULL;
    END $$
    """,
    """
    CREATE CONSTRAINT TRIGGER refuse_marked_name AFTER UPDATE ON users
        DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION refuse_marked_name()
    """,
)


async def test_a_write_refused_at_commit_is_an_error_and_nothing_is_saved(
    settings: Settings, database_urls: DatabaseUrls, owner_db: Database
) -> None:
    # A deferred constraint (as the courses' unique positions are) is checked only at COMMIT:
    # the route has returned by then, so only a commit before the response can report it.
    for statement in REFUSE_AT_COMMIT:
        await owner_exec(owner_db, statement)
    with live_server(settings, database_urls.app) as base:
        async with httpx.AsyncClient(base_url=base, timeout=30) as http:
            student = await _sign_up(http)
            for _ in range(20):
                refused = await http.patch(
                    f"{API}/me", json={"name": "Refused at commit"}, headers=student
                )
                assert refused.status_code == 409, refused.text
                assert refused.headers["content-type"] == "application/problem+json"
                assert refused.json()["code"] == "commit_conflict"
                assert (await http.get(f"{API}/me", headers=student)).json()["name"] == "Edge"
            accepted = await http.patch(f"{API}/me", json={"name": "Kept"}, headers=student)
            assert accepted.status_code == 200
            assert (await http.get(f"{API}/me", headers=student)).json()["name"] == "Kept"


def test_the_app_refuses_a_route_whose_session_would_commit_after_the_response() -> None:
    app = FastAPI()

    @app.get("/fine")
    async def fine(session: Session) -> None:
        return None

    check_sessions_commit_before_responding(app)

    @app.get("/late")
    async def late(session: Annotated[AsyncSession, Depends(get_session)]) -> None:
        return None

    with pytest.raises(RuntimeError, match="/late"):
        check_sessions_commit_before_responding(app)


def test_every_route_of_the_app_commits_before_responding(settings: Settings) -> None:
    check_sessions_commit_before_responding(create_app(settings))
