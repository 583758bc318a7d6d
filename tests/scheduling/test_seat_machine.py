"""A Hypothesis state machine over the HTTP API: book, let a hold's time run out (no sweeper
runs, so it stays a hold), reschedule, cancel and approve, across slots with several seats.

After every step each slot's ``seats_taken`` equals the active bookings in it and is never
negative; no answer is a 5xx; and a 2xx means what it says (a moved booking is in its new slot
and still active, a canceled one is canceled, an approved one confirmed).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Coroutine
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeVar

import httpx
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    multiple,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import text

from studyhall.accounts.service.security import issue_access_token
from studyhall.app import create_app
from studyhall.billing.config import BillingSettings, configure_billing
from studyhall.bootstrap import DatabaseUrls
from studyhall.config import Settings
from studyhall.db.engine import Database
from studyhall.db.rls import cross_users_transaction
from studyhall.jobs import core as jobs
from studyhall.scheduling.service.materialize import materialize_tutor
from tests.scheduling.conftest import API

T = TypeVar("T")
STUDENTS = 4
SLOTS_PER_OFFERING = 3
# (price, seats, needs approval, days ahead): paid offerings make payment holds, approval ones
# make approval holds; the two tutors teach on different days so a student can hold both.
OFFERINGS = ((2500, 2, False, 1), (0, 3, True, 2))

SEATS_VS_BOOKINGS = """
SELECT s.id, s.seats_taken, s.capacity,
       (SELECT count(*) FROM bookings b WHERE b.slot_id = s.id
          AND b.status IN ('pending_payment', 'pending_approval', 'confirmed'))
