"""The learner's course journey: the catalogue, a course's outline with its price, buying
(manual payments in development; a link to the hosted checkout when the provider returns one),
the lesson player, marking a lesson complete, progress, "continue where I left off", and a refund
within the window.

Buying and refunding call the same functions as ``POST /api/v1/products/{id}/checkout`` and
``POST /api/v1/purchases/{id}/refund``; the rest calls the courses service as the API does.
"""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from starlette.responses import RedirectResponse, Response

from studyhall.billing import service as billing
from studyhall.billing.config import billing_settings
from studyhall.courses import service as courses
from studyhall.courses.models import Product, Purchase
from studyhall.db.deps import Session, get_database
from studyhall.db.rls import SystemSession
from studyhall.kit.errors import Unprocessable
from studyhall.kit.paging import PageRequest
from studyhall.web.deps import DetachedMemberPage, MemberPage, Page
from studyhall.web.messages import notice
from studyhall.web.rendering import Visit, continue_to_payment, render

router = APIRouter()

CATALOGUE_PAGE = 50
FEATURED_SHOWN = 6
PRODUCT_PAGE = 100
Notice = Annotated[str | None, Query(alias="notice", max_length=40)]


async def _products_selling(session: Session, course_id: uuid.UUID) -> list[Product]:
    """The public products that include the course (a bundle or the course alone)."""
    products, _ = await courses.list_products(
        session, PageRequest(limit=PRODUCT_PAGE, cursor=None), include_private=False
    )
    linked = await courses.course_ids_of(session, [product.id for product in products])
    return [product for product in products if course_id in linked[product.id]]


async def _live_purchase(session: Session, page: Visit, products: list[Product]) -> Purchase | None:
    """The viewer's paid, unrefunded purchase of one of these products, if any."""
    if page.user is None:
        return None
    sold = {product.id for product in products}
    bought, _ = await courses.purchase_history(
        session, page.user.id, PageRequest(limit=PRODUCT_PAGE, cursor=None)
    )
    return next((purchase for purchase in bought if purchase.product_id in sold), None)


@router.get("/courses", include_in_schema=False)
async def catalogue(page: Page, session: Session) -> Response:
    found, _ = await courses.browse(
        session, PageRequest(limit=CATALOGUE_PAGE, cursor=None), author_id=None
    )
    mine: dict[uuid.UUID, float] = {}
    if page.user is not None:
        summaries = await courses.progress_summaries(session, page.user.id)
        mine = {row[0]: courses.percent(row[3], row[2]) for row in summaries}
    featured = await courses.featured_courses(session, FEATURED_SHOWN)
    return render(page, "courses.html", courses=found, featured=featured, mine=mine)


@router.get("/courses/{course_id}", include_in_schema=False)
async def course_page(
    course_id: uuid.UUID, page: Page, session: Session, notice_key: Notice = None
) -> Response:
    outline = await courses.outline(session, page.user, course_id)
    products = await _products_selling(session, course_id)
    progress = None
    next_lesson: uuid.UUID | None = None
    if page.user is not None and outline.has_access:
        progress = await courses.course_progress(session, page.user.id, course_id)
        next_lesson = progress.next_lesson_id()
    purchase = await _live_purchase(session, page, products)
    days = page.request.app.state.settings.course_refund_window_days
    return render(
        page,
        "course.html",
        outline=outline,
        products=products,
        progress=progress,
        done={row.lesson_id for row in progress.rows if row.completed_at} if progress else set(),
        next_lesson=next_lesson,
        purchase=purchase,
        refund_until=None
        if purchase is None or purchase.paid_at is None
        else purchase.paid_at + timedelta(days=days),
        manual_payments=billing_settings().default_provider == "manual",
        idempotency_key=str(uuid.uuid4()),
        notice=notice(page.viewer, notice_key),
    )


def _form_uuid(form: Any, name: str) -> uuid.UUID:
    try:
        return uuid.UUID(str(form.get(name, "")))
    except ValueError as exc:
        raise Unprocessable("Choose what to buy.", code="product_required") from exc


@router.post("/courses/{course_id}/buy", include_in_schema=False)
async def buy(course_id: uuid.UUID, request: Request, page: DetachedMemberPage) -> Response:
    assert page.user is not None
    form = await request.form()
    product_id = _form_uuid(form, "product_id")
    key = str(_form_uuid(form, "idempotency_key"))
    answered = await courses.buy_and_pay(
        get_database(request), page.user, product_id, billing.PurchaseBody(), key
    )
    created: dict[str, Any] = json.loads(bytes(answered.body))
    checkout_url = (created.get("payment") or {}).get("checkout_url")
    if checkout_url:
        return continue_to_payment(page, checkout_url, "purchase", f"/courses/{course_id}")
    done = "bought" if not created["payment_required"] else "payment_pending"
    return RedirectResponse(f"/courses/{course_id}?notice={done}", status_code=303)


@router.post("/courses/{course_id}/refund", include_in_schema=False)
async def refund(
    course_id: uuid.UUID, request: Request, page: MemberPage, session: SystemSession
) -> Response:
    """The purchase is the viewer's own: the service checks ownership in this cross-user unit."""
    assert page.user is not None
    form = await request.form()
    purchase_id = _form_uuid(form, "purchase_id")
    days = request.app.state.settings.course_refund_window_days
    await courses.refund(session, page.user, purchase_id, timedelta(days=days))
    return RedirectResponse(f"/courses/{course_id}?notice=refunded", status_code=303)


@router.get("/lessons/{lesson_id}", include_in_schema=False)
async def lesson_page(
    lesson_id: uuid.UUID, page: Page, session: Session, notice_key: Notice = None
) -> Response:
    lesson = await courses.open_lesson(session, page.user, lesson_id)
    section, course = await courses.section_and_course(session, lesson)
    progress = None
    if page.user is not None and await courses.has_access(session, page.user.id, course.id):
        progress = await courses.course_progress(session, page.user.id, course.id)
    completed = progress is not None and any(
        row.lesson_id == lesson.id and row.completed_at is not None for row in progress.rows
    )
    return render(
        page,
        "lesson.html",
        lesson=lesson,
        section=section,
        course=course,
        progress=progress,
        completed=completed,
        notice=notice(page.viewer, notice_key),
    )


@router.post("/lessons/{lesson_id}/complete", include_in_schema=False)
async def complete(lesson_id: uuid.UUID, page: MemberPage, session: Session) -> Response:
    """Done with this lesson: on to the next one not yet completed, or back to the course."""
    assert page.user is not None
    await courses.complete_lesson(session, page.user, lesson_id)
    lesson = await courses.open_lesson(session, page.user, lesson_id)
    _, course = await courses.section_and_course(session, lesson)
    progress = await courses.course_progress(session, page.user.id, course.id)
    following = progress.next_lesson_id()
    if following is None:
        return RedirectResponse(f"/courses/{course.id}?notice=course_done", status_code=303)
    return RedirectResponse(f"/lessons/{following}?notice=lesson_done", status_code=303)
