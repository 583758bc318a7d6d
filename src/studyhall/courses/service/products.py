"""Products, course links and admin grants. Purchases live in ``purchases.py``."""

from __future__ import annotations

import uuid

from sqlalchemy import delete, exists, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.accounts.models import User
from studyhall.audit import service as audit
from studyhall.courses.common import KEY_SHARE, constraint_name, get_or_404, now, trusted
from studyhall.courses.models import Course, CourseAccess, CourseProduct, Product, Purchase
from studyhall.courses.schemas import ProductCreate, ProductUpdate
from studyhall.kit.errors import Conflict, NotFound, Unprocessable


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


async def list_products(session: AsyncSession, *, include_private: bool) -> list[Product]:
    query = select(Product).order_by(Product.created_at.desc(), Product.id)
    if not include_private:
        query = query.where(Product.status == "public")
    return list((await session.scalars(query)).all())


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
    """Seed 004: RESTRICT while purchases reference it; CASCADE to its course links."""
    await trusted(session)
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


# --- admin grants ---------------------------------------------------------------------------


async def grant_access(
    session: AsyncSession, actor: User, course_id: uuid.UUID, user_id: uuid.UUID
) -> tuple[CourseAccess, bool]:
    """Free access granted by an admin; granting again returns the live grant unchanged."""
    await trusted(session)
    await get_or_404(session, Course, course_id, "course", key_share=True)
    grantee = await session.get(User, user_id)
    if grantee is None or grantee.deleted_at is not None:
        raise Unprocessable(f"No user with id {user_id}.", code="user_not_found")
    inserted = await session.scalar(
        insert(CourseAccess)
        .values(user_id=user_id, course_id=course_id, source="grant", granted_by_user_id=actor.id)
        .on_conflict_do_nothing(
            index_elements=["user_id", "course_id"],
            # A literal predicate: a bound parameter cannot match the partial index once
            # psycopg prepares the statement.
            index_where=text("source = 'grant' AND revoked_at IS NULL"),
        )
        .returning(CourseAccess.id)
    )
    if inserted is not None:
        await audit.record(
            session,
            actor.id,
            "course_access.grant",
            "course_access",
            inserted,
            {"user_id": user_id, "course_id": course_id},
        )
    live = await session.scalar(
        select(CourseAccess).where(
            CourseAccess.user_id == user_id,
            CourseAccess.course_id == course_id,
            CourseAccess.source == "grant",
            CourseAccess.revoked_at.is_(None),
        )
    )
    assert live is not None
    return live, inserted is not None


async def revoke_grant(
    session: AsyncSession, actor: User, course_id: uuid.UUID, user_id: uuid.UUID
) -> None:
    """Revokes the admin grant only: access bought through a purchase stays."""
    await trusted(session)
    revoked = await session.scalar(
        update(CourseAccess)
        .where(
            CourseAccess.user_id == user_id,
            CourseAccess.course_id == course_id,
            CourseAccess.source == "grant",
            CourseAccess.revoked_at.is_(None),
        )
        .values(revoked_at=now())
        .returning(CourseAccess.id)
    )
    if revoked is None:
        raise NotFound("That user holds no live grant for the course.", code="grant_not_found")
    await audit.record(
        session,
        actor.id,
        "course_access.revoke",
        "course_access",
        revoked,
        {"user_id": user_id, "course_id": course_id},
    )
