"""Study's reactions to other domains' facts (``kit.events``), run in the emitter's transaction.

Courses sits below study and cannot read materials: when an editor attaches a material to a
lesson, courses emits ``LessonMaterialChosen`` and study decides whether that material may be
used."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.courses.events import LessonMaterialChosen
from studyhall.kit import events
from studyhall.kit.errors import Unprocessable
from studyhall.study.service import materials


async def check_lesson_material(session: AsyncSession, chosen: LessonMaterialChosen) -> None:
    """A lesson may carry only a material its editor uploaded (an admin's route reads across
    users, so ``any_owner`` may take anyone's); the material is then kept from being deleted
    until the lesson referencing it commits."""
    material = await materials.find_undeleted(session, chosen.material_id)
    if material is not None and not chosen.any_owner and material.user_id != chosen.user_id:
        raise Unprocessable(
            "A lesson may only use a material you uploaded yourself.",
            code="material_not_owned",
            field="material_id",
        )
    if material is None or not await materials.keep_for_reference(session, chosen.material_id):
        raise Unprocessable(
            f"No material with id {chosen.material_id}.",
            code="material_not_found",
            field="material_id",
        )


events.subscribe(LessonMaterialChosen, check_lesson_material)
