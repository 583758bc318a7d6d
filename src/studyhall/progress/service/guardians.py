"""Guardians read their ward's progress, and nothing else: the caller must be the guardian named
by the ward's standing consent (the latest consent row, given, to the caller's e-mail)."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.accounts import service as consent
from studyhall.accounts.models import User
from studyhall.kit.errors import NotFound


async def require_guardian(session: AsyncSession, guardian: User, ward_id: uuid.UUID) -> None:
    latest = await consent.latest(session, ward_id)
    if (
        latest is None
        or not latest.consent_given
        or latest.guardian_email.lower() != guardian.email.lower()
    ):
        # The same answer whether the ward exists or not: nothing about them is revealed.
        raise NotFound("No ward with this id.", code="ward_not_found")
