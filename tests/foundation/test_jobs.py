from __future__ import annotations

import asyncio
import contextlib

import pytest
from sqlalchemy import text

from studyhall.config import Settings
from studyhall.db.engine import Database
from studyhall.db.rls import cross_users_transaction
from studyhall.jobs import core as jobs
from studyhall.jobs import enqueue, maintenance, queue
from tests.conftest import run_jobs

calls: list[str] = []


@queue.task(name="tests.remember", queue="tests")
async def remember(word: str) -> None:
    calls.append(word)


@queue.task(name="tests.flaky", queue="tests", retry=jobs.backoff(retries=3, wait_s=0))
async def flaky(word: str) -> None:
    calls.append(word)
    if calls.count(word) < 3:
        raise ConnectionError(f"attempt {calls.count(word)} failed")


@queue.task(name="tests.broken", queue="tests", retry=jobs.backoff(retries=2, wait_s=0))
async def broken() -> None:
    raise ValueError("this job can never succeed")


async def _job_statuses(db: Database) -> list[tuple[str, str]]:
    async with db.transaction() as session:
        rows = await session.execute(
            text("SELECT task_name, status::text FROM procrastinate_jobs ORDER BY id")
        )
        return [(row[0], row[1]) for row in rows]


@pytest.fixture(autouse=True)
def _reset_calls() -> None:
    calls.clear()


async def test_a_committed_job_runs(db: Database) -> None:
    async with db.transaction() as session:
        await enqueue(session, remember, word="committed")
    await run_jobs()
    assert calls == ["committed"]
    assert await _job_statuses(db) == [("tests.remember", "succeeded")]


async def test_a_rolled_back_job_never_exists(db: Database) -> None:
    with pytest.raises(RuntimeError):
        async with db.transaction() as session:
            await enqueue(session, remember, word="rolled back")
            raise RuntimeError("the write failed")
    await run_jobs()
    assert calls == []
    assert await _job_statuses(db) == []


async def test_a_failing_job_is_retried_until_it_succeeds(db: Database) -> None:
    async with db.transaction() as session:
        await enqueue(session, flaky, word="flaky")
    await run_jobs()
    assert calls == ["flaky", "flaky", "flaky"]
    assert await _job_statuses(db) == [("tests.flaky", "succeeded")]
    # Error records belong to no one person: a unit of work that crosses users reads them.
    async with cross_users_transaction(db) as session:
        errors = (
            await session.execute(text("SELECT attempt, error FROM job_errors ORDER BY attempt"))
        ).all()
    assert [tuple(e) for e in errors] == [
        (1, "ConnectionError: attempt 1 failed"),
        (2, "ConnectionError: attempt 2 failed"),
    ]


async def test_a_job_that_keeps_failing_is_kept_with_its_error(db: Database) -> None:
    async with db.transaction() as session:
        await enqueue(session, broken)
    await run_jobs()
    assert await _job_statuses(db) == [("tests.broken", "failed")]
    async with cross_users_transaction(db) as session:
        errors = (
            await session.execute(text("SELECT task_name, attempt, error FROM job_errors"))
        ).all()
    assert sorted(tuple(e) for e in errors) == [
        ("tests.broken", 1, "ValueError: this job can never succeed"),
        ("tests.broken", 2, "ValueError: this job can never succeed"),
        ("tests.broken", 3, "ValueError: this job can never succeed"),
    ]


def test_periodic_tasks_are_registered() -> None:
    jobs.load_tasks()
    crons = {task.task.name: task.cron for task in queue.periodic_registry.periodic_tasks.values()}
    assert crons["studyhall.purge_finished_jobs"] == "17 3 * * *"
    assert crons["studyhall.nightly_backup"] == "30 2 * * *"


async def test_the_nightly_backup_writes_a_dump_and_keeps_the_newest(
    db: Database, settings: Settings
) -> None:
    from studyhall.privacy.jobs import nightly_backup

    keep_two = settings.model_copy(update={"backup_keep": 2})
    jobs.configure_runtime(jobs.Runtime(settings=keep_two, database=db))
    for _ in range(3):
        await nightly_backup(timestamp=0)
        await asyncio.sleep(1.1)  # dump names carry the second
    dumps = sorted(keep_two.backups_dir.glob("studyhall-*.dump"))
    assert len(dumps) == 2
    assert all(path.stat().st_size > 1000 for path in dumps)


async def _registered_workers(owner_db: Database) -> int:
    async with owner_db.transaction() as session:
        return int(await session.scalar(text("SELECT count(*) FROM procrastinate_workers")) or 0)


async def test_a_worker_that_ends_on_its_own_is_started_again(
    db: Database, owner_db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A waiting worker whose heartbeat or listener lost the database stops, unregisters and
    returns normally once the database is back; left there, no worker would ever heartbeat again
    and ``/readyz`` would answer 503 for good."""
    real_run_worker = jobs.run_worker
    ended: list[str] = []

    async def ends_once(*, concurrency: int, name: str) -> None:
        if not ended:
            ended.append("as after a failed side task")
            return
        await real_run_worker(concurrency=concurrency, name=name)

    monkeypatch.setattr(jobs, "run_worker", ends_once)
    supervisor = asyncio.create_task(
        jobs.run_worker_until_cancelled(concurrency=1, probe_interval_s=0.05)
    )
    try:
        for _ in range(200):
            if await _registered_workers(owner_db):
                break
            await asyncio.sleep(0.05)
        assert ended and await _registered_workers(owner_db) == 1
    finally:
        supervisor.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await supervisor
    assert await _registered_workers(owner_db) == 0


async def test_the_nightly_purge_removes_old_idempotency_keys_of_every_user(
    db: Database, owner_db: Database
) -> None:
    """Idempotency keys are their owners' rows under row level security; the purge is nobody's
    request, so it must cross users or it deletes nothing."""
    async with owner_db.transaction() as session:
        people = [
            await session.scalar(
                text(
                    "INSERT INTO users (email, name, password_hash, role) "
                    "VALUES (:email, 'Kept Key', 'x', 'student') RETURNING id"
                ),
                {"email": f"purge-{n}@example.org"},
            )
            for n in range(2)
        ]
        for person, age_hours in zip(people, (maintenance.KEY_RETENTION_HOURS + 1, 1), strict=True):
            await session.execute(
                text(
                    "INSERT INTO idempotency_keys (user_id, scope, key, request_hash, created_at) "
                    "VALUES (:u, 'POST /x', 'k', md5('b'), now() - make_interval(hours => :h))"
                ),
                {"u": person, "h": age_hours},
            )
    await maintenance.purge_finished_jobs(timestamp=0)
    async with owner_db.transaction() as session:
        left = (await session.execute(text("SELECT user_id FROM idempotency_keys"))).scalars()
        assert list(left) == [people[1]]
