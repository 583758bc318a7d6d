"""The upload route refuses a body over the size limit while it arrives, not after spooling it.

FastAPI parses a multipart body before the endpoint (or any dependency) runs, so the limit is
applied around the route handler: a declared ``Content-Length`` over the limit is refused before
a byte is read, and a body without one (chunked) is counted as it is received and stopped at
the first message past the limit. The form parser closes its spooled files when ``receive``
fails, so nothing is left on disk; the endpoint never runs, so no row or stored file exists.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute
from starlette.types import Message, Receive

from studyhall.config import Settings
from studyhall.kit.errors import PayloadTooLarge

__all__ = ["MULTIPART_ALLOWANCE", "UploadLimitRoute", "file_too_large"]

# Room for the multipart envelope around a file exactly at the limit: boundaries, part headers
# (a long file name) and the small form fields. The file itself is held to the exact limit.
MULTIPART_ALLOWANCE = 16 * 1024


def file_too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(
        f"The file is larger than the {limit}-byte upload limit.", code="file_too_large"
    )


class _BodyTooLarge(Exception):
    """Stops the form parser; turned into ``file_too_large`` around the handler."""


class _CountingReceive:
    def __init__(self, receive: Receive, allowed: int) -> None:
        self._receive = receive
        self.allowed = allowed
        self.received = 0

    @property
    def exceeded(self) -> bool:
        return self.received > self.allowed

    async def __call__(self) -> Message:
        message = await self._receive()
        if message["type"] == "http.request":
            self.received += len(message.get("body", b""))
            if self.exceeded:
                raise _BodyTooLarge
        return message


def _declared_length(request: Request) -> int | None:
    value = request.headers.get("content-length", "")
    return int(value) if value.isdigit() else None


class UploadLimitRoute(APIRoute):
    """A route whose request body may not pass ``study_max_upload_bytes`` + the allowance."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def limited_handler(request: Request) -> Response:
            settings: Settings = request.app.state.settings
            limit = settings.study_max_upload_bytes
            allowed = limit + MULTIPART_ALLOWANCE
            declared = _declared_length(request)
            if declared is not None and declared > allowed:
                raise file_too_large(limit)
            counting = _CountingReceive(request.receive, allowed)
            try:
                return await handler(Request(request.scope, counting))
            except Exception:
                # FastAPI reports any failure while parsing the body as a 400; say what it was.
                if counting.exceeded:
                    raise file_too_large(limit) from None
                raise

        return limited_handler
