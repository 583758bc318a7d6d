"""Admin page for the course catalogue: every product that sells courses, public or private,
with the courses it sells; make one (private until published), change its words, picture and
price, publish it (it goes on sale in the catalogue) or take it down; and the courses, each
featured in the catalogue or not.

Making a product is ``courses.service.create_product`` with the API's ``ProductCreate``, as
``POST /api/v1/products`` does; changing and publishing are ``courses.service.update_product``
with ``ProductUpdate``, as ``PATCH /api/v1/products/{id}`` does; featuring is
``courses.service.set_featured``, as ``POST /api/v1/courses/{id}/feature`` does (all audited).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from pydantic import ValidationError
from starlette.datastructures import FormData
from starlette.responses import RedirectResponse, Response

from studyhall.courses import service as courses
from studyhall.courses.schemas import ProductCreate, ProductUpdate
from studyhall.db.rls import SystemSession
from studyhall.kit.errors import Unprocessable
from studyhall.kit.paging import PageRequest
from studyhall.web.messages import notice
from studyhall.web.pages.admin import AdminPage, form_amount, form_text, typed_amount
from studyhall.web.rendering import render

router = APIRouter()

PAGE_SIZE = 25
COURSES_SHOWN = 50
Notice = Annotated[str | None, Query(alias="notice", max_length=40)]


@router.get("/admin/catalogue", include_in_schema=False)
async def admin_catalogue_page(
    page: AdminPage,
    session: SystemSession,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
    notice_key: Notice = None,
) -> Response:
    """Products newest first, private ones included, each with the titles of its courses."""
    products, next_cursor = await courses.list_products(
        session, PageRequest(limit=PAGE_SIZE, cursor=cursor), include_private=True
    )
    linked = await courses.course_ids_of(session, [product.id for product in products])
    titles: dict[uuid.UUID, list[str]] = {}
    for product in products:
        titles[product.id] = []
        for course_id in linked[product.id]:
            outline = await courses.outline(session, None, course_id)
            titles[product.id].append(outline.course.title)
    shown_courses, more_courses = await courses.browse(
        session, PageRequest(limit=COURSES_SHOWN, cursor=None), author_id=None
    )
    return render(
        page,
        "admin_catalogue.html",
        courses=shown_courses,
        more_courses=more_courses is not None,
        products=products,
        titles=titles,
        shown={"name": "", "description": "", "image_url": "", "price": "", "currency": "EGP"},
        more=urlencode({"cursor": next_cursor}) if next_cursor else None,
        notice=notice(page.viewer, notice_key),
    )


@router.post("/admin/catalogue/{product_id}/{action}", include_in_schema=False)
async def admin_catalogue_publish(
    product_id: uuid.UUID,
    action: Literal["publish", "unpublish"],
    page: AdminPage,
    session: SystemSession,
) -> Response:
    assert page.user is not None
    status = "public" if action == "publish" else "private"
    await courses.update_product(session, page.user, product_id, ProductUpdate(status=status))
    key = "product_published" if action == "publish" else "product_unpublished"
    return RedirectResponse(f"/admin/catalogue?notice={key}", status_code=303)


@router.post("/admin/courses/{course_id}/{action}", include_in_schema=False)
async def admin_course_feature(
    course_id: uuid.UUID,
    action: Literal["feature", "unfeature"],
    page: AdminPage,
    session: SystemSession,
) -> Response:
    assert page.user is not None
    featured = action == "feature"
    await courses.set_featured(session, page.user, course_id, featured, datetime.now(UTC))
    key = "course_featured" if featured else "course_unfeatured"
    return RedirectResponse(f"/admin/catalogue?notice={key}#courses", status_code=303)


def _invalid(exc: ValidationError) -> Unprocessable:
    fields = sorted({str(error["loc"][0]) for error in exc.errors() if error["loc"]})
    return Unprocessable(
        "Check the form: " + ", ".join(fields) + ".", code="product_form_invalid", fields=fields
    )


def _price(form: FormData, currency: str) -> int | None:
    """The price typed in the currency's units; "0" is a free product."""
    if form_text(form, "price") in {"0", "0.0", "0.00"}:
        return 0
    return form_amount(form, "price", currency or "USD")


