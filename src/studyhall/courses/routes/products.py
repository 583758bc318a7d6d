"""HTTP for products: what the store sells (admins edit, anyone reads the public ones)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response, status

from studyhall.accounts.deps import Admin, OptionalUser
from studyhall.courses.models import Product
from studyhall.courses.schemas import ProductCreate, ProductPage, ProductRead, ProductUpdate
from studyhall.courses.service import products
from studyhall.db.deps import Session
from studyhall.db.rls import SystemSession
from studyhall.kit.errors import Forbidden
from studyhall.kit.paging import PageQuery

router = APIRouter()
NO_CONTENT = status.HTTP_204_NO_CONTENT


async def _reads(session: Session, rows: list[Product]) -> list[ProductRead]:
    links = await products.course_ids_of(session, [p.id for p in rows])
    return [
        ProductRead(
            id=p.id,
            name=p.name,
            description=p.description,
            image_url=p.image_url,
            price_cents=p.price_cents,
            currency=p.currency,
            status=p.status,
            course_ids=links[p.id],
        )
        for p in rows
    ]


async def _read(session: Session, product: Product) -> ProductRead:
    return (await _reads(session, [product]))[0]


@router.get("/products", summary="List products on sale")
async def products_list(
    session: Session, user: OptionalUser, page: PageQuery, include_private: bool = False
) -> ProductPage:
    """Public products, newest first, each with the ids of the courses it includes. Admins may
    ask for private ones too (403 ``role_required`` for anyone else)."""
    if include_private and (user is None or user.role != "admin"):
        raise Forbidden("Only admins see private products.", code="role_required")
    rows, cursor = await products.list_products(session, page, include_private=include_private)
    return ProductPage(items=await _reads(session, rows), next_cursor=cursor)


@router.get("/products/{product_id}", summary="Get a product on sale")
async def product_get(product_id: uuid.UUID, user: OptionalUser, session: Session) -> ProductRead:
    """A public product (a private one answers 404 to anyone but admins)."""
    return await _read(session, await products.visible_product(session, user, product_id))


@router.post("/products", status_code=status.HTTP_201_CREATED, summary="Create a product")
async def product_create(data: ProductCreate, user: Admin, session: Session) -> ProductRead:
    """Admins only: a product and the courses it includes."""
    return await _read(session, await products.create_product(session, user, data))


@router.patch("/products/{product_id}", summary="Change a product")
async def product_update(
    product_id: uuid.UUID, data: ProductUpdate, user: Admin, session: Session
) -> ProductRead:
    """Admins only. Purchases keep the name and price they were made at."""
    return await _read(session, await products.update_product(session, user, product_id, data))


@router.delete("/products/{product_id}", status_code=NO_CONTENT, summary="Delete a product")
async def product_delete(product_id: uuid.UUID, user: Admin, session: SystemSession) -> Response:
    """Admins only; refused (409 ``product_has_purchases``) once anyone bought it: make it
    private instead."""
    await products.delete_product(session, user, product_id)
    return Response(status_code=NO_CONTENT)


@router.put(
    "/products/{product_id}/courses/{course_id}",
    status_code=NO_CONTENT,
    summary="Include a course in a product",
)
async def product_course_link(
    product_id: uuid.UUID, course_id: uuid.UUID, user: Admin, session: Session
) -> Response:
    """Admins only; including it again changes nothing."""
    await products.link_course(session, user, product_id, course_id)
    return Response(status_code=NO_CONTENT)


@router.delete(
    "/products/{product_id}/courses/{course_id}",
    status_code=NO_CONTENT,
    summary="Remove a course from a product",
)
async def product_course_unlink(
    product_id: uuid.UUID, course_id: uuid.UUID, user: Admin, session: Session
) -> Response:
    """Admins only. Buyers keep the access their purchases granted."""
    await products.unlink_course(session, user, product_id, course_id)
    return Response(status_code=NO_CONTENT)
