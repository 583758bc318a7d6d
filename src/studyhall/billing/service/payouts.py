"""Tutor payouts: earnings entries, statements per tutor, currency and period, and paying them.

- A completed booking adds an ``earning`` entry (captured - refunded minus the platform fee,
  what the tutor's profile totals count); a refund after completion adds a negative ``refund``
  entry for the tutor's share of it. ``source_key`` makes each entry once.
- ``close_period(period_end)`` gathers each tutor's entries not yet on a statement into a new
  statement. Its total adds the previous statement's total when that was negative (a refund
  after a payout): a total of zero or less is ``carried`` and nothing is paid; a positive one
  is ``due``.
- A ``due`` statement is paid by a Stripe transfer to the tutor's Connect account once the
  account can receive payouts (``transfer_statement`` job, idempotency key
  ``payout-<statement>``), or marked paid by an admin (``mark_paid``, audited). The transfer's
  ``transfer.*`` webhooks move it to ``paid`` or ``reversed``; states only move forward, so
  replays and out-of-order events change nothing.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, func, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.accounts.models import User
from studyhall.audit import service as audit
from studyhall.billing.config import billing_settings
from studyhall.billing.models import (
    STATEMENT_STATUSES,
    PayoutAccount,
    PayoutStatement,
    TutorEarningEntry,
)
from studyhall.billing.providers.base import ConnectedAccount, TransferState
from studyhall.billing.providers.stripe import StripeProvider
from studyhall.db.rls import cross_users
from studyhall.jobs import backoff, enqueue, queue, runtime
from studyhall.kit.errors import Conflict, NotFound, Unprocessable
from studyhall.kit.paging import PageRequest, after

_RANK = {status: rank for rank, status in enumerate(STATEMENT_STATUSES)}


# --- entries ------------------------------------------------------------------------------------


async def record_earning(
    session: AsyncSession,
    tutor_id: uuid.UUID,
    booking_id: uuid.UUID,
    amount_cents: int,
    currency: str,
) -> None:
    """Called in the transaction that completes the booking; a second call adds nothing."""
    if amount_cents <= 0:
        return
    await _entry(session, tutor_id, booking_id, "earning", amount_cents, currency, "earning")


async def record_refund(
    session: AsyncSession,
    tutor_id: uuid.UUID,
    booking_id: uuid.UUID,
    amount_cents: int,
    currency: str,
    refunded_total_cents: int,
) -> None:
    """The tutor's share of a refund made after completion (``amount_cents`` <= 0); keyed by
    the booking's refunded total after it, so each refund is recorded once."""
    if amount_cents >= 0:
        return
    key = f"refund:{refunded_total_cents}"
    await _entry(session, tutor_id, booking_id, "refund", amount_cents, currency, key)


async def _entry(
    session: AsyncSession,
    tutor_id: uuid.UUID,
    booking_id: uuid.UUID,
    kind: str,
    amount_cents: int,
    currency: str,
    key: str,
) -> None:
    await session.execute(
        insert(TutorEarningEntry)
        .values(
            tutor_id=tutor_id,
            booking_id=booking_id,
            kind=kind,
            amount_cents=amount_cents,
            currency=currency,
            source_key=f"booking:{booking_id}:{key}",
        )
        .on_conflict_do_nothing(index_elements=["source_key"])
    )


# --- statements ---------------------------------------------------------------------------------


async def close_period(
    session: AsyncSession, period_end: datetime, now: datetime
) -> list[PayoutStatement]:
    """A statement for every tutor and currency with entries made before ``period_end``."""
    if period_end > now:
        raise Unprocessable(
            "A period can only be closed once it has ended.",
            code="period_not_ended",
            field="period_end",
        )
    open_groups = (
        await session.execute(
            select(TutorEarningEntry.tutor_id, TutorEarningEntry.currency)
            .where(
                TutorEarningEntry.statement_id.is_(None),
                TutorEarningEntry.created_at < period_end,
            )
            .distinct()
        )
    ).all()
    made = []
    for tutor_id, currency in open_groups:
        statement = await _close_one(session, tutor_id, currency, period_end)
        if statement is not None:
            made.append(statement)
    return made


