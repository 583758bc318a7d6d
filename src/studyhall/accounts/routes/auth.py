"""Accounts HTTP: sign-up, sign-in (password or identity provider), token rotation, sign-out."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Body, Request, Response, status
from fastapi.responses import JSONResponse

from studyhall.accounts.deps import TOO_MANY_SIGN_INS, CurrentUser, signin_limits
from studyhall.accounts.models import User
from studyhall.accounts.schemas import OidcSignIn, RefreshRequest, SignIn, SignUp, TokenPair
from studyhall.accounts.service import oidc, ratelimit
from studyhall.accounts.service import users as service
from studyhall.audit import service as audit
from studyhall.db.deps import Session, get_database
from studyhall.kit.errors import Unauthorized, problem

router = APIRouter(prefix="/auth")


def secret_of(request: Request) -> str:
    return str(request.app.state.settings.secret_key.get_secret_value())


def client_of(request: Request) -> dict[str, str | None]:
    """What a new sign-in records about the device that asked for it."""
    return {
        "user_agent": (request.headers.get("user-agent") or "")[:512] or None,
        "ip_address": request.client.host if request.client else None,
    }


def token_pair(tokens: service.IssuedTokens) -> TokenPair:
    return TokenPair(
        access_token=tokens.access_token,
        refresh_token=tokens.refresh_token,
        expires_in=tokens.expires_in,
    )


async def new_sign_in(request: Request, session: Session, user: User) -> TokenPair:
    """A fresh sign-in (a new session) for ``user``, answered as a token pair."""
    issued = await service.issue_tokens(
        session, user, secret_of(request), client=client_of(request)
    )
    return token_pair(issued)


@router.post("/sign-up", status_code=status.HTTP_201_CREATED, summary="Create an account")
async def accounts_create(data: SignUp, request: Request, session: Session) -> TokenPair:
    """Creates an account with a password (public) and signs it in: the answer is its first
    token pair."""
    user = await service.sign_up(session, data)
    return await new_sign_in(request, session, user)


@router.post("/sign-in", summary="Sign in with email and password")
async def sessions_create(data: SignIn, request: Request, session: Session) -> TokenPair:
    """Exchanges email and password for a token pair (public). Failed attempts are counted per
    address and per account; too many answer 429 until the window passes."""
    limits = signin_limits(request, data.email)
    await ratelimit.hit(get_database(request), limits, TOO_MANY_SIGN_INS)
    user = await service.authenticate(session, data.email, data.password)
    await ratelimit.give_back(session, limits)
    return await new_sign_in(request, session, user)


@router.post("/oidc", summary="Sign in with the configured identity provider")
async def oidc_sessions_create(data: OidcSignIn, request: Request, session: Session) -> TokenPair:
    """Exchanges an ID token of the configured identity provider for a token pair (public); the
    first sign-in creates the account."""
    settings = request.app.state.settings
    claims = await oidc.verifier_for(request.app.state, settings).verify(data.id_token)
    provider = settings.oidc_provider
    user = await oidc.user_for_claims(session, claims, provider)
    if user.status != "active":
        raise Unauthorized(service.BAD_CREDENTIALS, code="bad_credentials")
    await service.act_for(session, user)
    user.last_login_at = datetime.now(UTC)
    return await new_sign_in(request, session, user)


@router.post(
    "/refresh",
    response_model=TokenPair,
    summary="Rotate a refresh token",
    responses={401: {"description": "Invalid, expired, revoked or reused refresh token"}},
)
async def tokens_refresh(data: RefreshRequest, request: Request, session: Session) -> Response:
    """Exchanges a refresh token for a new pair (public; the token is the credential). Each
    refresh token works once: presenting a spent one ends its whole session."""
    tokens = await service.rotate_refresh_token(
        session, data.refresh_token, secret_of(request), client_of(request)
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
    return JSONResponse(token_pair(tokens).model_dump())


@router.post("/sign-out", status_code=status.HTTP_204_NO_CONTENT, summary="End this session")
async def session_delete(
    user: CurrentUser,
    request: Request,
    session: Session,
    data: Annotated[RefreshRequest | None, Body()] = None,
) -> None:
    """Ends the caller's session: its refresh tokens are revoked and the access token that signs
    out stops working at once (not at its expiry). A refresh token in the body ends its session
    too."""
    session_id = request.state.session_id
    await service.sign_out(session, user, session_id, data.refresh_token if data else None)


@router.post(
    "/sign-out-everywhere",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="End every session of the caller",
)
async def sessions_delete(user: CurrentUser, session: Session) -> None:
    """Ends every session of the caller on every device, this one included."""
    await service.end_all_sessions(session, user.id)
    await audit.record(session, user.id, "auth.sign_out_everywhere", "user", user.id)
