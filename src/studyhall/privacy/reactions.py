"""What privacy does when other domains report facts (``studyhall.kit.events``).

An account erased by accounts (its ``users`` row stripped after the grace period) is erased
everywhere else too, in the same transaction: every domain's rows about the person, their files
in storage and mailed copies in the outbox.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.accounts.events import AccountErased
from studyhall.jobs.core import runtime
from studyhall.kit.events import subscribe
from studyhall.privacy.service import erasure


async def erase_everywhere_else(session: AsyncSession, event: AccountErased) -> None:
    await erasure.erase_user_data(
        session, runtime().settings, event.user_id, event.name, event.email
    )


subscribe(AccountErased, erase_everywhere_else)
