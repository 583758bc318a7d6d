"""Guardian consent: a minor may use only their own profile until a guardian agrees.

Consents are append-only rows; the newest row for a user is the current state. The guardian
agrees through an emailed single-use link to the exact legal text whose SHA-256 is stored.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime
from typing import Literal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.accounts.models import AuthToken, GuardianConsent, User
from studyhall.accounts.service import emailed
from studyhall.accounts.service.users import get_user
from studyhall.audit import service as audit
from studyhall.config import Settings
from studyhall.jobs.mail import Mail, send_mail
from studyhall.kit.errors import Conflict, Unprocessable

CONSENT_TYPE = "account"

LEGAL_TEXT = """\
Studyhall guardian consent (version 2026-11)

I am the parent or legal guardian of the child named above. I agree that the child may use
Studyhall, and that Studyhall may process the child's account data (name, email address, date of
birth, study activity and messages) to provide the service. I can withdraw this consent at any
time with the withdrawal link sent to me; the child's account is then blocked again.
"""

LEGAL_TEXT_HASH = hashlib.sha256(LEGAL_TEXT.encode()).hexdigest()

State = Literal["not_required", "missing", "pending", "given", "withdrawn"]

_INVALID_LINK = "This consent link is invalid, expired or already used."


def consent_age(settings: Settings, country: str | None) -> int:
    if country is not None and country in settings.guardian_consent_age_by_country:
        return settings.guardian_consent_age_by_country[country]
    return settings.guardian_consent_age


def age_on(birth: date, today: date) -> int:
    return today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))


def is_minor(user: User, settings: Settings, today: date | None = None) -> bool:
    if user.date_of_birth is None:
        return False
    today = today or datetime.now(UTC).date()
    return age_on(user.date_of_birth, today) < consent_age(settings, user.country)


async def latest(session: AsyncSession, user_id: object) -> GuardianConsent | None:
    row: GuardianConsent | None = await session.scalar(
        select(GuardianConsent)
        .where(GuardianConsent.user_id == user_id)
        .order_by(GuardianConsent.created_at.desc(), GuardianConsent.id.desc())
        .limit(1)
    )
    return row


async def blocks(session: AsyncSession, user: User, settings: Settings) -> bool:
    """True when ``user`` is a minor without a standing consent. One query, and only for minors."""
    if not is_minor(user, settings):
        return False
    current = await latest(session, user.id)
    return current is None or not current.consent_given


async def status(session: AsyncSession, user: User, settings: Settings) -> tuple[State, str | None]:
    current = await latest(session, user.id)
    if not is_minor(user, settings):
        return "not_required", current.guardian_email if current else None
    if current is not None:
        return ("given" if current.consent_given else "withdrawn"), current.guardian_email
    pending = await session.scalar(
        select(AuthToken).where(
            AuthToken.user_id == user.id,
            AuthToken.purpose == "guardian_consent",
            AuthToken.used_at.is_(None),
            AuthToken.expires_at > datetime.now(UTC),
        )
    )
    if pending is not None:
        return "pending", str(pending.payload.get("guardian_email"))
    return "missing", None


async def request(
    session: AsyncSession, user: User, guardian_email: str, settings: Settings
) -> None:
    """Mail the guardian a link to the legal text and the consent form."""
    if not is_minor(user, settings):
        raise Conflict(
            "This account does not need a guardian's consent.", code="consent_not_needed"
        )
    if guardian_email.lower() == user.email.lower():
        raise Unprocessable(
            "The guardian's email must differ from the account's own.",
            code="guardian_email_is_own",
            field="guardian_email",
        )
    token = await emailed.issue(
        session, user.id, "guardian_consent", {"guardian_email": guardian_email}
    )
    link = f"{settings.base_url}/guardian-consent?token={token}"
    await send_mail(
        session,
        Mail(
            to=guardian_email,
            subject=f"{user.name} asks for your consent to use Studyhall",
            text=(
                f"Hello,\n\n{user.name} ({user.email}) has named you as their parent or guardian.\n"
                f"Please read the text below and decide at\n{link}\n\n"
                f"Consent token: {token}\n\n{LEGAL_TEXT}\n"
                f"Text fingerprint (SHA-256): {LEGAL_TEXT_HASH}\n"
            ),
        ),
    )
    await audit.record(
        session,
        user.id,
        "guardian_consent.request",
        "user",
        user.id,
        {"guardian_email": guardian_email},
    )


async def view(session: AsyncSession, raw_token: str) -> tuple[User, str]:
    """The child and the guardian a link is for, without spending the link."""
    token = await emailed.peek(session, raw_token, "guardian_consent")
    if token is None:
        raise Unprocessable(_INVALID_LINK, code="invalid_token", field="token")
    return await get_user(session, token.user_id), str(token.payload["guardian_email"])


async def decide(
    session: AsyncSession,
    raw_token: str,
    consent_given: bool,
    legal_text_hash: str,
    ip_address: str | None,
    settings: Settings,
) -> GuardianConsent:
    if legal_text_hash != LEGAL_TEXT_HASH:
        raise Conflict(
            "The legal text has changed since it was shown; read the current text and decide.",
            code="legal_text_changed",
        )
    token = await emailed.redeem(session, raw_token, "guardian_consent")
    if token is None:
        raise Unprocessable(_INVALID_LINK, code="invalid_token", field="token")
    user = await get_user(session, token.user_id)
    guardian_email = str(token.payload["guardian_email"])
    row = await _record(session, user, guardian_email, consent_given, ip_address)
    if consent_given:
        await _mail_withdrawal_link(session, user, guardian_email, settings)
    return row


async def withdraw(
    session: AsyncSession, raw_token: str, ip_address: str | None
) -> GuardianConsent:
    token = await emailed.redeem(session, raw_token, "consent_withdrawal")
    if token is None:
        raise Unprocessable(_INVALID_LINK, code="invalid_token", field="token")
    user = await get_user(session, token.user_id)
    return await _record(session, user, str(token.payload["guardian_email"]), False, ip_address)


async def _record(
    session: AsyncSession,
    user: User,
    guardian_email: str,
    consent_given: bool,
    ip_address: str | None,
) -> GuardianConsent:
    row = GuardianConsent(
        user_id=user.id,
        guardian_email=guardian_email,
        consent_type=CONSENT_TYPE,
        consent_given=consent_given,
        legal_text_hash=LEGAL_TEXT_HASH,
        ip_address=ip_address,
    )
    session.add(row)
    await session.flush()
    await audit.record(
        session,
        None,
        "guardian_consent.give" if consent_given else "guardian_consent.withdraw",
        "guardian_consent",
        row.id,
        {"user_id": str(user.id), "guardian_email": guardian_email, "ip_address": ip_address},
    )
    return row


async def _mail_withdrawal_link(
    session: AsyncSession, user: User, guardian_email: str, settings: Settings
) -> None:
    token = await emailed.issue(
        session, user.id, "consent_withdrawal", {"guardian_email": guardian_email}
    )
    link = f"{settings.base_url}/guardian-consent/withdraw?token={token}"
    await send_mail(
        session,
        Mail(
            to=guardian_email,
            subject=f"You consented to {user.name} using Studyhall",
            text=(
                f"Hello,\n\nThank you: {user.name} can now use Studyhall.\n"
                f"You can withdraw your consent at any time at\n{link}\n\n"
                f"Withdrawal token: {token}\n"
            ),
        ),
    )
