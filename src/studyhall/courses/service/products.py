"""Products: what the store sells, and the courses each one includes. Purchases live in
``purchases.py``, admin grants in ``grants.py``."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import delete, exists, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.accounts.models import User
from studyhall.audit import service as audit
from studyhall.courses.models import Course, CourseProduct, Product, Purchase
from studyhall.courses.schemas import ProductCreate, ProductUpdate
from studyhall.courses.service.constraints import constraint_name
from studyhall.courses.service.lookups import KEY_SHARE, get_or_404
from studyhall.kit.errors import Conflict, NotFound, Unprocessable
from studyhall.kit.paging import PageRequest, after


async def course_ids_of(
    session: AsyncSession, product_ids: list[uuid.UUID]
) -> dict[uuid.UUID, list[uuid.UUID]]:
    query = (
        select(CourseProduct.product_id, CourseProduct.course_id)
        .where(CourseProduct.product_id.in_(product_ids))
        .order_by(CourseProduct.created_at, CourseProduct.course_id)
    )
    linked: dict[uuid.UUID, list[uuid.UUID]] = {product_id: [] for product_id in product_ids}
    for product_id, course_id in (await session.execute(query)).all():
        linked[product_id].append(course_id)
    return linked


async def list_products(
    session: AsyncSession, page: PageRequest, *, include_private: bool
) -> tuple[list[Product], str | None]:
    """Newest first; private products only when asked (the route lets only admins ask)."""
    order = (Product.created_at.expression, Product.id.expression)
    query = select(Product).order_by(*(c.desc() for c in order)).limit(page.limit + 1)
    beyond = after(order, page.key(datetime, uuid.UUID), descending=True)
    if beyond is not None:
        query = query.where(beyond)
    if not include_private:
        query = query.where(Product.status == "public")
    rows = list((await session.scalars(query)).all())
    return page.of(rows, lambda product: (product.created_at, product.id))


async def visible_product(
    session: AsyncSession, user: User | None, product_id: uuid.UUID, *, lock: bool = False
) -> Product:
    """A private product is invisible to everyone but admins: it answers like a missing one.
    ``lock`` keeps it from being deleted before the caller's purchase row references it."""
    product = await session.get(Product, product_id, with_for_update=KEY_SHARE if lock else False)
    if product is None or (product.status != "public" and (user is None or user.role != "admin")):
        raise NotFound(f"No product with id {product_id} is on sale.", code="product_not_found")
    return product


async def _check_courses(session: AsyncSession, course_ids: list[uuid.UUID]) -> None:
    query = select(Course.id).where(Course.id.in_(course_ids)).with_for_update(key_share=True)
    found = set((await session.scalars(query)).all())
    missing = sorted(str(i) for i in set(course_ids) - found)
    if missing:
        raise Unprocessable(
            f"No course with id {', '.join(missing)}.", code="course_not_found", missing_ids=missing
        )


async def create_product(session: AsyncSession, actor: User, data: ProductCreate) -> Product:
    course_ids = list(dict.fromkeys(data.course_ids))
    await _check_courses(session, course_ids)
    values = data.model_dump(exclude={"course_ids"})
    values["image_url"] = str(values["image_url"])
    product = Product(**values)
    session.add(product)
    await session.flush()
    for course_id in course_ids:
        session.add(CourseProduct(course_id=course_id, product_id=product.id))
    await session.flush()
    await audit.record(
        session,
        actor.id,
        "product.create",
        "product",
        product.id,
        {**values, "course_ids": course_ids},
    )
    return product


async def update_product(
    session: AsyncSession, actor: User, product_id: uuid.UUID, data: ProductUpdate
) -> Product:
    product = await get_or_404(session, Product, product_id, "product", lock=True)
    changes = data.model_dump(exclude_unset=True, exclude_none=True)
    if "image_url" in changes:
        changes["image_url"] = str(changes["image_url"])
    before = {key: getattr(product, key) for key in changes}
    for key, value in changes.items():
        setattr(product, key, value)
    await session.flush()
    await audit.record(
        session, actor.id, "product.update", "product", product.id, audit.changes(before, changes)
    )
    return product


def _has_purchases() -> Conflict:
    return Conflict(
        "The product has purchases and cannot be deleted; set its status to private instead.",
        code="product_has_purchases",
    )


async def delete_product(session: AsyncSession, actor: User, product_id: uuid.UUID) -> None:
    """Refused (409) once purchases reference it (they keep what was bought); its course links go
    with it. The admin's route reads across users: other buyers' purchases count too."""
    product = await get_or_404(session, Product, product_id, "product", lock=True)
    if await session.scalar(select(exists().where(Purchase.product_id == product.id))):
        raise _has_purchases()
    await session.delete(product)
    try:
        await session.flush()
    except IntegrityError as exc:
        if constraint_name(exc) == "fk_purchases_product_id_products":
            raise _has_purchases() from exc
        raise
    await audit.record(
        session, actor.id, "product.delete", "product", product_id, {"name": product.name}
    )


async def link_course(
    session: AsyncSession, actor: User, product_id: uuid.UUID, course_id: uuid.UUID
) -> None:
    await get_or_404(session, Product, product_id, "product", lock=True)
    await get_or_404(session, Course, course_id, "course", lock=True)
    inserted = await session.execute(
        insert(CourseProduct)
        .values(course_id=course_id, product_id=product_id)
        .on_conflict_do_nothing()
        .returning(CourseProduct.course_id)
    )
    if inserted.first() is not None:
        await audit.record(
            session,
            actor.id,
            "product.link_course",
            "product",
            product_id,
            {"course_id": course_id},
        )


async def unlink_course(
    session: AsyncSession, actor: User, product_id: uuid.UUID, course_id: uuid.UUID
) -> None:
    removed = await session.execute(
        delete(CourseProduct)
        .where(CourseProduct.product_id == product_id, CourseProduct.course_id == course_id)
        .returning(CourseProduct.course_id)
    )
    if removed.first() is None:
        raise NotFound("The course is not linked to that product.", code="course_link_not_found")
    await audit.record(
        session, actor.id, "product.unlink_course", "product", product_id, {"course_id": course_id}
    )
