"""Whose guardian a person is: the users whose standing consent names that person's e-mail.

The standing consent is the latest consent row of a user (rows are append-only), and only a given
one counts, so a withdrawn or replaced consent takes the ward off the list at once. Consents are
their ward's rows under row level security: the transaction's signed person asks
``studyhall_guardian_wards()`` (migration ``0029_guardian_wards``), which answers with the ids of
their own wards and nothing else, so these pages need not cross users.
"""

from __future__ import annotations

from sqlalchemy import Select, exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.accounts.models import User

# A guardian's list is short; the page shows at most this many, by name.
WARDS_SHOWN = 100


def _my_wards() -> Select[User]:
    mine = func.studyhall_guardian_wards().table_valued("ward_id").render_derived()
    return select(User).join(mine, mine.c.ward_id == User.id).where(User.deleted_at.is_(None))


async def wards(session: AsyncSession) -> list[User]:
    """The wards of the transaction's signed person, by name (at most ``WARDS_SHOWN``)."""
    by_name = _my_wards().order_by(User.name, User.id).limit(WARDS_SHOWN)
    rows = await session.scalars(by_name)
    return list(rows)


async def is_guardian(session: AsyncSession) -> bool:
    """True when at least one user's standing consent names the transaction's signed person."""
    return bool(await session.scalar(select(exists(_my_wards()))))
