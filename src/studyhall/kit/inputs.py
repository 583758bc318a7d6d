"""Input hygiene every route shares: text PostgreSQL can store, and bounds for integers.

**Text.** PostgreSQL refuses a NUL character in ``text`` and ``jsonb``, and an unpaired UTF-16
surrogate (JSON's ``"\\ud800"``) cannot even be encoded as UTF-8 for the wire. Either one used
to surface deep in a service as a driver error, a 500. ``reject_unstorable_text`` refuses them
with a 422 at the edge, before any dependency opens a transaction.

It is an app-wide dependency that looks at the *parsed request* rather than a Pydantic base
class that every schema would inherit, because the request is the one place that holds every
string a client can send: the JSON body (including the keys and values of free-form objects
that no model field describes), query and path parameters declared as plain ``str``,
multipart form fields and file names, and headers. A schema base class would cover JSON bodies
only, and only those whose author remembered to inherit from it.

FastAPI has already read and parsed the body when dependencies run, and Starlette caches what
it parsed, so the check costs one walk over values already in memory, not a second parse.

**Integers.** Each integer a client sends has an upper bound that fits its column and its use;
the names below are the bounds shared across domains (a test walks the OpenAPI document and
fails on any integer parameter or body field without a maximum).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from fastapi import Request
from fastapi.routing import APIRoute
from starlette.datastructures import UploadFile

from studyhall.kit.errors import Unprocessable, field_error, validation_failed

__all__ = [
    "MAX_CENTS",
    "MAX_INT32",
    "MAX_OFFSET",
    "MAX_TOKENS",
    "reject_unstorable_text",
    "text_problem",
]

MAX_INT32 = 2**31 - 1
"""The largest value of a PostgreSQL ``integer`` column (ledger sequence numbers, counts)."""

MAX_OFFSET = 100_000
"""How far an offset-paged list may skip: deeper pages are a crawl, not a reader."""

MAX_CENTS = 10_000_000_000
"""100 million in a currency's major unit: more than any single price, well inside ``bigint``."""

MAX_TOKENS = 10**12
"""A token quota: far beyond any plan, well inside ``bigint``."""

_FORM_TYPES = ("multipart/form-data", "application/x-www-form-urlencoded")

Location = tuple[str | int, ...]


def text_problem(value: str) -> str | None:
    """Why ``value`` cannot be stored as text, or None when it can."""
    if "\x00" in value:
        return "contains a NUL character (\\u0000), which cannot be stored"
    if value.isascii():
        return None
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "contains an unpaired UTF-16 surrogate, which is not a character"
    return None


def _json_strings(root: Any, location: Location) -> Iterator[tuple[Location, str]]:
    # An explicit stack: a deeply nested body must not exhaust Python's recursion limit.
    stack: list[tuple[Location, Any]] = [(location, root)]
    while stack:
        where, value = stack.pop()
        if isinstance(value, str):
            yield where, value
        elif isinstance(value, dict):
            for key, item in value.items():
                yield (*where, key), key
                stack.append(((*where, key), item))
        elif isinstance(value, list):
            stack.extend(((*where, index), item) for index, item in enumerate(value))


def _parsed_by_fastapi(request: Request) -> bool:
    route = request.scope.get("route")
    return isinstance(route, APIRoute) and route.body_field is not None


def _is_json(content_type: str) -> bool:
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or (
        media.startswith("application/") and media.endswith("+json")
    )


async def _body_strings(request: Request) -> Iterator[tuple[Location, str]]:
    if not _parsed_by_fastapi(request):
        return iter(())
    content_type = request.headers.get("content-type", "")
    if content_type.lower().startswith(_FORM_TYPES):
        form = await request.form()  # the form FastAPI parsed: Starlette keeps it
        return _form_strings(list(form.multi_items()))
    if _is_json(content_type) and await request.body():
        return _json_strings(await request.json(), ("body",))  # parsed once, kept
    return iter(())


def _form_strings(items: list[tuple[str, str | UploadFile]]) -> Iterator[tuple[Location, str]]:
    for name, value in items:
        yield ("body", name), name
        if isinstance(value, UploadFile):
            yield ("body", name, "filename"), value.filename or ""
        else:
            yield ("body", name), value


def _request_strings(request: Request) -> Iterator[tuple[Location, str]]:
    for name, value in request.path_params.items():
        if isinstance(value, str):
            yield ("path", name), value
    for name, value in request.query_params.multi_items():
        yield ("query", name), name
        yield ("query", name), value
    for name, value in request.headers.items():
        yield ("header", name), value


def _printable(part: str | int) -> str:
    if isinstance(part, int):
        return str(part)
    return part.encode("utf-8", "backslashreplace").decode("utf-8").replace("\x00", "\\u0000")


async def reject_unstorable_text(request: Request) -> None:
    """422 for any NUL or unpaired surrogate anywhere in the request (an app-wide dependency)."""
    body = await _body_strings(request)
    errors = []
    for strings in (_request_strings(request), body):
        for location, value in strings:
            reason = text_problem(value)
            if reason is not None:
                printable = [_printable(part) for part in location]
                errors.append(field_error(printable, reason, "unstorable_text"))
    if errors:
        problem = validation_failed(errors)
        raise Unprocessable(problem.pop("detail"), code="validation_failed", **problem)