async def _close_one(
    session: AsyncSession, tutor_id: uuid.UUID, currency: str, period_end: datetime
) -> PayoutStatement | None:
    # One closer at a time per tutor and currency, so entries join exactly one statement.
    await session.execute(
        text("SELECT pg_advisory_xact_lock(hashtext(:key))"),
        {"key": f"payout:{tutor_id}:{currency}"},
    )
    previous = await session.scalar(
        select(PayoutStatement)
        .where(PayoutStatement.tutor_id == tutor_id, PayoutStatement.currency == currency)
        .order_by(PayoutStatement.period_end.desc())
        .limit(1)
    )
    if previous is not None and previous.period_end >= period_end:
        return None  # this period (or a later one) is already closed
    entries = (
        await session.execute(
            select(TutorEarningEntry.id, TutorEarningEntry.amount_cents)
            .where(
                TutorEarningEntry.tutor_id == tutor_id,
                TutorEarningEntry.currency == currency,
                TutorEarningEntry.statement_id.is_(None),
                TutorEarningEntry.created_at < period_end,
            )
            .with_for_update()
        )
    ).all()
    if not entries:
        return None
    entries_cents = sum(amount for _, amount in entries)
    carried_in = previous.amount_cents if previous and previous.status == "carried" else 0
    amount = entries_cents + carried_in
    statement = PayoutStatement(
        tutor_id=tutor_id,
        currency=currency,
        period_start=None if previous is None else previous.period_end,
        period_end=period_end,
        entries_cents=entries_cents,
        carried_in_cents=carried_in,
        amount_cents=amount,
        status="due" if amount > 0 else "carried",
    )
    session.add(statement)
    await session.flush()
    await session.execute(
        update(TutorEarningEntry)
        .where(TutorEarningEntry.id.in_([entry_id for entry_id, _ in entries]))
        .values(statement_id=statement.id)
    )
    await audit.record(
        session,
        None,
        "payout_statement.close",
        "payout_statement",
        statement.id,
        {"amount_cents": amount, "carried_in_cents": carried_in, "entries": len(entries)},
    )
    if statement.status == "due" and await _can_receive(session, tutor_id):
        await enqueue(session, transfer_statement, statement_id=str(statement.id))
    return statement


async def _can_receive(session: AsyncSession, tutor_id: uuid.UUID) -> bool:
    enabled = await session.scalar(
        select(PayoutAccount.payouts_enabled).where(PayoutAccount.user_id == tutor_id)
    )
    return bool(enabled)


