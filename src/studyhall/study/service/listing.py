"""Keyset pages of study's lists, in the one paging contract (``studyhall.kit.paging``).

Every list of study is newest first on (a time, the id): the query asks for one row more than the
page, strictly after the cursor's key, so a page costs the same wherever it is and rows added
meanwhile never shift it.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.kit.paging import PageRequest, after

__all__ = ["keyset_page"]

Row = TypeVar("Row")


async def keyset_page(
    session: AsyncSession,
    query: Select[Any],
    columns: tuple[Any, Any],
    page: PageRequest,
    key: Callable[[Row], tuple[datetime, uuid.UUID]],
    *,
    descending: bool = True,
) -> tuple[list[Row], str | None]:
    """One page of ``query``'s entities ordered by ``columns`` (a time and the id), and the
    cursor of the next page (None on the last)."""
    condition = after(columns, page.key(datetime, uuid.UUID), descending=descending)
    if condition is not None:
        query = query.where(condition)
    order: Sequence[Any] = [c.desc() for c in columns] if descending else list(columns)
    rows: Sequence[Row] = (
        await session.scalars(query.order_by(*order).limit(page.limit + 1))
    ).all()
    return page.of(rows, key)
