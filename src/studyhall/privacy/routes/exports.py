"""Data exports: ask for an export of one's data, follow it, download it once."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response, status

from studyhall.accounts.deps import CurrentUser
from studyhall.db.deps import Session
from studyhall.jobs.core import enqueue
from studyhall.privacy.jobs import build_export
from studyhall.privacy.schemas import DataExportRead
from studyhall.privacy.service import export

router = APIRouter()


@router.post(
    "/me/export",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Export everything held about the caller (a zip; the link arrives by e-mail)",
)
async def exports_create(user: CurrentUser, session: Session) -> DataExportRead:
    """Start an export of everything held about the caller; while one is pending, asking again
    answers that one. The download link arrives by e-mail when the archive is ready."""
    requested, created = await export.request_export(session, user.id)
    if created:
        await enqueue(session, build_export, export_id=str(requested.id))
    return DataExportRead.model_validate(requested)


@router.get("/me/exports/{export_id}", summary="One of the caller's exports")
async def export_get(export_id: uuid.UUID, user: CurrentUser, session: Session) -> DataExportRead:
    """The state of one of the caller's exports (pending, ready, downloaded, failed)."""
    return DataExportRead.model_validate(await export.get_export(session, user.id, export_id))


@router.get(
    "/me/exports/{export_id}/download",
    summary="Download an export once, with the link's token (a second download gets 410)",
    response_class=Response,
    responses={200: {"content": {"application/zip": {}}}},
)
async def export_download(
    export_id: uuid.UUID,
    token: Annotated[str, Query(min_length=16, max_length=200)],
    request: Request,
    session: Session,
) -> Response:
    """The archive, once: the token from the e-mail is the credential, so the link works without
    signing in; a second download gets 410."""
    data = await export.take_download(session, request.app.state.settings, export_id, token)
    return Response(
        data,
        media_type="application/zip",
        headers={
            "Content-Disposition": f'attachment; filename="studyhall-export-{export_id}.zip"',
            "Cache-Control": "no-store",
        },
    )
