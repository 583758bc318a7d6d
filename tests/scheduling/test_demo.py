from __future__ import annotations

from studyhall.accounts import demo as accounts_demo
from studyhall.config import Settings
from studyhall.db.engine import Database
from studyhall.scheduling import demo
from tests.scheduling.conftest import rows


async def test_demo_equips_the_demo_tutors_once(owner_db: Database, settings: Settings) -> None:
    for _ in range(2):
        async with owner_db.transaction() as session:
            await accounts_demo.load(session, settings)
            summary = await demo.load(session, settings)
    assert [line.split(":")[1].strip() for line in summary] == list(accounts_demo.TUTORS)
    counts = await rows(
        owner_db,
        "SELECT (SELECT count(*) FROM offerings), (SELECT count(*) FROM availability_rules), "
        "(SELECT count(DISTINCT (offering_id, start_at)) = count(*) FROM slots), "
        "(SELECT count(*) > 0 FROM slots)",
    )
    assert counts == [(4, 2, True, True)]
