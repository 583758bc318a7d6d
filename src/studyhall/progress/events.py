"""Facts progress emits (``kit.events``) inside the transaction that recorded them."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class AchievementUnlocked:
    user_id: uuid.UUID
    achievement_id: uuid.UUID
    code: str
    xp_reward: int
    at: datetime
