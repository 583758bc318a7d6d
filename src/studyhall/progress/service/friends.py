"""Friends: one row per pair of people whichever way it was asked (a unique index on the ordered
pair). Asking someone who already asked you accepts; two people asking each other at the same
moment end with one accepted pair."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Select, case, func, or_, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.accounts.models import User
from studyhall.audit import service as audit
from studyhall.kit.errors import Conflict, NotFound, Unprocessable
from studyhall.kit.paging import PageRequest, after
from studyhall.progress.models import Friend

_INSERT_PAIR = text(
    """
    INSERT INTO friends (requester_id, addressee_id, status)
    VALUES (:me, :other, 'pending')
    ON CONFLICT ((least(requester_id, addressee_id)), (greatest(requester_id, addressee_id)))
    DO NOTHING
    RETURNING id
    """
)


async def resolve(
    session: AsyncSession, me: uuid.UUID, user_id: uuid.UUID | None, email: str | None
) -> uuid.UUID:
    """The other person, by id or e-mail: an active account that is not the caller."""
    query = select(User.id).where(User.deleted_at.is_(None), User.status == "active")
    if user_id is not None:
        query = query.where(User.id == user_id)
    else:
        query = query.where(User.email == email)
    found = await session.scalar(query)
    if found is None:
        raise NotFound("No such user.", code="user_not_found")
    if found == me:
        raise Unprocessable("You cannot befriend yourself.", code="friend_self")
    return found


async def pair(session: AsyncSession, a: uuid.UUID, b: uuid.UUID) -> Friend | None:
    return await session.scalar(
        select(Friend)
        .where(
            func.least(Friend.requester_id, Friend.addressee_id) == min(a, b),
            func.greatest(Friend.requester_id, Friend.addressee_id) == max(a, b),
        )
        .with_for_update()
        .execution_options(populate_existing=True)
    )


def _blocked(row: Friend) -> Conflict:
    return Conflict("One of you has blocked the other.", code="friend_blocked")


async def request(session: AsyncSession, me: uuid.UUID, other: uuid.UUID) -> Friend:
    inserted = await session.scalar(_INSERT_PAIR, {"me": me, "other": other})
    row = await pair(session, me, other)
    assert row is not None
    if inserted is not None:
        await audit.record(session, me, "friend.request", "friend", row.id)
        return row
    if row.status == "blocked":
        raise _blocked(row)
    if row.status == "pending" and row.addressee_id == me:
        return await _accept(session, me, row)
    return row  # already asked by me, or already friends: nothing to do


async def _accept(session: AsyncSession, me: uuid.UUID, row: Friend) -> Friend:
    row.status, row.accepted_at = "accepted", func.now()
    await session.flush()
    await session.refresh(row)
    await audit.record(session, me, "friend.accept", "friend", row.id)
    return row


async def _mine(session: AsyncSession, me: uuid.UUID, other: uuid.UUID) -> Friend:
    row = await pair(session, me, other)
    if row is None:
        raise NotFound("No friendship or request with this user.", code="friend_not_found")
    return row


async def accept(session: AsyncSession, me: uuid.UUID, other: uuid.UUID) -> Friend:
    row = await _mine(session, me, other)
    if row.status == "accepted":
        return row
    if row.status != "pending" or row.addressee_id != me:
        raise NotFound("No request from this user to accept.", code="friend_request_not_found")
    return await _accept(session, me, row)


async def decline_or_remove(session: AsyncSession, me: uuid.UUID, other: uuid.UUID) -> None:
    """Declining a request, withdrawing one's own, and unfriending all delete the row; a block
    stays (only its author lifts it)."""
    row = await _mine(session, me, other)
    if row.status == "blocked":
        raise _blocked(row)
    await session.delete(row)
    await session.flush()
    await audit.record(session, me, "friend.remove", "friend", row.id)


async def block(session: AsyncSession, me: uuid.UUID, other: uuid.UUID) -> Friend:
    await session.execute(_INSERT_PAIR, {"me": me, "other": other})
    row = await pair(session, me, other)
    assert row is not None
    if row.status == "blocked" and row.blocked_by != me:
        raise _blocked(row)
    row.status, row.blocked_by, row.accepted_at = "blocked", me, None
    await session.flush()
    await audit.record(session, me, "friend.block", "friend", row.id)
    return row


async def unblock(session: AsyncSession, me: uuid.UUID, other: uuid.UUID) -> None:
    row = await _mine(session, me, other)
    if row.status != "blocked" or row.blocked_by != me:
        raise NotFound("You have not blocked this user.", code="friend_block_not_found")
    await session.delete(row)
    await session.flush()
    await audit.record(session, me, "friend.unblock", "friend", row.id)


async def listed(
    session: AsyncSession, me: uuid.UUID, page: PageRequest
) -> tuple[list[Friend], str | None]:
    """My friendships, requests (both ways) and blocks, oldest first."""
    order = (Friend.created_at.expression, Friend.id.expression)
    query = (
        select(Friend)
        .where(or_(Friend.requester_id == me, Friend.addressee_id == me))
        .order_by(*order)
        .limit(page.limit + 1)
    )
    beyond = after(order, page.key(datetime, uuid.UUID))
    if beyond is not None:
        query = query.where(beyond)
    rows = list((await session.scalars(query)).all())
    return page.of(rows, lambda row: (row.created_at, row.id))


def friend_ids(me: uuid.UUID) -> Select[tuple[uuid.UUID]]:
    """SQL: the ids of ``me``'s accepted friends."""
    other = case((Friend.requester_id == me, Friend.addressee_id), else_=Friend.requester_id)
    return select(other).where(
        Friend.status == "accepted",
        or_(Friend.requester_id == me, Friend.addressee_id == me),
    )
