"""Slot materialization: a tutor's rules, offerings and time off -> ``slots`` rows.

Run by a job per tutor whenever something that shapes the slots changes, and daily to roll the
horizon forward. It is a diff, so re-running is cheap and safe: slots that should exist are
inserted (or reopened, or resized while empty), empty open slots that should no longer exist are
closed, and slots holding seats are never touched (their bookings are honoured).
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

import psycopg
from sqlalchemy import ScalarResult, select
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.kit.cpu import run_in_process
from studyhall.scheduling.calendar.recurrence import AvailabilityRule, Interval
from studyhall.scheduling.models import (
    AvailabilityRuleRow,
    Offering,
    ScheduleSettings,
    TimeOffBlock,
)
from studyhall.scheduling.service.slot_plan import (
    OfferingInput,
    RuleInput,
    TutorInput,
    plan_slots,
)
from studyhall.scheduling.service.tutor_settings import MAX_HORIZON_DAYS, ensure_settings_many

log = logging.getLogger(__name__)

ONE_OFF_RRULE = "FREQ=DAILY;COUNT=1"

# Run on the driver with binary parameters: psycopg dumps a 20,000-element timestamptz[] about
# ten times faster in binary than in text, and that dumping was a third of a batch's time.
_UPSERT = """
    INSERT INTO slots (tutor_id, offering_id, availability_rule_id, start_at, end_at, capacity)
    SELECT u.tutor_id, u.offering_id, u.rule_id, u.start_at, u.end_at, u.capacity
    FROM unnest(CAST(%(owner_ids)b AS uuid[]), CAST(%(offering_ids)b AS uuid[]),
                CAST(%(rule_ids)b AS uuid[]),
                CAST(%(starts)b AS timestamptz[]), CAST(%(ends)b AS timestamptz[]),
                CAST(%(capacities)b AS int[]))
         AS u(tutor_id, offering_id, rule_id, start_at, end_at, capacity)
    ON CONFLICT (offering_id, start_at) DO UPDATE SET
        end_at = CASE WHEN slots.seats_taken = 0 THEN EXCLUDED.end_at ELSE slots.end_at END,
        capacity = GREATEST(EXCLUDED.capacity, slots.seats_taken),
        availability_rule_id = EXCLUDED.availability_rule_id,
        status = CASE
            WHEN slots.seats_taken < GREATEST(EXCLUDED.capacity, slots.seats_taken) THEN 'open'
            ELSE slots.status END
    WHERE (slots.end_at, slots.capacity, slots.availability_rule_id, slots.status)
          IS DISTINCT FROM
          (CASE WHEN slots.seats_taken = 0 THEN EXCLUDED.end_at ELSE slots.end_at END,
           GREATEST(EXCLUDED.capacity, slots.seats_taken), EXCLUDED.availability_rule_id,
           CASE WHEN slots.seats_taken < GREATEST(EXCLUDED.capacity, slots.seats_taken)
                THEN 'open' ELSE slots.status END)
"""

# Closes the batch's open empty slots in a chunk's range that the chunk does not want. NOT IN
# over a subquery is run as a hashed subplan (the wanted pairs are a few thousand, well inside
# work_mem) whatever the row estimates, so the cost is one probe per slot; the NOT EXISTS
# anti-join it replaces could be planned as a nested loop rescanning the unnested arrays for
# every slot, which outlived the statement timeout at 10,000 tutors. No value here is NULL, so
# NOT IN means what it says.
_CLOSE_STALE = """
    UPDATE slots s SET status = 'closed'
    WHERE s.tutor_id = ANY(CAST(%(tutor_ids)b AS uuid[]))
      AND s.start_at >= %(low)s AND s.start_at < %(high)s
      AND s.status = 'open' AND s.seats_taken = 0
      AND (s.offering_id, s.start_at) NOT IN (
        SELECT u.offering_id, u.start_at
        FROM unnest(CAST(%(offering_ids)b AS uuid[]), CAST(%(starts)b AS timestamptz[]))
             AS u(offering_id, start_at))
