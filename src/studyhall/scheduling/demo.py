"""``studyhall demo``: a Copenhagen tutor with two offerings, weekday availability and slots."""

from __future__ import annotations

from datetime import date, time

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.accounts.models import User
from studyhall.accounts.security import hash_password
from studyhall.config import Settings
from studyhall.scheduling.models import AvailabilityRuleRow, Offering
from studyhall.scheduling.service.common import ensure_settings, utcnow
from studyhall.scheduling.service.materialize import materialize_tutor
from studyhall.scheduling.service.offerings import derive_short_description

TUTOR_EMAIL = "tutor@demo.studyhall.dev"
DEMO_PASSWORD = "studyhall-demo-password"
OFFERINGS = (
    ("Algebra 1:1", "Linear equations, functions and graphs, at your pace.", 60, 25000, 1),
    ("Exam prep group", "Past papers in a small group, with worked solutions.", 90, 12000, 5),
)


async def load(session: AsyncSession, settings: Settings) -> list[str]:
    await session.execute(
        insert(User)
        .values(
            email=TUTOR_EMAIL,
            password_hash=hash_password(DEMO_PASSWORD),
            name="Freja Tutor",
            role="tutor",
            timezone="Europe/Copenhagen",
        )
        .on_conflict_do_nothing(index_elements=["email"])
    )
    tutor = await session.scalar(select(User).where(User.email == TUTOR_EMAIL))
    assert tutor is not None
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
                currency="DKK",
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
                timezone="Europe/Copenhagen",
                start_date=date.today(),
                start_time=time(9),
                end_time=time(17),
                rrule="FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR",
            )
        )
    await session.flush()
    made = await materialize_tutor(session, tutor.id, utcnow())
    return [
        f"scheduling: tutor {TUTOR_EMAIL} (password {DEMO_PASSWORD!r}), "
        f"{len(OFFERINGS)} offerings, {made.desired} open slots over the next 90 days"
    ]
