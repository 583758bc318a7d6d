"""The tutor's pages: profile, offerings, bookings to approve or decline, earnings (weekly
hours and time off are in ``availability``).

Each handler turns a form into the schema the API takes and calls the same scheduling and
accounts services as the API routes, with the same tutor-only rule.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import ValidationError
from starlette.datastructures import FormData
from starlette.responses import RedirectResponse, Response

from studyhall.accounts import service as profiles
from studyhall.accounts.schemas import TutorProfileUpdate
from studyhall.db.deps import Session
from studyhall.kit.errors import DomainError, Forbidden
from studyhall.kit.paging import PageRequest
from studyhall.scheduling import service as scheduling
from studyhall.scheduling.models import Offering
from studyhall.scheduling.schemas import OfferingCreate, OfferingUpdate
from studyhall.web.deps import MemberPage
from studyhall.web.errors import FormInvalid
from studyhall.web.messages import FIELD_FALLBACK, domain_message, notice
from studyhall.web.rendering import Visit, render

router = APIRouter()

Notice = Annotated[str | None, Query(alias="notice", max_length=40)]
PAGE_SIZE = 100


async def tutor_only(page: MemberPage) -> Visit:
    """The same role rule as the API's tutor routes."""
    assert page.user is not None
    if page.user.role != "tutor":
        raise Forbidden("This needs the tutor role.", code="role_required")
    return page


