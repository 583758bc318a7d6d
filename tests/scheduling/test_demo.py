from __future__ import annotations

from studyhall.config import Settings
from studyhall.db.engine import Database
from studyhall.scheduling import demo
from tests.scheduling.conftest import rows


async def test_demo_loads_once(owner_db: Database, settings: Settings) -> None:
    for _ in range(2):
        async with owner_db.transaction() as session:
            summary = await demo.load(session, settings)
    assert summary[0].startswith(f"scheduling: tutor {demo.TUTOR_EMAIL}")
    counts = await rows(
        owner_db,
        "SELECT (SELECT count(*) FROM users), (SELECT count(*) FROM offerings), "
        "(SELECT count(*) FROM availability_rules), "
        "(SELECT count(DISTINCT (offering_id, start_at)) = count(*) FROM slots)",
    )
    assert counts == [(1, 2, 1, True)]
