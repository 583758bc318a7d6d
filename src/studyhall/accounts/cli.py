"""What ``studyhall admin ...`` runs: each command is one transaction as the owner role."""

from __future__ import annotations

import uuid

from studyhall.accounts.service import admin, oauth
from studyhall.accounts.service.encryption import KeyRing
from studyhall.bootstrap import DatabaseUrls
from studyhall.config import Settings
from studyhall.db.engine import Database


async def create_admin(
    settings: Settings, urls: DatabaseUrls, email: str, name: str, password: str
) -> uuid.UUID:
    database = Database.connect(urls.owner, settings)
    try:
        async with database.transaction() as session:
            user = await admin.create_admin(
                session, None, email=email, name=name, password=password
            )
            return user.id
    finally:
        await database.dispose()


async def rotate_keys(settings: Settings, urls: DatabaseUrls) -> tuple[int, str]:
    keys = KeyRing.from_settings(settings)
    database = Database.connect(urls.owner, settings)
    try:
        async with database.transaction() as session:
            return await oauth.rotate_keys(session, keys), keys.current
    finally:
        await database.dispose()