FROM slots s WHERE s.tutor_id = ANY(:tutors)
"""


@dataclass(frozen=True)
class Held:
    id: str
    student: int
    offering: int


def test_seats_match_bookings_after_every_step(
    settings: Settings, database_urls: DatabaseUrls
) -> None:
    loop = asyncio.new_event_loop()

    def run(coro: Coroutine[Any, Any, T]) -> T:
        return loop.run_until_complete(coro)

    database = Database.connect(database_urls.app, settings)
    owner = Database.connect(database_urls.owner, settings)
    jobs.configure_runtime(jobs.Runtime(settings=settings, database=database))
    jobs.load_tasks()
    run(jobs.open_queue(database_urls.app, settings))
    # Manual payments wait for an admin: a paid booking stays a hold until its time runs out.
    configure_billing(BillingSettings(_env_file=None, manual_auto_succeed=False))  # type: ignore[call-arg]
    transport = httpx.ASGITransport(app=create_app(settings, database), raise_app_exceptions=False)
    client = httpx.AsyncClient(transport=transport, base_url="http://test")
    secret = settings.secret_key.get_secret_value()

    async def owner_sql(sql: str, **params: Any) -> list[Any]:
        async with owner.transaction() as session:
            result = await session.execute(text(sql), params)
            return list(result.all()) if result.returns_rows else []

    async def person(role: str) -> tuple[uuid.UUID, dict[str, str]]:
        """A user written behind the API's back (argon2 sign-ups would dominate the run)."""
        found = await owner_sql(
            "INSERT INTO users (email, password_hash, name, role, tokens_valid_after) "
            "VALUES (:email, 'x', 'M', :role, now() - interval '1 minute') RETURNING id",
            email=f"{uuid.uuid4().hex}@example.org",
            role=role,
        )
        user_id: uuid.UUID = found[0][0]
        if role == "tutor":
            await owner_sql(
                "INSERT INTO tutor_profiles (user_id, verification_status) "
                "VALUES (:id, 'verified')",
                id=user_id,
            )
        return user_id, {"Authorization": f"Bearer {issue_access_token(user_id, role, secret)}"}

    async def post(path: str, headers: dict[str, str], body: dict[str, Any]) -> httpx.Response:
        response = await client.post(f"{API}{path}", json=body, headers=headers)
        assert response.status_code < 500, response.text
        return response

    async def catalogue() -> tuple[list[uuid.UUID], list[dict[str, str]], list[list[str]]]:
        """Two tutors with one offering each and materialized slots."""
        tutor_ids, tutor_headers, slots = [], [], []
        for price, seats, approval, days in OFFERINGS:
            tutor_id, headers = await person("tutor")
            offering = await post(
                "/offerings",
                headers,
                {
                    "title": "Group session",
                    "description": "Together.",
                    "duration_minutes": 60,
                    "price_cents": price,
                    "currency": "USD",
                    "max_participants": seats,
                    "requires_approval": approval,
                },
            )
            assert offering.status_code == 201, offering.text
            rule_answer = await post(
                "/availability-rules",
                headers,
                {
                    "timezone": "UTC",
                    "start_date": (date.today() + timedelta(days=days)).isoformat(),
                    "start_time": "09:00",
                    "end_time": f"{9 + SLOTS_PER_OFFERING:02d}:00",
                    "rrule": None,
                },
            )
            assert rule_answer.status_code == 201, rule_answer.text
            async with cross_users_transaction(database) as session:  # as the daily roll does
                await materialize_tutor(session, tutor_id, datetime.now(UTC))
            found = await owner_sql(
                "SELECT id::text FROM slots WHERE tutor_id = :t ORDER BY start_at", t=tutor_id
            )
            assert len(found) == SLOTS_PER_OFFERING
            tutor_ids.append(tutor_id)
            tutor_headers.append(headers)
            slots.append([row[0] for row in found])
        return tutor_ids, tutor_headers, slots

    async def status_and_slot(booking_id: str) -> tuple[str, str]:
        found = await owner_sql(
            "SELECT status, slot_id::text FROM bookings WHERE id = :id", id=booking_id
        )
        return found[0][0], found[0][1]

    class SeatMachine(RuleBasedStateMachine):
        bookings = Bundle("bookings")

        @initialize()
        def market(self) -> None:
            self.tutors, self.tutor_headers, self.slots = run(catalogue())
            self.students = [run(person("student"))[1] for _ in range(STUDENTS)]

        @rule(
            target=bookings,
            student=st.integers(0, STUDENTS - 1),
            offering=st.integers(0, len(OFFERINGS) - 1),
            slot=st.integers(0, SLOTS_PER_OFFERING - 1),
        )
        def book(self, student: int, offering: int, slot: int) -> Any:
            body = {"slot_id": self.slots[offering][slot]}
            answer = run(post("/bookings", self.students[student], body))
            if answer.status_code != 201:
                assert answer.status_code == 409, answer.text
                return multiple()
            return Held(answer.json()["id"], student, offering)

        @rule(booking=bookings)
        def let_the_hold_run_out(self, booking: Held) -> None:
            run(
                owner_sql(
                    "UPDATE bookings SET hold_expires_at = now() - interval '1 second' "
                    "WHERE id = :id AND status IN ('pending_payment', 'pending_approval')",
                    id=booking.id,
                )
            )

        @rule(booking=bookings, slot=st.integers(0, SLOTS_PER_OFFERING - 1))
        def reschedule(self, booking: Held, slot: int) -> None:
            target = self.slots[booking.offering][slot]
            answer = run(
                post(
                    f"/bookings/{booking.id}/reschedule",
                    self.students[booking.student],
                    {"slot_id": target},
                )
            )
            status, where = run(status_and_slot(booking.id))
            if answer.status_code == 200:
                assert (where, answer.json()["status"]) == (target, status)
                assert status in ("pending_payment", "pending_approval", "confirmed")
            else:
                assert answer.status_code in (409, 422), answer.text

        @rule(booking=bookings)
        def cancel(self, booking: Held) -> None:
            answer = run(post(f"/bookings/{booking.id}/cancel", self.students[booking.student], {}))
            if answer.status_code == 200:
                assert run(status_and_slot(booking.id))[0] == "canceled"
            else:
                assert answer.status_code == 409, answer.text

        @rule(booking=bookings)
        def approve(self, booking: Held) -> None:
            tutor = self.tutor_headers[booking.offering]
            answer = run(post(f"/bookings/{booking.id}/approve", tutor, {}))
            if answer.status_code == 200:
                assert run(status_and_slot(booking.id))[0] == "confirmed"
            else:
                assert answer.status_code == 409, answer.text

        @invariant()
        def seats_are_the_active_bookings(self) -> None:
            if not hasattr(self, "tutors"):
                return
            for slot_id, taken, capacity, active in run(
                owner_sql(SEATS_VS_BOOKINGS, tutors=self.tutors)
            ):
                assert 0 <= taken <= capacity, (slot_id, taken, capacity)
                assert taken == active, (slot_id, taken, active)

    try:
        run_state_machine_as_test(
            SeatMachine,
            settings=hypothesis_settings(
                max_examples=20,
                stateful_step_count=12,
                deadline=None,
                suppress_health_check=[HealthCheck.too_slow],
            ),
        )
    finally:
        configure_billing(None)
        run(client.aclose())
        run(jobs.close_queue())
        run(database.dispose())
        run(owner.dispose())
        jobs.configure_runtime(None)
        loop.close()
