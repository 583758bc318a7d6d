"""Erasure of a deleted account, after its grace period: nothing that identifies the person stays.

Rows that are the person's own data are deleted, in every table the catalogue lists, so a table
added later is erased without a change here. Rows that other people or the books depend on stay,
pseudonymised: the id remains (it now names "Erased user") and every free-text column is
cleared. Files go from storage, and copies of e-mails to the person from the outbox folder.
"""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.config import Settings
from studyhall.db.rls import cross_users
from studyhall.privacy.service.catalogue import UserTable, user_tables
from studyhall.study.service import get_storage

# Columns that mention a user who acted on a row (granted, refunded, blocked, broadcast) rather
# than the row's owner: the row belongs to someone else and stays as it is.
MENTION_COLUMNS = frozenset(
    {
        "actor_user_id",
        "granted_by_user_id",
        "requested_by_user_id",
        "created_by",
        "blocked_by",
        "hidden_by",
        "paid_by",
    }
)
# Rows that outlive the person, with the free text cleared (``None`` = set to NULL). Bookings and
# offerings are the other party's history too; ledgers, payments and purchases are the books.
PSEUDONYMISED: dict[str, dict[str, str | None]] = {
    "users": {},  # rewritten by the accounts erasure before this runs
    "bookings": {
        "student_notes": None,
        "tutor_notes": None,
        "cancellation_reason": None,
        "join_link": None,
        "calendar_event_id_student": None,
        "calendar_event_id_tutor": None,
    },
    "offerings": {
        "title": "'Erased offering'",
        "description": "''",
        "short_description": "''",
        "prerequisites": None,
        "materials_url": None,
        "topic_tags": "'{}'",
        "is_active": "false",
        "deleted_at": "coalesce(deleted_at, now())",
    },
    "slots": {},
    # A review's stars stay in the tutor's rating (which visible reviews define); the words,
    # the student's and the tutor's reply alike, go.
    "reviews": {"body": None, "tutor_reply": None, "tutor_replied_at": None},
    "courses": {},  # published course content; its learners keep it
    "payments": {"description": None, "failure_message": None},
    "purchases": {},
    "refunds": {"failure_message": None},
    "subscriptions": {},
    # A tutor's payout statements and earning entries are the books of money paid out.
    "payout_statements": {},
    "tutor_earning_entries": {},
    "xp_logs": {},
    # Append-only for the API role: cleared by ``studyhall_erase_append_only_rows``.
    "credit_ledger": {},
    "audit_log": {},
    "guardian_consents": {},
}
# Rows that belong to the person through a parent row rather than a column of their own.
_MATCH_THROUGH_PARENT = {
    "refunds": "payment_id IN (SELECT id FROM payments WHERE user_id = :user_id)",
}
# Materials used by a course lesson stay with the (published) course.
_DELETE_CONDITION = {
    "materials": "AND id NOT IN (SELECT material_id FROM lessons WHERE material_id IS NOT NULL)"
}


def owner_columns(table: UserTable) -> tuple[str, ...]:
    return tuple(c for c in table.user_columns if c not in MENTION_COLUMNS)


def _match(columns: tuple[str, ...]) -> str:
    return " OR ".join(f'"{c}" = :user_id' for c in columns)


async def _pseudonymise(session: AsyncSession, table: UserTable, user_id: uuid.UUID) -> None:
    changes = PSEUDONYMISED[table.name]
    columns = owner_columns(table)
    match = _MATCH_THROUGH_PARENT.get(table.name) or (_match(columns) if columns else None)
    if not changes or match is None:
        return
    assignments = ", ".join(
        f'"{c}" = {"NULL" if value is None else value}' for c, value in changes.items()
    )
    await session.execute(
        text(f'UPDATE "{table.name}" SET {assignments} WHERE {match}'), {"user_id": user_id}
    )


async def _delete(session: AsyncSession, table: UserTable, user_id: uuid.UUID) -> None:
    columns = owner_columns(table)
    if not columns:
        return
    extra = _DELETE_CONDITION.get(table.name, "")
    await session.execute(
        text(f'DELETE FROM "{table.name}" WHERE ({_match(columns)}) {extra}'),
        {"user_id": user_id},
    )


