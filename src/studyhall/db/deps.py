"""FastAPI dependencies for the database: the request's one transaction."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.db.engine import Database


def get_database(request: Request) -> Database:
    database: Database = request.app.state.database
    return database


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    # The exit code of a yield dependency runs before the response is sent, so a failed commit
    # becomes an error response instead of a lost write behind a 2xx.
    async with get_database(request).transaction() as session:
        yield session


Session = Annotated[AsyncSession, Depends(get_session)]
# For routes that run their own short transactions (they call a remote service in between).
AppDatabase = Annotated[Database, Depends(get_database)]
