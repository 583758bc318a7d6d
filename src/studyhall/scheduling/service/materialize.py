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

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.jobs import enqueue
from studyhall.scheduling.models import AvailabilityRuleRow, Offering, TimeOffBlock
from studyhall.scheduling.recurrence import (
    AvailabilityRule,
    Interval,
    cut_slots,
    expand_availability,
)
from studyhall.scheduling.service.common import MAX_HORIZON_DAYS, get_settings

ONE_OFF_RRULE = "FREQ=DAILY;COUNT=1"

_UPSERT = text(
    """
    INSERT INTO slots (tutor_id, offering_id, availability_rule_id, start_at, end_at, capacity)
    SELECT :tutor_id, u.offering_id, u.rule_id, u.start_at, u.end_at, u.capacity
    FROM unnest(CAST(:offering_ids AS uuid[]), CAST(:rule_ids AS uuid[]),
                CAST(:starts AS timestamptz[]), CAST(:ends AS timestamptz[]),
                CAST(:capacities AS int[]))
         AS u(offering_id, rule_id, start_at, end_at, capacity)
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
    WHERE s.tutor_id = :tutor_id AND s.start_at >= :now AND s.status = 'open'
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
    settings = await get_settings(session, tutor_id)
    window_end = now + timedelta(days=settings.booking_horizon_days or MAX_HORIZON_DAYS)
    offerings = list(
        (
            await session.scalars(
                select(Offering).where(
                    Offering.tutor_id == tutor_id,
                    Offering.is_active,
                    Offering.deleted_at.is_(None),
                )
            )
        ).all()
    )
    rules = list(
        (
            await session.scalars(
                select(AvailabilityRuleRow).where(
                    AvailabilityRuleRow.tutor_id == tutor_id,
                    AvailabilityRuleRow.is_active,
                    AvailabilityRuleRow.deleted_at.is_(None),
                )
            )
        ).all()
    )
    blocks = (
        await session.scalars(
            select(TimeOffBlock).where(
                TimeOffBlock.tutor_id == tutor_id,
                TimeOffBlock.deleted_at.is_(None),
                TimeOffBlock.end_at > now,
                TimeOffBlock.start_at < window_end,
            )
        )
    ).all()
    time_off = [Interval(block.start_at, block.end_at) for block in blocks]
    wanted = desired_slots(rules, offerings, time_off, now, window_end)
    keys = list(wanted)
    params = {
        "tutor_id": tutor_id,
        "offering_ids": [key[0] for key in keys],
        "starts": [key[1] for key in keys],
    }
    upserted = 0
    if keys:
        result = await session.execute(
            _UPSERT,
            {
                **params,
                "rule_ids": [wanted[key].rule_id for key in keys],
                "ends": [wanted[key].end for key in keys],
                "capacities": [wanted[key].capacity for key in keys],
            },
        )
        upserted = result.rowcount  # type: ignore[attr-defined]
    closed = await session.execute(_CLOSE_STALE, {**params, "now": now})
    return Materialized(len(keys), upserted, closed.rowcount)  # type: ignore[attr-defined]


async def schedule_materialization(session: AsyncSession, tutor_id: uuid.UUID) -> None:
    """Enqueue the tutor's re-materialization in the caller's transaction (rule 3)."""
    from studyhall.scheduling import jobs  # the task module imports the services

    # The job lock keeps two runs for one tutor from interleaving their diffs.
    await enqueue(
        session, jobs.materialize_tutor_slots, lock=f"slots:{tutor_id}", tutor_id=str(tutor_id)
    )