async def _stored_keys(session: AsyncSession, user_id: uuid.UUID) -> list[str]:
    """Files that go with the rows about to be deleted: uploads and data exports."""
    rows = await session.scalars(
        text(
            f"SELECT storage_key FROM materials WHERE user_id = :user_id "
            f"{_DELETE_CONDITION['materials']} "
            "UNION ALL SELECT storage_key FROM data_exports "
            "WHERE user_id = :user_id AND storage_key IS NOT NULL"
        ),
        {"user_id": user_id},
    )
    return list(rows.all())


def _like(value: str) -> str:
    return "%" + value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


async def _scrub_mentions_elsewhere(
    session: AsyncSession, user_id: uuid.UUID, name: str, email: str
) -> None:
    """Other people's rows that quote the person: the other party's booking notifications carry
    their name, their offering's title and their notes; finished jobs (mails) their name and
    address; provider webhooks their e-mail."""
    await session.execute(
        text(
            """
            UPDATE notifications n SET payload = n.payload
                || '{"with_name": "Erased user", "reason": null, "meeting_link": null}'
                || CASE WHEN b.tutor_id = :user_id
                        THEN '{"title": "Erased offering"}'::jsonb ELSE '{}'::jsonb END
            FROM bookings b
            WHERE n.entity = 'booking' AND n.entity_id = b.id
              AND (b.student_id = :user_id OR b.tutor_id = :user_id)
            """
        ),
        {"user_id": user_id},
    )
    # Finished jobs are history: any that quotes the person goes. Waiting ones go only when they
    # are mail to the person; other people's pending mail is still theirs to receive.
    await session.execute(
        text(
            "DELETE FROM procrastinate_jobs WHERE status <> 'doing' AND (args::text ILIKE :email "
            "OR (status IN ('succeeded', 'failed', 'cancelled', 'aborted') "
            "AND args::text ILIKE :name))"
        ),
        {"email": _like(email), "name": _like(name)},
    )
    await session.execute(
        text("DELETE FROM job_errors WHERE error ILIKE :email OR traceback ILIKE :email"),
        {"email": _like(email)},
    )
    for variant in {email, email.lower()}:
        await session.execute(
            text(
                "UPDATE webhook_events SET payload = replace(payload::text, :email, "
                "'erased@erased.invalid')::jsonb WHERE payload::text LIKE :like"
            ),
            {"email": variant, "like": _like(variant)},
        )


def _remove_outbox_copies(outbox: Path, needles: list[str]) -> int:
    """The outbox is a development mail backend: a copy that names the person, whoever it was
    sent to, goes."""
    if not outbox.is_dir():
        return 0
    encoded = [needle.lower().encode() for needle in needles if needle]
    removed = 0
    for path in outbox.glob("*.eml"):
        content = path.read_bytes().lower()
        if any(needle in content for needle in encoded):
            path.unlink(missing_ok=True)
            removed += 1
    return removed


async def erase_user_data(
    session: AsyncSession, settings: Settings, user_id: uuid.UUID, name: str, email: str
) -> None:
    """Everything about ``user_id`` beyond the ``users`` row; ``name`` and ``email`` are what the
    row said before it was rewritten. Safe to run again: a second run finds nothing left."""
    await cross_users(session)
    keys = await _stored_keys(session, user_id)
    await _scrub_mentions_elsewhere(session, user_id, name, email)
    for table in reversed(user_tables()):
        if table.name in PSEUDONYMISED:
            await _pseudonymise(session, table, user_id)
        else:
            await _delete(session, table, user_id)
    await session.execute(
        text("SELECT studyhall_erase_append_only_rows(:user_id)"), {"user_id": user_id}
    )
    storage = get_storage(settings)
    for key in keys:
        await storage.delete(key)
    await asyncio.to_thread(_remove_outbox_copies, settings.outbox_dir, [email, name])
