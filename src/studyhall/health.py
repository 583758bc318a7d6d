"""``/healthz`` (the process is alive) and ``/readyz`` (it can do its job)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text

from studyhall.db import availability, migrate
from studyhall.db.engine import Database
from studyhall.kit.errors import problem

router = APIRouter(tags=["health"])

_READINESS_SQL = text(
    """
    SELECT
        (SELECT version_num FROM alembic_version LIMIT 1) AS revision,
        obj_description('alembic_version'::regclass, 'pg_class') AS window,
        (SELECT extract(epoch FROM now() - max(last_heartbeat))
           FROM procrastinate_workers) AS heartbeat_age_s
    """
)


@router.get("/healthz", summary="The process is alive (public)")
async def health_live() -> dict[str, str]:
    """Answers as long as the process serves requests; it touches nothing else, so a load
    balancer can tell a hung process from a busy database."""
    return {"status": "ok"}


@router.get("/readyz", summary="Database reachable, schema fits this code, a worker alive (public)")
async def health_ready(request: Request) -> JSONResponse:
    """Ready to serve: the database answers, its schema is one this code can use (at the code's
    head, or ahead within the window the database records), and a job worker has sent a
    heartbeat recently. Otherwise a 503 problem naming each failing check, with `Retry-After`."""
    database: Database = request.app.state.database
    head: str | None = request.app.state.head_revision
    max_age: int = request.app.state.settings.worker_heartbeat_max_age_s
    checks: dict[str, Any] = {}
    try:
        async with database.engine.connect() as conn:
            row = (await conn.execute(_READINESS_SQL)).one()
        checks["database"] = "ok"
        checks["migrations"] = migrate.schema_compatible(
            row.revision, row.window, head, request.app.state.revisions
        )
        age = row.heartbeat_age_s
        checks["worker"] = "ok" if age is not None and age <= max_age else "no recent heartbeat"
    except Exception as exc:
        checks["database"] = f"unreachable: {availability.reason(exc)}"
    if all(value == "ok" for value in checks.values()):
        return JSONResponse({"status": "ready", "checks": checks})
    failing = ", ".join(name for name, value in checks.items() if value != "ok")
    return problem(
        request,
        503,
        "not_ready",
        f"Not ready: {failing}.",
        headers={"Retry-After": str(availability.RETRY_AFTER_S)},
        checks=checks,
    )
