"""HTTP for a course's sections: append, reorder, change, delete (its author or an admin)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response, status

from studyhall.accounts.deps import TutorOrAdmin
from studyhall.courses.schemas import Reorder, SectionCreate, SectionRead, SectionUpdate
from studyhall.courses.service import structure
from studyhall.db.deps import Session

router = APIRouter()
NO_CONTENT = status.HTTP_204_NO_CONTENT


@router.post(
    "/courses/{course_id}/sections", status_code=status.HTTP_201_CREATED, summary="Add a section"
)
async def section_create(
    course_id: uuid.UUID, data: SectionCreate, user: TutorOrAdmin, session: Session
) -> SectionRead:
    """Appends the section at the end of the course (its author or an admin)."""
    section = await structure.create_section(session, user, course_id, data)
    return SectionRead.model_validate(section)


@router.put("/courses/{course_id}/section-order", summary="Reorder a course's sections")
async def sections_reorder(
    course_id: uuid.UUID, data: Reorder, user: TutorOrAdmin, session: Session
) -> list[SectionRead]:
    """The new order of every section of the course at once, each listed exactly once; answers
    the sections in their new order."""
    sections = await structure.reorder_sections(session, user, course_id, data.ids)
    return [SectionRead.model_validate(s) for s in sections]


@router.patch("/sections/{section_id}", summary="Change a section")
async def section_update(
    section_id: uuid.UUID, data: SectionUpdate, user: TutorOrAdmin, session: Session
) -> SectionRead:
    """Rename a section or publish or hide it (its course's author or an admin)."""
    section = await structure.update_section(session, user, section_id, data)
    return SectionRead.model_validate(section)


@router.delete("/sections/{section_id}", status_code=NO_CONTENT, summary="Delete a section")
async def section_delete(section_id: uuid.UUID, user: TutorOrAdmin, session: Session) -> Response:
    """The section and its lessons (its course's author or an admin)."""
    await structure.delete_section(session, user, section_id)
    return Response(status_code=NO_CONTENT)