async def _locked_statement(session: AsyncSession, statement_id: uuid.UUID) -> PayoutStatement:
    statement = await session.scalar(
        select(PayoutStatement)
        .where(PayoutStatement.id == statement_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if statement is None:
        raise NotFound("No such payout statement.", code="statement_not_found")
    return statement


async def mark_paid(
    session: AsyncSession, admin_id: uuid.UUID, statement_id: uuid.UUID, now: datetime
) -> PayoutStatement:
    """An admin paid the tutor outside Stripe. Only a ``due`` statement: one a transfer has
    claimed is 409, so a tutor is never paid twice."""
    statement = await _locked_statement(session, statement_id)
    if statement.status != "due":
        raise Conflict(
            f"This statement is {statement.status}; only a due statement can be marked paid.",
            code="statement_not_due",
        )
    statement.status, statement.method = "paid", "manual"
    statement.paid_at, statement.paid_by = now, admin_id
    await session.flush()
    await audit.record(
        session,
        admin_id,
        "payout_statement.mark_paid",
        "payout_statement",
        statement.id,
        {"amount_cents": statement.amount_cents, "currency": statement.currency},
    )
    return statement


# --- Stripe transfers ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _TransferOrder:
    statement_id: uuid.UUID
    account_id: str
    amount_cents: int
    currency: str


async def _claim(session: AsyncSession, statement_id: uuid.UUID) -> _TransferOrder | None:
    """Mark a due statement as being transferred (so no admin marks it paid meanwhile); a
    claimed one whose transfer id is still unknown is claimed again by a retry."""
    statement = await _locked_statement(session, statement_id)
    retrying = statement.status == "transferring" and statement.stripe_transfer_id is None
    if statement.status != "due" and not retrying:
        return None
    account = await session.scalar(
        select(PayoutAccount).where(PayoutAccount.user_id == statement.tutor_id)
    )
    if account is None or not account.payouts_enabled:
        return None
    statement.status, statement.method = "transferring", "stripe"
    await session.flush()
    return _TransferOrder(
        statement.id, account.stripe_account_id, statement.amount_cents, statement.currency
    )


@queue.task(name="studyhall.billing.transfer_statement", queue="billing", retry=backoff(6, 3))
async def transfer_statement(statement_id: str) -> None:
    """Claim (one transaction), call Stripe with no transaction open, store the transfer id."""
    database = runtime().database
    async with database.transaction() as session:
        await cross_users(session)
        order = await _claim(session, uuid.UUID(statement_id))
    if order is None:
        return
    transfer_id = await StripeProvider(billing_settings()).create_transfer(
        order.statement_id, order.account_id, order.amount_cents, order.currency
    )
    async with database.transaction() as session:
        await cross_users(session)
        statement = await _locked_statement(session, order.statement_id)
        if statement.stripe_transfer_id is None:  # a webhook may have stored it first
            statement.stripe_transfer_id = transfer_id
        await audit.record(
            session,
            None,
            "payout_statement.transfer",
            "payout_statement",
            statement.id,
            {"transfer_id": transfer_id, "amount_cents": order.amount_cents},
        )


async def apply_transfer(session: AsyncSession, transfer: TransferState, now: datetime) -> bool:
    """``transfer.created``/``updated`` → paid, ``transfer.reversed`` → reversed, never back.
    False when the statement is not known (yet): the event is retried."""
    statement_id = transfer.statement_id or await session.scalar(
        select(PayoutStatement.id).where(PayoutStatement.stripe_transfer_id == transfer.transfer_id)
    )
    if statement_id is None:
        return False
    try:
        statement = await _locked_statement(session, statement_id)
    except NotFound:
        return False
    if statement.stripe_transfer_id is None:
        statement.stripe_transfer_id = transfer.transfer_id
    target = "reversed" if transfer.reversed else "paid"
    if statement.method == "manual" or _RANK[target] <= _RANK[statement.status]:
        await session.flush()
        return True
    statement.status, statement.method = target, "stripe"
    if statement.paid_at is None:
        statement.paid_at = now
    await session.flush()
    await audit.record(
        session,
        None,
        f"payout_statement.{target}",
        "payout_statement",
        statement.id,
        {"transfer_id": transfer.transfer_id},
    )
    return True


# --- Connect accounts -----------------------------------------------------------------------


async def apply_account(session: AsyncSession, account: ConnectedAccount) -> bool:
    """``account.updated``: the newest event wins; an account becoming able to receive payouts
    starts the transfers of its due statements. False (retry) for an account not stored yet."""
    row = await session.scalar(
        select(PayoutAccount)
        .where(PayoutAccount.stripe_account_id == account.account_id)
        .with_for_update()
    )
    if row is None:
        return False
    if account.event_created < row.last_event_created:
        return True
    was_enabled = row.payouts_enabled
    row.details_submitted = account.details_submitted
    row.payouts_enabled = account.payouts_enabled
    row.last_event_created = account.event_created
    await session.flush()
    if account.payouts_enabled and not was_enabled:
        due = await session.scalars(
            select(PayoutStatement.id).where(
                PayoutStatement.tutor_id == row.user_id, PayoutStatement.status == "due"
            )
        )
        for statement_id in due:
            await enqueue(session, transfer_statement, statement_id=str(statement_id))
    return True


async def account_of(session: AsyncSession, user_id: uuid.UUID) -> PayoutAccount | None:
    return await session.scalar(select(PayoutAccount).where(PayoutAccount.user_id == user_id))


async def store_account(session: AsyncSession, user_id: uuid.UUID, stripe_account_id: str) -> None:
    await session.execute(
        insert(PayoutAccount)
        .values(user_id=user_id, stripe_account_id=stripe_account_id)
        .on_conflict_do_nothing(index_elements=["user_id"])
    )


# --- reading ------------------------------------------------------------------------------------


async def statements_of(
    session: AsyncSession, tutor_id: uuid.UUID, page: PageRequest
) -> tuple[list[PayoutStatement], str | None]:
    """One page of the tutor's statements, the latest period first."""
    order: list[ColumnElement[Any]] = [
        PayoutStatement.period_end.expression,
        PayoutStatement.id.expression,
    ]
    query = select(PayoutStatement).where(PayoutStatement.tutor_id == tutor_id)
    beyond = after(order, page.key(datetime, uuid.UUID), descending=True)
    if beyond is not None:
        query = query.where(beyond)
    query = query.order_by(*(column.desc() for column in order)).limit(page.limit + 1)
    rows = list(await session.scalars(query))
    return page.of(rows, lambda statement: (statement.period_end, statement.id))


async def statement_with_entries(
    session: AsyncSession, statement_id: uuid.UUID
) -> tuple[PayoutStatement, list[TutorEarningEntry]]:
    statement = await session.get(PayoutStatement, statement_id)
    if statement is None:
        raise NotFound("No such payout statement.", code="statement_not_found")
    entries = await session.scalars(
        select(TutorEarningEntry)
        .where(TutorEarningEntry.statement_id == statement_id)
        .order_by(TutorEarningEntry.created_at, TutorEarningEntry.id)
    )
    return statement, list(entries)


async def unpaid_balance(session: AsyncSession, tutor_id: uuid.UUID) -> dict[str, int]:
    """Per currency: entries on no statement yet plus a negative total carried forward."""
    open_entries = await session.execute(
        select(TutorEarningEntry.currency, func.sum(TutorEarningEntry.amount_cents))
        .where(TutorEarningEntry.tutor_id == tutor_id, TutorEarningEntry.statement_id.is_(None))
        .group_by(TutorEarningEntry.currency)
    )
    balance = {currency: int(total) for currency, total in open_entries}
    # Each currency's latest statement: carried when its total was zero or less.
    latest = (
        select(
            PayoutStatement.currency,
            PayoutStatement.status,
            PayoutStatement.amount_cents,
            func.row_number()
            .over(
                partition_by=PayoutStatement.currency,
                order_by=PayoutStatement.period_end.desc(),
            )
            .label("recency"),
        )
        .where(PayoutStatement.tutor_id == tutor_id)
        .subquery()
    )
    carried = select(latest.c.currency, latest.c.amount_cents).where(
        latest.c.recency == 1, latest.c.status == "carried"
    )
    for currency, amount in await session.execute(carried):
        balance[currency] = balance.get(currency, 0) + int(amount)
    return {currency: cents for currency, cents in balance.items() if cents != 0}


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class StatementListed:
    statement: PayoutStatement
    tutor_name: str
    tutor_email: str


async def all_statements(
    session: AsyncSession, page: PageRequest, *, status: str | None = None
) -> tuple[list[StatementListed], str | None]:
    """Admins: every tutor's statements, the latest period first, with the tutor; ``status``
    narrows them (``due`` is what waits to be paid). The caller has declared cross-user work."""
    order: list[ColumnElement[Any]] = [
        PayoutStatement.period_end.expression,
        PayoutStatement.id.expression,
    ]
    query = select(PayoutStatement, User.name, User.email).join(
        User, User.id == PayoutStatement.tutor_id
    )
    if status is not None:
        query = query.where(PayoutStatement.status == status)
    beyond = after(order, page.key(datetime, uuid.UUID), descending=True)
    if beyond is not None:
        query = query.where(beyond)
    query = query.order_by(*(column.desc() for column in order)).limit(page.limit + 1)
    rows = [StatementListed(s, name, mail) for s, name, mail in await session.execute(query)]
    return page.of(rows, lambda row: (row.statement.period_end, row.statement.id))