"""


@dataclass(frozen=True)
class Materialized:
    desired: int
    upserted: int
    closed: int


def to_recurrence(rule: AvailabilityRuleRow) -> AvailabilityRule:
    return AvailabilityRule(
        start_time=rule.start_time,
        end_time=rule.end_time,
        zone=rule.timezone,
        rrule=rule.rrule or ONE_OFF_RRULE,
        valid_from=rule.start_date,
        valid_until=rule.end_date,
    )


def _rule_input(rule: AvailabilityRuleRow) -> RuleInput:
    try:
        recurrence: AvailabilityRule | None = to_recurrence(rule)
    except ValueError:
        log.warning("availability rule %s no longer validates; it makes no slots", rule.id)
        recurrence = None
    return RuleInput(rule.id, rule.offering_id, recurrence)


async def materialize_tutor(
    session: AsyncSession, tutor_id: uuid.UUID, now: datetime
) -> Materialized:
    return await materialize_tutors(session, [tutor_id], now)


async def materialize_tutors(
    session: AsyncSession, tutor_ids: list[uuid.UUID], now: datetime
) -> Materialized:
    """Materialize many tutors at once (the daily roll does batches): a fixed number of reads,
    then an upsert and a close per 2,000 wanted slots."""
    await ensure_settings_many(session, tutor_ids)
    rows = await session.execute(
        select(ScheduleSettings.tutor_id, ScheduleSettings.booking_horizon_days).where(
            ScheduleSettings.tutor_id.in_(tutor_ids)
        )
    )
    horizons = {tutor_id: days for tutor_id, days in rows}
    latest = now + timedelta(
        days=max((h or MAX_HORIZON_DAYS for h in horizons.values()), default=1)
    )
    offerings = _by_tutor(
        await session.scalars(
            select(Offering).where(
                Offering.tutor_id.in_(tutor_ids), Offering.is_active, Offering.deleted_at.is_(None)
            )
        )
    )
    rules = _by_tutor(
        await session.scalars(
            select(AvailabilityRuleRow).where(
                AvailabilityRuleRow.tutor_id.in_(tutor_ids),
                AvailabilityRuleRow.is_active,
                AvailabilityRuleRow.deleted_at.is_(None),
            )
        )
    )
    blocks = _by_tutor(
        await session.scalars(
            select(TimeOffBlock).where(
                TimeOffBlock.tutor_id.in_(tutor_ids),
                TimeOffBlock.deleted_at.is_(None),
                TimeOffBlock.end_at > now,
                TimeOffBlock.start_at < latest,
            )
        )
    )
    inputs = [
        TutorInput(
            tutor_id=tutor_id,
            rules=[_rule_input(rule) for rule in rules.get(tutor_id, [])],
            offerings=[
                OfferingInput(o.id, timedelta(minutes=o.duration_minutes), o.max_participants)
                for o in offerings.get(tutor_id, [])
            ],
            time_off=[Interval(b.start_at, b.end_at) for b in blocks.get(tutor_id, [])],
            window_end=now + timedelta(days=horizons.get(tutor_id) or MAX_HORIZON_DAYS),
        )
        for tutor_id in tutor_ids
    ]
    # Expanding rules and cutting slots is CPU work: a worker process keeps it off the
    # event loop, which also serves requests when the worker runs in the API process.
    plan = await run_in_process(plan_slots, inputs, now)
    upserted = closed = 0
    # One statement pair per chunk of start times: each binds a few thousand values, so the
    # binary dumping that runs on the event loop stays short and the loop is given back
    # while PostgreSQL works.
    for chunk in plan.chunks:
        if chunk.starts:
            upserted += await _execute_binary(session, _UPSERT, plan.upsert_params(chunk))
        closed += await _execute_binary(session, _CLOSE_STALE, plan.close_params(chunk, tutor_ids))
    return Materialized(plan.size, upserted, closed)


async def _driver(session: AsyncSession) -> psycopg.AsyncConnection[Any]:
    connection = await session.connection()
    raw = await connection.get_raw_connection()
    driver: psycopg.AsyncConnection[Any] = raw.driver_connection  # type: ignore[assignment]
    return driver


async def _execute_binary(session: AsyncSession, sql: str, params: dict[str, Any]) -> int:
    """Run ``sql`` on the session's own connection (same transaction); returns the rowcount."""
    driver = await _driver(session)
    async with driver.cursor() as cursor:
        await cursor.execute(sql.encode(), params)
        return cursor.rowcount


_Row = TypeVar("_Row", Offering, AvailabilityRuleRow, TimeOffBlock)


def _by_tutor(rows: ScalarResult[_Row]) -> dict[uuid.UUID, list[_Row]]:
    grouped: dict[uuid.UUID, list[_Row]] = {}
    for row in rows:
        grouped.setdefault(row.tutor_id, []).append(row)
    return grouped
