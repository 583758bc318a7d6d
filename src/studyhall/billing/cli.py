"""What ``studyhall admin ...`` runs for billing: one transaction as the owner role."""

from __future__ import annotations

from studyhall.accounts.service import KeyRing
from studyhall.billing.service import saved_cards
from studyhall.bootstrap import DatabaseUrls
from studyhall.config import Settings
from studyhall.db.engine import Database


async def rotate_keys(settings: Settings, urls: DatabaseUrls) -> int:
    """Re-encrypt every saved card token under the current key (``admin rotate-keys``)."""
    keys = KeyRing.from_settings(settings)
    database = Database.connect(urls.owner, settings)
    try:
        async with database.transaction() as session:
            return await saved_cards.rotate_keys(session, keys)
    finally:
        await database.dispose()
