"""A tutor's payouts in the web app: the unpaid balance, the payout statements (each with its
entries and how it was paid: a Stripe transfer or by hand), and Stripe Connect onboarding when
the server is set up for it.

Onboarding takes the same steps as ``POST /api/v1/billing/payouts/onboarding``: the Connect
account is made once (its idempotency key is the tutor's id), Stripe is called with no
transaction open, and each visit gets a fresh single-use onboarding link. Closing a period and
marking a statement paid are admin actions the API offers; the web app has no admin pages.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from studyhall.billing import service as billing
from studyhall.billing.config import BillingSettings, billing_settings
from studyhall.billing.providers.stripe import StripeProvider
from studyhall.db.deps import Session, get_database
from studyhall.kit.errors import Forbidden, NotFound, Unprocessable
from studyhall.kit.paging import PageRequest
from studyhall.web.deps import DetachedMemberPage
from studyhall.web.pages.teaching import TutorPage
from studyhall.web.rendering import Visit, render

router = APIRouter()

STATEMENTS_SHOWN = 50


def connect_ready(settings: BillingSettings) -> bool:
    """Stripe Connect onboarding needs the Stripe key and both return addresses."""
    return bool(
        settings.stripe_api_key
        and settings.stripe_connect_refresh_url
        and settings.stripe_connect_return_url
    )


async def detached_tutor(page: DetachedMemberPage) -> Visit:
    assert page.user is not None
    if page.user.role != "tutor":
        raise Forbidden("This needs the tutor role.", code="role_required")
    return page


@router.get("/teach/payouts", include_in_schema=False)
async def payouts_page(page: TutorPage, session: Session) -> Response:
    assert page.user is not None
    statements, more = await billing.payout_statements(
        session, page.user.id, PageRequest(limit=STATEMENTS_SHOWN, cursor=None)
    )
    return render(
        page,
        "teach_payouts.html",
        account=await billing.payout_account_of(session, page.user.id),
        balance=await billing.unpaid_payout_balance(session, page.user.id),
        statements=statements,
        more_statements=more is not None,
        connect_ready=connect_ready(billing_settings()),
    )


@router.get("/teach/payouts/{statement_id}", include_in_schema=False)
async def payout_statement_page(
    statement_id: uuid.UUID, page: TutorPage, session: Session
) -> Response:
    assert page.user is not None
    statement, entries = await billing.payout_statement(session, statement_id)
    if statement.tutor_id != page.user.id:
        raise NotFound("No such payout statement.", code="not_found")
    return render(page, "teach_payout_statement.html", statement=statement, entries=entries)


@router.post("/teach/payouts/onboarding", include_in_schema=False)
async def payout_onboarding(
    request: Request, page: Annotated[Visit, Depends(detached_tutor)]
) -> Response:
    """A fresh onboarding link, shown as a link to follow: the pages' CSP lets a form's answer
    lead to this site only (``form-action 'self'``). Stripe sends the tutor back to the
    configured return URL."""
    assert page.user is not None
    settings = billing_settings()
    refresh_url, return_url = (
        settings.stripe_connect_refresh_url,
        settings.stripe_connect_return_url,
    )
    if not connect_ready(settings) or not refresh_url or not return_url:
        raise Unprocessable("Payouts through Stripe are not set up.", code="connect_not_ready")
    stripe = StripeProvider(settings)
    database = get_database(request)
    async with database.transaction(page.user.id) as session:
        account = await billing.payout_account_of(session, page.user.id)
        account_id = None if account is None else account.stripe_account_id
    if account_id is None:
        account_id = await stripe.create_connect_account(page.user.id, page.user.email)
        async with database.transaction(page.user.id) as session:
            await billing.store_payout_account(session, page.user.id, account_id)
    url, expires_at = await stripe.create_account_link(account_id, refresh_url, return_url)
    return render(page, "teach_payout_onboarding.html", url=url, expires_at=expires_at)
