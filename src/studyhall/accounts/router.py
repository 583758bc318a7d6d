"""Accounts HTTP: sign-up, sign-in, tokens, the caller's own account."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Request, Response, status
from fastapi.responses import JSONResponse

from studyhall.accounts import ratelimit, service
from studyhall.accounts.deps import CurrentUser
from studyhall.accounts.schemas import (
    PasswordConfirmation,
    RefreshRequest,
    SignIn,
    SignUp,
    TokenPair,
    UserRead,
    UserUpdate,
)
from studyhall.audit import service as audit
from studyhall.db.deps import Session, get_database
from studyhall.kit.errors import problem

router = APIRouter(tags=["accounts"])


def _secret(request: Request) -> str:
    return str(request.app.state.settings.secret_key.get_secret_value())


def _client(request: Request) -> dict[str, str | None]:
    return {
        "user_agent": (request.headers.get("user-agent") or "")[:512] or None,
        "ip_address": request.client.host if request.client else None,
    }


def _pair(tokens: service.IssuedTokens) -> TokenPair:
    return TokenPair(
        access_token=tokens.access_token,
        refresh_token=tokens.refresh_token,
        expires_in=tokens.expires_in,
    )


@router.post(
    "/auth/sign-up", status_code=status.HTTP_201_CREATED, summary="Create an account (public)"
)
async def sign_up(data: SignUp, request: Request, session: Session) -> TokenPair:
    user = await service.sign_up(session, data)
    return _pair(
        await service.issue_tokens(session, user, _secret(request), client=_client(request))
    )


@router.post("/auth/sign-in", summary="Exchange email and password for tokens (public)")
async def sign_in(data: SignIn, request: Request, session: Session) -> TokenPair:
    limits = signin_limits(request, data.email)
    await ratelimit.hit(get_database(request), limits, TOO_MANY_SIGN_INS)
    user = await service.authenticate(session, data.email, data.password)
    await ratelimit.give_back(session, limits)
    return _pair(
        await service.issue_tokens(session, user, _secret(request), client=_client(request))
    )


TOO_MANY_SIGN_INS = "Too many failed sign-ins; wait before trying again."


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def signin_limits(request: Request, email: str) -> list[ratelimit.Limit]:
    settings = request.app.state.settings
    window = settings.signin_window_s
    return [
        ratelimit.Limit(f"signin:ip:{client_ip(request)}", settings.signin_limit_per_ip, window),
        ratelimit.Limit(
            f"signin:account:{ratelimit.account_key(email)}",
            settings.signin_limit_per_account,
            window,
        ),
    ]


@router.post(
    "/auth/refresh",
    response_model=TokenPair,
    summary="Rotate a refresh token (public; the token is the credential)",
    responses={401: {"description": "Invalid, expired, revoked or reused refresh token"}},
)
async def refresh(data: RefreshRequest, request: Request, session: Session) -> Response:
    tokens = await service.rotate_refresh_token(
        session, data.refresh_token, _secret(request), _client(request)
    )
    if tokens is None:
        # Returned, not raised: a reused token's family revocation (and its audit row) must
        # commit, and raising would roll the request's transaction back.
        return problem(
            request,
            401,
            "invalid_refresh_token",
            "The refresh token is invalid, expired or already used; sign in again.",
        )
    return JSONResponse(_pair(tokens).model_dump())


@router.post("/auth/sign-out", status_code=status.HTTP_204_NO_CONTENT, summary="End this session")
async def sign_out(
    user: CurrentUser,
    request: Request,
    session: Session,
    data: Annotated[RefreshRequest | None, Body()] = None,
) -> None:
    # The access token that signs out ends with its sign-in, at once (not at its expiry).
    session_id = request.state.session_id
    await service.sign_out(session, user, session_id, data.refresh_token if data else None)


@router.post(
    "/auth/sign-out-everywhere",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="End every session of the caller",
)
async def sign_out_everywhere(user: CurrentUser, session: Session) -> None:
    await service.end_all_sessions(session, user.id)
    await audit.record(session, user.id, "auth.sign_out_everywhere", "user", user.id)


@router.get("/me", summary="The caller's account")
async def me(user: CurrentUser) -> UserRead:
    return UserRead.model_validate(user)


@router.patch("/me", summary="Change the caller's own account fields")
async def update_me(data: UserUpdate, user: CurrentUser, session: Session) -> UserRead:
    return UserRead.model_validate(await service.update_me(session, user, data))


@router.delete(
    "/me",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete the caller's account (soft delete; every session ends)",
)
async def delete_me(data: PasswordConfirmation, user: CurrentUser, session: Session) -> None:
    await service.delete_account(session, user, data.password)


def _include_the_rest() -> None:
    # Imported here: those modules reuse helpers defined above.
    from studyhall.accounts import routes_admin, routes_auth, routes_consent, routes_profiles

    for module in (routes_auth, routes_profiles, routes_consent, routes_admin):
        router.include_router(module.router)


_include_the_rest()
