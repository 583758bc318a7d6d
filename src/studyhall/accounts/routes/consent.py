"""Accounts HTTP: guardian consent, asked for by the minor and decided by the guardian."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, status

from studyhall.accounts.deps import CurrentUser, client_ip
from studyhall.accounts.schemas import (
    Accepted,
    ConsentDecision,
    ConsentRequest,
    ConsentStatus,
    ConsentView,
    TokenOnly,
)
from studyhall.accounts.service import consent
from studyhall.db.deps import Session

router = APIRouter()


@router.get("/me/guardian-consent", summary="Get the caller's guardian consent state")
async def guardian_consent_get(
    user: CurrentUser, request: Request, session: Session
) -> ConsentStatus:
    """Whether the caller (a minor where they live) needs, awaits or has a guardian's consent."""
    settings = request.app.state.settings
    state, guardian_email = await consent.status(session, user, settings)
    return ConsentStatus(
        required=state in ("missing", "pending", "withdrawn"),
        consent_age=consent.consent_age(settings, user.country),
        state=state,
        guardian_email=guardian_email,
    )


@router.post(
    "/me/guardian-consent",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Mail the caller's guardian a consent link",
)
async def guardian_consent_requests_create(
    data: ConsentRequest, user: CurrentUser, request: Request, session: Session
) -> Accepted:
    """Mails the guardian a link to read the consent text and decide; asking again replaces the
    earlier link."""
    await consent.request(session, user, data.guardian_email, request.app.state.settings)
    return Accepted(detail=f"A consent link was sent to {data.guardian_email}.")


@router.get(
    "/guardian-consent",
    summary="Show what a consent link asks for",
)
async def guardian_consent_view(
    token: Annotated[str, Query(min_length=10, max_length=200)], session: Session
) -> ConsentView:
    """What the link asks the guardian to agree to (public; reading it does not spend the link)."""
    child, guardian_email = await consent.view(session, token)
    return ConsentView(
        child_name=child.name,
        guardian_email=guardian_email,
        consent_type=consent.CONSENT_TYPE,
        legal_text=consent.LEGAL_TEXT,
        legal_text_hash=consent.LEGAL_TEXT_HASH,
    )


@router.post(
    "/guardian-consent",
    status_code=status.HTTP_201_CREATED,
    summary="Give or refuse guardian consent",
)
async def guardian_consent_create(
    data: ConsentDecision, request: Request, session: Session
) -> Accepted:
    """The guardian gives or refuses consent to the exact text they read (its hash), with the
    emailed token as the credential (public)."""
    row = await consent.decide(
        session,
        data.token,
        data.consent_given,
        data.legal_text_hash,
        client_ip(request),
        request.app.state.settings,
    )
    return Accepted(detail="Consent recorded." if row.consent_given else "Refusal recorded.")


@router.post(
    "/guardian-consent/withdraw",
    status_code=status.HTTP_201_CREATED,
    summary="Withdraw guardian consent",
)
async def guardian_consent_withdraw(
    data: TokenOnly, request: Request, session: Session
) -> Accepted:
    """The guardian withdraws consent (public; the emailed token is the credential); the account
    is blocked again."""
    await consent.withdraw(session, data.token, client_ip(request))
    return Accepted(detail="Consent withdrawn; the account is blocked again.")
