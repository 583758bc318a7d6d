"""Slot materialization: a tutor's rules, offerings and time off -> ``slots`` rows.

Run by a job per tutor whenever something that shapes the slots changes, and daily to roll the
horizon forward. It is a diff, so re-running is cheap and safe: slots that should exist are
inserted (or reopened, or resized while empty), empty open slots that should no longer exist are
closed, and slots holding seats are never touched (their bookings are honoured).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar

from sqlalchemy import ScalarResult, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.jobs import enqueue
from studyhall.scheduling.models import (
    AvailabilityRuleRow,
    Offering,
    ScheduleSettings,
    TimeOffBlock,
)
from studyhall.scheduling.recurrence import (
    AvailabilityRule,
    Interval,
    cut_slots,
    expand_availability,
)
from studyhall.scheduling.service.common import MAX_HORIZON_DAYS, ensure_settings_many

ONE_OFF_RRULE = "FREQ=DAILY;COUNT=1"

_UPSERT = text(
    """
    INSERT INTO slots (tutor_id, offering_id, availability_rule_id, start_at, end_at, capacity)
    SELECT u.tutor_id, u.offering_id, u.rule_id, u.start_at, u.end_at, u.capacity
    FROM unnest(CAST(:owner_ids AS uuid[]), CAST(:offering_ids AS uuid[]),
                CAST(:rule_ids AS uuid[]),
                CAST(:starts AS timestamptz[]), CAST(:ends AS timestamptz[]),
                CAST(:capacities AS int[]))
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
)

_CLOSE_STALE = text(
    """
    UPDATE slots s SET status = 'closed'
    WHERE s.tutor_id = ANY(CAST(:tutor_ids AS uuid[])) AND s.start_at >= :now AND s.status = 'open'
      AND s.seats_taken = 0
      AND NOT EXISTS (
        SELECT 1 FROM unnest(CAST(:offering_ids AS uuid[]), CAST(:starts AS timestamptz[]))
             AS u(offering_id, start_at)
        WHERE u.offering_id = s.offering_id AND u.start_at = s.start_at)
    """
)


@dataclass(frozen=True)
class Materialized:
    desired: int
    upserted: int
    closed: int


@dataclass(frozen=True)
class _Wanted:
    end: datetime
    rule_id: uuid.UUID
    capacity: int


def to_recurrence(rule: AvailabilityRuleRow) -> AvailabilityRule:
    return AvailabilityRule(
        start_time=rule.start_time,
        end_time=rule.end_time,
        zone=rule.timezone,
        rrule=rule.rrule or ONE_OFF_RRULE,
        valid_from=rule.start_date,
        valid_until=rule.end_date,
    )


def desired_slots(
    rules: list[AvailabilityRuleRow],
    offerings: list[Offering],
    time_off: list[Interval],
    now: datetime,
    window_end: datetime,
) -> dict[tuple[uuid.UUID, datetime], _Wanted]:
    wanted: dict[tuple[uuid.UUID, datetime], _Wanted] = {}
    # Occurrences are returned by start, so look back a day to keep the later slots of a
    # window that began before now.
    intervals_by_rule = {
        rule.id: expand_availability(to_recurrence(rule), now - timedelta(days=1), window_end)
        for rule in rules
    }
    for rule in rules:
        for offering in offerings:
            if rule.offering_id is not None and rule.offering_id != offering.id:
                continue
            duration = timedelta(minutes=offering.duration_minutes)
            for slot in cut_slots(intervals_by_rule[rule.id], duration, busy=time_off):
                if now <= slot.start < window_end:
                    wanted.setdefault(
                        (offering.id, slot.start),
                        _Wanted(slot.end, rule.id, offering.max_participants),
                    )
    return wanted


async def materialize_tutor(
    session: AsyncSession, tutor_id: uuid.UUID, now: datetime
) -> Materialized:
    return await materialize_tutors(session, [tutor_id], now)


async def materialize_tutors(
    session: AsyncSession, tutor_ids: list[uuid.UUID], now: datetime
) -> Materialized:
    """Materialize many tutors with a fixed number of statements (the daily roll does batches)."""
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
    wanted: dict[tuple[uuid.UUID, datetime], _Wanted] = {}
    owners: dict[tuple[uuid.UUID, datetime], uuid.UUID] = {}
    for tutor_id in tutor_ids:
        window_end = now + timedelta(days=horizons.get(tutor_id) or MAX_HORIZON_DAYS)
        time_off = [Interval(b.start_at, b.end_at) for b in blocks.get(tutor_id, [])]
        mine = desired_slots(
            rules.get(tutor_id, []), offerings.get(tutor_id, []), time_off, now, window_end
        )
        wanted.update(mine)
        owners.update(dict.fromkeys(mine, tutor_id))
    keys = list(wanted)
    params = {
        "tutor_ids": tutor_ids,
        "offering_ids": [key[0] for key in keys],
        "starts": [key[1] for key in keys],
    }
    upserted = 0
    if keys:
        result = await session.execute(
            _UPSERT,
            {
                **params,
                "owner_ids": [owners[key] for key in keys],
                "rule_ids": [wanted[key].rule_id for key in keys],
                "ends": [wanted[key].end for key in keys],
                "capacities": [wanted[key].capacity for key in keys],
            },
        )
        upserted = result.rowcount  # type: ignore[attr-defined]
    closed = await session.execute(_CLOSE_STALE, {**params, "now": now})
    return Materialized(len(keys), upserted, closed.rowcount)  # type: ignore[attr-defined]


_Row = TypeVar("_Row", Offering, AvailabilityRuleRow, TimeOffBlock)


def _by_tutor(rows: ScalarResult[_Row]) -> dict[uuid.UUID, list[_Row]]:
    grouped: dict[uuid.UUID, list[_Row]] = {}
    for row in rows:
        grouped.setdefault(row.tutor_id, []).append(row)
    return grouped


async def schedule_materialization(session: AsyncSession, tutor_id: uuid.UUID) -> None:
    """Enqueue the tutor's re-materialization in the caller's transaction (rule 3)."""
    from studyhall.scheduling import jobs  # the task module imports the services

    # The job lock keeps two runs for one tutor from interleaving their diffs.
    await enqueue(
        session, jobs.materialize_tutor_slots, lock=f"slots:{tutor_id}", tutor_id=str(tutor_id)
    )
