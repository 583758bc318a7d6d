"""Admin page for what learners can buy from billing: credit packs and subscription plans, on
sale or retired. Create one, rename it, take it off sale or put it back.

The forms go through the API's schemas (``CreditPackCreate``, ``PlanCreate``) and the billing
service the ``/api/v1/billing/admin`` routes call, with the admin as the actor (audited there).
A price never changes once something is on sale: a new price is a new pack or plan.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import ValidationError
from starlette.datastructures import FormData
from starlette.responses import RedirectResponse, Response

from studyhall.billing import service as billing
from studyhall.billing.schemas import CreditPackCreate, CreditPackUpdate, PlanCreate
from studyhall.db.rls import SystemSession
from studyhall.kit.errors import Unprocessable
from studyhall.kit.paging import PageRequest
from studyhall.web.messages import notice
from studyhall.web.pages.admin import AdminPage, form_amount, form_text
from studyhall.web.rendering import render

router = APIRouter()

SHOWN = 100
Notice = Annotated[str | None, Query(alias="notice", max_length=40)]


def _back(key: str) -> RedirectResponse:
    return RedirectResponse(f"/admin/prices?notice={key}", status_code=303)


def _invalid(exc: ValidationError) -> Unprocessable:
    fields = sorted({str(error["loc"][0]) for error in exc.errors() if error["loc"]})
    return Unprocessable(
        "Check the form: " + ", ".join(fields) + ".", code="price_form_invalid", fields=fields
    )


def _whole(form: FormData, name: str) -> int | str | None:
    value = form_text(form, name)
    if not value:
        return None
    return int(value) if value.isdigit() else value


def _currency(form: FormData) -> str:
    return form_text(form, "currency").upper()


@router.get("/admin/prices", include_in_schema=False)
async def admin_prices_page(
    page: AdminPage, session: SystemSession, notice_key: Notice = None
) -> Response:
    """Every credit pack and every plan, retired ones included."""
    packs, more_packs = await billing.list_credit_packs(
        session, PageRequest(limit=SHOWN, cursor=None), include_inactive=True
    )
    plans, more_plans = await billing.list_plans(
        session, PageRequest(limit=SHOWN, cursor=None), include_inactive=True
    )
    context: dict[str, Any] = {
        "packs": packs,
        "plans": plans,
        "more": more_packs is not None or more_plans is not None,
        "notice": notice(page.viewer, notice_key),
    }
    return render(page, "admin_prices.html", **context)


@router.post("/admin/credit-packs", include_in_schema=False)
async def admin_credit_pack_create(
    request: Request, page: AdminPage, session: SystemSession
) -> Response:
    assert page.user is not None
    form = await request.form()
    currency = _currency(form)
    try:
        data = CreditPackCreate.model_validate(
            {
                "name": form_text(form, "name"),
                "credits": _whole(form, "credits"),
                "price_cents": form_amount(form, "price", currency or "USD"),
                "currency": currency,
            }
        )
    except ValidationError as exc:
        raise _invalid(exc) from exc
    await billing.create_credit_pack(session, actor=page.user.id, **data.model_dump())
    return _back("pack_created")


@router.post("/admin/plans", include_in_schema=False)
async def admin_plan_create(request: Request, page: AdminPage, session: SystemSession) -> Response:
    assert page.user is not None
    form = await request.form()
    currency = _currency(form)
    try:
        data = PlanCreate.model_validate(
            {
                "key": form_text(form, "key"),
                "name": form_text(form, "name"),
                "billing_cycle": form_text(form, "billing_cycle"),
                "price_cents": form_amount(form, "price", currency or "USD"),
                "currency": currency,
                "credits_per_period": _whole(form, "credits_per_period") or 0,
                "trial_days": _whole(form, "trial_days") or 0,
            }
        )
    except ValidationError as exc:
        raise _invalid(exc) from exc
    await billing.create_plan(session, data.model_dump(), page.user.id)
    return _back("plan_created")


def _change(form: FormData) -> tuple[str | None, bool | None]:
    """A rename (the name box) or a sale switch (the button's ``on_sale``)."""
    switch = form_text(form, "on_sale")
    if switch:
        return None, switch == "yes"
    try:
        name = CreditPackUpdate(name=form_text(form, "name")).name
    except ValidationError as exc:
        raise _invalid(exc) from exc
    return name, None


@router.post("/admin/credit-packs/{pack_id}", include_in_schema=False)
async def admin_credit_pack_update(
    pack_id: uuid.UUID, request: Request, page: AdminPage, session: SystemSession
) -> Response:
    """Rename, retire or put back on sale, as ``PATCH /billing/admin/credit-packs/{id}`` does."""
    assert page.user is not None
    name, on_sale = _change(await request.form())
    await billing.update_credit_pack(
        session, pack_id, name=name, is_active=on_sale, actor=page.user.id
    )
    return _back("price_saved")


@router.post("/admin/plans/{plan_id}", include_in_schema=False)
async def admin_plan_update(
    plan_id: uuid.UUID, request: Request, page: AdminPage, session: SystemSession
) -> Response:
    """Rename, retire or put back on sale, as ``PATCH /billing/admin/plans/{id}`` does."""
    assert page.user is not None
    name, on_sale = _change(await request.form())
    await billing.update_plan(session, plan_id, name=name, is_active=on_sale, actor=page.user.id)
    return _back("price_saved")
