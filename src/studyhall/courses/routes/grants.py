"""HTTP for admin grants: free access to a course, given and revoked by an admin."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response, status

from studyhall.accounts.deps import Admin
from studyhall.courses.schemas import AccessRead, GrantCreate
from studyhall.courses.service import grants
from studyhall.db.rls import SystemSession

router = APIRouter()


@router.post(
    "/courses/{course_id}/grants",
    status_code=status.HTTP_201_CREATED,
    summary="Grant free access to a course",
)
async def course_grant_create(
    course_id: uuid.UUID, data: GrantCreate, user: Admin, session: SystemSession, response: Response
) -> AccessRead:
    """Admins only. Granting again answers 200 with the grant that stands."""
    access, created = await grants.grant_access(session, user, course_id, data.user_id)
    if not created:
        response.status_code = status.HTTP_200_OK
    return AccessRead.model_validate(access)


@router.delete(
    "/courses/{course_id}/grants/{user_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Revoke a free access grant",
)
async def course_grant_revoke(
    course_id: uuid.UUID, user_id: uuid.UUID, user: Admin, session: SystemSession
) -> Response:
    """Admins only. Access the user bought through a purchase stays."""
    await grants.revoke_grant(session, user, course_id, user_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
