"""The upload route refuses a body over the size limit while it arrives, not after spooling it.

FastAPI parses a multipart body before the endpoint (or any dependency) runs, so the limit is
raised around the route handler, before the body is read: the app-wide body limit
(``studyhall.kit.body_limit``) then refuses a declared ``Content-Length`` over the upload limit
before a byte is read, and counts a body without one (chunked) as it is received, stopping at
the first message past the limit. The form parser closes its spooled files when ``receive``
fails, so nothing is left on disk; the endpoint never runs, so no row or stored file exists.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute

from studyhall.config import Settings
from studyhall.kit.body_limit import allow_body_bytes
from studyhall.kit.errors import PayloadTooLarge

__all__ = ["MULTIPART_ALLOWANCE", "UploadLimitRoute", "file_too_large"]

# Room for the multipart envelope around a file exactly at the limit: boundaries, part headers
# (a long file name) and the small form fields. The file itself is held to the exact limit.
MULTIPART_ALLOWANCE = 16 * 1024


def file_too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(
        f"The file is larger than the {limit}-byte upload limit.", code="file_too_large"
    )


class UploadLimitRoute(APIRoute):
    """A route whose request body may not pass ``study_max_upload_bytes`` + the allowance."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def limited_handler(request: Request) -> Response:
            settings: Settings = request.app.state.settings
            limit = settings.study_max_upload_bytes
            allow_body_bytes(request.scope, limit + MULTIPART_ALLOWANCE, file_too_large(limit))
            return await handler(request)

        return limited_handler
