"""Materials: upload a file, list, read and delete one's uploads.

The upload route refuses a body over the size limit while it arrives, not after spooling it.
FastAPI parses a multipart body before the endpoint (or any dependency) runs, so the limit is
raised around the route handler, before the body is read: the app-wide body limit
(``studyhall.kit.body_limit``) then refuses a declared ``Content-Length`` over the upload limit
before a byte is read, and counts a body without one (chunked) as it is received, stopping at
the first message past the limit. The form parser closes its spooled files when ``receive``
fails, so nothing is left on disk; the endpoint never runs, so no row or stored file exists.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Request, Response, UploadFile, status
from fastapi.routing import APIRoute

from studyhall.accounts.deps import CurrentUser
from studyhall.config import Settings
from studyhall.db.deps import Session
from studyhall.kit.body_limit import allow_body_bytes
from studyhall.kit.paging import PageQuery
from studyhall.study.routes.deps import AppSettings
from studyhall.study.schemas import MaterialPage, MaterialRead, Origin
from studyhall.study.service import materials
from studyhall.study.service.materials import file_too_large

__all__ = ["MULTIPART_ALLOWANCE", "UploadLimitRoute", "router"]

# Room for the multipart envelope around a file exactly at the limit: boundaries, part headers
# (a long file name) and the small form fields. The file itself is held to the exact limit.
MULTIPART_ALLOWANCE = 16 * 1024


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


router = APIRouter()


async def materials_upload(
    settings: AppSettings,
    user: CurrentUser,
    session: Session,
    file: Annotated[UploadFile, File(description="PDF, DOCX, PPTX, Markdown or plain text")],
    origin: Annotated[Origin, Form()] = "notes",
) -> Any:
    """Store a file and queue its processing; poll ``processing_status`` until it is
    ``completed`` (or ``failed``, with the reason). The type is read from the bytes."""
    limit = settings.study_max_upload_bytes
    # Read one byte past the limit: enough to know it is too big without buffering all of it.
    data = await file.read(limit + 1)
    if len(data) > limit:
        raise file_too_large(limit)
    return await materials.upload(session, settings, user, file.filename or "upload", data, origin)


# The body is refused while it arrives once it passes the limit (``UploadLimitRoute``).
router.add_api_route(
    "/materials",
    materials_upload,
    methods=["POST"],
    status_code=status.HTTP_201_CREATED,
    response_model=MaterialRead,
    summary="Upload a study material",
    route_class_override=UploadLimitRoute,
)


@router.get("/materials", response_model=MaterialPage, summary="List my uploaded materials")
async def materials_list(user: CurrentUser, session: Session, page: PageQuery) -> Any:
    """Your own uploads, newest first; course materials you may read are not listed here."""
    items, next_cursor = await materials.list_owned(session, user.id, page)
    return MaterialPage(
        items=[MaterialRead.model_validate(m) for m in items], next_cursor=next_cursor
    )


@router.get("/materials/{material_id}", response_model=MaterialRead, summary="Get a material")
async def material_get(material_id: uuid.UUID, user: CurrentUser, session: Session) -> Any:
    """One of your uploads, with its processing status."""
    return await materials.get_owned(session, user.id, material_id)


@router.delete(
    "/materials/{material_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete a material",
)
async def material_delete(material_id: uuid.UUID, user: CurrentUser, session: Session) -> None:
    """Delete one of your uploads and, after the commit, its stored file; refused (409
    ``material_used_by_lessons``) while course lessons use it."""
    await materials.soft_delete(session, user, material_id)
