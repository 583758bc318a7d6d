"""Every signed-in request's transaction carries ``app.user_id`` (and ``app.user_role`` for
admins) transaction-locally, for row level security policies."""

from __future__ import annotations

import httpx
from fastapi import APIRouter
from sqlalchemy import text

from studyhall.accounts.deps import CurrentUser
from studyhall.app import create_app
from studyhall.config import Settings
from studyhall.db.deps import Session
from studyhall.db.engine import Database
from tests.accounts.conftest import make_admin, sign_up


async def test_transaction_settings_follow_the_caller(
    settings: Settings, db: Database, owner_db: Database
) -> None:
    app = create_app(settings, db)
    probe = APIRouter()

    async def _settings(session: Session) -> list[str | None]:
        row = await session.execute(
            text(
                "SELECT current_setting('app.user_id', true), "
                "current_setting('app.user_role', true)"
            )
        )
        return list(row.one())

    @probe.get("/probe/signed-in")
    async def signed_in(user: CurrentUser, session: Session) -> list[str | None]:
        return await _settings(session)

    @probe.get("/probe/public")
    async def public(session: Session) -> list[str | None]:
        return await _settings(session)

    app.include_router(probe, prefix="/api/v1")
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        student = await sign_up(client)
        admin = await make_admin(client, owner_db)
        as_student = await client.get("/api/v1/probe/signed-in", headers=student.headers)
        as_admin = await client.get("/api/v1/probe/signed-in", headers=admin.headers)
        anonymous = await client.get("/api/v1/probe/public")
        # Transaction-local: a later request on a pooled connection starts clean again.
        after = await client.get("/api/v1/probe/public")
    # A setting PostgreSQL has never seen on a connection reads NULL; once set locally and the
    # transaction ended, it reads ''. Both mean "nobody".
    nobody = (None, "")
    user_id, role = as_student.json()
    assert (user_id, role in nobody) == (str(student.id), True)
    assert as_admin.json() == [str(admin.id), "admin"]
    for response in (anonymous, after):
        assert [value in nobody for value in response.json()] == [True, True]
