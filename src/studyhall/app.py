"""``create_app()``: routers, exception handlers and the lifespan that owns connections."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI
from fastapi.middleware.cors import CORSMiddleware

from studyhall import __version__, domains, health, metrics, tracing
from studyhall.accounts.deps import optional_user
from studyhall.billing.config import check_for_environment
from studyhall.bootstrap import check_app_role, resolve_database
from studyhall.config import Settings, get_settings
from studyhall.db import migrate
from studyhall.db.availability import install_database_error_handlers
from studyhall.db.deps import check_sessions_commit_before_responding
from studyhall.db.engine import Database, listen_url
from studyhall.jobs import core as jobs
from studyhall.kit import cpu
from studyhall.kit.access import AccessLogMiddleware
from studyhall.kit.body_limit import BodyLimitMiddleware
from studyhall.kit.deprecation import DeprecationHeadersMiddleware
from studyhall.kit.errors import install_error_handlers
from studyhall.kit.headers import SecurityHeadersMiddleware, security_headers
from studyhall.kit.inputs import reject_unstorable_text
from studyhall.kit.openapi import install_api_openapi, operation_id
from studyhall.kit.requests import RequestIdMiddleware
from studyhall.web import router as web

log = logging.getLogger(__name__)

API_PREFIX = "/api/v1"


def create_app(settings: Settings | None = None, database: Database | None = None) -> FastAPI:
    """``database`` given: the caller owns it (tests). Otherwise the lifespan connects."""
    settings = settings or get_settings()
    # Refuse to start with a payment setting that is unsafe in this environment (e.g. manual
    # payments that succeed by themselves in production), naming the setting.
    check_for_environment(settings.environment)
    app = FastAPI(
        title="Studyhall",
        version=__version__,
        summary="Backend for AI learning platforms: tutoring, courses, study assistant, progress.",
        lifespan=_lifespan,
        # /docs is the web app's page: it serves Swagger UI from the package, not a CDN.
        docs_url=None,
        redoc_url=None,
        openapi_url="/openapi.json",
        # operationId = the route function's name (``bookings_create``): what clients call.
        generate_unique_id_function=operation_id,
        # Every route, whatever its schema: text PostgreSQL cannot store is a 422 (kit.inputs).
        dependencies=[Depends(reject_unstorable_text)],
    )
    app.state.settings = settings
    app.state.database = database
    app.state.head_revision = migrate.head_revision()
    app.state.revisions = migrate.revisions()
    # Added first, so it runs inside the request id middleware and its 413 carries the id.
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_request_bytes)
    app.add_middleware(DeprecationHeadersMiddleware)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_credentials=True,
            allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "Idempotency-Key", "X-Request-ID"],
            expose_headers=["X-Request-ID", "Location", "Retry-After"],
        )
    hsts = settings.environment != "development"
    app.state.security_headers = security_headers(settings.csp, hsts)
    app.add_middleware(
        SecurityHeadersMiddleware,
        headers=app.state.security_headers,
        docs_headers=security_headers(settings.csp_docs, hsts),
    )
    app.add_middleware(AccessLogMiddleware)
    app.add_middleware(RequestIdMiddleware)
    tracing.install(app, settings)
    install_error_handlers(app)
    install_database_error_handlers(app)
    install_api_openapi(app, optional_auth=(optional_user,))
    app.include_router(health.router)
    app.include_router(metrics.router)
    for module in domains.load_routers():
        app.include_router(module.router, prefix=API_PREFIX)
    web.install(app)
    check_sessions_commit_before_responding(app)
    return app


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    # Every process that may defer a job knows every task, whoever opened its database.
    jobs.load_tasks()
    if app.state.database is not None:
        yield
        return
    urls = await asyncio.to_thread(resolve_database, settings)
    await asyncio.to_thread(check_app_role, urls.app, settings)
    database = Database.connect(urls.app, settings)
    app.state.database = database
    jobs.configure_runtime(jobs.Runtime(settings=settings, database=database))
    await jobs.open_queue(listen_url(settings, urls.app), settings)
    worker = None
    if settings.in_process_worker:
        worker = asyncio.create_task(
            jobs.run_worker_until_cancelled(concurrency=settings.worker_concurrency)
        )
    try:
        yield
    finally:
        if worker is not None:
            worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await worker
        await jobs.close_queue()
        await database.dispose()
        jobs.configure_runtime(None)
        await asyncio.to_thread(cpu.shutdown)
