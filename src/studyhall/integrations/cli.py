"""What ``studyhall admin rotate-keys`` does for webhook endpoints."""

from __future__ import annotations

from studyhall.accounts.service import KeyRing
from studyhall.bootstrap import DatabaseUrls
from studyhall.config import Settings
from studyhall.db.engine import Database
from studyhall.integrations.service.endpoints import reseal_all


async def rotate_keys(settings: Settings, urls: DatabaseUrls) -> int:
    """Re-encrypt every webhook signing secret under the current key."""
    keys = KeyRing.from_settings(settings)
    database = Database.connect(urls.owner, settings)
    try:
        async with database.transaction() as session:
            return await reseal_all(session, keys)
    finally:
        await database.dispose()
