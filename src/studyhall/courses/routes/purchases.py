"""HTTP for products, checkout, purchases, admin grants, completion and progress."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response, status
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.accounts.deps import Admin, CurrentUser, CurrentUserDetached, OptionalUser
from studyhall.billing import service as billing
from studyhall.courses import service
from studyhall.courses.learning import percent
from studyhall.courses.models import Lesson, Product
from studyhall.courses.schemas import (
    AccessRead,
    CheckoutRead,
    CompletionRead,
    ContinueRead,
    CourseProgress,
    GrantCreate,
    LessonSummary,
    ProductCreate,
    ProductRead,
    ProductUpdate,
    ProgressLesson,
    ProgressSummary,
    PurchaseRead,
)
from studyhall.db.deps import AppDatabase, Session
from studyhall.kit import idempotency
from studyhall.kit.errors import Forbidden

router = APIRouter(tags=["courses"])
NO_CONTENT = status.HTTP_204_NO_CONTENT
CREATED = status.HTTP_201_CREATED


async def _products(session: Session, products: list[Product]) -> list[ProductRead]:
    links = await service.course_ids_of(session, [p.id for p in products])
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
        for p in products
    ]


@router.get("/products", summary="List products on sale; admins may include private (public)")
async def list_products(
    session: Session, user: OptionalUser, include_private: bool = False
) -> list[ProductRead]:
    if include_private and (user is None or user.role != "admin"):
        raise Forbidden("Only admins see private products.", code="role_required")
    return await _products(
        session, await service.list_products(session, include_private=include_private)
    )


@router.get("/products/{product_id}", summary="A product on sale (public)")
async def get_product(product_id: uuid.UUID, user: OptionalUser, session: Session) -> ProductRead:
    return (await _products(session, [await service.visible_product(session, user, product_id)]))[0]


@router.post("/products", status_code=CREATED, summary="Create a product (admin)")
async def create_product(data: ProductCreate, user: Admin, session: Session) -> ProductRead:
    return (await _products(session, [await service.create_product(session, user, data)]))[0]


@router.patch("/products/{product_id}", summary="Change a product (admin)")
async def update_product(
    product_id: uuid.UUID, data: ProductUpdate, user: Admin, session: Session
) -> ProductRead:
    product = await service.update_product(session, user, product_id, data)
    return (await _products(session, [product]))[0]


@router.delete(
    "/products/{product_id}",
    status_code=NO_CONTENT,
    summary="Delete a product and its course links; 409 once it has purchases (admin)",
)
async def delete_product(product_id: uuid.UUID, user: Admin, session: Session) -> Response:
    await service.delete_product(session, user, product_id)
    return Response(status_code=NO_CONTENT)


@router.put(
    "/products/{product_id}/courses/{course_id}",
    status_code=NO_CONTENT,
    summary="Sell a course in a product (admin)",
)
async def link_course(
    product_id: uuid.UUID, course_id: uuid.UUID, user: Admin, session: Session
) -> Response:
    await service.link_course(session, user, product_id, course_id)
    return Response(status_code=NO_CONTENT)


@router.delete(
    "/products/{product_id}/courses/{course_id}",
    status_code=NO_CONTENT,
    summary="Stop selling a course in a product (admin)",
)
async def unlink_course(
    product_id: uuid.UUID, course_id: uuid.UUID, user: Admin, session: Session
) -> Response:
    await service.unlink_course(session, user, product_id, course_id)
    return Response(status_code=NO_CONTENT)


# --- purchases ------------------------------------------------------------------------------


class PaidCheckoutRead(CheckoutRead):
    """The purchase and, when it awaits money, the payment started for it with what the client
    needs to pay (client secret, checkout URL or Paymob key; nothing more for ``manual``)."""

    payment: billing.PaymentStarted | None = None


@router.post(
    "/products/{product_id}/checkout",
    status_code=CREATED,
    response_model=PaidCheckoutRead,
    summary="Buy a product: free ones grant access now, paid ones start a payment",
)
async def checkout(
    product_id: uuid.UUID,
    user: CurrentUserDetached,
    database: AppDatabase,
    key: Annotated[str | None, Depends(idempotency.idempotency_key_header)],
    body: billing.PurchaseBody | None = None,
) -> Any:
    payload = body or billing.PurchaseBody()

    # With an Idempotency-Key a retried checkout replays its answer instead of starting another
    # payment attempt; without one each paid checkout is a new attempt (billing refunds any
    # second success).
    async def prepare(session: AsyncSession) -> billing.Intent:
        purchase, created, payment = await billing.checkout_course_purchase(
            session, user, product_id, payload.provider
        )
        code = CREATED if created else status.HTTP_200_OK
        return billing.Intent(code, purchase.id, None if payment is None else payment.id)

    async def answer(
        session: AsyncSession, intent: billing.Intent, opened: billing.Started | None
    ) -> PaidCheckoutRead:
        purchase = await service.get_purchase(session, user, intent.subject_id)
        return PaidCheckoutRead(
            purchase=PurchaseRead.model_validate(purchase),
            payment_required=purchase.status == "pending",
            payment=None if opened is None else billing.started(opened),
        )

    return await billing.pay_once(
        database,
        user_id=user.id,
        key=key,
        scope=f"POST /products/{product_id}/checkout",
        payload=payload,
        prepare=prepare,
        answer=answer,
    )


@router.get("/me/purchases", summary="My purchase history: paid, not refunded, newest first")
async def my_purchases(user: CurrentUser, session: Session) -> list[PurchaseRead]:
    return [
        PurchaseRead.model_validate(p) for p in await service.purchase_history(session, user.id)
    ]


@router.get("/purchases/{purchase_id}", summary="One purchase (its buyer or an admin)")
async def get_purchase(purchase_id: uuid.UUID, user: CurrentUser, session: Session) -> PurchaseRead:
    return PurchaseRead.model_validate(await service.get_purchase(session, user, purchase_id))


@router.post(
    "/purchases/{purchase_id}/refund",
    summary="Refund a purchase within the window (its buyer or an admin)",
    response_model=PurchaseRead,
)
async def refund(
    purchase_id: uuid.UUID,
    user: CurrentUser,
    session: Session,
    request: Request,
    key: Annotated[str | None, Depends(idempotency.idempotency_key_header)],
) -> Any:
    # With an Idempotency-Key a retried refund replays its answer; without one a repeat meets
    # the refund already made (or on its way).
    async def work() -> PurchaseRead:
        purchase = await service.get_purchase(session, user, purchase_id)
        if purchase.status == "paid" and purchase.payment_id is not None:
            # Money was paid through billing: it goes back the same way, and the purchase
            # follows.
            purchase = await billing.refund_course_purchase(session, purchase, user)
        else:
            # Free, unpaid or already refunded: courses' rules alone, no money to move.
            days = request.app.state.settings.course_refund_window_days
            purchase = await service.refund_purchase(
                session, purchase_id, user, window=timedelta(days=days)
            )
        return PurchaseRead.model_validate(purchase)

    return await billing.once(
        session,
        key=key,
        user_id=user.id,
        scope=f"POST /purchases/{purchase_id}/refund",
        payload={},
        status=status.HTTP_200_OK,
        work=work,
    )


@router.post(
    "/courses/{course_id}/grants", status_code=CREATED, summary="Grant free access (admin)"
)
async def grant(
    course_id: uuid.UUID, data: GrantCreate, user: Admin, session: Session, response: Response
) -> AccessRead:
    access, created = await service.grant_access(session, user, course_id, data.user_id)
    if not created:
        response.status_code = status.HTTP_200_OK
    return AccessRead.model_validate(access)


@router.delete(
    "/courses/{course_id}/grants/{user_id}",
    status_code=NO_CONTENT,
    summary="Revoke an admin grant; purchased access stays (admin)",
)
async def revoke_grant(
    course_id: uuid.UUID, user_id: uuid.UUID, user: Admin, session: Session
) -> Response:
    await service.revoke_grant(session, user, course_id, user_id)
    return Response(status_code=NO_CONTENT)


# --- completion and progress ----------------------------------------------------------------


@router.put("/lessons/{lesson_id}/completion", summary="Mark a lesson complete (idempotent)")
async def complete(lesson_id: uuid.UUID, user: CurrentUser, session: Session) -> CompletionRead:
    completed_at = await service.complete_lesson(session, user, lesson_id)
    return CompletionRead(lesson_id=lesson_id, completed_at=completed_at)


@router.delete(
    "/lessons/{lesson_id}/completion",
    status_code=NO_CONTENT,
    summary="Mark a lesson not complete (idempotent)",
)
async def uncomplete(lesson_id: uuid.UUID, user: CurrentUser, session: Session) -> Response:
    await service.uncomplete_lesson(session, user, lesson_id)
    return Response(status_code=NO_CONTENT)


@router.get("/courses/{course_id}/progress", summary="My progress in a course")
async def progress(course_id: uuid.UUID, user: CurrentUser, session: Session) -> CourseProgress:
    found = await service.course_progress(session, user.id, course_id)
    return CourseProgress(
        course_id=course_id,
        total_lessons=found.total,
        completed_lessons=found.completed,
        percent=found.percent,
        lessons=[ProgressLesson(**vars(row)) for row in found.rows],
    )


@router.get("/courses/{course_id}/continue", summary="The next lesson I have not completed")
async def continue_course(
    course_id: uuid.UUID, user: CurrentUser, session: Session
) -> ContinueRead:
    found = await service.course_progress(session, user.id, course_id)
    next_id = found.next_lesson_id()
    lesson = None if next_id is None else await session.get(Lesson, next_id)
    return ContinueRead(
        course_id=course_id,
        lesson=None if lesson is None else LessonSummary.model_validate(lesson),
        course_completed=found.total > 0 and next_id is None,
    )


@router.get("/me/courses", summary="Courses I can access, with my progress in each")
async def my_courses(
    user: CurrentUser,
    session: Session,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[ProgressSummary]:
    rows = await service.progress_summaries(session, user.id)
    return [
        ProgressSummary(
            course_id=course_id,
            title=title,
            total_lessons=total,
            completed_lessons=done,
            percent=percent(done, total),
        )
        for course_id, title, total, done in rows[:limit]
    ]
