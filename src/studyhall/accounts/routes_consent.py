"""Accounts HTTP: guardian consent, asked for by the minor and decided by the guardian."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, status

from studyhall.accounts import consent
from studyhall.accounts.deps import CurrentUser
from studyhall.accounts.router import client_ip
from studyhall.accounts.schemas import (
    Accepted,
    ConsentDecision,
    ConsentRequest,
    ConsentStatus,
    ConsentView,
    TokenOnly,
)
from studyhall.db.deps import Session

router = APIRouter(tags=["accounts"])


@router.get("/me/guardian-consent", summary="Whether the caller needs, awaits or has consent")
async def consent_status(user: CurrentUser, request: Request, session: Session) -> ConsentStatus:
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
async def request_consent(
    data: ConsentRequest, user: CurrentUser, request: Request, session: Session
) -> Accepted:
    await consent.request(session, user, data.guardian_email, request.app.state.settings)
    return Accepted(detail=f"A consent link was sent to {data.guardian_email}.")


@router.get(
    "/guardian-consent",
    summary="What a consent link asks the guardian to agree to (public; does not spend the link)",
)
async def view_consent(
    token: Annotated[str, Query(min_length=10, max_length=200)], session: Session
) -> ConsentView:
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
    summary="The guardian gives or refuses consent (public; the emailed token is the credential)",
)
async def decide_consent(data: ConsentDecision, request: Request, session: Session) -> Accepted:
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
    summary="The guardian withdraws consent (public; the emailed token is the credential)",
)
async def withdraw_consent(data: TokenOnly, request: Request, session: Session) -> Accepted:
    await consent.withdraw(session, data.token, client_ip(request))
    return Accepted(detail="Consent withdrawn; the account is blocked again.")
