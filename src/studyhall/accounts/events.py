"""Facts of the accounts domain that other domains react to (``studyhall.kit.events``)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass


@dataclass(frozen=True)
class AccountErased:
    """A deleted account's ``users`` row was just stripped of everything that identifies the
    person (after the grace period). ``name`` and ``email`` are what the row said before, so a
    reacting domain can find copies of them (privacy erases the person everywhere else)."""

    user_id: uuid.UUID
    name: str
    email: str
