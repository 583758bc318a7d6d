"""Which slots a tutor should have: the CPU-heavy half of materialization, with no database.

`plan_slots` expands every rule and cuts slots for a batch of tutors. It runs in a worker
process (`studyhall.kit.cpu`), so its inputs are plain picklable values and its result is
compact: ids travel as indexes into one table (unpickling many UUID objects is slow, and it
happens on the caller's side), and slots come in chunks of consecutive start times that
the caller writes one statement pair at a time.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from studyhall.scheduling.calendar.recurrence import (
    AvailabilityRule,
    ExpansionTooCostly,
    Interval,
    cut_slots,
    expand_availability,
)

log = logging.getLogger(__name__)

# Rows per statement: binding a chunk's arrays costs about 15 ms on the event loop.
CHUNK_ROWS = 2000
END_OF_TIME = datetime(9999, 12, 31, tzinfo=UTC)


@dataclass(frozen=True)
class RuleInput:
    id: uuid.UUID
    offering_id: uuid.UUID | None
    recurrence: AvailabilityRule | None  # None: the stored row no longer validates


@dataclass(frozen=True)
class OfferingInput:
    id: uuid.UUID
    duration: timedelta
    capacity: int


@dataclass(frozen=True)
class TutorInput:
    tutor_id: uuid.UUID
    rules: list[RuleInput]
    offerings: list[OfferingInput]
    time_off: list[Interval]
    window_end: datetime


@dataclass(frozen=True)
class Wanted:
    end: datetime
    rule_id: uuid.UUID
    capacity: int


@dataclass
class Chunk:
    """Wanted slots starting in [low, high); ids are indexes into `Plan.ids`."""

    low: datetime
    high: datetime = END_OF_TIME
    owners: list[int] = field(default_factory=list)
    offerings: list[int] = field(default_factory=list)
    rules: list[int] = field(default_factory=list)
    starts: list[datetime] = field(default_factory=list)
    ends: list[datetime] = field(default_factory=list)
    capacities: list[int] = field(default_factory=list)


@dataclass
class Plan:
    """Chunks tiling [now, END_OF_TIME): closing a chunk's range minus its slots closes
    exactly the slots wanted nowhere, because slots with one start share a chunk."""

    ids: list[uuid.UUID]
    chunks: list[Chunk]

    def upsert_params(self, chunk: Chunk) -> dict[str, Any]:
        return {
            "owner_ids": [self.ids[i] for i in chunk.owners],
            "offering_ids": [self.ids[i] for i in chunk.offerings],
            "rule_ids": [self.ids[i] for i in chunk.rules],
            "starts": chunk.starts,
            "ends": chunk.ends,
            "capacities": chunk.capacities,
        }

    def close_params(self, chunk: Chunk, tutor_ids: list[uuid.UUID]) -> dict[str, Any]:
        return {
            "tutor_ids": tutor_ids,
            "offering_ids": [self.ids[i] for i in chunk.offerings],
            "starts": chunk.starts,
            "low": chunk.low,
            "high": chunk.high,
        }

    @property
    def size(self) -> int:
        return sum(len(chunk.starts) for chunk in self.chunks)


def _expand(rule: RuleInput, now: datetime, window_end: datetime) -> list[Interval]:
    if rule.recurrence is None:
        return []
    try:
        # Occurrences are returned by start, so look back a day to keep the later slots of
        # a window that began before now.
        return expand_availability(rule.recurrence, now - timedelta(days=1), window_end)
    except ExpansionTooCostly as exc:
        # Only rules stored before start dates were bounded can get here.
        log.warning("availability rule %s makes no slots: %s", rule.id, exc)
        return []


def desired_slots(tutor: TutorInput, now: datetime) -> dict[tuple[uuid.UUID, datetime], Wanted]:
    """The slots one tutor should have, keyed by (offering, start)."""
    wanted: dict[tuple[uuid.UUID, datetime], Wanted] = {}
    for rule in tutor.rules:
        intervals = _expand(rule, now, tutor.window_end)
        for offering in tutor.offerings:
            if rule.offering_id is not None and rule.offering_id != offering.id:
                continue
            for slot in cut_slots(intervals, offering.duration, busy=tutor.time_off):
                if now <= slot.start < tutor.window_end:
                    wanted.setdefault(
                        (offering.id, slot.start), Wanted(slot.end, rule.id, offering.capacity)
                    )
    return wanted


def plan_slots(tutors: list[TutorInput], now: datetime) -> Plan:
    """Every tutor's wanted slots, sorted by start and cut into chunks."""
    index: dict[uuid.UUID, int] = {}

    def ref(value: uuid.UUID) -> int:
        return index.setdefault(value, len(index))

    rows: list[tuple[datetime, int, int, Wanted]] = []
    for tutor in tutors:
        owner = ref(tutor.tutor_id)
        for (offering_id, start), slot in desired_slots(tutor, now).items():
            rows.append((start, owner, ref(offering_id), slot))
    rows.sort(key=lambda row: row[0])
    chunks = [Chunk(low=now)]
    for start, owner, offering, slot in rows:
        current = chunks[-1]
        if len(current.starts) >= CHUNK_ROWS and start != current.starts[-1]:
            current.high = start
            current = Chunk(low=start)
            chunks.append(current)
        current.owners.append(owner)
        current.offerings.append(offering)
        current.rules.append(ref(slot.rule_id))
        current.starts.append(start)
        current.ends.append(slot.end)
        current.capacities.append(slot.capacity)
    return Plan(ids=list(index), chunks=chunks)
