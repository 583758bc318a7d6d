"""Demo accounts for ``studyhall demo``: an admin, students and verified tutors (idempotent)."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.accounts.models import TutorProfile, User
from studyhall.accounts.service import security
from studyhall.accounts.service.profiles import ensure_profile
from studyhall.config import Settings

DEMO_PASSWORD = "studyhall demo password"

PEOPLE = [
    ("admin@demo.example.com", "Ada Admin", "admin", "Europe/Copenhagen"),
    ("sam@demo.example.com", "Sam Student", "student", "Europe/London"),
    ("noor@demo.example.com", "Noor Student", "student", "Africa/Cairo"),
    ("tara@demo.example.com", "Tara Tutor", "tutor", "America/New_York"),
    ("kenji@demo.example.com", "Kenji Tutor", "tutor", "Asia/Tokyo"),
]

TUTORS = {
    "tara@demo.example.com": (["math", "physics"], 4500, "USD"),
    "kenji@demo.example.com": (["chemistry", "math"], 3800, "USD"),
}


async def load(session: AsyncSession, settings: Settings) -> list[str]:
    password_hash = await security.hash_password_async(DEMO_PASSWORD)
    created = 0
    for email, name, role, zone in PEOPLE:
        new_id = await session.scalar(
            insert(User)
            .values(
                email=email,
                password_hash=password_hash,
                name=name,
                role=role,
                timezone=zone,
                is_verified=True,
            )
            .on_conflict_do_nothing(index_elements=["email"])
            .returning(User.id)
        )
        created += new_id is not None
        user = await session.scalar(select(User).where(User.email == email))
        assert user is not None
        await ensure_profile(session, user)
        if email in TUTORS:
            # No rating here: it follows from the reviews the scheduling demo writes.
            subjects, rate, currency = TUTORS[email]
            await session.execute(
                update(TutorProfile)
                .where(TutorProfile.user_id == user.id)
                .values(
                    subjects=subjects,
                    hourly_rate_cents=rate,
                    currency=currency,
                    verification_status="verified",
                    bio=f"{name} teaches {' and '.join(subjects)}.",
                )
            )
    return [
        f"accounts: {created} new of {len(PEOPLE)} demo users "
        f"(password '{DEMO_PASSWORD}', e.g. admin@demo.example.com)"
    ]
