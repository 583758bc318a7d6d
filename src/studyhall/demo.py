"""``studyhall demo``: every domain with a ``demo`` module adds its part, idempotently."""

from __future__ import annotations

import importlib
import importlib.util

from studyhall.bootstrap import DatabaseUrls
from studyhall.config import Settings
from studyhall.db.engine import Database
from studyhall.domains import DOMAINS


async def load_demo(settings: Settings, urls: DatabaseUrls) -> list[str]:
    database = Database.connect(urls.owner, settings)
    summary: list[str] = []
    try:
        for domain in DOMAINS:
            name = f"studyhall.{domain}.demo"
            if importlib.util.find_spec(name) is None:
                continue
            module = importlib.import_module(name)
            async with database.transaction() as session:
                summary.extend(await module.load(session, settings))
    finally:
        await database.dispose()
    return summary or ["no demo data to load yet"]
