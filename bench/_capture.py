"""The SQL a route issues, captured from one real request, to replay it directly as a baseline.

One request goes through the app in this process with a listener on the engine; every statement
and its parameters are kept in order (SQLAlchemy's psycopg dialect already writes ``%(name)s``
placeholders, so psycopg takes them as they are). ``substitute`` swaps the ids of the captured
request for another caller's, so the baseline spreads over the same users and rows as the load.
"""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from sqlalchemy import event

from bench._wrk import Request, Transaction
from studyhall.app import create_app
from studyhall.config import Settings
from studyhall.db.engine import Database


async def capture(settings: Settings, database: Database, request: Request) -> Transaction:
    """The statements one ``request`` issues, in order, with their parameters."""
    statements: Transaction = []

    def note(conn: Any, cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        statements.append((statement, dict(parameters or {})))

    engine = database.engine.sync_engine
    event.listen(engine, "before_cursor_execute", note)
    try:
        app = create_app(settings, database)
        transport = httpx.ASGITransport(app=app)
        headers = {"Authorization": f"Bearer {request.token}"} if request.token else {}
        if request.body:
            headers["Content-Type"] = "application/json"
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as http:
            response = await http.request(
                request.method, request.path, headers=headers, content=request.body or None
            )
        if response.status_code >= 400:
            raise RuntimeError(f"capture of {request.path}: {response.status_code} {response.text}")
    finally:
        event.remove(engine, "before_cursor_execute", note)
    return statements


def substitute(transaction: Transaction, swaps: dict[uuid.UUID, uuid.UUID]) -> Transaction:
    """``transaction`` with each id in ``swaps`` replaced (as a UUID or as its text)."""
    text = {str(old): str(new) for old, new in swaps.items()}

    def swap(value: Any) -> Any:
        if isinstance(value, uuid.UUID):
            return swaps.get(value, value)
        if isinstance(value, str):
            return text.get(value, value)
        if isinstance(value, list):
            return [swap(v) for v in value]
        return value

    return [(sql, {k: swap(v) for k, v in params.items()}) for sql, params in transaction]