TutorPage = Annotated[Visit, Depends(tutor_only)]


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def _see(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def _cents(value: str) -> int | str:
    """Whole currency units as typed ("25" or "25.50") in minor units; the text when unreadable
    (the schema then names the field)."""
    try:
        return round(float(value) * 100)
    except ValueError:
        return value


def _field_errors(page: Visit, exc: ValidationError) -> dict[str, str]:
    errors: dict[str, str] = {}
    for error in exc.errors():
        field = str(error["loc"][0]) if error["loc"] else ""
        errors.setdefault(field, page.viewer.gettext(FIELD_FALLBACK))
    return errors


def _domain_errors(page: Visit, exc: DomainError, default_field: str) -> dict[str, str]:
    return {str(exc.extra.get("field", default_field)): domain_message(page.viewer, exc)}


# --- overview and profile -------------------------------------------------------------------


async def _overview(page: Visit, session: Session, **extra: Any) -> dict[str, Any]:
    assert page.user is not None
    await profiles.ensure_profile(session, page.user)
    profile = await profiles.tutor_profile(session, page.user.id)
    values = {
        "bio": profile.bio or "",
        "subjects": ", ".join(profile.subjects),
        "hourly_rate": f"{profile.hourly_rate_cents / 100:.2f}",
        "currency": profile.currency,
        "meeting_link": profile.meeting_link or "",
        "is_available": profile.is_available,
    }
    verified = profile.verification_status == "verified"
    return {"profile": profile, "verified": verified, "values": values, "errors": {}, **extra}


@router.get("/teach", include_in_schema=False)
async def teaching_home(page: TutorPage, session: Session, notice_key: Notice = None) -> Response:
    context = await _overview(page, session, notice=notice(page.viewer, notice_key))
    return render(page, "teach.html", **context)


@router.post("/teach/profile", include_in_schema=False)
async def save_profile(request: Request, page: TutorPage, session: Session) -> Response:
    assert page.user is not None
    form = await request.form()
    values: dict[str, Any] = {
        key: _text(form, key) for key in ("bio", "subjects", "hourly_rate", "currency")
    }
    values["meeting_link"] = _text(form, "meeting_link")
    values["is_available"] = form.get("is_available") == "on"
    context = await _overview(page, session)
    profile = context.pop("profile")
    try:
        data = TutorProfileUpdate(
            bio=values["bio"] or None,
            subjects=[s.strip() for s in values["subjects"].split(",") if s.strip()],
            hourly_rate_cents=_cents(values["hourly_rate"]),
            currency=values["currency"].upper(),
            meeting_link=values["meeting_link"] or None,
            is_available=values["is_available"],
        )
        changes = data.model_dump(exclude_unset=True, mode="json")
        await profiles.update_profile(session, page.user, profile, changes)
    except ValidationError as exc:
        errors = _field_errors(page, exc)
        if "hourly_rate_cents" in errors:
            errors["hourly_rate"] = errors.pop("hourly_rate_cents")
        raise FormInvalid("teach.html", **{**context, "values": values, "errors": errors}) from exc
    except DomainError as exc:
        raise FormInvalid(
            "teach.html",
            status_code=exc.status,
            **{**context, "values": values, "errors": _domain_errors(page, exc, "bio")},
        ) from exc
    return _see("/teach?notice=profile_saved")


# --- offerings ------------------------------------------------------------------------------

OFFERING_FIELDS = ("title", "description", "topic_tags", "duration_minutes", "price", "currency")


def _offering_values(form: FormData) -> dict[str, Any]:
    values: dict[str, Any] = {key: _text(form, key) for key in OFFERING_FIELDS}
    values["max_participants"] = _text(form, "max_participants") or "1"
    values["requires_approval"] = form.get("requires_approval") == "on"
    values["is_active"] = form.get("is_active") == "on"
    return values


def _offering_data(values: dict[str, Any]) -> dict[str, Any]:
    return {
        "title": values["title"],
        "description": values["description"],
        "topic_tags": [t.strip() for t in values["topic_tags"].split(",") if t.strip()],
        "duration_minutes": values["duration_minutes"],
        "price_cents": _cents(values["price"]),
        "currency": values["currency"].upper(),
        "max_participants": values["max_participants"],
        "requires_approval": values["requires_approval"],
        "is_active": values["is_active"],
    }


def _offering_errors(page: Visit, exc: ValidationError) -> dict[str, str]:
    errors = _field_errors(page, exc)
    if "price_cents" in errors:
        errors["price"] = errors.pop("price_cents")
    return errors


def _values_of(offering: Offering) -> dict[str, Any]:
    return {
        "title": offering.title,
        "description": offering.description,
        "topic_tags": ", ".join(offering.topic_tags),
        "duration_minutes": str(offering.duration_minutes),
        "price": f"{offering.price_cents / 100:.2f}",
        "currency": offering.currency,
        "max_participants": str(offering.max_participants),
        "requires_approval": offering.requires_approval,
        "is_active": offering.is_active,
    }


def _shown_offering(offering: Offering) -> dict[str, Any]:
    """Plain values, so a page drawn after a rollback does not reload the row."""
    return {
        "id": offering.id,
        "title": offering.title,
        "duration_minutes": offering.duration_minutes,
        "price_cents": offering.price_cents,
        "currency": offering.currency,
        "requires_approval": offering.requires_approval,
    }


async def _own_offerings(page: Visit, session: Session) -> list[dict[str, Any]]:
    assert page.user is not None
    rows, _ = await scheduling.list_offerings(
        session, page.user.id, None, PageRequest(limit=PAGE_SIZE, cursor=None), page.user
    )
    return [_shown_offering(row) for row in rows]


NEW_OFFERING = {
    "title": "",
    "description": "",
    "topic_tags": "",
    "duration_minutes": "60",
    "price": "",
    "currency": "USD",
    "max_participants": "1",
    "requires_approval": False,
    "is_active": True,
}


@router.get("/teach/offerings", include_in_schema=False)
async def offerings_page(page: TutorPage, session: Session, notice_key: Notice = None) -> Response:
    return render(
        page,
        "teach_offerings.html",
        offerings=await _own_offerings(page, session),
        values=NEW_OFFERING,
        errors={},
        notice=notice(page.viewer, notice_key),
    )


@router.post("/teach/offerings", include_in_schema=False)
async def create_offering(request: Request, page: TutorPage, session: Session) -> Response:
    assert page.user is not None
    values = _offering_values(await request.form())
    offerings = await _own_offerings(page, session)
    try:
        await scheduling.create_offering(
            session, page.user, OfferingCreate.model_validate(_offering_data(values))
        )
    except ValidationError as exc:
        raise FormInvalid(
            "teach_offerings.html",
            offerings=offerings,
            values=values,
            errors=_offering_errors(page, exc),
            notice=None,
        ) from exc
    except DomainError as exc:
        raise FormInvalid(
            "teach_offerings.html",
            status_code=exc.status,
            offerings=offerings,
            values=values,
            errors=_domain_errors(page, exc, "title"),
            notice=None,
        ) from exc
    return _see("/teach/offerings?notice=offering_saved")


@router.get("/teach/offerings/{offering_id}", include_in_schema=False)
async def offering_page(offering_id: uuid.UUID, page: TutorPage, session: Session) -> Response:
    assert page.user is not None
    offering = await scheduling.owned_offering(session, page.user, offering_id)
    return render(
        page,
        "teach_offering.html",
        offering=_shown_offering(offering),
        values=_values_of(offering),
        errors={},
    )


@router.post("/teach/offerings/{offering_id}", include_in_schema=False)
async def update_offering(
    offering_id: uuid.UUID, request: Request, page: TutorPage, session: Session
) -> Response:
    assert page.user is not None
    values = _offering_values(await request.form())
    offering = _shown_offering(await scheduling.owned_offering(session, page.user, offering_id))
    try:
        data = OfferingUpdate.model_validate(_offering_data(values))
        await scheduling.update_offering(session, page.user, offering_id, data)
    except ValidationError as exc:
        raise FormInvalid(
            "teach_offering.html",
            offering=offering,
            values=values,
            errors=_offering_errors(page, exc),
        ) from exc
    except DomainError as exc:
        raise FormInvalid(
            "teach_offering.html",
            status_code=exc.status,
            offering=offering,
            values=values,
            errors=_domain_errors(page, exc, "title"),
        ) from exc
    return _see("/teach/offerings?notice=offering_saved")


# --- bookings to approve, earnings ------------------------------------------------------------


async def _rows(page: Visit, session: Session, status: str) -> list[dict[str, Any]]:
    assert page.user is not None
    bookings, _ = await scheduling.list_bookings(
        session, page.user, status, PageRequest(limit=PAGE_SIZE, cursor=None)
    )
    return [
        await scheduling.get_booking_details(session, page.user, booking.id)
        for booking in bookings
        if booking.tutor_id == page.user.id
    ]


@router.get("/teach/requests", include_in_schema=False)
async def requests_page(page: TutorPage, session: Session, notice_key: Notice = None) -> Response:
    return render(
        page,
        "teach_requests.html",
        waiting=await _rows(page, session, "pending_approval"),
        notice=notice(page.viewer, notice_key),
    )


@router.post("/teach/requests/{booking_id}/approve", include_in_schema=False)
async def approve(booking_id: uuid.UUID, page: TutorPage, session: Session) -> Response:
    assert page.user is not None
    await scheduling.approve(session, page.user, booking_id, scheduling.utcnow())
    return _see("/teach/requests?notice=approved")


@router.post("/teach/requests/{booking_id}/decline", include_in_schema=False)
async def decline(
    booking_id: uuid.UUID, request: Request, page: TutorPage, session: Session
) -> Response:
    assert page.user is not None
    reason = _text(await request.form(), "reason")[:500] or None
    await scheduling.decline(session, page.user, booking_id, reason, scheduling.utcnow())
    return _see("/teach/requests?notice=declined")


@router.get("/teach/earnings", include_in_schema=False)
async def earnings_page(page: TutorPage, session: Session) -> Response:
    assert page.user is not None
    await profiles.ensure_profile(session, page.user)
    profile = await profiles.tutor_profile(session, page.user.id)
    completed = await _rows(page, session, "completed")
    lines = [
        {
            "booking": row,
            "earned": scheduling.tutor_share(
                row["amount_captured_cents"] - row["amount_refunded_cents"]
            ),
        }
        for row in completed
    ]
    return render(page, "teach_earnings.html", profile=profile, lines=lines)
