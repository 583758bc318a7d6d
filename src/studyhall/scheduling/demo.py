"""``studyhall demo``: the demo tutors get two offerings each, weekday availability and slots."""

from __future__ import annotations

from datetime import date, time

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.accounts.demo import TUTORS
from studyhall.accounts.models import User
from studyhall.config import Settings
from studyhall.scheduling.models import AvailabilityRuleRow, Offering
from studyhall.scheduling.service.common import ensure_settings, utcnow
from studyhall.scheduling.service.materialize import materialize_tutor
from studyhall.scheduling.service.offerings import derive_short_description

OFFERINGS = (
    ("Algebra 1:1", "Linear equations, functions and graphs, at your pace.", 60, 25000, 1),
    ("Exam prep group", "Past papers in a small group, with worked solutions.", 90, 12000, 5),
)


async def load(session: AsyncSession, settings: Settings) -> list[str]:
    """Runs after the accounts demo, whose tutors it equips."""
    lines = []
    for email in TUTORS:
        tutor = await session.scalar(select(User).where(User.email == email))
        if tutor is None:
            continue
        slots = await _equip(session, tutor)
        lines.append(
            f"scheduling: {email}: {len(OFFERINGS)} offerings, {slots} open slots (90 days)"
        )
    return lines


async def _equip(session: AsyncSession, tutor: User) -> int:
    await ensure_settings(session, tutor.id)
    existing = set(
        (await session.scalars(select(Offering.title).where(Offering.tutor_id == tutor.id))).all()
    )
    for title, description, minutes, price, seats in OFFERINGS:
        if title in existing:
            continue
        session.add(
            Offering(
                tutor_id=tutor.id,
                title=title,
                description=description,
                short_description=derive_short_description(description),
                topic_tags=["math"],
                duration_minutes=minutes,
                price_cents=price,
                currency="USD",
                max_participants=seats,
            )
        )
    has_rule = await session.scalar(
        select(AvailabilityRuleRow.id).where(AvailabilityRuleRow.tutor_id == tutor.id).limit(1)
    )
    if has_rule is None:
        session.add(
            AvailabilityRuleRow(
                tutor_id=tutor.id,
                timezone=tutor.timezone,
                start_date=date.today(),
                start_time=time(9),
                end_time=time(17),
                rrule="FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR",
            )
        )
    await session.flush()
    made = await materialize_tutor(session, tutor.id, utcnow())
    return made.desired
