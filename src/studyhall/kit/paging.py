"""The one paging contract of every list route: ``{items, next_cursor}`` with a bounded ``limit``.

A list route takes ``page: PageQuery`` (``?limit=`` 1 to 200, default 50, and ``?cursor=``), asks
its query for ``page.limit + 1`` rows after the cursor's sort key, and answers
``page.of(rows, key)``. ``next_cursor`` is null on the last page; otherwise it is an opaque token
for the next one (see ``kit.cursors``). Keyset paging means page 500 costs what page 1 costs and
rows added meanwhile never shift a page.

A response model is a named subclass, so the OpenAPI document and generated clients get a
readable name::

    class BookingPage(Page[BookingRead]):
        pass
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Final, Generic, TypeVar

from fastapi import Depends, Query
from pydantic import BaseModel, Field
from sqlalchemy import ColumnElement, and_, or_

from studyhall.kit.cursors import MAX_CURSOR_LENGTH, CursorValue, decode_cursor, encode_cursor

__all__ = ["DEFAULT_LIMIT", "MAX_LIMIT", "Page", "PageQuery", "PageRequest", "after"]

DEFAULT_LIMIT: Final = 50
MAX_LIMIT: Final = 200

Item = TypeVar("Item")
Row = TypeVar("Row")


class Page(BaseModel, Generic[Item]):
    """One page of a list: its items, and the cursor of the next page (null on the last)."""

    items: list[Item]
    next_cursor: str | None = Field(
        description="Pass as `cursor` to get the next page; null when this is the last page."
    )


@dataclass(frozen=True)
class PageRequest:
    limit: int
    cursor: str | None

    def key(self, *kinds: type[CursorValue]) -> tuple[CursorValue, ...] | None:
        """The sort key the cursor carries (422 ``invalid_cursor`` if it is not one of ours)."""
        return None if self.cursor is None else decode_cursor(self.cursor, *kinds)

    def of(
        self, rows: Sequence[Row], key: Callable[[Row], tuple[CursorValue, ...]]
    ) -> tuple[list[Row], str | None]:
        """This page's rows from a query that fetched up to ``limit + 1``, and the next cursor."""
        if len(rows) <= self.limit:
            return list(rows), None
        page = list(rows[: self.limit])
        return page, encode_cursor(*key(page[-1]))


def _page_request(
    limit: Annotated[
        int, Query(ge=1, le=MAX_LIMIT, description=f"Items per page, at most {MAX_LIMIT}.")
    ] = DEFAULT_LIMIT,
    cursor: Annotated[
        str | None,
        Query(
            max_length=MAX_CURSOR_LENGTH,
            description="The `next_cursor` of the previous page; omit for the first page.",
        ),
    ] = None,
) -> PageRequest:
    return PageRequest(limit=limit, cursor=cursor)


PageQuery = Annotated[PageRequest, Depends(_page_request)]


def after(
    columns: Sequence[ColumnElement[Any]],
    key: Sequence[CursorValue] | None,
    *,
    descending: bool = False,
) -> ColumnElement[bool] | None:
    """The keyset condition "strictly after ``key`` in the order of ``columns``" (all ascending or
    all descending), or None for the first page. Written as nested OR/AND rather than a row
    comparison so it also works when the columns mix tables, and indexes are still used."""
    if key is None:
        return None
    conditions: list[ColumnElement[bool]] = []
    for i, column in enumerate(columns):
        beyond = column < key[i] if descending else column > key[i]
        equal_before = [columns[j] == key[j] for j in range(i)]
        conditions.append(and_(*equal_before, beyond) if equal_before else beyond)
    return or_(*conditions)
