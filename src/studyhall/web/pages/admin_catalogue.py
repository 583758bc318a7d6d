"""Admin page for the course catalogue: every product that sells courses, public or private,
with the courses it sells; publish one (it goes on sale in the catalogue) or take it down; and
the courses, each featured in the catalogue or not.

Publishing is the product's ``status`` through ``courses.service.update_product`` with the API's
``ProductUpdate`` schema, as ``PATCH /api/v1/products/{id}`` does; featuring is
``courses.service.set_featured``, as ``POST /api/v1/courses/{id}/feature`` does (both audited).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Query
from starlette.responses import RedirectResponse, Response

from studyhall.courses import service as courses
from studyhall.courses.schemas import ProductUpdate
from studyhall.db.rls import SystemSession
from studyhall.kit.paging import PageRequest
from studyhall.web.messages import notice
from studyhall.web.pages.admin import AdminPage
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
