"""FastAPI dependencies for the database: the request's one transaction.

A 2xx means committed. The request's transaction commits when the route function returns and
before the response's first byte: a failed commit becomes an error response, never a write lost
behind a 2xx, and a client that reads right after a write sees it.

FastAPI runs the exit code of a yield dependency *after* the response has been sent unless the
dependency is declared with ``scope="function"`` (FastAPI 0.121 and later; the range in
``pyproject.toml`` is the one whose semantics the edge tests prove). So ``get_session`` is only
ever used through ``SESSION`` (or the ``Session`` annotation), and ``create_app`` refuses a route
that reaches it any other way (``check_sessions_commit_before_responding``).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, APIWebSocketRoute
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.db.engine import Database
from studyhall.kit.errors import Conflict

log = logging.getLogger(__name__)

COMMIT_REFUSED = (
    "The change could not be saved: at commit it conflicted with other data "
    "(often a change made at the same moment). Nothing was saved; reload and try again."
)


def get_database(request: Request) -> Database:
    database: Database = request.app.state.database
    return database


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    route_returned = False
    try:
        async with get_database(request).transaction() as session:
            yield session
            route_returned = True
    except IntegrityError as exc:
        if not route_returned:
            raise
        # A constraint checked at commit (a deferred unique position, a constraint trigger):
        # the request's writes are rolled back, and the client must hear so.
        log.warning("commit refused by a constraint: %s", exc.orig)
        raise Conflict(COMMIT_REFUSED, code="commit_conflict") from exc


# The only way routes and dependencies reach the request's session: one cached instance per
# request, committed before the response starts.
SESSION: Any = Depends(get_session, scope="function")
Session = Annotated[AsyncSession, SESSION]
# For routes that run their own short transactions (they call a remote service in between).
AppDatabase = Annotated[Database, Depends(get_database)]


def check_sessions_commit_before_responding(app: FastAPI) -> None:
    """Refuse to start when a route reaches ``get_session`` with the default (request) scope:
    its commit would run after the response, and it would be a second session besides."""
    for route in app.routes:
        if not isinstance(route, APIRoute | APIWebSocketRoute):
            continue
        for dependant in _walk(route.dependant):
            if dependant.call is get_session and dependant.scope != "function":
                raise RuntimeError(
                    f"{route.path}: get_session must be used through studyhall.db.deps.SESSION "
                    "(scope='function'), so the commit happens before the response."
                )


def _walk(dependant: Dependant) -> Iterator[Dependant]:
    yield dependant
    for sub in dependant.dependencies:
        yield from _walk(sub)
