"""When the database cannot answer (it is down, restarting, or out of connections) a request gets
a 503 problem with ``Retry-After``, never a 500: the client did nothing wrong and may retry."""

from __future__ import annotations

import logging

import psycopg
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy import exc as sa

from studyhall.kit.errors import problem

log = logging.getLogger(__name__)

RETRY_AFTER_S = 5
# Errors that say the statement was fine but could not run now (a timeout, a lock, a deadlock):
# the same request may succeed on a retry.
_TRANSIENT = (
    psycopg.errors.QueryCanceled,
    psycopg.errors.LockNotAvailable,
    psycopg.errors.TransactionRollback,
)
# What the server's refusal says, in the words an operator looks for (and no socket paths or
# host names: /readyz is public).
_REASONS = (
    ("the database system is starting up", "the database is starting up"),
    ("the database system is shutting down", "the database is shutting down"),
    ("the database system is in recovery mode", "the database is recovering from a crash"),
    ("terminating connection due to administrator command", "the database was shut down"),
    ("too many clients", "the database has no free connection slot"),
    ("no such file or directory", "the database server is not running"),
    ("connection refused", "the database server is not running"),
    ("timeout expired", "the database did not answer in time"),
    ("server closed the connection unexpectedly", "the database server went away"),
    ("consuming input failed", "the database server went away"),
)


def _driver_error(exc: BaseException) -> BaseException | None:
    """The psycopg error under SQLAlchemy's or procrastinate's wrapper."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, psycopg.Error):
            return seen
        if isinstance(seen, sa.DBAPIError) and isinstance(seen.orig, BaseException):
            return seen.orig
        seen = seen.__cause__ or seen.__context__
    return None


def reason(exc: BaseException) -> str:
    """Why the database cannot answer, in one short phrase."""
    if isinstance(exc, sa.TimeoutError):
        return "every database connection is busy"
    driver = _driver_error(exc)
    if isinstance(driver, _TRANSIENT):
        return "the statement timed out or was cancelled"
    text = str(driver or exc).lower()
    for needle, phrase in _REASONS:
        if needle in text:
            return phrase
    return f"the database cannot be reached ({type(driver or exc).__name__})"


async def _unavailable(request: Request, exc: Exception) -> JSONResponse:
    why = reason(exc)
    log.warning(
        "database unavailable: %s",
        why,
        extra={"request_id": getattr(request.state, "request_id", None), "path": request.url.path},
    )
    return problem(
        request,
        503,
        "database_unavailable",
        f"The service cannot reach its database right now ({why}); retry shortly.",
        headers={"Retry-After": str(RETRY_AFTER_S)},
    )


def install_database_error_handlers(app: FastAPI) -> None:
    """The driver's operational and interface errors: the connection, not the statement, failed
    (or the statement could not run now); the pool's timeout: no connection was free."""
    for error in (
        sa.OperationalError,
        sa.InterfaceError,
        sa.TimeoutError,
        psycopg.OperationalError,
        psycopg.InterfaceError,
    ):
        app.add_exception_handler(error, _unavailable)
