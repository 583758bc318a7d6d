"""Turning a unique or foreign-key violation into the domain's 409: the application checks first
for the clear message, and the database constraint catches the writer that raced past the check."""

from __future__ import annotations

from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.kit.errors import Conflict


def constraint_name(exc: IntegrityError) -> str | None:
    diag: Any = getattr(exc.orig, "diag", None)
    name = getattr(diag, "constraint_name", None)
    return name if isinstance(name, str) else None


async def flush_unique(session: AsyncSession, constraint: str, conflict: Conflict) -> None:
    """The application check gives the nice message; this catches the writer that raced past it."""
    try:
        await session.flush()
    except IntegrityError as exc:
        if constraint_name(exc) == constraint:
            raise conflict from exc
        raise
