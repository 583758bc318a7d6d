"""Opaque keyset cursors for list routes that answer ``{items, next_cursor}``.

A cursor is the sort key of the last item of a page (for example its start time and id),
JSON-encoded and base64url'd so clients treat it as a token, not something to build. The
next page asks for rows strictly after that key, so page 500 costs what page 1 costs and
rows added or removed meanwhile never shift a page. A cursor that does not decode to the
expected kinds is a 422 ``invalid_cursor``, never a 500.
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from datetime import UTC, datetime
from typing import Final

from studyhall.kit.errors import Unprocessable

__all__ = ["MAX_CURSOR_LENGTH", "CursorValue", "decode_cursor", "encode_cursor"]

CursorValue = datetime | uuid.UUID | int | str
# Far above any real cursor (a timestamp and a UUID take about 90 characters).
MAX_CURSOR_LENGTH: Final = 512


def encode_cursor(*key: CursorValue) -> str:
    """The cursor for a page that ended at the row whose sort key is `key`."""
    raw = json.dumps([_plain(value) for value in key], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, *kinds: type[CursorValue]) -> tuple[CursorValue, ...]:
    """The sort key a cursor carries, as values of `kinds` in order; 422 if it is not one."""
    try:
        if len(cursor) > MAX_CURSOR_LENGTH:
            raise ValueError("too long")
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
        if not isinstance(values, list) or len(values) != len(kinds):
            raise ValueError("wrong shape")
        return tuple(_typed(value, kind) for value, kind in zip(values, kinds, strict=True))
    except (ValueError, TypeError, OverflowError, UnicodeError, binascii.Error) as exc:
        raise Unprocessable(
            "The cursor is not one this API returned; start again without it.",
            code="invalid_cursor",
            field="cursor",
        ) from exc


def _plain(value: CursorValue) -> str | int:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("a cursor datetime must be timezone-aware")
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


def _typed(value: object, kind: type[CursorValue]) -> CursorValue:
    if kind is datetime and isinstance(value, str):
        moment = datetime.fromisoformat(value)
        if moment.tzinfo is None:
            raise ValueError("naive datetime in cursor")
        return moment.astimezone(UTC)  # OverflowError at the ends of the calendar
    if kind is uuid.UUID and isinstance(value, str):
        return uuid.UUID(value)
    if kind is int and isinstance(value, int) and not isinstance(value, bool):
        return value
    if kind is str and isinstance(value, str):
        return value
    raise ValueError(f"expected {kind.__name__}")
