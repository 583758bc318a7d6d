"""Bookings of a closed account (accounts' closure job calls ``on_account_closed``).

A suspended or deleted tutor no longer teaches: their future bookings are canceled by the system,
so the student gets everything paid back (provider refund, or the credits), and both parties are
told. A deleted student's future bookings are canceled as if they had canceled them, under the
cancellation policy each booking carries. A suspended student keeps their bookings: suspension
may be lifted, and the tutor's seat is not sold twice meanwhile.

Each booking is canceled in its own transaction, taking the payment rows first and then the
tutor's schedule row like a cancellation through the API, so a payment webhook for one of them
queues behind it instead of deadlocking.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ColumnElement, select
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.accounts.models import User
from studyhall.accounts.service import Closure
from studyhall.db.engine import Database
from studyhall.db.rls import cross_users
from studyhall.jobs import runtime
from studyhall.scheduling.google import oauth as google_oauth
from studyhall.scheduling.models import ACTIVE_STATUSES, Booking
from studyhall.scheduling.service import notices
from studyhall.scheduling.service.bookings import cancel_for_closed_account
from studyhall.scheduling.service.clock import utcnow
from studyhall.scheduling.service.payments import abandon_payments, lock_payments, refund_owed


async def on_account_closed(database: Database, user_id: uuid.UUID, closure: Closure) -> None:
    now = utcnow()
    async with database.transaction() as session:
        await cross_users(session)  # the system winds down both parties' bookings
        user = await session.get(User, user_id)
        if user is None or user.status == "active":
            return  # restored before the job ran: nothing is wound down
        teaching = await _future(session, Booking.tutor_id == user_id, now)
        learning = (
            await _future(session, Booking.student_id == user_id, now)
            if closure == "deleted"
            else []
        )
    for booking_id in teaching:
        await _cancel_one(database, booking_id, "system", f"tutor_{closure}", now)
    for booking_id in learning:
        await _cancel_one(database, booking_id, "student", "student_deleted", now)


async def _future(
    session: AsyncSession, party: ColumnElement[bool], now: datetime
) -> list[uuid.UUID]:
    rows = await session.scalars(
        select(Booking.id)
        .where(party, Booking.status.in_(ACTIVE_STATUSES), Booking.start_at > now)
        .order_by(Booking.start_at, Booking.id)
    )
    return list(rows)


async def _cancel_one(
    database: Database, booking_id: uuid.UUID, by: str, reason: str, now: datetime
) -> None:
    async with database.transaction() as session:
        await cross_users(session)
        await lock_payments(session, booking_id)
        canceled = await cancel_for_closed_account(session, booking_id, by, reason, now)
        if canceled is None:
            return
        booking, before = canceled
        await refund_owed(session, booking, None)
        if before == "pending_payment":
            await abandon_payments(session, [booking.id], "booking_canceled")
        await notices.booking_canceled(
            session, booking, tell=before in ("confirmed", "pending_approval")
        )


async def revoke_google_on_deletion(
    database: Database, user_id: uuid.UUID, closure: Closure
) -> None:
    """A deleted account's Google grant is revoked and its tokens erased (a suspension keeps
    them: the account may be restored)."""
    if closure != "deleted":
        return
    await google_oauth.revoke_and_disconnect(database, runtime().settings, user_id)
