"""The daily roll at scale: bounded batches of tutors, each committed on its own."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from studyhall.db.engine import Database
from studyhall.scheduling import jobs
from studyhall.scheduling.config import scheduling_settings
from tests.conftest import run_jobs
from tests.scheduling.conftest import add_rule, create_offering, execute, rows, scalar, sign_up

BATCH = "studyhall.scheduling.materialize_tutor_batch"


@pytest.fixture
def batches_of_two(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("STUDYHALL_ROLL_BATCH_TUTORS", "2")
    scheduling_settings.cache_clear()
    yield
    scheduling_settings.cache_clear()


async def slots_per_tutor(owner_db: Database) -> dict[str, int]:
    counted = await rows(owner_db, "SELECT tutor_id::text, count(*) FROM slots GROUP BY 1")
    return {tutor: count for tutor, count in counted}


@pytest.mark.usefixtures("batches_of_two")
async def test_roll_commits_bounded_batches_and_a_failed_batch_alone(
    client: httpx.AsyncClient, owner_db: Database
) -> None:
    tutors = [await sign_up(client, "tutor") for _ in range(5)]
    for tutor in tutors:
        await create_offering(client, tutor)
        await add_rule(client, tutor, start_time="09:00", end_time="11:00", rrule="FREQ=DAILY")
    await run_jobs()
    await execute(owner_db, "DELETE FROM slots")

    # The roll orders tutors by id: the batches are [0, 1], [2, 3], [4]. Poison the middle one.
    ordered = sorted(str(t.id) for t in tutors)
    poisoned = ordered[2]
    await execute(
        owner_db,
        "CREATE FUNCTION refuse_poisoned_slot() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        f"IF NEW.tutor_id = '{poisoned}' THEN RAISE EXCEPTION 'poisoned tutor'; END IF; "
        "RETURN NEW; END $$",
    )
    await execute(
        owner_db,
        "CREATE TRIGGER refuse_poisoned BEFORE INSERT ON slots "
        "FOR EACH ROW EXECUTE FUNCTION refuse_poisoned_slot()",
    )

    await jobs.roll_horizon(0)
    deferred = await rows(
        owner_db,
        "SELECT args->'tutor_ids' FROM procrastinate_jobs "
        "WHERE task_name = :task AND status = 'todo' ORDER BY id",
        task=BATCH,
    )
    assert [ids for (ids,) in deferred] == [ordered[0:2], ordered[2:4], ordered[4:5]]

    await run_jobs()
    made = await slots_per_tutor(owner_db)
    # Two days of two hourly slots from now on: 180 over the 90-day horizon.
    assert {tutor: made.get(tutor, 0) for tutor in ordered} == {
        ordered[0]: 180,
        ordered[1]: 180,
        ordered[2]: 0,  # its batch rolled back whole, its batch-mate too
        ordered[3]: 0,
        ordered[4]: 180,
    }
    assert (
        await scalar(
            owner_db,
            "SELECT count(*) FROM procrastinate_jobs WHERE task_name = :task "
            "AND status = 'todo' AND attempts = 1",
            task=BATCH,
        )
        == 1
    )

    # Resumable: once the cause is gone, the retry of that one batch completes the roll.
    await execute(owner_db, "DROP TRIGGER refuse_poisoned ON slots")
    await execute(
        owner_db, "UPDATE procrastinate_jobs SET scheduled_at = now() WHERE status = 'todo'"
    )
    await run_jobs()
    made = await slots_per_tutor(owner_db)
    assert [made.get(tutor, 0) for tutor in ordered] == [180] * 5


async def test_roll_closes_slots_a_rule_no_longer_wants(
    client: httpx.AsyncClient, owner_db: Database
) -> None:
    tutor = await sign_up(client, "tutor")
    await create_offering(client, tutor)
    rule = await add_rule(client, tutor, start_time="09:00", end_time="11:00", rrule="FREQ=DAILY")
    await run_jobs()
    assert await scalar(owner_db, "SELECT count(*) FROM slots WHERE status = 'open'") == 180
    # Shrink the rule behind the service's back (no per-tutor job): only the roll can notice.
    await execute(
        owner_db, "UPDATE availability_rules SET end_time = '10:00' WHERE id = :id", id=rule["id"]
    )
    await jobs.roll_horizon(0)
    await run_jobs()
    assert await scalar(owner_db, "SELECT count(*) FROM slots WHERE status = 'open'") == 90
    assert await scalar(owner_db, "SELECT count(*) FROM slots WHERE status = 'closed'") == 90
