"""Sign up, confirm the email address, sign in, reset a forgotten password, sign out.

Each handler calls the accounts services the API calls, with the same rate limits; only the way
tokens travel differs (cookies instead of a JSON body).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import ValidationError
from starlette.datastructures import FormData
from starlette.responses import RedirectResponse, Response

from studyhall.accounts import service
from studyhall.accounts.deps import TOO_MANY_SIGN_INS, client_ip, signin_limits
from studyhall.accounts.schemas import EmailOnly, SignUp
from studyhall.db.deps import Session, get_database
from studyhall.kit.errors import DomainError
from studyhall.web.deps import AccountPage, Page
from studyhall.web.errors import FormInvalid
from studyhall.web.messages import FIELD_FALLBACK, FIELD_PROBLEMS, domain_message, notice
from studyhall.web.rendering import Visit, render
from studyhall.web.sessions import REFRESH_COOKIE, client_details, end_session, start_session

router = APIRouter()

Token = Annotated[str, Query(min_length=10, max_length=200)]


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def _secret(request: Request) -> str:
    return str(request.app.state.settings.secret_key.get_secret_value())


def _field_errors(page: Visit, exc: ValidationError) -> dict[str, str]:
    errors: dict[str, str] = {}
    for error in exc.errors():
        field = str(error["loc"][0]) if error["loc"] else ""
        errors.setdefault(field, page.viewer.gettext(FIELD_PROBLEMS.get(field, FIELD_FALLBACK)))
    return errors


def safe_next(target: str | None) -> str:
    """Only a path on this site: an open redirect would help phishing."""
    if target and target.startswith("/") and not target.startswith("//"):
        return target
    return "/home"


def _see(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


@router.get("/sign-up", summary="Sign-up page (public)", include_in_schema=False)
async def sign_up_page(page: Page) -> Response:
    if page.user is not None:
        return _see("/home")
    return render(page, "sign_up.html", values={"role": "student"}, errors={})


@router.post("/sign-up", include_in_schema=False)
async def sign_up(request: Request, page: Page, session: Session) -> Response:
    form = await request.form()
    values = {
        key: _text(form, key)
        for key in ("name", "email", "role", "timezone", "date_of_birth", "country")
    }
    try:
        data = SignUp(
            **{
                **values,
                "date_of_birth": values["date_of_birth"] or None,
                "country": values["country"] or None,
            },
            password=_text(form, "password"),
        )
        user = await service.sign_up(session, data)
        await service.request_verification(session, user, request.app.state.settings)
    except ValidationError as exc:
        raise FormInvalid("sign_up.html", values=values, errors=_field_errors(page, exc)) from exc
    except DomainError as exc:
        field = str(exc.extra.get("field", "email"))
        if field == "new_password":
            field = "password"
        errors = {field: domain_message(page.viewer, exc)}
        raise FormInvalid(
            "sign_up.html", status_code=exc.status, values=values, errors=errors
        ) from exc
    tokens = await service.issue_tokens(
        session, user, _secret(request), client=client_details(request)
    )
    start_session(request, tokens)
    # A minor is limited until a guardian consents, so they are asked for one at once.
    if await service.blocks(session, user, request.app.state.settings):
        return _see("/guardian-request?notice=guardian_needed")
    return _see("/home?notice=verify_sent")


@router.get("/sign-in", summary="Sign-in page (public)", include_in_schema=False)
async def sign_in_page(
    page: Page,
    next: str | None = None,
    notice_key: Annotated[str | None, Query(alias="notice")] = None,
) -> Response:
    if page.user is not None:
        return _see(safe_next(next))
    return render(
        page,
        "sign_in.html",
        values={"email": ""},
        next=safe_next(next),
        error=None,
        notice=notice(page.viewer, notice_key),
    )


@router.post("/sign-in", include_in_schema=False)
async def sign_in(request: Request, page: Page, session: Session) -> Response:
    form = await request.form()
    email, password = _text(form, "email"), _text(form, "password")
    target = safe_next(_text(form, "next"))
    context: dict[str, Any] = {"values": {"email": email}, "next": target, "notice": None}
    limits = signin_limits(request, email)
    try:
        await service.hit(get_database(request), limits, TOO_MANY_SIGN_INS)
        user = await service.authenticate(session, email, password)
    except DomainError as exc:
        raise FormInvalid(
            "sign_in.html",
            status_code=exc.status,
            headers=exc.headers,
            error=domain_message(page.viewer, exc),
            **context,
        ) from exc
    await service.give_back(session, limits)
    tokens = await service.issue_tokens(
        session, user, _secret(request), client=client_details(request)
    )
    start_session(request, tokens)
    return _see(target)


@router.post("/sign-out", include_in_schema=False)
async def sign_out(request: Request, page: AccountPage, session: Session) -> Response:
    assert page.user is not None
    await service.sign_out(
        session,
        page.user,
        getattr(request.state, "session_id", None),
        request.cookies.get(REFRESH_COOKIE),
    )
    end_session(request)
    return _see("/sign-in?notice=signed_out")


@router.get(
    "/verify-email", summary="The emailed confirmation link (public)", include_in_schema=False
)
async def verify_email_page(page: Page, session: Session, token: Token) -> Response:
    # Opening the link only shows a button: mail scanners that prefetch links must not spend it.
    live = await service.peek(session, token, "email_verification")
    return render(page, "verify_email.html", token=token, live=live is not None)


@router.post("/verify-email", include_in_schema=False)
async def verify_email(request: Request, page: Page, session: Session) -> Response:
    form = await request.form()
    token = _text(form, "token")
    try:
        await service.confirm_verification(session, token)
    except DomainError as exc:
        raise FormInvalid(
            "verify_email.html", status_code=exc.status, token=token, live=False
        ) from exc
    return _see("/home?notice=verified" if page.user else "/sign-in?notice=verified")


@router.post("/verify-email/resend", include_in_schema=False)
async def resend_verification(request: Request, page: AccountPage, session: Session) -> Response:
    assert page.user is not None
    await service.request_verification(session, page.user, request.app.state.settings)
    return _see("/home?notice=verify_sent")


@router.get("/forgot-password", summary="Ask for a reset link (public)", include_in_schema=False)
async def forgot_password_page(page: Page) -> Response:
    return render(page, "forgot_password.html", values={"email": ""}, error=None, sent=False)


@router.post("/forgot-password", include_in_schema=False)
async def forgot_password(request: Request, page: Page, session: Session) -> Response:
    form = await request.form()
    email = _text(form, "email")
    settings = request.app.state.settings
    window = settings.reset_window_s
    try:
        EmailOnly(email=email)
        await service.hit(
            get_database(request),
            [
                service.Limit(
                    f"reset:ip:{client_ip(request)}", settings.reset_limit_per_ip, window
                ),
                service.Limit(
                    f"reset:account:{service.account_key(email)}",
                    settings.reset_limit_per_account,
                    window,
                ),
            ],
            "Too many password reset requests; wait before asking again.",
        )
    except ValidationError as exc:
        raise FormInvalid(
            "forgot_password.html",
            values={"email": email},
            error=page.viewer.gettext(FIELD_PROBLEMS["email"]),
            sent=False,
        ) from exc
    except DomainError as exc:
        raise FormInvalid(
            "forgot_password.html",
            status_code=exc.status,
            headers=exc.headers,
            values={"email": email},
            error=domain_message(page.viewer, exc),
            sent=False,
        ) from exc
    await service.request_reset(session, email, settings)
    return render(page, "forgot_password.html", values={"email": email}, error=None, sent=True)


@router.get("/reset-password", summary="The emailed reset link (public)", include_in_schema=False)
async def reset_password_page(page: Page, session: Session, token: Token) -> Response:
    live = await service.peek(session, token, "password_reset")
    return render(page, "reset_password.html", token=token, live=live is not None, error=None)


@router.post("/reset-password", include_in_schema=False)
async def reset_password(request: Request, page: Page, session: Session) -> Response:
    form = await request.form()
    token = _text(form, "token")
    try:
        await service.confirm_reset(session, token, _text(form, "password"))
    except DomainError as exc:
        raise FormInvalid(
            "reset_password.html",
            status_code=exc.status,
            headers=exc.headers,
            token=token,
            live=exc.code != "invalid_token",
            error=domain_message(page.viewer, exc),
        ) from exc
    end_session(request)
    return _see("/sign-in?notice=password_changed")


@router.get("/home", summary="The signed-in start page", include_in_schema=False)
async def home(
    page: AccountPage,
    session: Session,
    notice_key: Annotated[str | None, Query(alias="notice")] = None,
) -> Response:
    assert page.user is not None
    guardian = await service.is_guardian(session)
    return render(page, "home.html", notice=notice(page.viewer, notice_key), guardian=guardian)