def _product_fields(form: FormData) -> dict[str, object]:
    currency = form_text(form, "currency").upper()
    return {
        "name": form_text(form, "name"),
        "description": form_text(form, "description"),
        "image_url": form_text(form, "image_url"),
        "price_cents": _price(form, currency),
        "currency": currency,
    }


@router.post("/admin/catalogue", include_in_schema=False)
async def admin_product_create(
    request: Request, page: AdminPage, session: SystemSession
) -> Response:
    """A new private product selling the ticked courses, as ``POST /api/v1/products`` does."""
    assert page.user is not None
    form = await request.form()
    try:
        data = ProductCreate.model_validate(
            {**_product_fields(form), "course_ids": form.getlist("course_ids")}
        )
    except ValidationError as exc:
        raise _invalid(exc) from exc
    product = await courses.create_product(session, page.user, data)
    return RedirectResponse(
        f"/admin/catalogue/{product.id}?notice=product_created", status_code=303
    )


@router.get("/admin/catalogue/{product_id}", include_in_schema=False)
async def admin_product_page(
    product_id: uuid.UUID, page: AdminPage, session: SystemSession, notice_key: Notice = None
) -> Response:
    """One product's form: name, description, picture, price and whether it is on sale."""
    product = await courses.visible_product(session, page.user, product_id)
    linked = await courses.course_ids_of(session, [product.id])
    sold = [
        (course_id, (await courses.outline(session, None, course_id)).course.title)
        for course_id in linked[product.id]
    ]
    newest, _ = await courses.browse(
        session, PageRequest(limit=COURSES_SHOWN, cursor=None), author_id=None
    )
    addable = [course for course in newest if course.id not in linked[product.id]]
    return render(
        page,
        "admin_product.html",
        product=product,
        titles=[title for _, title in sold],
        sold=sold,
        addable=addable,
        shown={
            "name": product.name,
            "description": product.description,
            "image_url": product.image_url,
            "price": typed_amount(product.price_cents, product.currency),
            "currency": product.currency,
        },
        notice=notice(page.viewer, notice_key),
    )


@router.post("/admin/catalogue/{product_id}", include_in_schema=False)
async def admin_product_update(
    product_id: uuid.UUID, request: Request, page: AdminPage, session: SystemSession
) -> Response:
    """Save the product's form, as ``PATCH /api/v1/products/{id}`` does."""
    assert page.user is not None
    form = await request.form()
    try:
        data = ProductUpdate.model_validate(
            {**_product_fields(form), "status": form_text(form, "status")}
        )
    except ValidationError as exc:
        raise _invalid(exc) from exc
    await courses.update_product(session, page.user, product_id, data)
    return RedirectResponse(f"/admin/catalogue/{product_id}?notice=product_saved", status_code=303)


def _form_course(form: FormData) -> uuid.UUID:
    try:
        return uuid.UUID(form_text(form, "course_id"))
    except ValueError as exc:
        raise Unprocessable("Choose a course.", code="course_required") from exc


@router.post("/admin/products/{product_id}/courses", include_in_schema=False)
async def admin_product_course_link(
    product_id: uuid.UUID, request: Request, page: AdminPage, session: SystemSession
) -> Response:
    """Sell one more course in the product, as ``PUT /api/v1/products/{id}/courses/{c}`` does."""
    assert page.user is not None
    course_id = _form_course(await request.form())
    await courses.link_course(session, page.user, product_id, course_id)
    return RedirectResponse(
        f"/admin/catalogue/{product_id}?notice=product_course_added", status_code=303
    )


@router.post("/admin/products/{product_id}/courses/{course_id}/remove", include_in_schema=False)
async def admin_product_course_unlink(
    product_id: uuid.UUID, course_id: uuid.UUID, page: AdminPage, session: SystemSession
) -> Response:
    """Stop selling a course in the product (buyers keep their access), as ``DELETE
    /api/v1/products/{id}/courses/{c}`` does."""
    assert page.user is not None
    await courses.unlink_course(session, page.user, product_id, course_id)
    return RedirectResponse(
        f"/admin/catalogue/{product_id}?notice=product_course_removed", status_code=303
    )
